/* decoder.c: streaming a file's audio as interleaved float, one decoded
 * frame at a time.
 *
 * Memory holds one decoded frame and its conversion (at most a few hundred
 * kilobytes), whatever the length of the file. swresample converts each
 * frame to packed float in the output layout; when a stream changes its
 * sample format, rate or layout midway, the converter is flushed and set up
 * again, so the output keeps the rate and channels of the first frame.
 * Packets that fail to demux or decode are skipped and counted; a run of
 * MAX_ERRORS_IN_ROW failures ends the stream, so garbage cannot keep us
 * busy, and a stream that never yields a frame is a format error. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "audio/input.h"
#include "soundalike/log.h"

enum { MAX_ERRORS_IN_ROW = 1000 };

struct sa_audio_decoder {
    char *path; /* for error details */
    sa_audio_input in;
    AVCodecContext *codec;
    AVPacket *packet;
    AVFrame *frame;
    SwrContext *swr;
    /* the input swr is set up for */
    int swr_format, swr_rate;
    AVChannelLayout swr_layout;
    /* the output, fixed by the first frame */
    int out_rate;
    AVChannelLayout out_layout;
    int out_channels;
    /* converted frames not handed out yet */
    float *pending;
    size_t pending_pos, pending_len, pending_cap;
    int64_t errors, errors_in_row;
    bool finished;
    sa_err failed; /* sticky: a failed decoder keeps failing */
};

static void count_error(sa_audio_decoder *d, int averr, const char *what) {
    char msg[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, msg, sizeof msg);
    sa_log_debug("%s: skipped a packet that failed to %s: %s", d->path, what, msg);
    d->errors++;
    d->errors_in_row++;
}

/* Gives the decoder its next packet of our stream, or the end-of-stream
 * signal once the demuxer has nothing more. */
static sa_err feed_packet(sa_audio_decoder *d) {
    for (;;) {
        int ret = av_read_frame(d->in.fmt, d->packet);
        if (ret == AVERROR_EOF || (ret < 0 && avio_feof(d->in.fmt->pb))) {
            avcodec_send_packet(d->codec, NULL); /* repeated at the end: harmless AVERROR_EOF */
            return SA_OK;
        }
        if (ret == AVERROR(ENOMEM) || ret == AVERROR(EIO))
            return sa_audio_fail(ret, d->path, "cannot read");
        if (ret < 0) {
            count_error(d, ret, "demux");
            return SA_OK;
        }
        if (d->packet->stream_index != d->in.stream) {
            av_packet_unref(d->packet);
            continue;
        }
        ret = avcodec_send_packet(d->codec, d->packet);
        av_packet_unref(d->packet);
        if (ret == AVERROR(ENOMEM))
            return sa_audio_fail(ret, d->path, "cannot decode");
        if (ret < 0 && ret != AVERROR_EOF)
            count_error(d, ret, "decode");
        return SA_OK;
    }
}

/* The next non-empty decoded frame into d->frame (*got), or *got false at
 * the end of the stream. */
static sa_err next_frame(sa_audio_decoder *d, bool *got) {
    *got = false;
    while (d->errors_in_row < MAX_ERRORS_IN_ROW) {
        int ret = avcodec_receive_frame(d->codec, d->frame);
        if (ret == AVERROR_EOF)
            return SA_OK;
        if (ret == 0 && d->frame->nb_samples > 0 && d->frame->ch_layout.nb_channels > 0) {
            d->errors_in_row = 0;
            *got = true;
            return SA_OK;
        }
        if (ret == 0)
            av_frame_unref(d->frame);
        else if (ret == AVERROR(ENOMEM))
            return sa_audio_fail(ret, d->path, "cannot decode");
        else if (ret != AVERROR(EAGAIN))
            count_error(d, ret, "decode");
        else {
            sa_err err = feed_packet(d);
            if (err)
                return err;
        }
    }
    sa_log_debug("%s: stopped after %d failed packets in a row", d->path, MAX_ERRORS_IN_ROW);
    return SA_OK;
}

static sa_err reserve(sa_audio_decoder *d, size_t more) {
    size_t need = d->pending_len + more;
    if (need <= d->pending_cap)
        return SA_OK;
    float *p = realloc(d->pending, need * (size_t)d->out_channels * sizeof *p);
    if (!p)
        return sa_error_set(SA_ERR_NOMEM, "%s: no memory for %zu decoded frames", d->path, need);
    d->pending = p;
    d->pending_cap = need;
    return SA_OK;
}

typedef uint32_t v4u __attribute__((vector_size(16)));

/* A float file or a damaged stream may hold NaN or infinite samples; one
 * of them would poison every filter and sum after it, so they become
 * silence. The test reads the exponent bits, four samples at a time. */
static void silence_non_finite(float *x, size_t n) {
    const uint32_t exponent = 0x7f800000u;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4u bits;
        memcpy(&bits, x + i, sizeof bits);
        bits &= ~((bits & exponent) == exponent); /* all ones where non-finite */
        memcpy(x + i, &bits, sizeof bits);
    }
    for (; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, x + i, sizeof bits);
        if ((bits & exponent) == exponent)
            x[i] = 0.0f;
    }
}

/* Converts n input frames (in NULL: what swr still holds) onto pending. */
static sa_err append_converted(sa_audio_decoder *d, const uint8_t **in, int n) {
    int room = swr_get_out_samples(d->swr, n);
    if (room < 0)
        return sa_audio_fail(room, d->path, "cannot convert samples");
    if (room == 0)
        return SA_OK;
    sa_err err = reserve(d, (size_t)room);
    if (err)
        return err;
    uint8_t *out = (uint8_t *)(d->pending + d->pending_len * (size_t)d->out_channels);
    int got = swr_convert(d->swr, &out, room, in, n);
    if (got < 0)
        return sa_audio_fail(got, d->path, "cannot convert samples");
    silence_non_finite((float *)out, (size_t)got * (size_t)d->out_channels);
    d->pending_len += (size_t)got;
    return SA_OK;
}

/* A frame's layout, with an unnamed one read as the usual layout for its
 * channel count so that swresample can build a downmix for it. */
static int layout_of(const AVFrame *f, AVChannelLayout *out) {
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        av_channel_layout_default(out, f->ch_layout.nb_channels);
        return 0;
    }
    return av_channel_layout_copy(out, &f->ch_layout);
}

/* Sets swr up for the current frame's input when it differs from before. */
static sa_err prepare_converter(sa_audio_decoder *d) {
    const AVFrame *f = d->frame;
    AVChannelLayout layout = {0};
    int ret = layout_of(f, &layout);
    if (ret < 0)
        return sa_audio_fail(ret, d->path, "cannot read the channel layout");
    if (d->swr && f->format == d->swr_format && f->sample_rate == d->swr_rate &&
        av_channel_layout_compare(&layout, &d->swr_layout) == 0) {
        av_channel_layout_uninit(&layout);
        return SA_OK;
    }
    sa_err err = d->swr ? append_converted(d, NULL, 0) : SA_OK;
    av_channel_layout_uninit(&d->swr_layout);
    d->swr_layout = layout;
    d->swr_format = f->format;
    d->swr_rate = f->sample_rate;
    if (err)
        return err;
    ret = swr_alloc_set_opts2(&d->swr, &d->out_layout, AV_SAMPLE_FMT_FLT, d->out_rate, &layout, f->format,
                              f->sample_rate, 0, NULL);
    /* without a ceiling, swresample's float downmix adds channels at -3 dB
     * each (stereo to mono gives (L+R)/sqrt 2); 1.0 normalises the matrix,
     * so mono is the average of left and right and nothing can clip */
    if (ret >= 0)
        ret = av_opt_set_double(d->swr, "rematrix_maxval", 1.0, 0);
    if (ret >= 0)
        ret = swr_init(d->swr);
    if (ret < 0)
        return sa_audio_fail(ret, d->path, "cannot set up the sample converter");
    return SA_OK;
}

static sa_err convert_frame(sa_audio_decoder *d) {
    sa_err err = prepare_converter(d);
    if (!err)
        err = append_converted(d, (const uint8_t **)d->frame->extended_data, d->frame->nb_samples);
    av_frame_unref(d->frame);
    return err;
}

/* Replaces the (used up) pending frames with the next decoded ones. */
static sa_err refill(sa_audio_decoder *d) {
    d->pending_pos = d->pending_len = 0;
    bool got;
    sa_err err = next_frame(d, &got);
    if (err)
        return err;
    if (got)
        return convert_frame(d);
    d->finished = true;
    return append_converted(d, NULL, 0);
}

/* Opens the codec and decodes the first frame, which fixes the output. */
static sa_err start(sa_audio_decoder *d, int max_channels) {
    AVStream *st = d->in.fmt->streams[d->in.stream];
    for (unsigned i = 0; i < d->in.fmt->nb_streams; i++)
        if ((int)i != d->in.stream)
            d->in.fmt->streams[i]->discard = AVDISCARD_ALL;
    d->codec = avcodec_alloc_context3(d->in.codec);
    d->packet = av_packet_alloc();
    d->frame = av_frame_alloc();
    if (!d->codec || !d->packet || !d->frame)
        return sa_error_set(SA_ERR_NOMEM, "%s: no memory for a decoder", d->path);
    int ret = avcodec_parameters_to_context(d->codec, st->codecpar);
    if (ret < 0)
        return sa_audio_fail(ret, d->path, "cannot set up the decoder");
    d->codec->pkt_timebase = st->time_base;
    d->codec->thread_count = 1; /* parallelism comes from decoding several files */
    ret = avcodec_open2(d->codec, d->in.codec, NULL);
    if (ret < 0)
        return sa_audio_fail(ret, d->path, "cannot open the decoder");

    bool got;
    sa_err err = next_frame(d, &got);
    if (err)
        return err;
    if (!got)
        return sa_error_set(SA_ERR_FORMAT, "%s: no audio could be decoded (%lld packets failed)", d->path,
                            (long long)d->errors);
    d->out_rate = d->frame->sample_rate;
    AVChannelLayout in_layout = {0};
    ret = layout_of(d->frame, &in_layout);
    if (ret < 0)
        return sa_audio_fail(ret, d->path, "cannot read the channel layout");
    if (in_layout.nb_channels <= max_channels)
        d->out_layout = in_layout; /* keep it: no remixing at all */
    else {
        av_channel_layout_uninit(&in_layout);
        av_channel_layout_default(&d->out_layout, max_channels);
    }
    d->out_channels = d->out_layout.nb_channels;
    return convert_frame(d);
}

sa_err sa_audio_decoder_open(const char *path, int max_channels, sa_audio_decoder **out, sa_audio_info *info) {
    if (out)
        *out = NULL;
    if (info)
        *info = (sa_audio_info){0};
    if (!path || !out || max_channels < 1)
        return sa_error_set(SA_ERR_INVALID, "sa_audio_decoder_open: needs a path, an out pointer and max_channels >= 1");
    sa_audio_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return sa_error_set(SA_ERR_NOMEM, "%s: no memory for a decoder", path);
    d->in.fd = -1;
    d->path = strdup(path);
    sa_err err = d->path ? sa_audio_input_open(path, &d->in)
                         : sa_error_set(SA_ERR_NOMEM, "%s: no memory for a decoder", path);
    if (!err)
        err = start(d, max_channels);
    if (!err && info)
        err = sa_audio_input_info(&d->in, info);
    if (err) {
        sa_audio_decoder_free(d);
        return err;
    }
    *out = d;
    return SA_OK;
}

int sa_audio_decoder_rate(const sa_audio_decoder *dec) { return dec->out_rate; }

int sa_audio_decoder_channels(const sa_audio_decoder *dec) { return dec->out_channels; }

int64_t sa_audio_decoder_errors(const sa_audio_decoder *dec) { return dec->errors; }

sa_err sa_audio_decoder_read(sa_audio_decoder *dec, float *buf, size_t max_frames, size_t *frames) {
    if (frames)
        *frames = 0;
    if (!dec || !buf || !frames || max_frames == 0)
        return sa_error_set(SA_ERR_INVALID, "sa_audio_decoder_read: needs a decoder, a buffer and max_frames > 0");
    if (dec->failed)
        return sa_error_set(dec->failed, "%s: decoding failed earlier", dec->path);
    size_t ch = (size_t)dec->out_channels, done = 0;
    while (done < max_frames) {
        if (dec->pending_pos == dec->pending_len) {
            if (dec->finished)
                break;
            sa_err err = refill(dec);
            if (err) {
                dec->failed = err;
                return err;
            }
            continue;
        }
        size_t n = dec->pending_len - dec->pending_pos;
        if (n > max_frames - done)
            n = max_frames - done;
        memcpy(buf + done * ch, dec->pending + dec->pending_pos * ch, n * ch * sizeof *buf);
        dec->pending_pos += n;
        done += n;
    }
    *frames = done;
    return SA_OK;
}

void sa_audio_decoder_free(sa_audio_decoder *dec) {
    if (!dec)
        return;
    swr_free(&dec->swr);
    av_channel_layout_uninit(&dec->swr_layout);
    av_channel_layout_uninit(&dec->out_layout);
    av_frame_free(&dec->frame);
    av_packet_free(&dec->packet);
    avcodec_free_context(&dec->codec);
    sa_audio_input_close(&dec->in);
    free(dec->pending);
    free(dec->path);
    free(dec);
}
