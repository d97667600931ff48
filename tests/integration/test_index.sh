#!/usr/bin/env bash
# test_index.sh: `soundalike index build|stats|verify` on real audio: the
# auto type and the others, recall recorded, statistics, and the index kept
# in step with the library (caught up, not rebuilt, when tracks come and go;
# rebuilt when its file cannot be trusted).
. "$(dirname "$0")/lib.sh"

REC=$SHARED/corpus/annotated/essentia-audio/recorded
LIB="$WORK/music"
mkdir -p "$LIB"
cp "$REC"/{hiphop.mp3,dubstep.ogg,Guitar-A4-432-1.ogg,vignesh.wav,flamenco.mp3} "$LIB/"

# json_get KEY: prints one field of the JSON in $OUT
json_get() { printf '%s' "$OUT" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

sa index nonsense; expect_rc 2 "an unknown action is a usage error"
sa index stats --type flat; expect_rc 2 "--type belongs to build"
sa index; expect_rc 2 "an action is required"

sa scan --json "$LIB"; expect_rc 0 "scan"
sa index build; expect_rc 1 "building before any analysis fails"
sa analyze --json --jobs 2; expect_rc 0 "analyze"
json_check "every track is analysed" "j['analyzed'] == 5"

sa index stats --json; expect_rc 0 "stats before any index"
json_check "stats say there is no index yet" "j['index_loaded'] is False and j['index_type'] is None and j['analyzed_files'] == 5"
sa index verify; expect_rc 1 "verify fails when no index is recorded"

sa index build --json; expect_rc 0 "index build"
json_check "auto picks the exact scan for a small library" "j['index_type'] == 'flat' and j['requested_type'] == 'auto' and j['state'] == 'built'"
json_check "build statistics have the guide's fields and ours" "all(k in j for k in ['index_name','index_type','vector_dimension','total_vectors','indexed_vectors','total_files','analyzed_files','indexed_files','index_coverage','build_time','faiss_available','index_loaded','last_rebuild','recall_at_10','memory_bytes'])"
json_check "everything analysed is indexed" "j['indexed_vectors'] == 5 and j['total_vectors'] == 5 and j['index_coverage'] == 100.0 and j['vector_dimension'] == 67"
json_check "exact search has recall 1 and takes memory" "j['recall_at_10'] == 1.0 and j['memory_bytes'] > 5 * 67 * 4"
BUILT_AT=$(json_get built_at)
sa index verify; expect_rc 0 "verify a fresh index"
sa index build --json; expect_rc 0 "build again"
json_check "an up-to-date index is kept" "j['state'].startswith('up to date') and j['built_at'] == $BUILT_AT"

for t in hnsw ivf 'IVF1,Flat'; do
  sa index build --type "$t" --json; expect_rc 0 "build --type $t"
  json_check "$t: built, recall measured" "j['index_type'] == '$t' and j['requested_type'] == '$t' and 0.5 <= j['recall_at_10'] <= 1 and j['indexed_vectors'] == 5"
  sa index verify; expect_rc 0 "verify the $t index"
done
sa index stats --json; expect_rc 0 "stats of a FAISS index"
json_check "a FAISS IVF reports its lists" "j['nlist'] == 1 and j['nprobe'] == 1 and j['index_loaded'] is True"
sa index build --type hnsw --json; expect_rc 0 "build hnsw again"
json_check "HNSW reports its settings" "j['hnsw_m'] == 32 and j['ef_search'] >= 16"
sa index build --type 'IVF8,Bogus!'; expect_rc 1 "a factory string FAISS rejects fails"
check "FAISS says why" grep -q "Bogus" "$WORK/stderr"
sa index stats --json; expect_rc 0 "stats after a failed build"
json_check "a failed build leaves the last index alone" "j['index_type'] == 'hnsw' and j['up_to_date'] is True"
sa index build --type auto --json; expect_rc 0 "back to auto"
json_check "auto again" "j['index_type'] == 'flat' and j['requested_type'] == 'auto'"
BUILT_AT=$(json_get built_at)

# a new track: analyze catches the index up (a status change alone leaves it stale)
cp "$REC/techno_loop.mp3" "$LIB/"
sa scan "$LIB"; expect_rc 0 "scan a new track"
sqlite3 "$SOUNDALIKE_DB" "UPDATE tracks SET status = 'missing' WHERE path LIKE '%hiphop.mp3'"
sa index verify; expect_rc 1 "verify sees the index is stale"
check "verify says why" grep -q "stale" "$WORK/stderr"
sqlite3 "$SOUNDALIKE_DB" "UPDATE tracks SET status = 'analyzed' WHERE path LIKE '%hiphop.mp3'"
sa analyze --jobs 2; expect_rc 0 "analyze the new track"
sa index verify; expect_rc 0 "analyze itself caught the index up"
sa similar --json -n 3 "$LIB/techno_loop.mp3"; expect_rc 0 "similar to the new track"
json_check "the new track has neighbours, not itself" "j['total_results'] == 3 and all('techno_loop' not in t['track_path'] for t in j['similar_tracks'])"
sa index stats --json; expect_rc 0 "stats after catching up"
json_check "caught up, not rebuilt" "j['up_to_date'] is True and j['indexed_vectors'] == 6 and j['built_at'] == $BUILT_AT"
sa index verify; expect_rc 0 "verify after catching up"

# a track gone from the folder is removed from the index by the next build
rm "$LIB/vignesh.wav"
sa scan "$LIB"; expect_rc 0 "rescan after a removal"
sa index build --json; expect_rc 0 "build after a removal"
json_check "a build catches up with a removal" "j['state'] == 'caught up with the library' and j['indexed_vectors'] == 5 and j['built_at'] == $BUILT_AT"
sa similar --json -n 10 "$LIB/hiphop.mp3"; expect_rc 0 "similar after the removal"
json_check "the removed track is not returned" "all('vignesh' not in t['track_path'] for t in j['similar_tracks'])"

# a corrupt file is never trusted
IDX=$(ls "$WORK"/library.db.*.index)
printf 'garbage' | dd of="$IDX" bs=1 seek=60 conv=notrunc 2>/dev/null
sa index verify; expect_rc 1 "verify notices corruption"
sa index stats --json; expect_rc 0 "stats of a corrupt index"
json_check "a corrupt file is not loaded" "j['index_loaded'] is False and 'checksum' in j['state']"
sa index build --json; expect_rc 0 "build over a corrupt file"
json_check "a corrupt file is rebuilt" "j['state'] == 'built' and j['up_to_date'] is True"
sa index build --force --json; expect_rc 0 "build --force"
json_check "a forced build builds" "j['state'] == 'built' and j['built_at'] >= $BUILT_AT"

sa index stats; expect_rc 0 "human-readable stats"
check "stats show recall and memory" bash -c "printf '%s' \"\$0\" | grep -q 'recall@10' && printf '%s' \"\$0\" | grep -q 'memory'" "$OUT"

finish
