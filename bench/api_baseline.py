"""api_baseline.py: the seed's stack at its smallest (FastAPI + uvicorn + FAISS
IndexFlatIP), answering GET /api/faiss/similar-tracks over the vectors that
bench_api_library wrote, in the guide's response shape; bench/api.sh measures
it with wrk beside soundalike.

usage: /usr/bin/python3 api_baseline.py DIR PORT [flat|hnsw]
DIR holds vectors.f32 and tracks.tsv; flat (the seed's IndexFlatIP, the
default) or hnsw (IndexHNSWFlat with soundalike's settings: M 32,
efConstruction 80, efSearch 64, inner product).
"""
import os
import sys

import faiss
import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException, Query

DIM = 67

folder, port = sys.argv[1], int(sys.argv[2])
kind = sys.argv[3] if len(sys.argv) > 3 else "flat"
vectors = np.fromfile(os.path.join(folder, "vectors.f32"), dtype=np.float32).reshape(-1, DIM)
ids, paths = [], {}
with open(os.path.join(folder, "tracks.tsv"), encoding="utf-8") as f:
    for line in f:
        track_id, path = line.rstrip("\n").split("\t", 1)
        ids.append(int(track_id))
        paths[int(track_id)] = path
row_of = {track_id: row for row, track_id in enumerate(ids)}
if kind == "hnsw":
    inner = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
    inner.hnsw.efConstruction = 80
    inner.hnsw.efSearch = 64
else:
    inner = faiss.IndexFlatIP(DIM)
index = faiss.IndexIDMap(inner)
index.add_with_ids(vectors, np.array(ids, dtype=np.int64))

app = FastAPI()


@app.get("/api/faiss/similar-tracks")
def similar_tracks(track_id: int, top_n: int = Query(5, ge=1, le=1000)):
    row = row_of.get(track_id)
    if row is None:
        raise HTTPException(status_code=404, detail="track not found")
    scores, found = index.search(vectors[row : row + 1], top_n + 1)
    results = [
        {"track_path": paths[int(i)], "track_name": os.path.basename(paths[int(i)]), "similarity": float(s)}
        for s, i in zip(scores[0], found[0])
        if i != track_id and i >= 0
    ][:top_n]
    query = paths[track_id]
    return {"query_file": query, "query_name": os.path.basename(query), "total_results": len(results),
            "similar_tracks": results}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
