/* input.h: inside the audio module, a media file opened for reading and the
 * audio stream chosen in it, shared by probing and decoding. */
#ifndef SOUNDALIKE_AUDIO_INPUT_H
#define SOUNDALIKE_AUDIO_INPUT_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "soundalike/audio.h"

typedef struct sa_audio_input {
    AVFormatContext *fmt;
    AVIOContext *pb; /* our own I/O over fd; FFmpeg never opens a path itself */
    int fd;
    int stream;           /* index of the chosen audio stream in fmt */
    const AVCodec *codec; /* its decoder */
} sa_audio_input;

/* Opens path, recognises its format by content and picks its best audio
 * stream. On failure nothing is left open and the error detail names path. */
sa_err sa_audio_input_open(const char *path, sa_audio_input *in);
void sa_audio_input_close(sa_audio_input *in);

/* Fills out from the container and the chosen stream (out is overwritten). */
sa_err sa_audio_input_info(const sa_audio_input *in, sa_audio_info *out);

/* Records "path: what: FFmpeg's message" as the error detail and returns the
 * sa_err that matches the AVERROR code (I/O, memory, or else format). */
sa_err sa_audio_fail(int averr, const char *path, const char *what);

#endif
