#!/usr/bin/env bash
# api.sh: wrk against GET /api/faiss/similar-tracks on a synthetic library of
# TRACKS tracks (a random track per request), first soundalike serve, then a
# minimal reproduction of the seed's stack (FastAPI + uvicorn + FAISS
# IndexFlatIP, Debian's python3-fastapi, python3-uvicorn, python3-faiss) over
# the same vectors, measured the same way; prints throughput and latency
# percentiles of both and their ratio.
#
# usage: bench/api.sh [BUILD_DIR]      (default: build)
# environment: TRACKS (100000), SECONDS_EACH (20), CONNECTIONS ("4 16": one
#   run per count), INDEX_TYPES ("auto flat": soundalike's index, one round
#   each, auto being what a user gets; the seed's stack is measured with the
#   same type when it has it: flat or hnsw), WRK_THREADS (1), SERVER_THREADS (2), KEEP=DIR (keep and
#   reuse the generated library there), PYTHON (/usr/bin/python3: Debian's).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../build}" && pwd)
TRACKS=${TRACKS:-100000}
SECONDS_EACH=${SECONDS_EACH:-20}
CONNECTIONS=${CONNECTIONS:-4 16}
INDEX_TYPES=${INDEX_TYPES:-auto flat}
WRK_THREADS=${WRK_THREADS:-1}
SERVER_THREADS=${SERVER_THREADS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}
export TRACKS

WORK=${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/sa-bench-api-XXXXXX")}
mkdir -p "$WORK"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_ready() { # URL: up to 60 s
  for _ in $(seq 1 600); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "api.sh: nothing answers at $1" >&2
  return 1
}

# measure NAME BASE: a warm-up, then one wrk run per connection count
measure() {
  local name=$1 base=$2 c line
  wrk -t "$WRK_THREADS" -c 4 -d 3s -s "$HERE/api.lua" "$base" >/dev/null
  for c in $CONNECTIONS; do
    line=$(wrk -t "$WRK_THREADS" -c "$c" -d "${SECONDS_EACH}s" --latency -s "$HERE/api.lua" "$base" | grep '^RESULT')
    echo "$name connections=$c ${line#RESULT }" | tee -a "$WORK/results"
  done
}

if [ ! -f "$WORK/library.db" ]; then
  echo "generating a library of $TRACKS tracks in $WORK"
  "$BUILD/bench/bench_api_library" "$WORK/library.db" "$WORK" "$TRACKS"
fi
: >"$WORK/results"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "wrk: $WRK_THREADS thread(s), ${SECONDS_EACH}s per run, random track ids in 1..$TRACKS, top_n=5"

# run_soundalike TYPE: serve, build the index, measure, stop
run_soundalike() {
  : >"$WORK/serve.out" # the server's own redirection may come after the first look for its port
  "$BUILD/soundalike" serve --db "$WORK/library.db" --port 0 --threads "$SERVER_THREADS" --model-dir "$WORK" \
    >"$WORK/serve.out" 2>"$WORK/serve.err" &
  local pid=$! port=""
  PIDS+=($pid)
  for _ in $(seq 1 200); do
    port=$(sed -n 's|^serving http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$WORK/serve.out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    echo "api.sh: soundalike serve did not start: $(cat "$WORK/serve.err")" >&2
    return 1
  fi
  curl -s -X POST "http://127.0.0.1:$port/api/faiss/build-index?force_rebuild=true&index_type=$1" | "$PYTHON" -c \
    'import json,sys; j=json.load(sys.stdin); print("soundalike index: %d vectors of %d dims, %s, built in %.2f s" % (j["total_vectors"], j["vector_dimension"], j["index_type"], j["build_time"]))'
  measure "soundalike-$1" "http://127.0.0.1:$port"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

# run_baseline TYPE: the seed's stack with a FAISS index of that type
run_baseline() {
  local port pid
  port=$(free_port)
  "$PYTHON" "$HERE/api_baseline.py" "$WORK" "$port" "$1" >"$WORK/baseline.log" 2>&1 &
  pid=$!
  PIDS+=($pid)
  wait_ready "http://127.0.0.1:$port/api/faiss/similar-tracks?track_id=1"
  measure "seed-$1" "http://127.0.0.1:$port"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

for type in $INDEX_TYPES; do
  run_soundalike "$type"
  case $type in flat|hnsw) run_baseline "$type" ;; esac # the seed's stack knows no other type
done

# ---- summary ----
"$PYTHON" - "$WORK/results" <<'EOF'
import sys
runs = {}
for line in open(sys.argv[1]):
    name, *fields = line.split()
    f = dict(x.split("=") for x in fields)
    runs[(name, f["connections"])] = f
print("\n%-17s %5s %10s %9s %9s %9s %7s" % ("server-index", "conns", "req/s", "p50 ms", "p99 ms", "max ms", "errors"))
for (name, c), f in runs.items():
    print("%-17s %5s %10s %9s %9s %9s %7s" % (name, c, f["rps"], f["p50_ms"], f["p99_ms"], f["max_ms"], f["errors"]))
print()
for (name, c), f in runs.items():
    if not name.startswith("soundalike-"):
        continue
    for base_name in sorted({"seed-" + name.split("-", 1)[1], "seed-flat"}):
        base = runs.get((base_name, c))
        if base:
            print("connections %3s: %-16s %6.1fx the requests/s of %s" % (c, name, float(f["rps"]) / float(base["rps"]), base_name))
EOF
