#!/usr/bin/env bash
# bench/relevance.sh: precision@10 of each vector profile on the soundtrack corpus.
#
# Usage: bench/relevance.sh [BUILD_DIR] [CORPUS_DIR]
# CORPUS_DIR defaults to ~/.cache/soundalike-corpus, made by
# ../shared/corpus/get_corpus.sh (fetched when absent). The corpus is scanned
# and analysed into a database of its own (kept beside the corpus, so a
# second run only re-scores), then bench_relevance scores every profile with
# "same soundtrack" as the relevance label.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd) # relative arguments are the caller's
corpus=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/soundalike-corpus}
case $corpus in /*) ;; *) corpus=$PWD/$corpus ;; esac
cd "$root"
[ -f "$corpus/manifest.tsv" ] || "${SA_SHARED_DIR:-../shared}/corpus/get_corpus.sh" "$corpus" --profile small
export SOUNDALIKE_DB="$corpus/relevance.db"
"$build/soundalike" scan "$corpus/audio"
"$build/soundalike" analyze
"$build/bench/bench_relevance" "$SOUNDALIKE_DB" "$(cd "$corpus/audio" && pwd)"
