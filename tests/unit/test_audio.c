/* test_audio.c: probing and decoding real files in every format we promise,
 * and every way a file can be wrong.
 *
 * The formats are made at test time from a real mp3 with the ffmpeg tool;
 * without it, those cases are skipped with a message and the rest run on
 * the shared example mp3s alone. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "soundalike/audio.h"
#include "testutil.h"

extern char **environ;

#define BLUES "models/musicnn/examples/TRWJAZW128F42760DD_test.mp3" /* stereo, 22050 Hz */
#define JORAM "models/musicnn/examples/joram-moments_of_clarity-08-solipsism-59-88.mp3" /* mono, 16 kHz */
#define TITLE "Café – 東京 Blues"
#define ARTIST "Ärtist Näme"
#define ALBUM "Äl bum"
#define GENRE "Blues"

static struct {
    char dir[512];
    bool ffmpeg;
} fx;

static char *in_dir(char *buf, size_t cap, const char *name) {
    int n = snprintf(buf, cap, "%s/%s", fx.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
    return buf;
}

static char *shared(char *buf, size_t cap, const char *rel) { return tu_shared_path(buf, cap, rel); }

/* Runs ffmpeg with args (NULL-terminated), quiet; 0 when it succeeded. */
static int run_ffmpeg(const char *const *args) {
    const char *argv[48] = {"ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"};
    size_t n = 6;
    for (size_t i = 0; args[i] && n < 47; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "ffmpeg", &actions, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        return -1;
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

#define NEED_FFMPEG()                                                                                        \
    do {                                                                                                     \
        if (!fx.ffmpeg) {                                                                                    \
            print_message("skipped: the ffmpeg tool is not installed (Debian package ffmpeg)\n");          \
            skip();                                                                                          \
        }                                                                                                    \
    } while (0)

/* Every format we promise, made from the first 10 s of BLUES with tags. */
typedef struct format_case {
    const char *ext, *codec, *container;
    int rate;      /* 0: the source's */
    bool lossless; /* 16-bit PCM underneath: decodes to exactly the WAV's samples */
    const char *encode[6];
} format_case;

static const format_case formats[] = {
    {"wav", "pcm_s16le", "wav", 0, true, {"-c:a", "pcm_s16le"}},
    {"mp3", "mp3", "mp3", 0, false, {"-c:a", "libmp3lame", "-b:a", "128k"}},
    {"flac", "flac", "flac", 0, true, {"-c:a", "flac", "-sample_fmt", "s16"}},
    {"ogg", "vorbis", "ogg", 0, false, {"-c:a", "libvorbis"}},
    {"opus", "opus", "ogg", 48000, false, {"-c:a", "libopus"}},
    {"m4a", "aac", "mov,mp4,m4a,3gp,3g2,mj2", 0, false, {"-c:a", "aac"}},
    {"aiff", "pcm_s16be", "aiff", 0, true, {"-c:a", "pcm_s16be", "-write_id3v2", "1"}},
    {"wma", "wmav2", "asf", 0, false, {"-c:a", "wmav2"}},
};
enum { NFORMATS = sizeof formats / sizeof formats[0] };

/* Unicode and spaces in every generated file's name. */
static char *format_path(char *buf, size_t cap, const format_case *f) {
    char name[64];
    snprintf(name, sizeof name, "tëst sòng 東京.%s", f->ext);
    return in_dir(buf, cap, name);
}

static int make_format(const format_case *f) {
    char src[512], dst[512];
    const char *args[32] = {"-i", shared(src, sizeof src, BLUES), "-t", "10", "-map_metadata", "-1",
                            "-metadata", "title=" TITLE, "-metadata", "artist=" ARTIST,
                            "-metadata", "album=" ALBUM, "-metadata", "genre=  " GENRE " "};
    size_t n = 14;
    for (size_t i = 0; i < 6 && f->encode[i]; i++)
        args[n++] = f->encode[i];
    args[n++] = format_path(dst, sizeof dst, f);
    args[n] = NULL;
    return run_ffmpeg(args);
}

static int group_setup(void **state) {
    (void)state;
    if (!tu_tempdir(fx.dir, sizeof fx.dir))
        return -1;
    fx.ffmpeg = run_ffmpeg((const char *const[]){"-version", NULL}) == 0;
    if (!fx.ffmpeg)
        return 0;
    for (size_t i = 0; i < NFORMATS; i++)
        if (make_format(&formats[i]) != 0) {
            fprintf(stderr, "ffmpeg could not make the %s test file\n", formats[i].ext);
            return -1;
        }
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    tu_rmtree(fx.dir);
    return 0;
}

/* Appends all of src to dst. */
static void append_file(const char *dst, const char *src) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "ab");
    assert_non_null(in);
    assert_non_null(out);
    static char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

typedef struct pcm {
    float *samples;
    size_t frames;
    int rate, channels;
    int64_t errors;
} pcm;

/* Decodes all of path, in blocks of an odd size so that blocks and decoded
 * frames never line up; checks that a read after the end gives 0 again. */
static sa_err decode_all(const char *path, int max_channels, pcm *out) {
    *out = (pcm){0};
    sa_audio_decoder *d;
    sa_err err = sa_audio_decoder_open(path, max_channels, &d, NULL);
    if (err)
        return err;
    out->rate = sa_audio_decoder_rate(d);
    out->channels = sa_audio_decoder_channels(d);
    size_t ch = (size_t)out->channels, cap = 0, got;
    enum { BLOCK = 1031 };
    for (;;) {
        if (out->frames + BLOCK > cap) {
            cap = 2 * (out->frames + BLOCK);
            float *p = realloc(out->samples, cap * ch * sizeof *p);
            assert_non_null(p);
            out->samples = p;
        }
        err = sa_audio_decoder_read(d, out->samples + out->frames * ch, BLOCK, &got);
        if (err || got == 0)
            break;
        assert_true(got <= BLOCK);
        out->frames += got;
    }
    if (!err) {
        assert_int_equal(sa_audio_decoder_read(d, out->samples, BLOCK, &got), SA_OK);
        assert_int_equal(got, 0);
    }
    out->errors = sa_audio_decoder_errors(d);
    sa_audio_decoder_free(d);
    return err;
}

static double seconds(const pcm *p) { return (double)p->frames / p->rate; }

static double rms(const pcm *p) {
    double sum = 0;
    size_t n = p->frames * (size_t)p->channels;
    for (size_t i = 0; i < n; i++)
        sum += (double)p->samples[i] * p->samples[i];
    return n ? sqrt(sum / (double)n) : 0.0;
}

static void assert_near_rel(double got, double want, double rel) {
    if (fabs(got - want) > rel * fabs(want))
        fail_msg("%.4f is not within %.0f%% of %.4f", got, rel * 100, want);
}

static void assert_contains(const char *text, const char *part) {
    if (!strstr(text, part))
        fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

static void test_example_mp3s(void **state) {
    (void)state;
    char path[512];
    sa_audio_info info;
    assert_int_equal(sa_audio_probe(shared(path, sizeof path, BLUES), &info), SA_OK);
    assert_string_equal(info.codec, "mp3");
    assert_string_equal(info.container, "mp3");
    assert_int_equal(info.sample_rate, 22050);
    assert_int_equal(info.channels, 2);
    assert_int_equal(info.bit_rate, 64000);
    assert_string_equal(info.title, "After Hours");
    assert_string_equal(info.artist, "Muddy Waters");
    assert_null(info.genre);
    pcm p;
    assert_int_equal(decode_all(path, 2, &p), SA_OK);
    assert_int_equal(p.rate, 22050);
    assert_int_equal(p.channels, 2);
    assert_int_equal(p.errors, 0);
    assert_near_rel(seconds(&p), info.duration_s, 0.03);
    assert_true(rms(&p) > 0.01);
    free(p.samples);
    sa_audio_info_clear(&info);

    assert_int_equal(sa_audio_probe(shared(path, sizeof path, JORAM), &info), SA_OK);
    assert_int_equal(info.sample_rate, 16000);
    assert_int_equal(info.channels, 1);
    assert_string_equal(info.title, "solipsism (EXCERPT)");
    assert_string_equal(info.album, "Moments of Clarity");
    assert_int_equal(decode_all(path, 2, &p), SA_OK);
    assert_int_equal(p.channels, 1); /* a mono file stays mono */
    assert_near_rel(seconds(&p), info.duration_s, 0.03);
    free(p.samples);
    sa_audio_info_clear(&info);
    sa_audio_info_clear(&info); /* clearing twice is harmless */
    sa_audio_info_clear(NULL);
}

static void test_formats(void **state) {
    (void)state;
    NEED_FFMPEG();
    char path[512];
    pcm wav = {0};
    for (size_t i = 0; i < NFORMATS; i++) {
        const format_case *f = &formats[i];
        print_message("format %s\n", f->ext);
        sa_audio_info info;
        assert_int_equal(sa_audio_probe(format_path(path, sizeof path, f), &info), SA_OK);
        assert_string_equal(info.codec, f->codec);
        assert_string_equal(info.container, f->container);
        assert_int_equal(info.sample_rate, f->rate ? f->rate : 22050);
        assert_int_equal(info.channels, 2);
        assert_true(info.bit_rate > 0);
        assert_near_rel(info.duration_s, 10.0, 0.03);
        assert_string_equal(info.title, TITLE);
        assert_string_equal(info.artist, ARTIST);
        assert_string_equal(info.album, ALBUM);
        assert_string_equal(info.genre, GENRE); /* written with blanks around it */

        pcm p;
        sa_audio_info dinfo;
        sa_audio_decoder *d;
        assert_int_equal(sa_audio_decoder_open(path, 2, &d, &dinfo), SA_OK);
        assert_string_equal(dinfo.codec, info.codec);
        assert_string_equal(dinfo.title, info.title);
        sa_audio_info_clear(&dinfo);
        sa_audio_decoder_free(d);
        assert_int_equal(decode_all(path, 2, &p), SA_OK);
        assert_int_equal(p.rate, info.sample_rate);
        assert_int_equal(p.channels, 2);
        assert_int_equal(p.errors, 0);
        assert_near_rel(seconds(&p), info.duration_s, 0.03);
        if (i == 0) {
            wav = p; /* the reference: formats[0] is the WAV */
        } else if (f->lossless) {
            assert_int_equal(p.frames, wav.frames);
            assert_memory_equal(p.samples, wav.samples, wav.frames * 2 * sizeof(float));
        } else {
            assert_near_rel(rms(&p), rms(&wav), 0.15); /* lossy, but the same music */
        }
        if (p.samples != wav.samples)
            free(p.samples);
        sa_audio_info_clear(&info);
    }
    free(wav.samples);
}

static void test_flac_named_bin(void **state) {
    (void)state;
    NEED_FFMPEG();
    char src[512], path[512];
    assert_int_equal(tu_copy_file(format_path(src, sizeof src, &formats[2]), in_dir(path, sizeof path, "data.bin"), 0),
                     0);
    sa_audio_info info;
    assert_int_equal(sa_audio_probe(path, &info), SA_OK);
    assert_string_equal(info.container, "flac");
    assert_string_equal(info.codec, "flac");
    sa_audio_info_clear(&info);
    pcm p;
    assert_int_equal(decode_all(path, 2, &p), SA_OK);
    assert_near_rel(seconds(&p), 10.0, 0.01);
    free(p.samples);
}

/* Overwrites bytes [from, to) of path with a fixed pseudo-random sequence. */
static void scramble(const char *path, long from, long to) {
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, from, SEEK_SET), 0);
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (long i = from; i < to; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        assert_int_not_equal(fputc((int)(x >> 56), f), EOF);
    }
    assert_int_equal(fclose(f), 0);
}

/* Probe and decoder_open both fail with want, name the file, and say why. */
static void assert_rejected(const char *path, sa_err want, const char *why) {
    sa_audio_info info = {.sample_rate = 1};
    assert_int_equal(sa_audio_probe(path, &info), want);
    assert_contains(sa_error_detail(), path);
    assert_contains(sa_error_detail(), why);
    assert_int_equal(info.sample_rate, 0);
    assert_null(info.codec);
    sa_audio_decoder *d = (sa_audio_decoder *)&info;
    assert_int_equal(sa_audio_decoder_open(path, 2, &d, &info), want);
    assert_null(d);
    assert_contains(sa_error_detail(), why);
}

static void test_not_audio(void **state) {
    (void)state;
    char path[512];
    assert_int_equal(tu_write_file(in_dir(path, sizeof path, "empty.mp3"), "", 0), 0);
    assert_rejected(path, SA_ERR_FORMAT, "empty");

    static const char text[] = "This is a text file that only pretends to be music.\n";
    assert_int_equal(tu_write_file(in_dir(path, sizeof path, "notes.mp3"), text, sizeof text - 1), 0);
    assert_rejected(path, SA_ERR_FORMAT, "not recognised");

    /* long enough that FFmpeg's prober falls back on the name alone */
    size_t n = 3u << 20;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = text[i % (sizeof text - 1)];
    assert_int_equal(tu_write_file(in_dir(path, sizeof path, "long notes.mp3"), big, n), 0);
    free(big);
    assert_rejected(path, SA_ERR_FORMAT, "not recognised");

    /* noise does not hang the prober or the decoder */
    char *zeros = calloc(1, 500000);
    assert_non_null(zeros);
    assert_int_equal(tu_write_file(in_dir(path, sizeof path, "noise.mp3"), zeros, 500000), 0);
    free(zeros);
    scramble(path, 0, 500000);
    assert_rejected(path, SA_ERR_FORMAT, "not recognised");

    assert_rejected(in_dir(path, sizeof path, "no such file.mp3"), SA_ERR_NOT_FOUND, "no such file");
    assert_rejected(fx.dir, SA_ERR_IO, "directory");
    /* a FIFO without a writer would block a plain open() forever */
    assert_int_equal(mkfifo(in_dir(path, sizeof path, "pipe.mp3"), 0600), 0);
    assert_rejected(path, SA_ERR_IO, "not a regular file");
}

/* Root reads any file, so as root the check runs in a child that has become
 * nobody (uid and gid 65534); its exit status carries the verdict. */
static void test_unreadable(void **state) {
    (void)state;
    char src[512], path[512];
    assert_int_equal(tu_copy_file(shared(src, sizeof src, JORAM), in_dir(path, sizeof path, "locked.mp3"), 0), 0);
    assert_int_equal(chmod(path, 0), 0);
    if (geteuid() != 0) {
        assert_rejected(path, SA_ERR_IO, "denied");
        return;
    }
    assert_int_equal(chmod(fx.dir, 0755), 0); /* nobody may look into the folder, not read the file */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sa_audio_info info;
        sa_audio_decoder *d = NULL;
        int ok = setgid(65534) == 0 && setuid(65534) == 0 && sa_audio_probe(path, &info) == SA_ERR_IO &&
                 strstr(sa_error_detail(), "denied") && sa_audio_decoder_open(path, 2, &d, &info) == SA_ERR_IO &&
                 !d && strstr(sa_error_detail(), "denied");
        _exit(ok ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_video_only(void **state) {
    (void)state;
    NEED_FFMPEG();
    char path[512];
    assert_int_equal(run_ffmpeg((const char *const[]){"-f", "lavfi", "-i", "testsrc=d=1:s=64x64", "-c:v", "mpeg4",
                                                      in_dir(path, sizeof path, "video.mp4"), NULL}),
                     0);
    assert_rejected(path, SA_ERR_UNSUPPORTED, "no audio stream");
}

static void test_big_cover_art(void **state) {
    (void)state;
    NEED_FFMPEG();
    /* a 2 MB picture in the ID3 tag hides the first mp3 frame from FFmpeg's
     * prober (1 MB); no extension either, so the name cannot help */
    char src[512], png[512], path[512];
    assert_int_equal(run_ffmpeg((const char *const[]){"-f", "lavfi", "-i",
                                                      "nullsrc=s=1200x1200,geq=lum='random(1)*255':cb=128:cr=128",
                                                      "-frames:v", "1", in_dir(png, sizeof png, "cover.png"), NULL}),
                     0);
    assert_int_equal(run_ffmpeg((const char *const[]){"-i", format_path(src, sizeof src, &formats[1]), "-i", png,
                                                      "-map", "0", "-map", "1", "-c", "copy", "-id3v2_version", "3",
                                                      "-f", "mp3", in_dir(path, sizeof path, "with cover"), NULL}),
                     0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 1500000);
    sa_audio_info info;
    assert_int_equal(sa_audio_probe(path, &info), SA_OK);
    assert_string_equal(info.codec, "mp3");
    assert_string_equal(info.title, TITLE);
    pcm p;
    assert_int_equal(decode_all(path, 2, &p), SA_OK); /* the picture's stream is not audio */
    assert_near_rel(seconds(&p), info.duration_s, 0.03);
    free(p.samples);
    sa_audio_info_clear(&info);
}

static void test_truncated_mp3(void **state) {
    (void)state;
    char src[512], path[512];
    struct stat st;
    assert_int_equal(stat(shared(src, sizeof src, BLUES), &st), 0);
    assert_int_equal(tu_copy_file(src, in_dir(path, sizeof path, "cut.mp3"), (size_t)st.st_size * 3 / 10), 0);
    pcm full, cut;
    assert_int_equal(decode_all(src, 2, &full), SA_OK);
    assert_int_equal(decode_all(path, 2, &cut), SA_OK);
    double part = (double)cut.frames / (double)full.frames;
    if (part < 0.2 || part > 0.4)
        fail_msg("30%% of the bytes decoded to %.0f%% of the audio", part * 100);
    assert_true(cut.errors <= 2);
    /* what is there is the start of the same audio */
    assert_memory_equal(cut.samples, full.samples, cut.frames / 2 * 2 * sizeof(float));
    free(full.samples);
    free(cut.samples);
}

static void test_corrupt_middle(void **state) {
    (void)state;
    char src[512], path[512];
    struct stat st;
    assert_int_equal(stat(shared(src, sizeof src, BLUES), &st), 0);
    assert_int_equal(tu_copy_file(src, in_dir(path, sizeof path, "hole.mp3"), 0), 0);
    scramble(path, st.st_size * 4 / 10, st.st_size * 5 / 10);
    pcm full, hole;
    assert_int_equal(decode_all(src, 2, &full), SA_OK);
    assert_int_equal(decode_all(path, 2, &hole), SA_OK);
    print_message("a scrambled tenth of the mp3: %lld packets skipped, %.1f of %.1f s decoded\n",
                  (long long)hole.errors, seconds(&hole), seconds(&full));
    assert_true(hole.errors > 0);
    double part = (double)hole.frames / (double)full.frames;
    assert_true(part > 0.8 && part <= 1.0);
    free(full.samples);
    free(hole.samples);
}

/* Offset of the payload of the top-level MP4 box typ, and its size. */
static void find_box(const char *path, const char *typ, long *offset, long *size) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char h[8];
    long pos = 0;
    while (fread(h, 1, 8, f) == 8) {
        long len = (long)h[0] << 24 | (long)h[1] << 16 | (long)h[2] << 8 | h[3];
        assert_true(len >= 8);
        if (memcmp(h + 4, typ, 4) == 0) {
            *offset = pos + 8;
            *size = len - 8;
            fclose(f);
            return;
        }
        pos += len;
        assert_int_equal(fseek(f, pos, SEEK_SET), 0);
    }
    fclose(f);
    fail_msg("no %s box in %s", typ, path);
}

static void test_only_errors(void **state) {
    (void)state;
    NEED_FFMPEG();
    /* an intact MP4 index over AAC packets that are all noise */
    char src[512], path[512];
    assert_int_equal(tu_copy_file(format_path(src, sizeof src, &formats[5]), in_dir(path, sizeof path, "noise.m4a"), 0),
                     0);
    long off = 0, size = 0;
    find_box(path, "mdat", &off, &size);
    scramble(path, off, off + size);
    sa_audio_info info;
    assert_int_equal(sa_audio_probe(path, &info), SA_OK); /* the container is fine */
    sa_audio_info_clear(&info);
    sa_audio_decoder *d;
    assert_int_equal(sa_audio_decoder_open(path, 2, &d, NULL), SA_ERR_FORMAT);
    assert_null(d);
    assert_contains(sa_error_detail(), "no audio could be decoded");
}

static void test_mono_is_average(void **state) {
    (void)state;
    char path[512];
    pcm stereo, mono;
    assert_int_equal(decode_all(shared(path, sizeof path, BLUES), 2, &stereo), SA_OK);
    assert_int_equal(decode_all(path, 1, &mono), SA_OK);
    assert_int_equal(stereo.channels, 2);
    assert_int_equal(mono.channels, 1);
    assert_int_equal(mono.rate, stereo.rate);
    assert_int_equal(mono.frames, stereo.frames);
    double worst = 0, diff = 0; /* diff: the channels must differ, or the test proves nothing */
    for (size_t i = 0; i < mono.frames; i++) {
        float l = stereo.samples[2 * i], r = stereo.samples[2 * i + 1];
        worst = fmax(worst, fabs(mono.samples[i] - 0.5 * (l + r)));
        diff = fmax(diff, fabs(l - r));
    }
    assert_true(diff > 0.01);
    if (worst > 1e-6)
        fail_msg("mono differs from (L+R)/2 by up to %g", worst);
    free(stereo.samples);
    free(mono.samples);
}

/* A float WAV whose samples include NaN and infinities decodes to finite
 * samples: those become silence, the others are kept. */
static void test_non_finite_samples(void **state) {
    (void)state;
    enum { FRAMES = 4410 };
    unsigned char wav[44 + FRAMES * 4];
    const uint32_t data = FRAMES * 4, riff = 36 + data, fmt_len = 16, rate = 44100, byte_rate = rate * 4;
    const uint16_t ieee_float = 3, channels = 1, block = 4, bits = 32;
    memcpy(wav, "RIFF", 4);
    memcpy(wav + 4, &riff, 4); /* the fields are little-endian, as is the machine */
    memcpy(wav + 8, "WAVEfmt ", 8);
    memcpy(wav + 16, &fmt_len, 4);
    memcpy(wav + 20, &ieee_float, 2);
    memcpy(wav + 22, &channels, 2);
    memcpy(wav + 24, &rate, 4);
    memcpy(wav + 28, &byte_rate, 4);
    memcpy(wav + 32, &block, 2);
    memcpy(wav + 34, &bits, 2);
    memcpy(wav + 36, "data", 4);
    memcpy(wav + 40, &data, 4);
    for (int i = 0; i < FRAMES; i++) {
        float x = i == 100 || i == FRAMES - 1 ? NAN : i == 200 ? INFINITY : i == 300 ? -INFINITY : 0.25f;
        memcpy(wav + 44 + 4 * i, &x, 4);
    }
    char path[512];
    assert_int_equal(tu_write_file(in_dir(path, sizeof path, "nan.wav"), wav, sizeof wav), 0);
    pcm p;
    assert_int_equal(decode_all(path, 1, &p), SA_OK);
    assert_int_equal(p.frames, FRAMES);
    for (size_t i = 0; i < p.frames; i++) {
        float want = i == 100 || i == 200 || i == 300 || i == FRAMES - 1 ? 0.0f : 0.25f;
        if (p.samples[i] != want)
            fail_msg("sample %zu is %g, not %g", i, (double)p.samples[i], (double)want);
    }
    free(p.samples);
}

static void test_surround_downmix(void **state) {
    (void)state;
    NEED_FFMPEG();
    char src[512], path[512];
    assert_int_equal(run_ffmpeg((const char *const[]){"-i", format_path(src, sizeof src, &formats[0]), "-t", "3",
                                                      "-af", "pan=5.1|FL=c0|FR=c1|FC=0.5*c0+0.5*c1|LFE=0*c0|BL=c0|BR=c1",
                                                      "-c:a", "flac", in_dir(path, sizeof path, "surround.flac"), NULL}),
                     0);
    sa_audio_info info;
    assert_int_equal(sa_audio_probe(path, &info), SA_OK);
    assert_int_equal(info.channels, 6);
    sa_audio_info_clear(&info);
    int limits[] = {8, 2, 1}, want[] = {6, 2, 1};
    for (int k = 0; k < 3; k++) {
        pcm p;
        assert_int_equal(decode_all(path, limits[k], &p), SA_OK);
        assert_int_equal(p.channels, want[k]);
        assert_near_rel(seconds(&p), 3.0, 0.01);
        float peak = 0;
        for (size_t i = 0; i < p.frames * (size_t)p.channels; i++)
            peak = fmaxf(peak, fabsf(p.samples[i]));
        assert_true(peak > 0.05 && peak <= 1.0f); /* normalised downmix: no clipping */
        free(p.samples);
    }
}

static void test_changing_parameters(void **state) {
    (void)state;
    NEED_FFMPEG();
    /* 5 s at 44.1 kHz stereo, then 5 s at 22.05 kHz mono: one mp3 stream */
    char src[512], a[512], b[512], path[512];
    format_path(src, sizeof src, &formats[0]);
    const char *mp3[] = {"-write_xing", "0", "-id3v2_version", "0", "-c:a", "libmp3lame"};
    assert_int_equal(run_ffmpeg((const char *const[]){"-i", src, "-t", "5", "-ar", "44100", "-ac", "2", mp3[0], mp3[1],
                                                      mp3[2], mp3[3], mp3[4], mp3[5],
                                                      in_dir(a, sizeof a, "a.mp3"), NULL}),
                     0);
    assert_int_equal(run_ffmpeg((const char *const[]){"-ss", "5", "-i", src, "-ar", "22050", "-ac", "1", mp3[0],
                                                      mp3[1], mp3[2], mp3[3], mp3[4], mp3[5],
                                                      in_dir(b, sizeof b, "b.mp3"), NULL}),
                     0);
    assert_int_equal(tu_copy_file(a, in_dir(path, sizeof path, "a+b.mp3"), 0), 0);
    append_file(path, b);

    pcm p;
    assert_int_equal(decode_all(path, 2, &p), SA_OK);
    assert_int_equal(p.rate, 44100);
    assert_int_equal(p.channels, 2);
    assert_near_rel(seconds(&p), 10.0, 0.03); /* the second half resampled, not dropped */
    /* the second half is the mono part upmixed: both channels equal all
     * through it (and not silent), while the first half's channels differ */
    double same = 0, level = 0, first_diff = 0;
    for (size_t i = 0; i < p.frames * 4 / 10; i++)
        first_diff = fmax(first_diff, fabs(p.samples[2 * i] - p.samples[2 * i + 1]));
    for (size_t i = p.frames * 6 / 10; i < p.frames; i++) {
        same = fmax(same, fabs(p.samples[2 * i] - p.samples[2 * i + 1]));
        level = fmax(level, fabs(p.samples[2 * i]));
    }
    assert_true(first_diff > 0.01);
    assert_true(level > 0.05);
    if (same > 1e-6)
        fail_msg("the upmixed mono part's channels differ by up to %g", same);
    assert_true(rms(&p) > 0.01);
    free(p.samples);
}

typedef struct job {
    const char *path;
    int max_channels;
    pcm result;
    sa_err err;
} job;

static void *decode_job(void *arg) {
    job *j = arg;
    j->err = decode_all(j->path, j->max_channels, &j->result);
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    char a[512], b[512];
    shared(a, sizeof a, BLUES);
    shared(b, sizeof b, JORAM);
    enum { N = 4 };
    job jobs[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (job){.path = i % 2 ? b : a, .max_channels = 1 + i / 2};
        assert_int_equal(pthread_create(&threads[i], NULL, decode_job, &jobs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < N; i++) {
        pcm alone;
        assert_int_equal(jobs[i].err, SA_OK);
        assert_int_equal(decode_all(jobs[i].path, jobs[i].max_channels, &alone), SA_OK);
        assert_int_equal(jobs[i].result.frames, alone.frames);
        assert_int_equal(jobs[i].result.channels, alone.channels);
        assert_memory_equal(jobs[i].result.samples, alone.samples,
                            alone.frames * (size_t)alone.channels * sizeof(float));
        free(alone.samples);
        free(jobs[i].result.samples);
    }
}

static long resident_bytes(void) {
    long size, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static void test_bounded_memory(void **state) {
    (void)state;
    NEED_FFMPEG();
    /* an hour of 8 kHz mono mp3, made by joining copies of a 30 s one: as
     * floats it would take 115 MB */
    char src[512], part[512], path[512];
    assert_int_equal(run_ffmpeg((const char *const[]){"-i", shared(src, sizeof src, BLUES), "-ar", "8000", "-ac", "1",
                                                      "-b:a", "8k", "-write_xing", "0", "-id3v2_version", "0", "-c:a",
                                                      "libmp3lame", in_dir(part, sizeof part, "part.mp3"), NULL}),
                     0);
    pcm one;
    assert_int_equal(decode_all(part, 1, &one), SA_OK);
    double part_s = seconds(&one);
    free(one.samples);
    int copies = (int)ceil(3600.0 / part_s);
    assert_int_equal(tu_write_file(in_dir(path, sizeof path, "hour.mp3"), "", 0), 0);
    for (int i = 0; i < copies; i++)
        append_file(path, part);

    sa_audio_info info;
    sa_audio_decoder *d;
    long before = resident_bytes(), peak = before;
    assert_int_equal(sa_audio_decoder_open(path, 1, &d, &info), SA_OK);
    float block[4096];
    size_t frames = 0, got;
    for (int i = 0; sa_audio_decoder_read(d, block, 4096, &got) == SA_OK && got; i++) {
        frames += got;
        if (i % 64 == 0 && resident_bytes() > peak)
            peak = resident_bytes();
    }
    double secs = (double)frames / sa_audio_decoder_rate(d);
    assert_near_rel(secs, copies * part_s, 0.03);
    assert_near_rel(secs, info.duration_s, 0.03);
    assert_true(sa_audio_decoder_errors(d) <= copies); /* at worst one per joint */
    sa_audio_decoder_free(d);
    sa_audio_info_clear(&info);
    print_message("decoding %.0f s grew the resident set by %.1f MB\n", secs, (double)(peak - before) / 1e6);
#ifndef __SANITIZE_ADDRESS__ /* ASan's quarantine keeps freed memory resident */
    assert_true(peak - before < 16 * 1000 * 1000);
#endif
}

static void test_tags_cleaned(void **state) {
    (void)state;
    NEED_FFMPEG();
    char src[512], path[512];
    assert_int_equal(run_ffmpeg((const char *const[]){"-i", format_path(src, sizeof src, &formats[0]), "-t", "1",
                                                      "-map_metadata", "-1", "-metadata", "title=Bad\xff" "Byte\tTab",
                                                      "-metadata", "ARTIST=  padded  ", "-metadata", "genre=   ",
                                                      "-c:a", "libvorbis", in_dir(path, sizeof path, "tags.ogg"),
                                                      NULL}),
                     0);
    sa_audio_info info;
    assert_int_equal(sa_audio_probe(path, &info), SA_OK);
    assert_string_equal(info.title, "Bad\xEF\xBF\xBD" "Byte Tab");
    assert_string_equal(info.artist, "padded");
    assert_null(info.album);
    assert_null(info.genre);
    sa_audio_info_clear(&info);
}

static void test_bad_arguments(void **state) {
    (void)state;
    char path[512];
    sa_audio_info info;
    sa_audio_decoder *d;
    assert_int_equal(sa_audio_probe(NULL, &info), SA_ERR_INVALID);
    assert_int_equal(sa_audio_probe(shared(path, sizeof path, JORAM), NULL), SA_ERR_INVALID);
    assert_int_equal(sa_audio_decoder_open(path, 0, &d, NULL), SA_ERR_INVALID);
    assert_null(d);
    assert_int_equal(sa_audio_decoder_open(path, 1, NULL, NULL), SA_ERR_INVALID);
    assert_int_equal(sa_audio_decoder_open(path, 1, &d, NULL), SA_OK);
    float buf[16];
    size_t got = 99;
    assert_int_equal(sa_audio_decoder_read(d, buf, 0, &got), SA_ERR_INVALID);
    assert_int_equal(got, 0);
    assert_int_equal(sa_audio_decoder_read(d, NULL, 16, &got), SA_ERR_INVALID);
    assert_int_equal(sa_audio_decoder_read(d, buf, 16, &got), SA_OK);
    assert_int_equal(got, 16);
    sa_audio_decoder_free(d);
    sa_audio_decoder_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_mp3s),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_flac_named_bin),
        cmocka_unit_test(test_not_audio),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_video_only),
        cmocka_unit_test(test_big_cover_art),
        cmocka_unit_test(test_truncated_mp3),
        cmocka_unit_test(test_corrupt_middle),
        cmocka_unit_test(test_only_errors),
        cmocka_unit_test(test_mono_is_average),
        cmocka_unit_test(test_surround_downmix),
        cmocka_unit_test(test_non_finite_samples),
        cmocka_unit_test(test_changing_parameters),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_bounded_memory),
        cmocka_unit_test(test_tags_cleaned),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
