/* input.c: opening a media file for FFmpeg through our own file I/O, and
 * keeping FFmpeg's log out of stderr.
 *
 * FFmpeg is handed an AVIOContext over a file descriptor we opened, never a
 * path: a name such as "concat:a|b" or "http:x" is then just a name, a FIFO
 * or a directory is refused before any read, and no demuxer can open other
 * files named inside this one (playlists, QuickTime references). The path is
 * still passed as a hint, for the few formats that content alone cannot
 * tell, but a format guessed only from the name is refused. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "audio/input.h"
#include "soundalike/log.h"

enum { IO_BUFFER_SIZE = 64 * 1024 };

/* A corrupt file can make the decoder complain once per frame, thousands of
 * times: FFmpeg's warnings and errors go to our log at debug level only. */
static void forward_log(void *avcl, int level, const char *fmt, va_list vl) {
    if (level > AV_LOG_WARNING || sa_log_get_level() < SA_LOG_DEBUG)
        return;
    static _Thread_local int print_prefix = 1;
    char line[1024];
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n > 0)
        sa_log_debug("ffmpeg: %s", line);
}

static void install_log(void) { av_log_set_callback(forward_log); }

static sa_err error_kind(int averr) {
    switch (averr) {
    case AVERROR(ENOMEM): return SA_ERR_NOMEM;
    case AVERROR(EIO):
    case AVERROR(EACCES):
    case AVERROR(EBADF):
    case AVERROR(ENXIO): return SA_ERR_IO;
    default: return SA_ERR_FORMAT;
    }
}

sa_err sa_audio_fail(int averr, const char *path, const char *what) {
    char msg[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, msg, sizeof msg);
    return sa_error_set(error_kind(averr), "%s: %s: %s", path, what, msg);
}

static int read_fd(void *opaque, uint8_t *buf, int size) {
    int fd = (int)(intptr_t)opaque;
    for (;;) {
        ssize_t n = read(fd, buf, (size_t)size);
        if (n > 0)
            return (int)n;
        if (n == 0)
            return AVERROR_EOF;
        if (errno != EINTR)
            return AVERROR(errno);
    }
}

static int64_t seek_fd(void *opaque, int64_t offset, int whence) {
    int fd = (int)(intptr_t)opaque;
    if (whence & AVSEEK_SIZE) {
        struct stat st;
        return fstat(fd, &st) == 0 ? (int64_t)st.st_size : AVERROR(errno);
    }
    off_t pos = lseek(fd, (off_t)offset, whence & ~AVSEEK_FORCE);
    return pos < 0 ? AVERROR(errno) : (int64_t)pos;
}

static int refuse_io_open(AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                          AVDictionary **options) {
    (void)s, (void)pb, (void)flags, (void)options;
    sa_log_debug("ffmpeg: refused to open %s named inside a media file", url);
    return AVERROR(EPERM);
}

static sa_err open_file(const char *path, int *fd_out) {
    /* O_NONBLOCK so that opening a FIFO cannot wait for a writer; it changes
     * nothing for the regular files that get past fstat */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return sa_error_set(SA_ERR_NOT_FOUND, "%s: no such file", path);
        return sa_audio_fail(AVERROR(e), path, "cannot open");
    }
    struct stat st;
    sa_err err = SA_OK;
    if (fstat(fd, &st) != 0)
        err = sa_audio_fail(AVERROR(errno), path, "cannot stat");
    else if (S_ISDIR(st.st_mode))
        err = sa_error_set(SA_ERR_IO, "%s: is a directory, not an audio file", path);
    else if (!S_ISREG(st.st_mode))
        err = sa_error_set(SA_ERR_IO, "%s: not a regular file", path);
    else if (st.st_size == 0)
        err = sa_error_set(SA_ERR_FORMAT, "%s: empty file (0 bytes)", path);
    if (err) {
        close(fd);
        return err;
    }
    *fd_out = fd;
    return SA_OK;
}

static sa_err open_format(const char *path, sa_audio_input *in) {
    unsigned char *buf = av_malloc(IO_BUFFER_SIZE);
    if (!buf)
        return sa_error_set(SA_ERR_NOMEM, "%s: no memory for an I/O buffer", path);
    in->pb = avio_alloc_context(buf, IO_BUFFER_SIZE, 0, (void *)(intptr_t)in->fd, read_fd, NULL, seek_fd);
    if (!in->pb) {
        av_free(buf);
        return sa_error_set(SA_ERR_NOMEM, "%s: no memory for an I/O context", path);
    }
    in->fmt = avformat_alloc_context();
    if (!in->fmt)
        return sa_error_set(SA_ERR_NOMEM, "%s: no memory for a format context", path);
    in->fmt->pb = in->pb;
    in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO; /* so closing fmt, even unopened, leaves pb to us */
    in->fmt->io_open = refuse_io_open;
    const AVInputFormat *format = NULL;
    int score = av_probe_input_buffer2(in->pb, &format, path, in->fmt, 0, 0);
    if (score == AVERROR_INVALIDDATA || (score >= 0 && !format))
        return sa_error_set(SA_ERR_FORMAT, "%s: not an audio or media file FFmpeg recognises", path);
    if (score < 0)
        return sa_audio_fail(score, path, "cannot read");
    /* at or below this score FFmpeg itself warns "misdetection possible":
     * only the name matched, as for a text file named .mp3 */
    if (score <= AVPROBE_SCORE_RETRY)
        return sa_error_set(SA_ERR_FORMAT, "%s: content not recognised (only its name suggests %s)", path,
                            format->name);
    char what[128];
    snprintf(what, sizeof what, "cannot read it as %s", format->name);
    int ret = avformat_open_input(&in->fmt, path, format, NULL); /* frees fmt on failure */
    if (ret < 0)
        return sa_audio_fail(ret, path, what);
    ret = avformat_find_stream_info(in->fmt, NULL);
    if (ret < 0)
        return sa_audio_fail(ret, path, "cannot read the stream parameters");
    return SA_OK;
}

static sa_err choose_stream(const char *path, sa_audio_input *in) {
    int idx = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &in->codec, 0);
    if (idx == AVERROR_STREAM_NOT_FOUND)
        return sa_error_set(SA_ERR_UNSUPPORTED, "%s: no audio stream in this %s file", path,
                            in->fmt->iformat->name);
    if (idx == AVERROR_DECODER_NOT_FOUND) {
        enum AVCodecID id = AV_CODEC_ID_NONE;
        for (unsigned i = 0; i < in->fmt->nb_streams && id == AV_CODEC_ID_NONE; i++)
            if (in->fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
                id = in->fmt->streams[i]->codecpar->codec_id;
        return sa_error_set(SA_ERR_UNSUPPORTED, "%s: no decoder for its %s audio", path, avcodec_get_name(id));
    }
    if (idx < 0)
        return sa_audio_fail(idx, path, "cannot choose an audio stream");
    const AVCodecParameters *par = in->fmt->streams[idx]->codecpar;
    if (par->sample_rate <= 0 || par->ch_layout.nb_channels <= 0)
        return sa_error_set(SA_ERR_FORMAT, "%s: %s audio stream without a sample rate or channel count", path,
                            avcodec_get_name(par->codec_id));
    in->stream = idx;
    return SA_OK;
}

sa_err sa_audio_input_open(const char *path, sa_audio_input *in) {
    static pthread_once_t log_once = PTHREAD_ONCE_INIT;
    pthread_once(&log_once, install_log);
    *in = (sa_audio_input){.fd = -1, .stream = -1};
    sa_err err = open_file(path, &in->fd);
    if (err)
        return err;
    err = open_format(path, in);
    if (!err)
        err = choose_stream(path, in);
    if (err)
        sa_audio_input_close(in);
    return err;
}

void sa_audio_input_close(sa_audio_input *in) {
    avformat_close_input(&in->fmt);
    if (in->pb)
        av_freep(&in->pb->buffer); /* FFmpeg may have replaced the buffer we gave */
    avio_context_free(&in->pb);
    if (in->fd >= 0)
        close(in->fd);
    in->fd = -1;
}
