#!/usr/bin/env bash
# bench/long_track.sh: memory and speed of analysing one 3-hour mix.
#
# Usage: bench/long_track.sh [BUILD_DIR]   (default: build)
# Loops a real example clip into a 3-hour mp3 (stream copy, no re-encode),
# scans and analyses it with the real binary, and prints the peak resident
# memory beside what the decoded PCM alone would need as floats: analysis
# streams, so the first must stay far below the second.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/soundalike
clip=${SA_SHARED_DIR:-../shared}/models/musicnn/examples/TRWJAZW128F42760DD_test.mp3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir "$work/m"
ffmpeg -v error -stream_loop 360 -i "$clip" -c copy "$work/m/mix.mp3"
seconds=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$work/m/mix.mp3")
rate=$(ffprobe -v error -select_streams a:0 -show_entries stream=sample_rate -of csv=p=0 "$work/m/mix.mp3")
export SOUNDALIKE_DB="$work/lib.db"
"$bin" scan "$work/m" >/dev/null
/usr/bin/time -f '%M %U %e' -o "$work/time" "$bin" analyze --jobs 1 >/dev/null
read -r rss_kb user_s wall_s < "$work/time"
awk -v s="$seconds" -v r="$rate" -v kb="$rss_kb" -v u="$user_s" -v w="$wall_s" 'BEGIN {
  pcm = s * r * 4 / 1048576
  printf "track: %.0f s of audio (%.1f h)\n", s, s / 3600
  printf "peak memory: %.1f MiB; the decoded PCM as mono floats: %.0f MiB (ratio %.3f)\n", kb / 1024, pcm, kb / 1024 / pcm
  printf "analysis: %.1f s CPU, %.1f s wall, %.0fx real time per CPU second\n", u, w, s / u
}'
