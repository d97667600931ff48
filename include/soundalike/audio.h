/* audio.h: probing and decoding audio files (the only module that knows FFmpeg).
 *
 * Whether a file is audio is decided by probing its content, never by its
 * name: a text file named .mp3 fails with SA_ERR_FORMAT, a FLAC file named
 * .bin is found. Decoding streams float PCM in blocks, so memory does not
 * grow with the length of a track. All functions are thread-safe on
 * distinct objects. */
#ifndef SOUNDALIKE_AUDIO_H
#define SOUNDALIKE_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "soundalike/error.h"

/* Facts about a file, from its container and its best audio stream. Strings
 * are owned by the struct (malloc'd, NULL when absent); free them with
 * sa_audio_info_clear. Tags come from the container, else from the stream
 * (Ogg keeps them there), are valid UTF-8 (bad bytes become U+FFFD, control
 * characters spaces) and trimmed; a blank tag is NULL. */
typedef struct sa_audio_info {
    double duration_s; /* from the container; 0 when it does not say */
    int sample_rate;
    int channels;
    int64_t bit_rate; /* bits/s, 0 when unknown */
    char *codec;      /* "mp3", "flac", "vorbis", ... */
    char *container;  /* "mp3", "flac", "ogg", "mov,mp4,m4a,...", ... */
    char *title, *artist, *album, *genre;
} sa_audio_info;

/* Opens path and reads its headers. SA_ERR_NOT_FOUND when it does not exist,
 * SA_ERR_IO when it cannot be read or is not a regular file (a directory, a
 * FIFO), SA_ERR_FORMAT when it is empty or not a media file FFmpeg
 * recognises by its content, SA_ERR_UNSUPPORTED when it has no decodable
 * audio stream. */
sa_err sa_audio_probe(const char *path, sa_audio_info *out);
void sa_audio_info_clear(sa_audio_info *info);

typedef struct sa_audio_decoder sa_audio_decoder;

/* Opens path for decoding to interleaved float32 at the file's own sample
 * rate, with at most max_channels channels (1 = mono downmix, 2 = stereo;
 * files with more channels are downmixed; the downmix is normalised, so
 * stereo to mono is the average of left and right). Errors as for
 * sa_audio_probe, and SA_ERR_FORMAT when no audio frame decodes. Fills *info
 * when info is not NULL (free it with sa_audio_info_clear). */
sa_err sa_audio_decoder_open(const char *path, int max_channels, sa_audio_decoder **out,
                             sa_audio_info *info);

/* Output format of the decoder, set by the first decoded frame and fixed for
 * its lifetime: a stream that changes rate or layout midway is converted. */
int sa_audio_decoder_rate(const sa_audio_decoder *dec);
int sa_audio_decoder_channels(const sa_audio_decoder *dec);

/* Decodes up to max_frames frames into buf (max_frames * channels floats);
 * fewer than max_frames only at the end, and *frames is 0 once the stream is
 * over. A corrupt packet in the middle of a file is skipped (counted in
 * sa_audio_decoder_errors), a truncated file ends where its data ends, and
 * 1000 failed packets in a row end the stream; a stream that yields nothing
 * but errors fails at sa_audio_decoder_open with SA_ERR_FORMAT. After an
 * error, every later read fails too. */
sa_err sa_audio_decoder_read(sa_audio_decoder *dec, float *buf, size_t max_frames, size_t *frames);

/* How many packets failed to decode so far. */
int64_t sa_audio_decoder_errors(const sa_audio_decoder *dec);

/* Frees dec; NULL is accepted. */
void sa_audio_decoder_free(sa_audio_decoder *dec);

#endif
