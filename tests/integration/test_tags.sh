#!/usr/bin/env bash
# test_tags.sh: `soundalike tags` against the reference tagger outputs, and
# `soundalike model import` from the public Keras files.
. "$(dirname "$0")/lib.sh"
M=$SHARED/models/musicnn
CLIP=$M/examples/TRWJAZW128F42760DD_test.mp3

# top-5 in the reference order, for both models
for model in msd mtt; do
  sa tags --json --top 5 --model $model-musicnn "$CLIP"; expect_rc 0 "tags with the $model model"
  json_check "$model top-5 tags in the reference order" "[t['tag'] for t in j['tags']] == [t[0] for t in json.load(open('$M/reference-TRWJAZW128F42760DD_test.json'))['models']['${model^^}_musicnn']['top10'][:5]]"
done
sa tags --json --whole-track --top 50 "$CLIP"; expect_rc 0 "tags --whole-track"
json_check "whole-track tags are close to the reference track mean" "max(abs(t['score'] - json.load(open('$M/reference-TRWJAZW128F42760DD_test.json'))['models']['MSD_musicnn']['track_mean'][json.load(open('$M/reference-TRWJAZW128F42760DD_test.json'))['models']['MSD_musicnn']['tags'].index(t['tag'])]) for t in j['tags']) < 1e-2"

# stored tags of a library track
mkdir -p "$WORK/lib" && cp "$CLIP" "$WORK/lib/"
sa scan "$WORK/lib"; expect_rc 0 "scan"
sa analyze; expect_rc 0 "analyze"
sa tags --json "$WORK/lib/TRWJAZW128F42760DD_test.mp3"; expect_rc 0 "tags of a library track"
json_check "a library track's tags are the stored ones" "j['source'] == 'stored' and j['tags'][0]['tag'] == 'blues'"

sa tags --top 0 "$CLIP"; expect_rc 2 "--top 0 is a usage error"
sa tags "$WORK/nope.mp3"; expect_rc 1 "tags of a missing file is an error"
check "the error names the missing file" grep -q "$WORK/nope.mp3" <<< "$ERR"
check "and names it once" [ "$(grep -o "$WORK/nope.mp3" <<< "$ERR" | wc -l)" -eq 1 ]

# the importer writes files identical to the distributed ones, and they load
sa model import --output "$WORK/models/msd-musicnn.weights" "$M/upstream/MSD_musicnn.h5"
expect_rc 1 "import into a missing folder fails clearly"
check "the error names the output file" grep -q "$WORK/models/msd-musicnn.weights: cannot create" <<< "$ERR"
mkdir -p "$WORK/models"
for model in msd mtt; do
  sa model import --output "$WORK/models/$model-musicnn.weights" "$M/upstream/${model^^}_musicnn.h5"
  expect_rc 0 "model import $model"
  check "imported $model weights are byte-identical" cmp -s "$WORK/models/$model-musicnn.weights" "$M/$model-musicnn.weights"
  check "imported $model tag names are identical" cmp -s "$WORK/models/$model-musicnn.tags.txt" "$M/$model-musicnn.tags.txt"
done
sa tags --model-dir "$WORK/models" --json --top 1 "$CLIP"; expect_rc 0 "tags with the imported model"
json_check "the imported model tags like the shipped one" "j['tags'][0]['tag'] == 'blues'"
head -c 100000 "$M/msd-musicnn.weights" > "$WORK/models/msd-musicnn.weights"
sa tags --model-dir "$WORK/models" "$CLIP"; expect_rc 1 "a truncated model is an error"
check "the error names the file" grep -q "msd-musicnn.weights" <<< "$ERR"
echo "not hdf5" > "$WORK/bad.h5"
sa model import --model msd-musicnn --output "$WORK/models/x.weights" "$WORK/bad.h5"; expect_rc 1 "importing a non-HDF5 file fails"
check "the error says the input is not HDF5" grep -q "$WORK/bad.h5: not an HDF5 file" <<< "$ERR"
OUT=$(env -u HOME -u XDG_DATA_HOME "$SA_BIN" model import "$M/upstream/MSD_musicnn.h5" 2>"$WORK/stderr"); RC=$?; ERR=$(cat "$WORK/stderr")
expect_rc 1 "without HOME or --output there is no place for the model"
check "the error says so" grep -q "no HOME: give --output" <<< "$ERR"
HOME="$WORK/home" XDG_DATA_HOME= sa model import --model "$(printf 'm%.0s' $(seq 4200))" "$M/upstream/MSD_musicnn.h5"; expect_rc 2 "a model name too long for a file name is a usage error"
# without a model the analysis runs on, says why once, and a later run with
# the model adds only the tags
mkdir -p "$WORK/nomodel" "$WORK/lib2"
cp "$SHARED"/corpus/annotated/essentia-audio/recorded/{hiphop.mp3,flamenco.flac} "$WORK/lib2/"
export SOUNDALIKE_DB="$WORK/second.db"
sa scan "$WORK/lib2"; expect_rc 0 "scan a second library"
sa analyze --json --model-dir "$WORK/nomodel"; expect_rc 0 "analyze without a model"
check "the missing model is reported once" [ "$(grep -c 'tagger is off' <<< "$ERR")" -eq 1 ]
json_check "every track is analysed without the tagger" "j['analyzed'] == 2"
sa show --json "$WORK/lib2/hiphop.mp3"
json_check "no tags, descriptors stored, a 17-d vector" "'musicnn' not in j['features'] and 'rhythm' in j['features'] and [v['dimension'] for v in j['vectors']] == [17]"
# a marker in the stored tempo: it survives only if rhythm is not run again
sqlite3 "$SOUNDALIKE_DB" "UPDATE features SET data = json_set(data, '\$.bpm', json_array(123.5)) WHERE analyzer = 'rhythm'"
sa analyze --json; expect_rc 0 "analyze again with the model"
json_check "the second run redoes both tracks" "j['analyzed'] == 2"
sa show --json "$WORK/lib2/hiphop.mp3"
json_check "tags added, descriptors kept, the 67-d vector now exists" "'musicnn' in j['features'] and j['features']['rhythm']['bpm'] == 123.5 and 67 in [v['dimension'] for v in j['vectors']]"
sa similar --json "$WORK/lib2/hiphop.mp3"; expect_rc 0 "similar after the tags were added"
json_check "the library now uses the 67-d profile" "j['total_results'] == 1"
finish
