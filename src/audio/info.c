/* info.c: what a media file says about itself (container, stream parameters,
 * tags), and sa_audio_probe, which reads only that. */
#include <stdlib.h>
#include <string.h>

#include "audio/input.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_sequence(const unsigned char *s, size_t n) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : lo;
        hi = c == 0xED ? 0x9F : hi;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* Tags end up in JSON, playlists and log lines, and files carry whatever
 * their tagger wrote: invalid UTF-8 becomes U+FFFD, control characters a
 * space, and surrounding blanks go. *out is NULL when nothing is left. */
static sa_err clean_tag(const char *value, char **out) {
    *out = NULL;
    const unsigned char *s = (const unsigned char *)value;
    size_t n = strlen(value);
    char *text = malloc(3 * n + 1); /* each byte grows to at most U+FFFD's 3 */
    if (!text)
        return sa_error_set(SA_ERR_NOMEM, "no memory for a %zu-byte tag", n);
    size_t len = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_sequence(s + i, n - i);
        if (k == 0) {
            memcpy(text + len, "\xEF\xBF\xBD", 3);
            len += 3;
            i++;
        } else if (k == 1 && (s[i] < 0x20 || s[i] == 0x7F)) {
            text[len++] = ' ';
            i++;
        } else {
            memcpy(text + len, s + i, k);
            len += k;
            i += k;
        }
    }
    while (len > 0 && text[len - 1] == ' ')
        len--;
    size_t start = 0;
    while (start < len && text[start] == ' ')
        start++;
    if (start == len) {
        free(text);
        return SA_OK;
    }
    memmove(text, text + start, len - start);
    text[len - start] = '\0';
    *out = text;
    return SA_OK;
}

/* The container's tags first; Ogg (Vorbis, Opus) keeps them on the stream.
 * av_dict_get ignores case, so "TITLE" and "Title" are found too. */
static const char *find_tag(const AVFormatContext *fmt, const AVStream *st, const char *key) {
    const AVDictionaryEntry *e = av_dict_get(fmt->metadata, key, NULL, 0);
    if (!e || !*e->value)
        e = av_dict_get(st->metadata, key, NULL, 0);
    return e ? e->value : NULL;
}

static double duration_of(const AVFormatContext *fmt, const AVStream *st) {
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        return (double)fmt->duration / AV_TIME_BASE;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        return (double)st->duration * av_q2d(st->time_base);
    return 0.0;
}

static sa_err copy_name(const char *name, char **out) {
    *out = strdup(name);
    return *out ? SA_OK : sa_error_set(SA_ERR_NOMEM, "no memory for the name %s", name);
}

sa_err sa_audio_input_info(const sa_audio_input *in, sa_audio_info *out) {
    const AVFormatContext *fmt = in->fmt;
    const AVStream *st = fmt->streams[in->stream];
    const AVCodecParameters *par = st->codecpar;
    *out = (sa_audio_info){
        .duration_s = duration_of(fmt, st),
        .sample_rate = par->sample_rate,
        .channels = par->ch_layout.nb_channels,
        /* lossless streams often state no rate of their own */
        .bit_rate = par->bit_rate > 0 ? par->bit_rate : (fmt->bit_rate > 0 ? fmt->bit_rate : 0),
    };
    static const char *const keys[] = {"title", "artist", "album", "genre"};
    char **slots[] = {&out->title, &out->artist, &out->album, &out->genre};
    sa_err err = copy_name(avcodec_get_name(par->codec_id), &out->codec);
    if (!err)
        err = copy_name(fmt->iformat->name, &out->container);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && !err; i++) {
        const char *value = find_tag(fmt, st, keys[i]);
        if (value)
            err = clean_tag(value, slots[i]);
    }
    if (err)
        sa_audio_info_clear(out);
    return err;
}

sa_err sa_audio_probe(const char *path, sa_audio_info *out) {
    if (!path || !out)
        return sa_error_set(SA_ERR_INVALID, "sa_audio_probe: path and out are required");
    *out = (sa_audio_info){0};
    sa_audio_input in;
    sa_err err = sa_audio_input_open(path, &in);
    if (err)
        return err;
    err = sa_audio_input_info(&in, out);
    sa_audio_input_close(&in);
    return err;
}

void sa_audio_info_clear(sa_audio_info *info) {
    if (!info)
        return;
    free(info->codec);
    free(info->container);
    free(info->title);
    free(info->artist);
    free(info->album);
    free(info->genre);
    *info = (sa_audio_info){0};
}
