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

/* Facts about a file, from its container and first audio stream. Strings
 * are owned by the struct (malloc'd, NULL when absent); free them with
 * sa_audio_info_clear. */
typedef struct sa_audio_info {
    double duration_s; /* from the container; 0 when it does not say */
    int sample_rate;
    int channels;
    int64_t bit_rate; /* bits/s, 0 when unknown */
    char *codec;      /* "mp3", "flac", "vorbis", ... */
    char *container;  /* "mp3", "flac", "ogg", "mov,mp4,m4a,...", ... */
    char *title, *artist, *album, *genre;
} sa_audio_info;

/* Opens path and reads its headers. SA_ERR_IO when it cannot be read,
 * SA_ERR_FORMAT when it is not a media file FFmpeg recognises,
 * SA_ERR_UNSUPPORTED when it has no decodable audio stream. */
sa_err sa_audio_probe(const char *path, sa_audio_info *out);
void sa_audio_info_clear(sa_audio_info *info);

typedef struct sa_audio_decoder sa_audio_decoder;

/* Opens path for decoding to interleaved float32 at the file's own sample
 * rate, with at most max_channels channels (1 = mono downmix, 2 = stereo;
 * files with more channels are downmixed). Fills *info when info is not NULL. */
sa_err sa_audio_decoder_open(const char *path, int max_channels, sa_audio_decoder **out,
                             sa_audio_info *info);

/* Output format of the decoder (fixed for its lifetime). */
int sa_audio_decoder_rate(const sa_audio_decoder *dec);
int sa_audio_decoder_channels(const sa_audio_decoder *dec);

/* Decodes up to max_frames frames into buf (max_frames * channels floats).
 * *frames is 0 at the end of the stream. A corrupt packet in the middle of a
 * file is skipped (counted in sa_audio_decoder_errors); a stream that yields
 * nothing but errors fails with SA_ERR_FORMAT. */
sa_err sa_audio_decoder_read(sa_audio_decoder *dec, float *buf, size_t max_frames, size_t *frames);

/* How many packets failed to decode so far. */
int64_t sa_audio_decoder_errors(const sa_audio_decoder *dec);

/* Frees dec; NULL is accepted. */
void sa_audio_decoder_free(sa_audio_decoder *dec);

#endif
