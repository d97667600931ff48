/* musicnn_tags.c: the published tag vocabularies of the two MusiCNN models,
 * written beside imported weights (the Keras files carry no tag names). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "soundalike/tagger.h"

/* Output unit order of the MSD (last.fm top-50) and MagnaTagATune models. */
static const char *const msd_tags[SA_MUSICNN_TAGS] = {
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
    "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
    "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock",
    "ambient", "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb",
    "indie pop", "sad", "House", "happy"};
static const char *const mtt_tags[SA_MUSICNN_TAGS] = {
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing",
    "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop",
    "soft", "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice",
    "female vocal", "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral"};

sa_err sa_musicnn_write_tags(const char *model_name, const char *tags_path) {
    const char *const *tags = strcmp(model_name, "msd-musicnn") == 0   ? msd_tags
                              : strcmp(model_name, "mtt-musicnn") == 0 ? mtt_tags
                                                                       : NULL;
    if (!tags)
        return sa_error_set(SA_ERR_INVALID, "unknown model '%s' (msd-musicnn or mtt-musicnn)", model_name);
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", tags_path, (long)getpid()) >= sizeof tmp)
        return sa_error_set(SA_ERR_INVALID, "%s: path too long", tags_path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return sa_error_set(SA_ERR_IO, "%s: %s", tmp, strerror(errno));
    int bad = 0;
    for (int i = 0; i < SA_MUSICNN_TAGS; i++)
        bad |= fprintf(f, "%s\n", tags[i]) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, tags_path) != 0) {
        sa_err err = sa_error_set(SA_ERR_IO, "%s: %s", tags_path, strerror(errno));
        unlink(tmp);
        return err;
    }
    return SA_OK;
}
