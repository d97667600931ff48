#!/usr/bin/env bash
# test_cli.sh: the foundation end to end on real audio: scan, analyze,
# similar, playlist, show, stats, index, rescans, bad files, exit codes.
. "$(dirname "$0")/lib.sh"

LIB="$WORK/music library"
make_real_library "$LIB"
REAL=$(find "$LIB" -type f | wc -l)   # real recordings; 3 more audio files come below
# bad and unusual files
: > "$LIB/empty.mp3"
echo "this is not audio at all" > "$LIB/notes named like.mp3"
head -c 40000 "$SHARED/corpus/annotated/essentia-audio/recorded/hiphop.mp3" > "$LIB/truncated.mp3"
cp "$SHARED/corpus/annotated/essentia-audio/recorded/flamenco.flac" "$LIB/really flac.bin"
mkdir -p "$LIB/ünïcödé ♫"
cp "$SHARED/corpus/annotated/essentia-audio/recorded/dubstep.ogg" "$LIB/ünïcödé ♫/dubstep copy.ogg"
echo "cover" > "$LIB/cover.jpg"
ln -s "$LIB" "$LIB/more/loop"            # a symlink loop must not be followed forever
ln -s "$WORK/nowhere" "$LIB/dangling.mp3"

sa --help; expect_rc 0 "--help"
sa nonsense; expect_rc 2 "unknown command is a usage error"
sa scan; expect_rc 2 "scan without a folder is a usage error"
sa scan "$WORK/no such folder"; expect_rc 1 "scanning a missing folder fails"
LONG=$WORK/$(printf '%05000d' 0)/library.db   # longer than any path the library can name
sa scan --db "$LONG" "$LIB"; expect_rc 2 "a --db path too long is a usage error, not another database"
SOUNDALIKE_DB=$LONG sa scan "$LIB"; expect_rc 2 "a \$SOUNDALIKE_DB too long is a usage error"
sa model import --output "$LONG" "$WORK/MSD_musicnn.h5"; expect_rc 2 "a model --output too long is a usage error"

sa scan --json "$LIB"; expect_rc 0 "scan"
json_check "scan finds the audio, including FLAC named .bin, once each" "j['added'] == $REAL + 3"
json_check "scan records the text named .mp3 and the empty .mp3 as failed" "j['failed'] == 2"
json_check "scan ignores the cover" "j['ignored'] >= 1"

sa analyze --json --jobs 2; expect_rc 0 "analyze exits 0 despite bad files"
json_check "analyze analyses every readable track" "j['analyzed'] >= $REAL + 2 and j['failed'] <= 1"

sa stats --json; expect_rc 0 "stats"
json_check "stats has the guide's fields" "all(k in j for k in ['index_name','index_type','vector_dimension','total_vectors','indexed_vectors','total_files','analyzed_files','indexed_files','index_coverage','build_time','faiss_available','index_loaded'])"
json_check "stats counts the files" "j['total_files'] == $REAL + 5 and j['failed_files'] >= 2"

sa stats --failed --json; expect_rc 0 "stats --failed"
json_check "failures carry their reason" "any('notes named like.mp3' in f['path'] and f['error'] for f in j)"

sa show --json "$LIB/notes named like.mp3"; expect_rc 0 "show a failed track"
json_check "a text named .mp3 is failed with a reason" "j['status'] == 'failed' and len(j['error']) > 5"

Q="$LIB/examples/TRWJAZW128F42760DD_test.mp3"
sa show --json "$Q"; expect_rc 0 "show an analysed track"
json_check "show has file facts and features" "j['status'] == 'analyzed' and j['duration_s'] > 20 and 'loudness' in j['features'] and 'rhythm' in j['features'] and 'tonal' in j['features']"
ID=$(printf '%s' "$OUT" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")

sa similar --json -n 5 "$Q"; expect_rc 0 "similar by path"
json_check "similar has the guide's shape" "j['query_file'] == '$Q' and j['total_results'] == 5 and len(j['similar_tracks']) == 5 and all(set(['track_path','track_name','similarity']) <= set(t) for t in j['similar_tracks'])"
json_check "the query is not in its own results" "all(t['track_path'] != j['query_file'] for t in j['similar_tracks'])"
json_check "similarities are cosines, best first" "all(-1.0001 <= t['similarity'] <= 1.0001 for t in j['similar_tracks']) and [t['similarity'] for t in j['similar_tracks']] == sorted([t['similarity'] for t in j['similar_tracks']], reverse=True)"
BYPATH=$OUT
sa similar --json -n 5 "$ID"; expect_rc 0 "similar by id"
check "similar by id equals similar by path" [ "$OUT" = "$BYPATH" ]

sa similar --json -n 30 "$LIB/recorded/dubstep.ogg"; expect_rc 0 "similar to a track with a duplicate"
json_check "exact duplicates of the query are excluded" "all('dubstep' not in t['track_name'] for t in j['similar_tracks'])"

# a file outside the library is analysed on the fly
cp "$SHARED/corpus/annotated/essentia-audio/recorded/dubstep.mp3" "$WORK/outside.mp3"
sa similar --json -n 3 "$WORK/outside.mp3"; expect_rc 0 "similar for a file outside the library"
json_check "an outside file gets results" "j['total_results'] == 3"

sa playlist --json -n 4 "$Q"; expect_rc 0 "playlist"
json_check "playlist has the guide's shape" "j['seed_track'] == '$Q' and j['playlist_length'] == 4 and len(j['playlist']) == 4 and abs(j['statistics']['similarity_range'] - (j['statistics']['max_similarity'] - j['statistics']['min_similarity'])) < 1e-5 and all(t['track_path'] != '$Q' for t in j['playlist'])"

sa similar "$LIB/empty.mp3"; expect_rc 1 "similar to a failed track is an error"
sa similar 999999; expect_rc 1 "similar to an unknown id is an error"
sa similar -n 0 "$Q"; expect_rc 2 "a zero count is a usage error"
sa similar -n abc "$Q"; expect_rc 2 "a non-numeric count is a usage error"

# the index is a checked cache
sa index verify; expect_rc 0 "index verify on a fresh index"
IDX=$(ls "$WORK"/library.db.*.index)
printf 'garbage' | dd of="$IDX" bs=1 seek=100 conv=notrunc 2>/dev/null
sa index verify; expect_rc 1 "index verify notices a corrupt file"
sa similar --json -n 5 "$Q"; expect_rc 0 "a corrupt index is rebuilt, not trusted"
check "results after the rebuild are the same" [ "$OUT" = "$BYPATH" ]
sa index verify; expect_rc 0 "index verify after the rebuild"
sa index build --json; expect_rc 0 "index build when up to date"
json_check "an up-to-date index is kept" "j['state'].startswith('up to date')"
sa index build --force --json; expect_rc 0 "index build --force"
json_check "a forced build builds" "j['state'] == 'built' and j['total_vectors'] >= $REAL"

# rescans touch only what changed
sa scan --json "$LIB"; expect_rc 0 "rescan"
json_check "a rescan changes nothing" "j['added'] == 0 and j['changed'] == 0 and j['missing'] == 0"
rm "$LIB/more/Media-105901.wav"
sleep 0.01; cp "$SHARED/corpus/annotated/essentia-audio/recorded/hiphop.mp3" "$LIB/recorded/techno_loop.mp3"
sa scan --json "$LIB"; expect_rc 0 "rescan after changes"
json_check "a rescan sees a changed and a vanished file" "j['changed'] == 1 and j['missing'] == 1 and j['added'] == 0"
sa analyze --json; expect_rc 0 "analyze after the rescan"
json_check "only the changed track is analysed again" "j['total'] == 1"
sa index verify; expect_rc 0 "analyze caught the index up with the changes"
sa similar --json -n 40 "$Q"; expect_rc 0 "similar after changes"
json_check "missing tracks are not returned" "all('Media-105901' not in t['track_path'] for t in j['similar_tracks'])"

# vectors of an older profiles version: analyze rebuilds them, with nothing pending, and the index follows
PROFILES=$(sqlite3 "$SOUNDALIKE_DB" "SELECT max(version) FROM features WHERE analyzer = 'profiles'")
sqlite3 "$SOUNDALIKE_DB" "UPDATE features SET version = version - 1 WHERE analyzer = 'profiles'"
sa analyze --json; expect_rc 0 "analyze with only vectors to rebuild"
json_check "nothing is analysed again" "j['total'] == 0"
check "every analysed track is marked as built under the current profiles again" [ "$(sqlite3 "$SOUNDALIKE_DB" "SELECT count(*) FROM features f JOIN tracks t ON t.id = f.track_id WHERE f.analyzer = 'profiles' AND t.status = 'analyzed' AND f.version <> $PROFILES")" = 0 ]
sa index verify; expect_rc 0 "the index caught up with the rebuilt vectors"

# a sub-folder the scan cannot read: its tracks are kept, not marked missing
# (run as nobody when root, whom permissions do not stop)
as_user() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; else "$@"; fi; }
U=$(mktemp -d /tmp/sa-unreadable.XXXXXX)
mkdir -p "$U/music/open" "$U/music/closed"
cp "$SHARED/corpus/annotated/essentia-audio/recorded/hiphop.mp3" "$U/music/open/"
cp "$SHARED/corpus/annotated/essentia-audio/recorded/dubstep.ogg" "$U/music/closed/"
chmod -R a+rwX "$U"
OUT=$(SOUNDALIKE_DB="$U/lib.db" as_user "$SA_BIN" scan --json "$U/music" 2>"$WORK/stderr"); RC=$?
expect_rc 0 "scan as an unprivileged user"
json_check "it records both tracks" "j['added'] == 2 and j['unreadable'] == 0"
chmod 000 "$U/music/closed"
OUT=$(SOUNDALIKE_DB="$U/lib.db" as_user "$SA_BIN" scan --json "$U/music" 2>"$WORK/stderr"); RC=$?
expect_rc 0 "a rescan with an unreadable sub-folder still succeeds"
json_check "it counts the folder and marks nothing missing" "j['unreadable'] == 1 and j['missing'] == 0"
check "it says which folder it skipped" grep -q "$U/music/closed: Permission denied" "$WORK/stderr"
check "the track in it keeps its status" [ "$(sqlite3 "$U/lib.db" "SELECT status FROM tracks WHERE path LIKE '%/closed/dubstep.ogg'")" = pending ]
chmod 644 "$U/music/closed" # its names can be listed, its files not reached
OUT=$(SOUNDALIKE_DB="$U/lib.db" as_user "$SA_BIN" scan --json "$U/music" 2>"$WORK/stderr"); RC=$?
expect_rc 0 "a rescan with a folder whose files cannot be reached still succeeds"
json_check "it counts the file and marks nothing missing" "j['unreadable'] == 1 and j['missing'] == 0"
check "it says which file it skipped" grep -q "$U/music/closed/dubstep.ogg: Permission denied" "$WORK/stderr"
check "the track keeps its status" [ "$(sqlite3 "$U/lib.db" "SELECT status FROM tracks WHERE path LIKE '%/closed/dubstep.ogg'")" = pending ]
chmod 755 "$U/music/closed"
rm "$U/music/closed/dubstep.ogg"
OUT=$(SOUNDALIKE_DB="$U/lib.db" as_user "$SA_BIN" scan --json "$U/music" 2>"$WORK/stderr"); RC=$?
json_check "once readable, a vanished file is missing as usual" "j['unreadable'] == 0 and j['missing'] == 1"
rm -rf "$U"

finish
