#!/usr/bin/python3
"""index_faiss.py: the python3-faiss baseline that bench_index runs beside ours.

    index_faiss.py VECTORS QUERIES --dim D [--k K] [--threads 1,2]
                   [--nlist N --nprobe P] [--hnsw-m M --ef-construction C --ef-search E]

VECTORS and QUERIES are raw little-endian float32 files, D floats a row; the
vector of row i has id i. Builds IndexFlatIP, IVF-Flat (when --nlist is
given) and HNSW (when --hnsw-m is), each with the inner-product metric, on
each thread count, and measures what bench_index measures of ours: build
time, memory (the serialised size), single-query latency p50/p99 (one
query per call, one thread), batch throughput (all queries in one call)
and recall@10 against IndexFlatIP. One JSON object per line on stdout.
"""
import argparse
import json
import time

import faiss
import numpy as np


def single_latency(index, queries, k):
    """p50 and p99 of one-query searches in ms, after one warm-up pass."""
    faiss.omp_set_num_threads(1)
    for i in range(len(queries)):
        index.search(queries[i:i + 1], k)
    ms = []
    for i in range(len(queries)):
        t0 = time.perf_counter()
        index.search(queries[i:i + 1], k)
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return ms[len(ms) // 2], ms[int((len(ms) - 1) * 0.99)]


def recall(found, exact, k):
    hits = sum(len(set(f[:k]) & set(e[:k])) for f, e in zip(found, exact))
    return hits / (len(exact) * k)


def measure(name, make, x, queries, k, threads, exact):
    for t in threads:
        faiss.omp_set_num_threads(t)
        t0 = time.perf_counter()
        index = make()
        if not index.is_trained:
            index.train(x)
        index.add(x)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, labels = index.search(queries, k)
        batch_s = time.perf_counter() - t0
        p50, p99 = single_latency(index, queries, k)
        print(json.dumps({
            "name": name, "threads": t, "build_s": build_s,
            "memory_bytes": int(faiss.serialize_index(index).nbytes),
            "p50_ms": p50, "p99_ms": p99, "batch_qps": len(queries) / batch_s,
            "recall_at_10": recall(labels, exact, k) if exact is not None else 1.0,
        }), flush=True)
        yield labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vectors")
    ap.add_argument("queries")
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--nlist", type=int)
    ap.add_argument("--nprobe", type=int, default=1)
    ap.add_argument("--hnsw-m", type=int)
    ap.add_argument("--ef-construction", type=int, default=80)
    ap.add_argument("--ef-search", type=int, default=64)
    a = ap.parse_args()
    x = np.fromfile(a.vectors, dtype=np.float32).reshape(-1, a.dim)
    q = np.fromfile(a.queries, dtype=np.float32).reshape(-1, a.dim)
    threads = [int(t) for t in a.threads.split(",")]
    d, ip = a.dim, faiss.METRIC_INNER_PRODUCT

    exact = None
    for labels in measure("IndexFlatIP", lambda: faiss.IndexFlatIP(d), x, q, a.k, threads, None):
        exact = labels

    if a.nlist:
        def ivf():
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, a.nlist, ip)
            index.nprobe = a.nprobe
            return index
        for _ in measure("IVF%d,Flat nprobe %d" % (a.nlist, a.nprobe), ivf, x, q, a.k, threads, exact):
            pass

    if a.hnsw_m:
        def hnsw():
            index = faiss.IndexHNSWFlat(d, a.hnsw_m, ip)
            index.hnsw.efConstruction = a.ef_construction
            index.hnsw.efSearch = a.ef_search
            return index
        name = "HNSW%d efSearch %d" % (a.hnsw_m, a.ef_search)
        for _ in measure(name, hnsw, x, q, a.k, threads, exact):
            pass


if __name__ == "__main__":
    main()
