#!/usr/bin/env bash
# test_resume.sh: `analyze` killed with SIGKILL mid-run loses nothing that
# was stored, and the next run redoes only the unfinished tracks.
. "$(dirname "$0")/lib.sh"

LIB="$WORK/lib"
make_real_library "$LIB"
mkdir -p "$LIB/copy"; cp "$LIB"/recorded/* "$LIB"/more/* "$LIB/copy/"
sa scan --json "$LIB"; expect_rc 0 "scan"
TOTAL=$(printf '%s' "$OUT" | python3 -c "import json,sys; print(json.load(sys.stdin)['added'])")

analyzed() { "$SA_BIN" stats --json | python3 -c "import json,sys; print(json.load(sys.stdin)['analyzed_files'])"; }

"$SA_BIN" analyze --jobs 1 >/dev/null 2>&1 &
PID=$!
for _ in $(seq 1 600); do
  [ "$(analyzed)" -ge 3 ] && break
  sleep 0.1
done
kill -9 "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
BEFORE=$(analyzed)
check "the run was killed mid-way ($BEFORE of $TOTAL stored)" test "$BEFORE" -ge 3 -a "$BEFORE" -lt "$TOTAL"
check "the database is intact after the kill" [ "$(sqlite3 "$SOUNDALIKE_DB" 'PRAGMA integrity_check')" = ok ]

sa analyze --json; expect_rc 0 "analyze again"
json_check "the second run does only the unfinished tracks" "j['total'] == $TOTAL - $BEFORE"
check "every track is analysed in the end" [ "$(analyzed)" -eq "$TOTAL" ]
sa analyze --json; expect_rc 0 "analyze a third time"
json_check "a finished library has nothing to do" "j['total'] == 0"
check "one feature row per track and analyzer" \
  [ "$(sqlite3 "$SOUNDALIKE_DB" 'SELECT COUNT(*) FROM (SELECT track_id, analyzer, COUNT(*) c FROM features GROUP BY 1, 2 HAVING c > 1)')" = 0 ]
finish
