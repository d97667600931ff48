#!/usr/bin/env bash
# test_server.sh: `soundalike serve` over a real library: every route's answer
# and its errors (bad, missing and out-of-range values, hostile paths,
# oversized bodies, wrong methods, the API key), background scans and
# analyses, concurrent clients while the index is rebuilt, a store that goes
# away, and a clean stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server/lib_http.sh"
export SOUNDALIKE_DB="$WORK/data/library.db" # its folder is the server's data folder

KEY=test-key-0123
AUTH=(-H "X-API-Key: $KEY")
JSON=(-H "Content-Type: application/json")
LIB="$WORK/music"
make_real_library "$LIB"
echo "not audio at all" >"$LIB/notes.mp3"
mkdir -p "$LIB/dup" "$WORK/outside" "$WORK/web"
cp "$LIB/recorded/dubstep.ogg" "$LIB/dup/dubstep copy.ogg"
ln -s /etc/passwd "$LIB/escape.mp3" # scanned: a failed track whose file lies outside
cp "$SHARED/corpus/annotated/essentia-audio/recorded/dubstep.mp3" "$WORK/outside/secret.mp3"
echo '<!doctype html><title>soundalike</title>' >"$WORK/web/index.html"
echo 'private' >"$WORK/private.txt"

sa scan "$LIB"; expect_rc 0 "scan"
sa analyze --jobs 2; expect_rc 0 "analyze"
ln -s "$WORK" "$LIB/up" # after the scan: only hostile paths use it
# files the server sees for the first time: one for queries and add-track, one for a background scan
mkdir -p "$LIB/later"
cp "$SHARED/corpus/annotated/essentia-audio/recorded/dubstep.mp3" "$LIB/later/new.mp3"
echo "still not audio" >"$LIB/later/text.mp3"

# ---- the command line ----
sa serve --port 99999; expect_rc 2 "serve: a port out of range is a usage error"
sa serve --port 0 --library "$WORK/no such folder"; expect_rc 1 "serve: a missing library folder is an error"

check "serve starts on a free port" serve_start --library "$LIB" --api-key "$KEY" --web "$WORK/web" --request-timeout 2
check "it listens on 127.0.0.1 by default" grep -q '^serving http://127.0.0.1:' "$WORK/serve.out"
"$SA_BIN" serve --port "$PORT" >/dev/null 2>&1; RC=$?; ERR=""
expect_rc 1 "a second server on the same port fails"

# ---- skeleton: health, errors, methods ----
http GET /health; expect_status 200 "health"
json_check "health says the store is ok" "j['status'] == 'ok' and j['store'] == 'ok' and j['tracks'] >= 19"
http GET /api/nothing; expect_status 404 "an unknown route is a JSON 404"
http DELETE /api/faiss/statistics; expect_status 405 "a wrong method is a JSON 405"
check "405 says which method is allowed" grep -qi '^Allow: GET' <<<"$HEAD"
http GET /api/faiss/add-track; expect_status 405 "GET on a POST route is 405"
http GET /api/openapi.json; expect_status 200 "openapi.json"
json_check "OpenAPI describes every route" "len(j['paths']) >= 19 and '/api/faiss/similar-tracks' in j['paths'] and 'get' in j['paths']['/api/tracks/{id}/audio']"
http GET /; expect_status 200 "the web folder is served at /"
check "the web page is HTML" grep -qi '^Content-Type: text/html' <<<"$HEAD"
STATUS=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$BASE/../private.txt")
check "static files cannot climb out of the web folder ($STATUS)" [ "$STATUS" = 404 ]

# ---- no index yet ----
http GET /api/faiss/statistics; expect_status 200 "statistics before any index"
json_check "no index is loaded yet" "j['index_loaded'] is False and j['total_files'] >= 19"
http GET "/api/faiss/similar-tracks?track_id=1"; expect_status 409 "queries before an index are 409"
http POST /api/faiss/save-index "${AUTH[@]}"; expect_status 409 "save-index before an index is 409"

# ---- build-index and the API key ----
http POST "/api/faiss/build-index?include_tensorflow=true&force_rebuild=false"; expect_status 401 "build-index without the key"
http POST "/api/faiss/build-index" -H "X-API-Key: nope"; expect_status 403 "build-index with a wrong key"
http POST "/api/faiss/build-index?include_tensorflow=true&force_rebuild=false" "${AUTH[@]}"; expect_status 200 "build-index"
json_check "build-index has the guide's shape" "j['success'] is True and j['vector_dimension'] == 67 and j['total_vectors'] >= 17 and j['index_type'] == 'IndexFlatIP' and isinstance(j['build_time'], float)"
http POST "/api/faiss/build-index" "${AUTH[@]}"; expect_status 200 "build-index again"
json_check "an up-to-date index is loaded, not rebuilt" "j['rebuilt'] is False"
http POST "/api/faiss/build-index?include_tensorflow=false&force_rebuild=true" "${AUTH[@]}"; expect_status 200 "build-index of the 17 descriptors"
json_check "include_tensorflow=false is the 17-d profile" "j['vector_dimension'] == 17 and j['profile'] == 'descriptors'"
http POST "/api/faiss/build-index" "${AUTH[@]}" "${JSON[@]}" -d '{"include_tensorflow": true, "index_type": "hnsw"}'
expect_status 200 "build-index of an HNSW index from a JSON body"
json_check "the index type is HNSW" "j['index_type'] == 'IndexHNSWFlat' and j['vector_dimension'] == 67"
http POST "/api/faiss/build-index?index_type=IndexFlatIP&force_rebuild=yes" "${AUTH[@]}"; expect_status 200 "back to the exact index"
http POST "/api/faiss/build-index?index_type=NotAFaissThing" "${AUTH[@]}"; expect_status 400 "an unknown index type is 400"
http POST "/api/faiss/build-index?force_rebuild=maybe" "${AUTH[@]}"; expect_status 400 "a bad boolean is 400"
http GET /api/faiss/statistics; expect_status 200 "statistics"
json_check "statistics has the guide's fields" "all(k in j for k in ['index_name','index_type','vector_dimension','total_vectors','indexed_vectors','total_files','analyzed_files','indexed_files','index_coverage','build_time','faiss_available','index_loaded']) and j['index_loaded'] and j['index_coverage'] > 0"
http GET /api/faiss/status; expect_status 200 "status"
json_check "status says an index is ready" "j['status'] == 'ready' and j['index_loaded'] and j['vector_dimension'] == 67"

# ---- similar-tracks ----
Q="$LIB/examples/TRWJAZW128F42760DD_test.mp3"
http GET "/api/faiss/similar-tracks?query_path=$Q&top_n=5"; expect_status 200 "similar-tracks as the guide's curl line"
json_check "similar-tracks has the guide's shape" "j['query_file'] == '$Q' and j['query_name'] == 'TRWJAZW128F42760DD_test.mp3' and j['total_results'] == 5 and len(j['similar_tracks']) == 5 and all(set(['track_path','track_name','similarity']) <= set(t) for t in j['similar_tracks'])"
json_check "the query is never in its own results" "all(t['track_path'] != '$Q' for t in j['similar_tracks'])"
json_check "results are cosines, best first" "[t['similarity'] for t in j['similar_tracks']] == sorted([t['similarity'] for t in j['similar_tracks']], reverse=True) and all(-1.0001 <= t['similarity'] <= 1.0001 for t in j['similar_tracks'])"
BYPATH=$(json_field "[t['track_path'] for t in j['similar_tracks']]")
QID=$(json_field "j['query_track_id']")
http GET "/api/faiss/similar-tracks?track_id=$QID"; expect_status 200 "similar-tracks by track_id"
check "by id and by path agree, top_n defaults to 5" [ "$(json_field "[t['track_path'] for t in j['similar_tracks']]")" = "$BYPATH" ]
http GET "/api/faiss/similar-tracks?query_path=$LIB/recorded/../examples/./TRWJAZW128F42760DD_test.mp3"; expect_status 200 "a path spelled with .. inside the library"
http GET "/api/faiss/similar-tracks?query_path=$LIB/recorded/dubstep.ogg&top_n=30"; expect_status 200 "similar to a track with a duplicate"
json_check "exact duplicates of the query are excluded" "all('dubstep' not in t['track_name'] for t in j['similar_tracks'])"
http GET "/api/faiss/similar-tracks?query_path=$LIB/later/new.mp3&top_n=3"; expect_status 200 "a file inside the library but not scanned is analysed on the fly"
json_check "an on-the-fly query has results and no track id" "j['total_results'] == 3 and j['query_track_id'] is None"
# hostile and bad input
for p in /etc/passwd "$WORK/outside/secret.mp3" "$LIB/../outside/secret.mp3" "$LIB/escape.mp3" "$LIB/up/outside/secret.mp3" \
         "$LIB/up/nothing-here.mp3" ../../../../etc/passwd "%2e%2e/%2e%2e/etc/passwd" "$LIB%2F..%2F..%2Fprivate.txt"; do
  http GET "/api/faiss/similar-tracks?query_path=$p"; expect_status 403 "a path outside the library is 403: $p"
done
http GET "/api/faiss/similar-tracks?query_path=$LIB/examples/none.mp3"; expect_status 404 "a missing file inside the library is 404"
http GET "/api/faiss/similar-tracks?query_path=/etc/passwd%00$LIB/x.mp3"; expect_status 400 "a NUL in a path is 400"
http GET "/api/faiss/similar-tracks?query_path=$LIB/notes.mp3"; expect_status 409 "a track that failed analysis is 409"
http GET "/api/faiss/similar-tracks?query_path=$LIB/later/text.mp3"; expect_status 422 "a file that is not audio is 422"
http GET "/api/faiss/similar-tracks?track_id=99999999"; expect_status 404 "an unknown track id is 404"
http GET "/api/faiss/similar-tracks?track_id=abc"; expect_status 400 "a non-numeric track id is 400"
http GET "/api/faiss/similar-tracks?track_id=$QID&top_n=0"; expect_status 422 "top_n=0 is out of range"
http GET "/api/faiss/similar-tracks?track_id=$QID&top_n=100000"; expect_status 422 "a huge top_n is out of range"
http GET "/api/faiss/similar-tracks?track_id=$QID&top_n=five"; expect_status 400 "a non-numeric top_n is 400"
http GET "/api/faiss/similar-tracks"; expect_status 400 "similar-tracks without a query is 400"

# ---- generate-playlist ----
http POST "/api/faiss/generate-playlist?seed_track=$Q&playlist_length=4"; expect_status 200 "generate-playlist as the guide's curl line"
json_check "playlist has the guide's shape" "j['seed_track'] == '$Q' and j['seed_name'] == 'TRWJAZW128F42760DD_test.mp3' and j['playlist_length'] == 4 and j['requested_length'] == 4 and len(j['playlist']) == 4 and all(t['track_path'] != '$Q' for t in j['playlist'])"
json_check "the statistics block adds up" "abs(j['statistics']['similarity_range'] - (j['statistics']['max_similarity'] - j['statistics']['min_similarity'])) < 1e-5 and j['statistics']['min_similarity'] <= j['statistics']['average_similarity'] <= j['statistics']['max_similarity']"
http POST /api/faiss/generate-playlist "${JSON[@]}" -d "{\"seed_track\": \"$QID\"}"; expect_status 200 "generate-playlist from a JSON body with an id"
json_check "playlist_length defaults to 10" "j['requested_length'] == 10 and len(j['playlist']) == 10"
http POST "/api/faiss/generate-playlist?seed_track=$Q&playlist_length=-1"; expect_status 422 "a negative playlist length is 422"
http POST /api/faiss/generate-playlist; expect_status 400 "generate-playlist without a seed is 400"
http POST /api/faiss/generate-playlist "${JSON[@]}" -d '{"seed_track": 12'; expect_status 400 "broken JSON is 400"
http POST /api/faiss/generate-playlist "${JSON[@]}" -d '{"seed_track": ["a"]}'; expect_status 400 "a seed of the wrong JSON type is 400"
http POST "/api/faiss/generate-playlist?seed_track=$WORK/private.txt"; expect_status 403 "a seed outside the library is 403"

# ---- extract-vector and similar-by-vector ----
http POST "/api/faiss/extract-vector?file_path=$Q&include_tensorflow=true&normalize=true"; expect_status 200 "extract-vector as the guide's curl line"
json_check "extract-vector has the guide's shape" "j['file_path'] == '$Q' and j['file_name'] == 'TRWJAZW128F42760DD_test.mp3' and j['vector_dimension'] == 67 and len(j['vector']) == 67 and j['include_tensorflow'] is True and j['normalized'] is True and abs(sum(x*x for x in j['vector']) - 1) < 1e-4"
VEC=$(json_field "','.join(repr(x) for x in j['vector'])")
http POST "/api/faiss/extract-vector?file_path=$Q&normalize=false"; expect_status 200 "extract-vector with normalize=false"
json_check "normalize=false gives the weighted vector: not of unit length, same direction" "j['normalized'] is False and abs(sum(x*x for x in j['vector']) - 1) > 0.01 and abs(sum(a*b for a, b in zip(j['vector'], [$VEC])) / sum(x*x for x in j['vector'])**0.5 - 1) < 1e-5"
http POST /api/faiss/extract-vector "${JSON[@]}" -d "{\"file_path\": \"$Q\", \"include_tensorflow\": false}"; expect_status 200 "extract-vector of the descriptors"
json_check "include_tensorflow=false gives 17 values" "j['vector_dimension'] == 17 and len(j['vector']) == 17"
http POST "/api/faiss/extract-vector?file_path=$LIB/later/new.mp3"; expect_status 200 "extract-vector of a file not in the library"
http POST "/api/faiss/extract-vector?file_path=$WORK/outside/secret.mp3"; expect_status 403 "extract-vector outside the library is 403"
http POST "/api/faiss/extract-vector?file_path=$LIB/later/text.mp3"; expect_status 422 "extract-vector of a text file is 422"
http POST /api/faiss/extract-vector; expect_status 400 "extract-vector without a file is 400"
http POST "/api/faiss/similar-by-vector?top_n=3&query_vector=$VEC"; expect_status 200 "similar-by-vector"
json_check "a track's own vector finds it first" "j['similar_tracks'][0]['track_path'] == '$Q' and j['similar_tracks'][0]['similarity'] > 0.999 and j['total_results'] == 3"
http POST /api/faiss/similar-by-vector "${JSON[@]}" -d "{\"query_vector\": [$VEC], \"top_n\": 2}"; expect_status 200 "similar-by-vector from a JSON body"
http POST "/api/faiss/similar-by-vector?query_vector=0.1,0.2"; expect_status 422 "a vector of the wrong dimension is 422"
http POST "/api/faiss/similar-by-vector?query_vector=0.1,abc"; expect_status 400 "a vector that is not numbers is 400"
http POST /api/faiss/similar-by-vector; expect_status 400 "similar-by-vector without a vector is 400"

# ---- add-track ----
http POST "/api/faiss/statistics"; expect_status 405 "POST on a GET route is 405"
BEFORE=$(curl -s "$BASE/api/faiss/status" | python3 -c "import json,sys; print(json.load(sys.stdin)['total_vectors'])")
http POST "/api/faiss/add-track?file_path=$LIB/later/new.mp3"; expect_status 401 "add-track without the key"
http POST "/api/faiss/add-track?file_path=$LIB/later/new.mp3" "${AUTH[@]}"; expect_status 200 "add-track"
json_check "add-track analysed and indexed the file" "j['success'] is True and j['analyzed'] is True and j['indexed'] is True and j['total_vectors'] == $BEFORE + 1 and 'error' not in j"
NEWID=$(json_field "j['track_id']")
check "its vectors are recorded as built under the current profiles" [ "$(sqlite3 "$SOUNDALIKE_DB" "SELECT version FROM features WHERE track_id = $NEWID AND analyzer = 'profiles'")" = "$(sqlite3 "$SOUNDALIKE_DB" "SELECT max(version) FROM features WHERE analyzer = 'profiles'")" ]
http GET "/api/faiss/similar-tracks?query_path=$LIB/later/new.mp3&top_n=3"; expect_status 200 "the added track is a library track now"
json_check "it is found by its stored vector" "j['query_track_id'] == $NEWID"
http GET "/api/faiss/similar-tracks?track_id=$(sqlite3 "$SOUNDALIKE_DB" "SELECT id FROM tracks WHERE path LIKE '%recorded/dubstep.ogg'")&top_n=40"
json_check "the added track shows up in others' results" "any(t['track_id'] == $NEWID for t in j['similar_tracks'])"
http POST "/api/faiss/add-track?file_path=$LIB/later/text.mp3" "${AUTH[@]}"; expect_status 422 "add-track of a text file is 422"
http POST "/api/faiss/add-track?file_path=$WORK/outside/secret.mp3" "${AUTH[@]}"; expect_status 403 "add-track outside the library is 403"
http POST "/api/faiss/add-track" "${AUTH[@]}"; expect_status 400 "add-track without a file is 400"

# ---- save-index and load-index: only in the data folder ----
http POST /api/faiss/save-index "${AUTH[@]}"; expect_status 200 "save-index"
json_check "the index is saved beside the store" "j['success'] and j['path'] == '$SOUNDALIKE_DB.default.index' and j['total_vectors'] == $BEFORE + 1"
http POST "/api/faiss/save-index?path=copy.index" "${AUTH[@]}"; expect_status 200 "save-index under a name in the data folder"
check "the copy is in the data folder" [ -f "$WORK/data/copy.index" ]
for p in /tmp/evil.index ../evil.index "$WORK/outside/evil.index" "$LIB/up/data/../evil.index" "$LIB/x.index" . "$WORK/data/."; do
  http POST "/api/faiss/save-index?path=$p" "${AUTH[@]}"; expect_status 403 "save-index outside the data folder is 403: $p"
done
check "nothing was written outside" test ! -e /tmp/evil.index -a ! -e "$WORK/evil.index" -a ! -e "$WORK/outside/evil.index" -a ! -e "$LIB/x.index" -a -z "$(find "$WORK" -maxdepth 1 -name 'data.tmp.*')"
http POST "/api/faiss/save-index?path=nofolder/x.index" "${AUTH[@]}"; expect_status 404 "save-index into a missing folder is 404"
http POST /api/faiss/load-index "${AUTH[@]}"; expect_status 200 "load-index"
json_check "the saved index is trusted as it is, with the added track" "j['rebuilt'] is False and j['total_vectors'] == $BEFORE + 1"
http POST "/api/faiss/load-index?path=copy.index" "${AUTH[@]}"; expect_status 200 "load-index of the copy"
http POST "/api/faiss/load-index?path=/etc/passwd" "${AUTH[@]}"; expect_status 403 "load-index outside the data folder is 403"
http POST "/api/faiss/load-index?path=missing.index" "${AUTH[@]}"; expect_status 404 "load-index of a missing file is 404"
head -c 100 "$WORK/data/copy.index" >"$WORK/data/broken.index"
http POST "/api/faiss/load-index?path=broken.index" "${AUTH[@]}"; expect_status 422 "load-index of a truncated file is 422"
http GET "/api/faiss/similar-tracks?track_id=$QID"; expect_status 200 "queries still work after a failed load"
http POST /api/faiss/load-index "${AUTH[@]}"; expect_status 200 "load the profile's own index back"

# ---- the library: /api/tracks ----
http GET "/api/tracks?per_page=5"; expect_status 200 "tracks"
json_check "tracks are paged" "len(j['tracks']) == 5 and j['total'] >= 20 and j['pages'] == (j['total'] + 4) // 5 and j['page'] == 1"
http GET "/api/tracks?per_page=5&page=1000"; expect_status 200 "a page past the end"
json_check "a page past the end is empty" "j['tracks'] == []"
http GET "/api/tracks?analysed=false&per_page=100"; expect_status 200 "tracks not analysed"
json_check "analysed=false lists the failed files" "any(t['name'] == 'notes.mp3' and t['status'] == 'failed' for t in j['tracks']) and all(t['status'] != 'analyzed' for t in j['tracks'])"
http GET "/api/tracks?status=analyzed&sort=-tempo&per_page=100"; expect_status 200 "tracks sorted by tempo"
json_check "sorted by tempo, descending" "[t['tempo'] for t in j['tracks']] == sorted([t['tempo'] for t in j['tracks']], reverse=True) and len(j['tracks']) >= 17"
http GET "/api/tracks?tempo_min=100&tempo_max=130&per_page=100"; expect_status 200 "tracks in a tempo range"
json_check "the tempo range holds" "all(100 <= t['tempo'] <= 130 for t in j['tracks'])"
KEYNAME=$(sqlite3 "$SOUNDALIKE_DB" "SELECT json_extract(data, '\$.key') FROM features WHERE analyzer = 'tonal' LIMIT 1")
http GET "/api/tracks?key=$(printf '%s' "$KEYNAME" | sed 's/#/%23/')&per_page=100"; expect_status 200 "tracks in a key"
json_check "the key filter holds" "len(j['tracks']) >= 1 and all(t['key'] == '$KEYNAME' for t in j['tracks'])"
http GET "/api/tracks?tag=electronic&per_page=500"; expect_status 200 "tracks by tag"
check "the tag filter selects exactly the tracks with the tag among their top 5" python3 - "$BASE" "$WORK/body" <<'EOF'
import json, sys, urllib.request
base, got = sys.argv[1], {t['id'] for t in json.load(open(sys.argv[2]))['tracks']}
every = json.load(urllib.request.urlopen(base + '/api/tracks?status=analyzed&per_page=500'))['tracks']
top5 = lambda i: [x['tag'] for x in json.load(urllib.request.urlopen(f'{base}/api/tracks/{i}'))['top_tags'][:5]]
want = {t['id'] for t in every if 'electronic' in top5(t['id'])}
sys.exit(0 if got == want and want else 1)
EOF
http GET "/api/tracks?q=dubstep&per_page=100"; expect_status 200 "tracks by text"
json_check "the text search finds both dubstep files" "sum('dubstep' in t['path'] for t in j['tracks']) >= 2"
http GET "/api/tracks?artist=Joram"; expect_status 200 "tracks by artist"
json_check "the artist filter reads the file tags" "len(j['tracks']) >= 1 and all('joram' in (t['artist'] or '').lower() for t in j['tracks'])"
http GET "/api/tracks?per_page=0"; expect_status 422 "per_page=0 is out of range"
http GET "/api/tracks?sort=loudest"; expect_status 400 "an unknown sort is 400"
http GET "/api/tracks?key=H"; expect_status 400 "an unknown key is 400"
http GET "/api/tracks?tag=no-such-tag"; expect_status 422 "an unknown tag is 422"
http GET "/api/tracks?tempo_min=150&tempo_max=100"; expect_status 422 "an empty tempo range is 422"
http GET "/api/tracks/$QID"; expect_status 200 "one track"
json_check "a track has every feature and its top tags" "j['id'] == $QID and all(g in j['features'] for g in ['loudness','rhythm','tonal','musicnn']) and len(j['top_tags']) == 10 and j['top_tags'][0]['score'] >= j['top_tags'][1]['score'] and j['tempo'] > 0"
http GET /api/tracks/99999999; expect_status 404 "an unknown track is 404"
http GET /api/tracks/12abc; expect_status 400 "a bad track id is 400"

# ---- audio with Range ----
curl -s -o "$WORK/got.mp3" "$BASE/api/tracks/$QID/audio"
check "the audio is the file" cmp -s "$WORK/got.mp3" "$Q"
http GET "/api/tracks/$QID/audio" -H "Range: bytes=1000-1999"; expect_status 206 "a range of the audio"
check "the range is those bytes" cmp -s "$WORK/body" <(tail -c +1001 "$Q" | head -c 1000)
check "Content-Range says where" grep -qi "^Content-Range: bytes 1000-1999/$(stat -c %s "$Q")" <<<"$HEAD"
http GET "/api/tracks/$QID/audio" -H "Range: bytes=-100"; expect_status 206 "the last bytes of the audio"
check "a suffix range is the end of the file" cmp -s "$WORK/body" <(tail -c 100 "$Q")
http GET "/api/tracks/$QID/audio" -H "Range: bytes=999999999-"; expect_status 416 "a range past the end is 416"
ESC=$(sqlite3 "$SOUNDALIKE_DB" "SELECT id FROM tracks WHERE path LIKE '%/escape.mp3'")
http GET "/api/tracks/$ESC/audio"; expect_status 403 "a stored track whose file resolves outside the library is not streamed"

# ---- background scan and analysis ----
rm "$LIB/up" # a scan would follow it out of the library
cp "$SHARED/corpus/annotated/essentia-audio/recorded/techno_loop.mp3" "$LIB/later/late.mp3"
http POST /api/library/scan; expect_status 401 "scan without the key"
http POST /api/library/scan "${AUTH[@]}"; expect_status 202 "scan starts in the background"
check "the scan ends" wait_task
json_check "the scan found the new file" "j['task'] == 'scan' and j['state'] == 'done' and j['scan']['added'] >= 1 and j['library']['pending'] >= 1"
http POST /api/analysis/start "${AUTH[@]}"; expect_status 202 "analysis starts in the background"
http POST /api/analysis/start "${AUTH[@]}"; RUNNING=$STATUS
http GET "/api/faiss/similar-tracks?track_id=$QID"; expect_status 200 "queries answer while the analysis runs"
check "the analysis ends" wait_task
json_check "the analysis reports progress, rate and failures" "j['task'] == 'analysis' and j['state'] == 'done' and j['progress']['done'] == j['progress']['total'] >= 1 and 'rate_tracks_per_s' in j and 'eta_s' in j and j['failures']['total'] >= 1 and any('notes.mp3' in f['path'] for f in j['failures']['examples'])"
check "a second start while one runs is 409, or it had ended ($RUNNING)" grep -qxE '409|202' <<<"$RUNNING"
wait_task
http GET /api/faiss/statistics
json_check "the index was rebuilt with the newly analysed track" "j['indexed_vectors'] == j['analyzed_files'] == $BEFORE + 2"

# ---- concurrent clients while the index is rebuilt ----
(for i in $(seq 1 12); do
   t=flat; [ $((i % 2)) = 0 ] && t=hnsw
   curl -s -o /dev/null -w '%{http_code}\n' -X POST "${AUTH[@]}" "$BASE/api/faiss/build-index?force_rebuild=true&index_type=$t"
 done >"$WORK/rebuilds") &
CLIENTS=($!)
for c in 1 2 3 4 5 6; do
  (for i in $(seq 1 25); do
     curl -s -w ' %{http_code}\n' "$BASE/api/faiss/similar-tracks?track_id=$QID&top_n=3" |
       python3 -c "import json,sys; b,c=sys.stdin.read().rsplit(' ',1); print('ok' if c.strip()=='200' and len(json.loads(b)['similar_tracks'])==3 else 'bad '+c)"
   done >"$WORK/clients.$c") &
  CLIENTS+=($!)
done
wait "${CLIENTS[@]}"
check "every query answered while rebuilds ran" [ "$(cat "$WORK"/clients.* | grep -c '^ok$')" = 150 ]
check "every rebuild succeeded" [ "$(grep -c '^200$' "$WORK/rebuilds")" = 12 ]

# ---- bodies, limits and time ----
head -c 2000000 /dev/zero | tr '\0' ' ' >"$WORK/big.json"
http POST /api/faiss/similar-by-vector "${JSON[@]}" --data-binary @"$WORK/big.json"; expect_status 413 "a body over the limit is 413"
http POST /api/faiss/similar-by-vector "${JSON[@]}" -H "Transfer-Encoding: chunked" --data-binary @"$WORK/big.json"
expect_status 413 "a chunked body over the limit is 413"
http POST /api/faiss/similar-by-vector -d 'query_vector=1'; expect_status 415 "a form body is 415"
python3 - "$LIB/later/long.wav" <<'EOF'
import array, math, sys, wave
# two hours of audio: far longer to analyse than the 2 s allowed
w = wave.open(sys.argv[1], "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
ten_s = array.array("h", (int(8000 * math.sin(i * 0.05) * math.sin(i * 3e-4)) for i in range(80000))).tobytes()
w.writeframes(ten_s * 720)
w.close()
EOF
START=$(date +%s.%N)
http POST "/api/faiss/extract-vector?file_path=$LIB/later/long.wav"; expect_status 503 "a long request past --request-timeout is 503"
check "it is answered at its deadline, not when done" python3 -c "import sys; sys.exit(0 if $(date +%s.%N) - $START < 4 else 1)"
http GET /health; expect_status 200 "the server is still fine"

# ---- metrics ----
http GET /metrics; expect_status 200 "metrics"
check "metrics count requests per route" grep -q 'soundalike_http_requests_total{route="/api/faiss/similar-tracks",method="GET",code="2xx"}' "$WORK/body"
check "metrics have latency histograms" grep -q 'soundalike_http_request_duration_seconds_bucket{route="/api/faiss/similar-tracks",method="GET",le="0.005"}' "$WORK/body"
check "metrics give the index size" grep -Eq '^soundalike_index_vectors [1-9]' "$WORK/body"
check "metrics give the queue length" grep -q '^soundalike_jobs_queue_length ' "$WORK/body"

# ---- a store that goes away ----
mv "$SOUNDALIKE_DB" "$WORK/away.db"
http GET /health; expect_status 503 "health is 503 when the store is gone"
mv "$WORK/away.db" "$SOUNDALIKE_DB"
http GET /health; expect_status 200 "health is 200 when it is back"

# ---- stop ----
serve_stop
check "SIGTERM stops the server cleanly" [ "$SRV_RC" = 0 ]
check "nothing is listening any more" [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" = 000 ]

# without library folders every path is refused; without a key nothing is guarded
check "serve without --library starts" serve_start
http GET "/api/faiss/similar-tracks?query_path=$Q"; expect_status 403 "without library folders every path is 403"
http POST /api/faiss/build-index; expect_status 200 "without an API key, mutating routes are open"
http GET "/api/faiss/similar-tracks?track_id=$QID"; expect_status 200 "queries by id need no folders"
serve_stop

# a relative store path: the profile's own index file is known by its full path too
cd "$WORK/data" || exit 1
SOUNDALIKE_DB=library.db serve_start; check "serve with a relative store path starts" [ -n "$PORT" ]
http POST "/api/faiss/save-index?path=$WORK/data/library.db.default.index"; expect_status 200 "save-index to the own file named by its full path"
SAVED=$(json_field "j['total_vectors']")
sqlite3 library.db "UPDATE tracks SET status = 'missing' WHERE id = $NEWID" # as a rescan would: the saved index is stale now
http POST "/api/faiss/load-index?path=$WORK/data/library.db.default.index"; expect_status 200 "load-index of the own file by its full path"
json_check "it is checked against the store like the own file, so brought up to date" "j['rebuilt'] is True and j['total_vectors'] == $SAVED - 1"
http POST "/api/faiss/save-index?path=$WORK/data/library.db.default.index"; expect_status 200 "save the fresh index by its full path"
check "it is recorded as the server names its own file" [ "$(sqlite3 library.db "SELECT file FROM index_meta")" = library.db.default.index ]
serve_stop
SOUNDALIKE_DB=library.db serve_start; check "a restart finds it" [ -n "$PORT" ]
http POST /api/faiss/load-index; expect_status 200 "load the own index after the restart"
json_check "it is trusted as saved, not rebuilt" "j['rebuilt'] is False and j['total_vectors'] == $SAVED - 1"
serve_stop
cd - >/dev/null || exit 1
finish
