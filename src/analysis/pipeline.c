/* pipeline.c: one decode, many analyzers, each at its own sample rate and resampling quality. */
#include <stdlib.h>
#include <string.h>

#include "soundalike/log.h"
#include "soundalike/pipeline.h"
#include "soundalike/resample.h"

enum { BLOCK_FRAMES = 8192, MAX_STREAMS = 8, MAX_CHANNELS = 2 /* analyzers see at most stereo */ };

/* A stream of mono audio at one rate and quality, and the analyzers that read it. */
typedef struct rate_stream {
    int rate;
    sa_resample_quality quality;
    sa_resampler *resampler; /* NULL for the native rate */
    float *buf;
    size_t cap;
} rate_stream;

typedef struct run_state {
    const sa_analyzer *const *analyzers;
    size_t n;
    void **states;
    int *stream_of; /* analyzer -> index into streams */
    rate_stream streams[MAX_STREAMS];
    size_t n_streams;
    int native_rate;
    int channels;
} run_state;

/* The stream at rate and quality, made when no analyzer asked for it yet;
 * the native rate is one stream whatever the quality. */
static sa_err stream_for(run_state *st, int rate, sa_resample_quality quality, int *out) {
    for (size_t i = 0; i < st->n_streams; i++)
        if (st->streams[i].rate == rate && (rate == st->native_rate || st->streams[i].quality == quality)) {
            *out = (int)i;
            return SA_OK;
        }
    if (st->n_streams == MAX_STREAMS)
        return sa_error_set(SA_ERR_INVALID, "analyzers ask for more than %d streams", MAX_STREAMS);
    rate_stream *rs = &st->streams[st->n_streams];
    rs->rate = rate;
    rs->quality = quality;
    if (rate != st->native_rate) {
        sa_err err = sa_resampler_new_quality(st->native_rate, rate, quality, &rs->resampler);
        if (err)
            return err;
        rs->cap = sa_resampler_max_output(rs->resampler, BLOCK_FRAMES);
        rs->buf = malloc(rs->cap * sizeof(float));
        if (!rs->buf) {
            /* the stream is not counted yet, so run_state_free would not reach its resampler */
            sa_resampler_free(rs->resampler);
            rs->resampler = NULL;
            return sa_error_set(SA_ERR_NOMEM, "resampling buffer");
        }
    }
    *out = (int)st->n_streams++;
    return SA_OK;
}

/* err with the analyzer's name before its detail, unless the analyzer
 * named itself there already. */
static sa_err named(sa_err err, const sa_analyzer *an) {
    const char *detail = sa_error_detail();
    size_t len = strlen(an->name);
    if (strncmp(detail, an->name, len) == 0 && detail[len] == ':')
        return err;
    return sa_error_set(err, "%s: %s", an->name, detail);
}

/* Feeds one block at stream s's rate to the analyzers that read it. */
static sa_err feed_stream(run_state *st, int s, const sa_audio_block *block) {
    for (size_t a = 0; a < st->n; a++) {
        if (st->stream_of[a] != s)
            continue;
        sa_err err = st->analyzers[a]->feed(st->states[a], block);
        if (err)
            return named(err, st->analyzers[a]);
    }
    return SA_OK;
}

/* Resamples mono into stream s (or flushes it when mono is NULL) and feeds the result. */
static sa_err feed_resampled(run_state *st, int s, const float *mono, size_t frames) {
    rate_stream *rs = &st->streams[s];
    size_t produced = 0;
    sa_err err = mono ? sa_resampler_process(rs->resampler, mono, frames, rs->buf, &produced)
                      : sa_resampler_flush(rs->resampler, rs->buf, rs->cap, &produced);
    if (err || produced == 0)
        return err;
    sa_audio_block b = {.mono = rs->buf, .frames = produced, .channels = 1, .rate = rs->rate};
    return feed_stream(st, s, &b);
}

static sa_err feed_block(run_state *st, const float *interleaved, const float *mono, size_t frames) {
    for (size_t s = 0; s < st->n_streams; s++) {
        sa_err err;
        if (st->streams[s].resampler) {
            err = feed_resampled(st, (int)s, mono, frames);
        } else {
            sa_audio_block b = {.mono = mono, .interleaved = interleaved, .frames = frames,
                                .channels = st->channels, .rate = st->native_rate};
            err = feed_stream(st, (int)s, &b);
        }
        if (err)
            return err;
    }
    return SA_OK;
}

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

/* The mono track of a block: the block itself when it has one channel,
 * else the average of its two (the decoder gives at most two), written
 * into mono. Eight frames at a time in vectors, which -O2 does not do by
 * itself here; the values are those of the scalar loop that ends it. */
static const float *downmix(const float *in, float *mono, size_t frames, int channels) {
    if (channels == 1)
        return in;
    size_t i = 0;
    for (; i + 8 <= frames; i += 8) {
        v8f a, b;
        memcpy(&a, in + 2 * i, sizeof a);
        memcpy(&b, in + 2 * i + 8, sizeof b);
        v8f left = __builtin_shuffle(a, b, (v8i){0, 2, 4, 6, 8, 10, 12, 14});
        v8f right = __builtin_shuffle(a, b, (v8i){1, 3, 5, 7, 9, 11, 13, 15});
        v8f m = (left + right) * 0.5f;
        memcpy(mono + i, &m, sizeof m);
    }
    for (; i < frames; i++)
        mono[i] = (in[2 * i] + in[2 * i + 1]) * 0.5f;
    return mono;
}

static sa_err decode_all(run_state *st, sa_audio_decoder *dec, sa_pipeline_result *res) {
    float *pcm = malloc((size_t)BLOCK_FRAMES * (size_t)st->channels * sizeof(float));
    float *mono = malloc((size_t)BLOCK_FRAMES * sizeof(float));
    sa_err err = (pcm && mono) ? SA_OK : sa_error_set(SA_ERR_NOMEM, "decode buffers");
    size_t total = 0;
    while (!err) {
        size_t frames = 0;
        err = sa_audio_decoder_read(dec, pcm, BLOCK_FRAMES, &frames);
        if (err || frames == 0)
            break;
        err = feed_block(st, pcm, downmix(pcm, mono, frames, st->channels), frames);
        total += frames;
    }
    free(pcm);
    free(mono);
    if (!err && total == 0)
        err = sa_error_set(SA_ERR_FORMAT, "no audio could be decoded");
    for (size_t s = 0; !err && s < st->n_streams; s++)
        if (st->streams[s].resampler)
            err = feed_resampled(st, (int)s, NULL, 0);
    res->decoded_s = (double)total / st->native_rate;
    res->bad_packets = sa_audio_decoder_errors(dec);
    return err;
}

static void run_state_free(run_state *st) {
    for (size_t a = 0; a < st->n; a++)
        if (st->states && st->states[a])
            st->analyzers[a]->free(st->states[a]);
    for (size_t s = 0; s < st->n_streams; s++) {
        sa_resampler_free(st->streams[s].resampler);
        free(st->streams[s].buf);
    }
    free(st->states);
    free(st->stream_of);
}

static sa_err start_analyzers(run_state *st, const sa_audio_info *info) {
    for (size_t a = 0; a < st->n; a++) {
        const sa_analyzer *an = st->analyzers[a];
        sa_stream_info si = {.native_rate = st->native_rate, .channels = st->channels,
                             .duration_s = info->duration_s};
        sa_err err = stream_for(st, an->rate > 0 ? an->rate : st->native_rate, an->quality, &st->stream_of[a]);
        if (!err)
            err = an->start(an->config, &si, &st->states[a]);
        if (err)
            return named(err, an);
    }
    return SA_OK;
}

sa_err sa_pipeline_run(const char *path, const sa_analyzer *const *analyzers, size_t n, sa_features *features,
                       sa_audio_info *info, sa_pipeline_result *result) {
    sa_audio_info local_info = {0};
    sa_pipeline_result local_res = {0};
    sa_audio_decoder *dec = NULL;
    sa_err err = sa_audio_decoder_open(path, MAX_CHANNELS, &dec, &local_info);
    if (err)
        return err;
    run_state st = {.analyzers = analyzers, .n = n, .native_rate = sa_audio_decoder_rate(dec),
                    .channels = sa_audio_decoder_channels(dec)};
    st.states = calloc(n ? n : 1, sizeof *st.states);
    st.stream_of = calloc(n ? n : 1, sizeof *st.stream_of);
    err = (st.states && st.stream_of) ? start_analyzers(&st, &local_info) : sa_error_set(SA_ERR_NOMEM, "pipeline");
    if (!err)
        err = decode_all(&st, dec, &local_res);
    for (size_t a = 0; !err && a < n; a++) {
        err = analyzers[a]->finish(st.states[a], features);
        if (err)
            err = named(err, analyzers[a]);
    }
    if (!err && local_res.bad_packets)
        sa_log_debug("%s: %lld corrupt packets skipped", path, local_res.bad_packets);
    run_state_free(&st);
    sa_audio_decoder_free(dec);
    if (info && !err)
        *info = local_info;
    else
        sa_audio_info_clear(&local_info);
    if (result)
        *result = local_res;
    return err;
}
