/* test_sampler_cli.c: proxsampler end to end, the built binary.
 *   - every bad option or value: exit 2 and exactly one line on stderr naming it;
 *   - a root it cannot use: exit 1 and one line;
 *   - --help and --version: exit 0 on stdout;
 *   - a run on a fake host root (datasets/proc captures): N JSON lines, each valid JSON with the
 *     VM; a journal that proxjournal reads back with N ticks.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sampler_fixture.h"
#include "testutil.h"

#define BIN PROXTOP_BINARY_DIR "/sampler/proxsampler"
#define PJ  PROXTOP_BINARY_DIR "/formats/proxjournal"

static char *tmp;

/* Runs "PROG ARGS" (ARGS is shell text). */
static struct tu_cmd run(const char *prog, const char *args) {
    char cmdline[8192];
    snprintf(cmdline, sizeof cmdline, "%s %s", prog, args);
    return tu_run_cmd(tmp, cmdline);
}

/* Exactly one line on stderr, from proxsampler, containing want. */
static void assert_one_error_line(const struct tu_cmd *r, const char *want) {
    assert_non_null(r->err);
    size_t n = strlen(r->err);
    if (n == 0 || r->err[n - 1] != '\n' || memchr(r->err, '\n', n - 1) ||
        strncmp(r->err, "proxsampler: ", 13) != 0 || !strstr(r->err, want)) {
        fail_msg("expected one 'proxsampler: ...%s...' line, got: '%s'", want, r->err);
    }
}

static void test_bad_usage(void **state) {
    (void)state;
    static const struct {
        const char *args, *want;
    } cases[] = {
        {"-f 0", "--frequency"},
        {"-f abc", "--frequency"},
        {"-f 1e9", "--frequency"},
        {"-r 0", "--runs"},
        {"-r -3", "--runs"},
        {"-p xml", "--printer"},
        {"--daemon-interval -1", "--daemon-interval"},
        {"--daemon-interval ten", "--daemon-interval"},
        {"--daemon-interval", "needs a value"},
        {"--libvirt-stats bogus", "unknown group 'bogus'"},
        {"--libvirt-stats state,,block", "--libvirt-stats"},
        {"--libvirt-stats ''", "--libvirt-stats"},
        {"--rotate-size 0", "--rotate-size"},
        {"--rotate-size 12Q", "--rotate-size"},
        {"--retain-age forever", "--retain-age"},
        {"--sync sometimes", "--sync"},
        {"--proxmox=/x --libvirt", "conflicts"},
        {"--libvirt --procfs-only", "conflicts"},
        {"--no-such-option", "unknown option"},
        {"stray", "unexpected argument"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tu_cmd r = run(BIN, cases[i].args);
        if (r.status != 2) {
            fail_msg("'%s': exit %d, expected 2 (stderr: %s)", cases[i].args, r.status, r.err);
        }
        assert_one_error_line(&r, cases[i].want);
        assert_string_equal(r.out, ""); /* nothing sampled, nothing printed */
        tu_cmd_free(&r);
    }
}

static void test_runtime_errors(void **state) {
    (void)state;
    struct tu_cmd r = run(BIN, "--procfs /nonexistent/proc -r 1 -p json");
    assert_int_equal(r.status, 1);
    assert_one_error_line(&r, "/nonexistent/proc");
    tu_cmd_free(&r);
}

static void test_help_version(void **state) {
    (void)state;
    struct tu_cmd r = run(BIN, "--help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--daemon-interval SECONDS"));
    assert_non_null(strstr(r.out, "--libvirt-stats GROUPS"));
    assert_string_equal(r.err, "");
    tu_cmd_free(&r);
    r = run(BIN, "--version");
    assert_int_equal(r.status, 0);
    assert_true(strncmp(r.out, "proxsampler ", 12) == 0);
    tu_cmd_free(&r);
}

/* Three ticks on the captured host and QEMU process: three JSON lines with the VM, and a journal
 * with three ticks. */
static void test_run_on_capture(void **state) {
    (void)state;
    char *root = sf_host_root("sampler_cli");
    sf_add_qemu(root);
    char args[4096];
    char *jpath = tu_path(root, "cli.pxj");
    snprintf(args, sizeof(args),
             "--procfs-only --procfs '%s/proc' --sysfs '%s/sys' --no-qmp -f 0.05 -r 3 -p json "
             "--journal '%s'",
             root, root, jpath);
    struct tu_cmd r = run(BIN, args);
    if (r.status != 0) {
        fail_msg("proxsampler exited %d: %s", r.status, r.err);
    }
    int lines = 0;
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        if (!j) {
            fail_msg("line %d is not JSON: %s", lines, je.text);
        }
        json_t *d = json_array_get(json_object_get(j, "domains"), 0);
        assert_non_null(d);
        assert_int_equal(json_integer_value(json_object_get(d, "pid")), SF_QEMU_PID);
        assert_non_null(json_object_get(j, "host"));
        json_decref(j);
        lines++;
    }
    assert_int_equal(lines, 3);
    tu_cmd_free(&r);
    snprintf(args, sizeof(args), "info '%s'", jpath);
    r = run(PJ, args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "ticks: 3,"));
    tu_cmd_free(&r);
    free(jpath);
    tu_rmtree(root);
    free(root);
}

static int setup(void **state) {
    (void)state;
    tmp = tu_mkdtemp("sampler_cli");
    return tmp ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_usage),
        cmocka_unit_test(test_runtime_errors),
        cmocka_unit_test(test_help_version),
        cmocka_unit_test(test_run_on_capture),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
