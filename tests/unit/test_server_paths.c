/* test_server_paths.c: confining client paths (symlinks, "..", absent files), Range headers, content types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/internal.h"
#include "testutil.h"

typedef struct fixture {
    char dir[256];
    char lib[PATH_MAX]; /* real path of the library folder */
    char *roots[1];
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    char p[PATH_MAX + 64];
    if (!fx || !tu_tempdir(fx->dir, sizeof fx->dir))
        return -1;
    snprintf(p, sizeof p, "%s/lib", fx->dir);
    if (mkdir(p, 0777) != 0 || !realpath(p, fx->lib))
        return -1;
    snprintf(p, sizeof p, "%s/lib/sub", fx->dir);
    if (mkdir(p, 0777) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/lib/sub/a.mp3", fx->dir);
    if (tu_write_file(p, "x", 1) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/secret.txt", fx->dir);
    if (tu_write_file(p, "s", 1) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/lib2", fx->dir); /* shares the library's name as a prefix */
    if (mkdir(p, 0777) != 0)
        return -1;
    char target[PATH_MAX + 64], link[PATH_MAX + 64];
    snprintf(target, sizeof target, "%s/secret.txt", fx->dir);
    snprintf(link, sizeof link, "%s/lib/escape.mp3", fx->dir);
    if (symlink(target, link) != 0)
        return -1;
    snprintf(target, sizeof target, "%s/lib/sub/a.mp3", fx->dir);
    snprintf(link, sizeof link, "%s/lib/inside.mp3", fx->dir);
    if (symlink(target, link) != 0)
        return -1;
    snprintf(link, sizeof link, "%s/lib/up", fx->dir);
    if (symlink(fx->dir, link) != 0)
        return -1;
    fx->roots[0] = fx->lib;
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    tu_rmtree(fx->dir);
    free(fx);
    return 0;
}

static sa_err resolve(fixture *fx, const char *rel, char *out) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", fx->dir, rel);
    return srv_path_resolve(fx->roots, 1, path, out, PATH_MAX);
}

static void test_inside(void **state) {
    fixture *fx = *state;
    char out[PATH_MAX], want[PATH_MAX + 32];
    assert_int_equal(resolve(fx, "lib/sub/a.mp3", out), SA_OK);
    snprintf(want, sizeof want, "%s/sub/a.mp3", fx->lib);
    assert_string_equal(out, want);
    /* spelled with "..", "." and doubled slashes, it is the same file */
    assert_int_equal(resolve(fx, "lib/sub/../sub/./a.mp3", out), SA_OK);
    assert_string_equal(out, want);
    assert_int_equal(resolve(fx, "lib//sub///a.mp3", out), SA_OK);
    assert_string_equal(out, want);
    /* a symlink to a file inside stays inside */
    assert_int_equal(resolve(fx, "lib/inside.mp3", out), SA_OK);
    assert_string_equal(out, want);
    /* the root itself */
    assert_int_equal(resolve(fx, "lib", out), SA_OK);
    assert_string_equal(out, fx->lib);
}

static void test_outside(void **state) {
    fixture *fx = *state;
    char out[PATH_MAX];
    assert_int_equal(resolve(fx, "secret.txt", out), SA_ERR_DENIED);
    assert_int_equal(resolve(fx, "lib/../secret.txt", out), SA_ERR_DENIED);
    assert_int_equal(resolve(fx, "lib/sub/../../secret.txt", out), SA_ERR_DENIED);
    assert_int_equal(resolve(fx, "lib/escape.mp3", out), SA_ERR_DENIED);  /* symlink out */
    assert_int_equal(resolve(fx, "lib/up/secret.txt", out), SA_ERR_DENIED); /* through a linked folder */
    assert_int_equal(resolve(fx, "lib2", out), SA_ERR_DENIED);            /* a prefix is not a parent */
    assert_int_equal(srv_path_resolve(fx->roots, 1, "/etc/passwd", out, PATH_MAX), SA_ERR_DENIED);
    assert_int_equal(srv_path_resolve(fx->roots, 1, "/", out, PATH_MAX), SA_ERR_DENIED);
    /* a relative path is taken from the current folder, wherever that is */
    assert_int_equal(srv_path_resolve(fx->roots, 1, "../../../../../../etc/passwd", out, PATH_MAX), SA_ERR_DENIED);
    /* no folders at all: everything is outside */
    assert_int_equal(srv_path_resolve(NULL, 0, "/etc/passwd", out, PATH_MAX), SA_ERR_DENIED);
}

static void test_absent(void **state) {
    fixture *fx = *state;
    char out[PATH_MAX];
    /* inside: 404; outside: 403 whether it exists or not (nothing leaks) */
    assert_int_equal(resolve(fx, "lib/sub/none.mp3", out), SA_ERR_NOT_FOUND);
    assert_int_equal(resolve(fx, "lib/no/such/folder/x.mp3", out), SA_ERR_NOT_FOUND);
    assert_int_equal(resolve(fx, "nothing-here.txt", out), SA_ERR_DENIED);
    assert_int_equal(resolve(fx, "lib/../../nowhere/x", out), SA_ERR_DENIED);
    assert_int_equal(resolve(fx, "lib/up/none", out), SA_ERR_DENIED);
    assert_int_equal(resolve(fx, "lib/sub/a.mp3/child", out), SA_ERR_NOT_FOUND);
    assert_int_equal(srv_path_resolve(fx->roots, 1, "", out, PATH_MAX), SA_ERR_INVALID);
    char huge[PATH_MAX + 10];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(srv_path_resolve(fx->roots, 1, huge, out, PATH_MAX), SA_ERR_INVALID);
}

static void test_new_file(void **state) {
    fixture *fx = *state;
    char out[PATH_MAX], path[PATH_MAX + 64], want[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/lib/new.index", fx->dir);
    assert_int_equal(srv_path_resolve_new(fx->roots, 1, path, out, PATH_MAX), SA_OK);
    snprintf(want, sizeof want, "%s/new.index", fx->lib);
    assert_string_equal(out, want);
    snprintf(path, sizeof path, "%s/lib/sub/../new.index", fx->dir);
    assert_int_equal(srv_path_resolve_new(fx->roots, 1, path, out, PATH_MAX), SA_OK);
    assert_string_equal(out, want);
    snprintf(path, sizeof path, "%s/lib/../new.index", fx->dir);
    assert_int_equal(srv_path_resolve_new(fx->roots, 1, path, out, PATH_MAX), SA_ERR_DENIED);
    snprintf(path, sizeof path, "%s/lib/up/new.index", fx->dir);
    assert_int_equal(srv_path_resolve_new(fx->roots, 1, path, out, PATH_MAX), SA_ERR_DENIED);
    snprintf(path, sizeof path, "%s/lib/missing/new.index", fx->dir);
    assert_int_equal(srv_path_resolve_new(fx->roots, 1, path, out, PATH_MAX), SA_ERR_NOT_FOUND);
    assert_int_equal(srv_path_resolve_new(fx->roots, 1, "/tmp/x.index", out, PATH_MAX), SA_ERR_DENIED);
    assert_int_equal(srv_path_resolve_new(fx->roots, 1, "/", out, PATH_MAX), SA_ERR_INVALID);
    /* the folder itself is no file inside it, however it is spelled */
    snprintf(path, sizeof path, "%s/lib/.", fx->dir);
    assert_int_equal(srv_path_resolve_new(fx->roots, 1, path, out, PATH_MAX), SA_ERR_DENIED);
    snprintf(path, sizeof path, "%s/lib/sub/..", fx->dir);
    assert_int_equal(srv_path_resolve_new(fx->roots, 1, path, out, PATH_MAX), SA_ERR_DENIED);
}

static void test_inside_prefix(void **state) {
    (void)state;
    assert_true(srv_path_inside("/music", "/music"));
    assert_true(srv_path_inside("/music/a.mp3", "/music"));
    assert_false(srv_path_inside("/music2/a.mp3", "/music"));
    assert_false(srv_path_inside("/mus", "/music"));
    assert_true(srv_path_inside("/anything", "/"));
    assert_string_equal(srv_base_name("/a/b/c.mp3"), "c.mp3");
    assert_string_equal(srv_base_name("c.mp3"), "c.mp3");
}

static void test_range(void **state) {
    (void)state;
    uint64_t start = 0, len = 0;
    assert_int_equal(srv_range_parse("bytes=0-99", 1000, &start, &len), 0);
    assert_true(start == 0 && len == 100);
    assert_int_equal(srv_range_parse("bytes=900-", 1000, &start, &len), 0);
    assert_true(start == 900 && len == 100);
    assert_int_equal(srv_range_parse("bytes=-100", 1000, &start, &len), 0);
    assert_true(start == 900 && len == 100);
    assert_int_equal(srv_range_parse("bytes=-5000", 1000, &start, &len), 0); /* the whole file */
    assert_true(start == 0 && len == 1000);
    assert_int_equal(srv_range_parse("bytes=500-99999", 1000, &start, &len), 0); /* end clipped */
    assert_true(start == 500 && len == 500);
    assert_int_equal(srv_range_parse(" bytes = 1-1 ", 1000, &start, &len), 0);
    assert_true(start == 1 && len == 1);
    /* unsatisfiable */
    assert_int_equal(srv_range_parse("bytes=1000-", 1000, &start, &len), -1);
    assert_int_equal(srv_range_parse("bytes=-0", 1000, &start, &len), -1);
    assert_int_equal(srv_range_parse("bytes=0-", 0, &start, &len), -1);
    /* ignored: absent, other units, several ranges, malformed, reversed, overflowing */
    assert_int_equal(srv_range_parse(NULL, 1000, &start, &len), 1);
    assert_int_equal(srv_range_parse("items=0-1", 1000, &start, &len), 1);
    assert_int_equal(srv_range_parse("bytes=0-1,5-6", 1000, &start, &len), 1);
    assert_int_equal(srv_range_parse("bytes=abc", 1000, &start, &len), 1);
    assert_int_equal(srv_range_parse("bytes=-", 1000, &start, &len), 1);
    assert_int_equal(srv_range_parse("bytes=9-3", 1000, &start, &len), 1);
    assert_int_equal(srv_range_parse("bytes=+1-3", 1000, &start, &len), 1);
    assert_int_equal(srv_range_parse("bytes=99999999999999999999999-", 1000, &start, &len), 1);
    assert_int_equal(srv_range_parse("bytes=1-2x", 1000, &start, &len), 1);
}

static void test_content_type(void **state) {
    (void)state;
    assert_string_equal(srv_content_type("/a/b.MP3"), "audio/mpeg");
    assert_string_equal(srv_content_type("x.flac"), "audio/flac");
    assert_string_equal(srv_content_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(srv_content_type("noext"), "application/octet-stream");
    assert_string_equal(srv_content_type("/dir.mp3/file"), "application/octet-stream");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_file, setup, teardown),
        cmocka_unit_test(test_inside_prefix),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_content_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
