# lib.sh: helpers for the integration tests (sourced). $1 of the test is the binary.
set -u
SA_BIN=${SA_BIN:-$1}
SHARED=${SA_SHARED_DIR:?SA_SHARED_DIR is not set}
[ -x "$SA_BIN" ] || { echo "no soundalike binary at '$SA_BIN'" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sa-it-XXXXXX")
export SOUNDALIKE_DB="$WORK/library.db"
FAILS=0
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

# check DESCRIPTION COMMAND...: the command must succeed
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }

# sa ARGS...: runs soundalike, output in $OUT, exit status in $RC
sa() { OUT=$("$SA_BIN" "$@" 2>"$WORK/stderr"); RC=$?; ERR=$(cat "$WORK/stderr"); }

# expect_rc N DESCRIPTION
expect_rc() { if [ "$RC" -eq "$1" ]; then pass "$2"; else fail "$2 (exit $RC, wanted $1): $ERR"; fi; }

# json_check DESCRIPTION PYTHON_EXPR: evaluates the expression with j = the JSON in $OUT
json_check() {
  if printf '%s' "$OUT" | python3 -c "
import json, sys
try:
    j = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
sys.exit(0 if ($2) else 1)"; then
    pass "$1"
  else
    fail "$1: $(printf '%s' "$OUT" | head -c 2000)"
  fi
}

finish() {
  if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
  echo "all checks passed"
}

# A library of real recordings from the shared folder, in several formats.
make_real_library() {
  local dir=$1
  mkdir -p "$dir/examples" "$dir/recorded" "$dir/more"
  cp "$SHARED"/models/musicnn/examples/*.mp3 "$dir/examples/"
  local a=$SHARED/corpus/annotated
  cp "$a/essentia-audio/recorded/"{hiphop.mp3,techno_loop.mp3,flamenco.flac,dubstep.ogg,vignesh.wav} "$dir/recorded/"
  cp "$a/librosa-data/audio/"*.ogg "$dir/more/"
  cp "$a/madmom/tests/data/audio/stereo_sample.m4a" "$dir/more/"
  cp "$a/mirdata/ballroom/B_1.0/audio/Waltz/Media-105901.wav" "$dir/more/"
  cp "$a/mirdata/gtzan_genre/gtzan_genre/genres/country/country.00000.wav" "$dir/more/"
}
