# lib_http.sh: helpers for tests of `soundalike serve` (sourced after lib.sh).

# serve_start ARGS...: starts the server on a free port of 127.0.0.1; sets SRV_PID, PORT, BASE
serve_start() {
  "$SA_BIN" serve --port 0 "$@" >"$WORK/serve.out" 2>"$WORK/serve.err" &
  SRV_PID=$!
  PORT=""
  for _ in $(seq 1 200); do
    PORT=$(sed -n 's|^serving http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$WORK/serve.out" 2>/dev/null)
    [ -n "$PORT" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.05
  done
  BASE="http://127.0.0.1:$PORT"
  [ -n "$PORT" ]
}

# serve_stop: SIGTERM, and the exit status in SRV_RC
serve_stop() {
  kill -TERM "$SRV_PID" 2>/dev/null
  wait "$SRV_PID"
  SRV_RC=$?
}

# http METHOD PATH [CURL ARGS...]: the status in STATUS, the body in OUT, the headers in HEAD
http() {
  local method=$1 path=$2
  shift 2
  STATUS=$(curl -s -g -X "$method" -o "$WORK/body" -D "$WORK/head" -w '%{http_code}' "$@" "$BASE$path")
  OUT=$(tr -d '\000' <"$WORK/body") # audio bodies are binary: compare $WORK/body
  HEAD=$(cat "$WORK/head")
}

# expect_status N DESCRIPTION: the status must be N, and an error must be {"error", "detail"}
expect_status() {
  if [ "$STATUS" != "$1" ]; then
    fail "$2 (HTTP $STATUS, wanted $1): $(printf '%s' "$OUT" | head -c 600)"
  elif [ "$1" -ge 400 ] && ! printf '%s' "$OUT" | python3 -c \
      "import json,sys; j=json.load(sys.stdin); sys.exit(0 if isinstance(j.get('error'), str) and isinstance(j.get('detail'), str) else 1)"; then
    fail "$2: an error without a JSON {error, detail}: $(printf '%s' "$OUT" | head -c 300)"
  else
    pass "$2"
  fi
}

# json_field EXPR: prints a value of the JSON in $OUT (j is the document)
json_field() { printf '%s' "$OUT" | python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# wait_task: polls /api/analysis/status until the background task has ended (at most 300 s)
wait_task() {
  for _ in $(seq 1 3000); do
    http GET /api/analysis/status
    case $(json_field "j['state']") in done|failed|idle) return 0 ;; esac
    sleep 0.1
  done
  return 1
}
