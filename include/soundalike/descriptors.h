/* descriptors.h: the musical descriptors (loudness, rhythm, tonal) as analyzers.
 *
 * Each function returns a static analyzer (see analyzer.h) that the pipeline
 * runs like any other; the returned pointer is never freed. The analyzers
 * have no configuration and are thread-safe: all state is per track. Every
 * value written is finite, whatever the input (silence, a few samples).
 * Rhythm and tonal read a 22050 Hz stream of SA_RESAMPLE_FAST quality:
 * the band they analyse is resampled faithfully, at a small part of
 * kaiser_best's cost.
 *
 * "loudness" (native rate, the file's channels, every frame; EBU R128)
 *   integrated_lufs   integrated loudness (ITU-R BS.1770-4 with the EBU
 *                     R128 gates), LUFS; SA_LOUDNESS_FLOOR_LUFS when
 *                     nothing passes the gates (silence, < 0.4 s)
 *   range_lu          loudness range (EBU Tech 3342), LU; 0 when undefined
 *   sample_peak_dbfs  largest |sample| over all channels, dBFS; floored at
 *                     SA_LOUDNESS_FLOOR_PEAK_DB. A sample peak, not a true
 *                     peak: 4x oversampling cost more than decoding.
 *   track_gain_db     ReplayGain 2.0 track gain, SA_LOUDNESS_REFERENCE_LUFS
 *                     minus integrated_lufs
 *   A mono file counts as the same signal in both loudspeakers (dual mono),
 *   so it measures as loud as its two-channel copy. Rates from 1 kHz;
 *   below 4 kHz without the high shelf, which would lie past Nyquist. The
 *   meter is our own, one pass over every frame at a seventh to a tenth of
 *   libebur128's cost; it follows libebur128's filter design and block
 *   timing, and the tests hold it to libebur128 (exact mode) within 1e-3
 *   LU on the EBU Tech 3341/3342 signals and within 0.05 LU integrated,
 *   0.1 LU range on decoded recordings (measured: under 1e-4 LU on both;
 *   tests/unit/test_analysis_loudness.c, bench_analysis).
 *
 * "rhythm" (22050 Hz mono)
 *   bpm         tempo in beats per minute, in [SA_RHYTHM_MIN_BPM, SA_RHYTHM_MAX_BPM];
 *               0 when no pulse was found (silence, too short). In
 *               compound meter (6/8, 12/8) the beat is the dotted quarter.
 *   confidence  [0, 1]: autocorrelation of the onset envelope at the beat
 *               period over its energy (1: perfectly periodic); 0 with bpm 0
 *   beats       beat times in seconds from the start, ascending (may be empty)
 *   The analyzer keeps the onset envelope of the track, 86 floats per second.
 *
 * "tonal" (22050 Hz mono)
 *   key       text "C", "C#", "D", ..., "B" (sharp names only)
 *   scale     text "major" or "minor"
 *   strength  [0, 1]: correlation of the chroma with the key's profile
 *             (negative correlations clipped to 0); silence gives C major
 *             with strength 0
 *   chroma    12 floats, pitch classes C..B: the track's mean pitch-class
 *             profile of the spectral peaks from 25 Hz to 2 kHz (each
 *             frame's scaled to a maximum of 1), folded around the
 *             measured tuning and scaled so that its maximum is 1 (all 0
 *             for silence)
 *   dominant  index 0-11 (C = 0) of the chroma maximum, as a float
 *   tuning_cents  deviation of the tuning from A = 440 Hz, [-50, 50)
 */
#ifndef SOUNDALIKE_DESCRIPTORS_H
#define SOUNDALIKE_DESCRIPTORS_H

#include "soundalike/analyzer.h"

#define SA_LOUDNESS_FLOOR_LUFS (-70.0f)
#define SA_LOUDNESS_FLOOR_PEAK_DB (-120.0f)
#define SA_LOUDNESS_REFERENCE_LUFS (-18.0f)

#define SA_RHYTHM_MIN_BPM 40.0f
#define SA_RHYTHM_MAX_BPM 220.0f

const sa_analyzer *sa_loudness_analyzer(void);
const sa_analyzer *sa_rhythm_analyzer(void);
const sa_analyzer *sa_tonal_analyzer(void);

/* Key profile sets: how much each pitch class belongs to a major and a
 * minor key. The tonal analyzer uses SA_KEY_PROFILE_DEFAULT, chosen by
 * measurement with bench/accuracy. */
typedef enum sa_key_profile {
    SA_KEY_PROFILE_KRUMHANSL = 0, /* Krumhansl & Kessler 1982 */
    SA_KEY_PROFILE_TEMPERLEY,     /* Temperley 1999 */
    SA_KEY_PROFILE_KOSTKA_PAYNE,  /* Temperley 2005 */
    SA_KEY_PROFILE_SHAATH,        /* Sha'ath 2011 */
    SA_KEY_PROFILE_EDMA,          /* Faraldo et al. 2016 */
    SA_KEY_PROFILE_BGATE,         /* Faraldo et al. 2017 */
    SA_KEY_PROFILE_COUNT
} sa_key_profile;
#define SA_KEY_PROFILE_DEFAULT SA_KEY_PROFILE_KRUMHANSL

typedef struct sa_key {
    int tonic;      /* pitch class, C = 0 */
    int minor;      /* 1 for minor, 0 for major */
    float strength; /* correlation with the key's profile, clipped to [0, 1] */
} sa_key;

/* The key whose profile correlates best with chroma (12 values, C..B, any
 * scale). Thread-safe. */
sa_err sa_key_estimate(const float chroma[12], sa_key_profile profile, sa_key *out);

/* "C", "C#", ..., "B" for 0..11, NULL otherwise; "krumhansl", ... for a
 * profile. Static strings. */
const char *sa_key_name(int tonic);
const char *sa_key_profile_name(sa_key_profile profile);

#endif
