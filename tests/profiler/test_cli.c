/* test_cli.c: proxprofiler end to end — the built binary on real and tiny inputs.
 *
 * Bitbrains import and profiling of the 25 VMs (skipped with a message when the shared data is
 * absent), determinism, exact counts of a known state sequence, evaluate numbers checked by hand,
 * and every bad input giving one line on stderr and a non-zero exit.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "catalogue.h"
#include "journal_reader.h"
#include "journal_writer.h"
#include "markov.h"
#include "profile.h"
#include "testutil.h"

#define BIN PROXTOP_BINARY_DIR "/profiler/proxprofiler"

static char *tmp;

/* Runs "proxprofiler ARGS -q" (ARGS is shell text) with stdout and stderr captured. The format
 * strings come from the test table and are composed at run time, hence the pragma. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static struct tu_cmd run(const char *fmt, ...) {
    char args[4096], cmdline[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmdline, sizeof cmdline, "%s %s -q", BIN, args);
    return tu_run_cmd(tmp, cmdline);
}
#pragma GCC diagnostic pop

/* The error is exactly one line. */
static void assert_one_line(const struct tu_cmd *r) {
    assert_non_null(r->err);
    size_t n = strlen(r->err);
    assert_true(n > 0);
    assert_int_equal(r->err[n - 1], '\n');
    assert_null(memchr(r->err, '\n', n - 1));
}

static char *write_tmp(const char *name, const char *text) {
    char *p = tu_path(tmp, name);
    assert_int_equal(tu_write_file(p, text, strlen(text)), 0);
    return p;
}

static int setup(void **state) {
    (void)state;
    tmp = tu_mkdtemp("cli");
    return tmp ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

/* Loads the first profile of a JSON-lines text. */
static struct profile *first_profile(const char *text) {
    const char *nl = strchr(text, '\n');
    assert_non_null(nl);
    char *line = strndup(text, (size_t)(nl - text));
    struct profile *p;
    char err[256];
    int rc = profile_load(line, &p, err, sizeof err);
    free(line);
    assert_int_equal(rc, 0);
    return p;
}

static void test_bitbrains(void **state) {
    (void)state;
    const char *dir = PROXTOP_SOURCE_DIR "/../shared/data/bitbrains-rnd/2013-7";
    struct stat st;
    if (stat(dir, &st) < 0) {
        print_message("SKIP: %s is absent, Bitbrains import not tested\n", dir);
        skip();
    }
    char *j = tu_path(tmp, "bb.pxj");
    struct tu_cmd r = run("import -O %s %s/*.csv", j, dir);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "imported"));
    tu_cmd_free(&r);
    struct tu_cmd a = run("--states 4 %s", j);
    assert_int_equal(a.status, 0);
    size_t lines = 0;
    for (char *p = a.out; *p; p++) {
        lines += *p == '\n';
    }
    assert_int_equal(lines, 25);
    /* Every line is a valid profile; VM "1" comes first and has its month of 300 s rows. */
    struct profile *p = first_profile(a.out);
    int m = profile_find_metric(p, "cpu_pct");
    assert_true(m >= 0);
    assert_int_equal(markov_series_samples(profile_metric(p, (size_t)m)), 8260);
    assert_true(profile_find_metric(p, "mem") >= 0);
    assert_true(profile_find_metric(p, "net_rx") >= 0);
    assert_true(profile_find_metric(p, "disk_rd_iops") < 0); /* Bitbrains has no IOPS */
    profile_free(p);
    /* Determinism: a second run is byte-identical. */
    struct tu_cmd b = run("--states 4 %s", j);
    assert_int_equal(b.outlen, a.outlen);
    assert_memory_equal(a.out, b.out, a.outlen);
    tu_cmd_free(&b);
    /* The CSV files profiled directly give the same profiles' counts as the journal. */
    struct tu_cmd c = run("--states 4 --vm 1 %s/1.csv", dir);
    assert_int_equal(c.status, 0);
    struct profile *pc = first_profile(c.out), *pj = first_profile(a.out);
    const struct mk_counts *cc = &markov_series_chain(profile_metric(pc, (size_t)m))->counts;
    const struct mk_counts *cj = &markov_series_chain(profile_metric(pj, (size_t)m))->counts;
    for (uint32_t i = 0; i < 4; i++) {
        for (uint32_t k = 0; k < 4; k++) {
            assert_int_equal(mk_counts_get(cc, 1, i, k), mk_counts_get(cj, 1, i, k));
        }
    }
    profile_free(pc);
    profile_free(pj);
    tu_cmd_free(&c);
    /* Summary is readable text with states and edges. */
    struct tu_cmd s = run("summary --vm 1 %s", j);
    assert_int_equal(s.status, 0);
    assert_non_null(strstr(s.out, "VM 1 on bitbrains"));
    assert_non_null(strstr(s.out, "occupancy"));
    tu_cmd_free(&s);
    tu_cmd_free(&a);
    free(j);
}

/* 10,90,40,60,60,40,90,10 on fixed 0..100 with 4 states: 0,3,1,2,2,1,3,0. */
static void test_exact_counts(void **state) {
    (void)state;
    char *csv = write_tmp("seq.csv", "time,level\n"
                                     "1700000000,10\n1700000060,90\n1700000120,40\n"
                                     "1700000180,60\n1700000240,60\n1700000300,40\n"
                                     "1700000360,90\n1700000420,10\n");
    char *j = tu_path(tmp, "seq.pxj");
    struct tu_cmd r = run("import --units level=%% -O %s %s", j, csv);
    assert_int_equal(r.status, 0);
    tu_cmd_free(&r);
    r = run("--metrics level --fixedbound --fixedmin 0 --fixedmax 100 --states 4 --history 2 %s",
            j);
    assert_int_equal(r.status, 0);
    struct profile *p = first_profile(r.out);
    const struct mk_counts *c = &markov_series_chain(profile_metric(p, 0))->counts;
    static const uint32_t t1[][2] = {{0, 3}, {3, 1}, {1, 2}, {2, 2}, {2, 1}, {1, 3}, {3, 0}};
    uint64_t total = 0;
    for (uint32_t i = 0; i < 4; i++) {
        for (uint32_t k = 0; k < 4; k++) {
            uint64_t want = 0;
            for (size_t x = 0; x < 7; x++) {
                want += t1[x][0] == i && t1[x][1] == k;
            }
            assert_int_equal(mk_counts_get(c, 1, i, k), want);
            total += want;
        }
    }
    assert_int_equal(total, 7);
    /* Order 2: key = 4 * older + newer. */
    assert_int_equal(mk_counts_get(c, 2, 0 * 4 + 3, 1), 1);
    assert_int_equal(mk_counts_get(c, 2, 2 * 4 + 2, 1), 1);
    assert_int_equal(mk_counts_get(c, 2, 1 * 4 + 3, 0), 1);
    assert_int_equal(c->ord[2].total, 6);
    assert_non_null(strstr(r.out, "\"unit\":\"%\""));
    assert_non_null(strstr(r.out, "\"first\":1700000000"));
    profile_free(p);
    tu_cmd_free(&r);
    free(csv);
    free(j);
}

/* 0,100 alternating, 8 rows, split 0.5, 2 states on 0..100 (centres 25 and 75). Training learns
 * P = [[0,1],[1,0]]. Held out: 0,100,0,100.
 *   h=1, 3 pairs: model 75 vs 100, 25 vs 0, 75 vs 100 -> MAE 25, RMSE 25,
 *        SMAPE 100/3 * (25/87.5 + 25/12.5 + 25/87.5) = 85.714...; persistence: MAE 100, SMAPE 200.
 *   h=2, 2 pairs: model 25 vs 0, 75 vs 100 -> MAE 25, SMAPE 50 * (2 + 25/87.5) = 114.285...;
 *        persistence exact: MAE 0, SMAPE 0. */
static void test_evaluate_by_hand(void **state) {
    (void)state;
    char *csv = write_tmp("alt.csv", "t,level\n0,0\n60,100\n120,0\n180,100\n"
                                     "240,0\n300,100\n360,0\n420,100\n");
    struct tu_cmd r = run("evaluate --format json --metrics level --fixedbound --fixedmin 0 "
                          "--fixedmax 100 --states 2 --split 0.5 --horizons 2 %s",
                          csv);
    assert_int_equal(r.status, 0);
    json_error_t je;
    json_t *a = json_loads(r.out, 0, &je);
    assert_non_null(a);
    assert_int_equal(json_array_size(a), 2);
    json_t *h1 = json_array_get(a, 0), *h2 = json_array_get(a, 1);
    assert_int_equal(json_integer_value(json_object_get(h1, "n")), 3);
    assert_float_equal(json_real_value(json_object_get(h1, "mae")), 25.0, 1e-9);
    assert_float_equal(json_real_value(json_object_get(h1, "rmse")), 25.0, 1e-9);
    assert_float_equal(json_real_value(json_object_get(h1, "smape")),
                       100.0 / 3 * (25 / 87.5 + 2.0 + 25 / 87.5), 1e-9);
    assert_float_equal(json_real_value(json_object_get(h1, "mae_persistence")), 100.0, 1e-9);
    assert_float_equal(json_real_value(json_object_get(h1, "smape_persistence")), 200.0, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(h2, "n")), 2);
    assert_float_equal(json_real_value(json_object_get(h2, "mae")), 25.0, 1e-9);
    assert_float_equal(json_real_value(json_object_get(h2, "smape")), 50.0 * (2.0 + 25 / 87.5),
                       1e-9);
    assert_float_equal(json_real_value(json_object_get(h2, "mae_persistence")), 0.0, 1e-12);
    assert_float_equal(json_real_value(json_object_get(h2, "smape_persistence")), 0.0, 1e-12);
    json_decref(a);
    tu_cmd_free(&r);
    /* predict from state 0 alternates deterministically. */
    char *prof = tu_path(tmp, "alt.json");
    r = run("--metrics level --fixedbound --fixedmin 0 --fixedmax 100 --states 2 -o file "
            "--target %s %s",
            prof, csv);
    assert_int_equal(r.status, 0);
    tu_cmd_free(&r);
    r = run("predict -p %s --metric level --state 0 --steps 2", prof);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "    1  0.0000  1.0000            75"));
    assert_non_null(strstr(r.out, "    2  1.0000  0.0000            25"));
    tu_cmd_free(&r);
    free(prof);
    free(csv);
}

/* ---- --follow: a journal written while proxprofiler follows it -------------------------- */

/* Level of the test VM at tick t: a sequence that visits all 4 states with varied transitions. */
static int64_t follow_level(uint32_t t) {
    static const int64_t lv[] = {10, 10, 90, 40, 60, 60, 40, 90, 10, 30, 70, 70};
    return lv[(t * 7 + t / 12) % 12];
}

static void follow_write(struct journal_writer *w, uint32_t vm, uint32_t from, uint32_t to) {
    for (uint32_t t = from; t < to; t++) {
        struct journal_value v = {.type = JV_INT, .i = follow_level(t)};
        assert_int_equal(journal_writer_tick_begin(w, 1700000000000000000ll + t * 1000000000ll, -1),
                         0);
        assert_int_equal(journal_writer_row(w, vm, &v, 1), 0);
        assert_int_equal(journal_writer_tick_end(w), 0);
    }
}

/* Total order-1 transitions of the last profile in a JSON-lines text, or -1. */
static long last_profile_steps(const char *text, struct profile **keep) {
    const char *last = NULL;
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (*p == '{')
            last = p;
    }
    if (!last)
        return -1;
    struct profile *p = first_profile(last);
    long n = (long)markov_series_chain(profile_metric(p, 0))->counts.ord[1].total;
    if (keep)
        *keep = p;
    else
        profile_free(p);
    return n;
}

static void test_follow(void **state) {
    (void)state;
    char *jdir = tu_path(tmp, "live");
    /* A segment per 100 s of data: the follower moves on to new files as the writer rotates. */
    struct journal_writer_opts o = {.path = jdir,
                                    .compress = true,
                                    .block_ticks = 16,
                                    .rotate_ns = 100000000000ll,
                                    .sync_ns = -1};
    struct journal_writer *w;
    assert_int_equal(journal_writer_open(&w, &o, NULL), 0);
    int mid = catalogue_find("vm.mem.rss");
    assert_true(mid >= 0);
    uint32_t metrics[1] = {(uint32_t)mid}, vm;
    struct journal_entity_desc d = {.scope = SCOPE_VM,
                                    .parent = JOURNAL_NO_ENTITY,
                                    .key = "uuid:follow",
                                    .name = "live-vm",
                                    .pid = -1,
                                    .vcpus = 1,
                                    .metrics = metrics,
                                    .nmetrics = 1};
    assert_int_equal(journal_writer_entity(w, &d, &vm), 0);
    follow_write(w, vm, 0, 100);

    char *out = tu_path(tmp, "follow.out"), *errf = tu_path(tmp, "follow.err");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        freopen(out, "w", stdout);
        freopen(errf, "w", stderr);
        execl(BIN, BIN, "--follow", "--outputFreq", "0.1", "--metrics", "vm.mem.rss",
              "--fixedbound", "--fixedmin", "0", "--fixedmax", "100", "--states", "4", "-q", jdir,
              (char *)NULL);
        _exit(127);
    }
    /* Three more bursts while it follows, across several segment rotations. */
    for (uint32_t b = 1; b <= 3; b++) {
        struct timespec nap = {0, 250000000};
        nanosleep(&nap, NULL);
        follow_write(w, vm, b * 100, (b + 1) * 100);
    }
    assert_int_equal(journal_writer_close(w), 0);
    /* Wait (up to 30 s) until an emission covers all 400 ticks: 399 transitions. */
    long steps = -1;
    for (int i = 0; i < 300 && steps != 399; i++) {
        struct timespec nap = {0, 100000000};
        nanosleep(&nap, NULL);
        size_t n;
        char *text = (char *)tu_read_file(out, &n);
        if (text) {
            text[n] = '\0';
            steps = last_profile_steps(text, NULL);
            free(text);
        }
    }
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(steps, 399);

    /* The followed profile has exactly the counts of profiling the finished journal. */
    size_t n;
    char *text = (char *)tu_read_file(out, &n);
    text[n] = '\0';
    struct profile *live = NULL;
    assert_int_equal(last_profile_steps(text, &live), 399);
    assert_non_null(live);
    free(text);
    struct tu_cmd r = run("--metrics vm.mem.rss --fixedbound --fixedmin 0 --fixedmax 100 "
                          "--states 4 %s",
                          jdir);
    assert_int_equal(r.status, 0);
    struct profile *off = first_profile(r.out);
    const struct mk_counts *a = &markov_series_chain(profile_metric(live, 0))->counts;
    const struct mk_counts *b = &markov_series_chain(profile_metric(off, 0))->counts;
    for (uint32_t i = 0; i < 4; i++)
        for (uint32_t k = 0; k < 4; k++)
            assert_int_equal(mk_counts_get(a, 1, i, k), mk_counts_get(b, 1, i, k));
    char **files;
    uint64_t gaps;
    assert_int_equal(journal_list_files(jdir, &files, &gaps), 0);
    size_t nf = 0;
    while (files[nf])
        nf++;
    print_message("followed %zu segments\n", nf);
    assert_true(nf >= 3);
    journal_paths_free(files);
    profile_free(live);
    profile_free(off);
    tu_cmd_free(&r);
    free(out);
    free(errf);
    free(jdir);
}

/* --phases and --joint through the CLI: metric a holds ~20 for 200 steps then ~80 (a clear level
 * change), b alternates 10/90 every 7 steps. Expected: two phases of a split at step 200 (±5),
 * and a joint chain over (a, b) whose states are a * 4 + b, whose marginals are exactly the
 * per-metric chains' counts. */
static void test_phases_joint(void **state) {
    (void)state;
    char *csv = tu_path(tmp, "pj.csv");
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fprintf(f, "t,a,b\n");
    uint32_t seed = 3;
    for (int i = 0; i < 400; i++) {
        seed = seed * 1103515245u + 12345u;
        double noise = ((double)(seed >> 16) / 65536.0 - 0.5) * 10.0;
        fprintf(f, "%d,%.2f,%d\n", 1700000000 + i * 60, (i < 200 ? 20.0 : 80.0) + noise,
                (i / 7) % 2 ? 90 : 10);
    }
    assert_int_equal(fclose(f), 0);
    struct tu_cmd r = run("--metrics a,b --fixedbound --fixedmin 0 --fixedmax 100 --states 4 "
                          "--phases --joint %s",
                          csv);
    assert_int_equal(r.status, 0);
    json_error_t je;
    json_t *p = json_loads(r.out, JSON_DISABLE_EOF_CHECK, &je);
    assert_non_null(p);
    json_t *ph = json_object_get(json_object_get(json_object_get(p, "metrics"), "a"), "phases");
    json_t *seg = json_object_get(ph, "segments");
    assert_int_equal(json_array_size(seg), 2);
    json_int_t cut = json_integer_value(json_array_get(json_array_get(seg, 1), 1));
    print_message("phase change detected at step %lld (true: 200)\n", (long long)cut);
    assert_true(cut >= 195 && cut <= 205);
    /* Phase-transition matrix: one change, otherwise staying. */
    json_t *tx = json_object_get(ph, "tx");
    assert_int_equal(json_integer_value(json_array_get(json_array_get(tx, 0), 1)), 1);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(tx, 1), 0)), 0);

    json_t *joint = json_object_get(p, "joint");
    assert_non_null(joint);
    json_t *occ = json_object_get(joint, "occupancy");
    assert_int_equal(json_array_size(occ), 16);
    json_int_t total = 0;
    for (size_t i = 0; i < 16; i++)
        total += json_integer_value(json_array_get(occ, i));
    assert_int_equal(total, 400);
    /* Marginals of the joint order-1 counts equal the per-metric chains. */
    struct profile *pr = first_profile(r.out);
    long marg[2][4][4] = {{{0}}};
    json_t *o1 = json_object_get(json_array_get(json_object_get(joint, "orders"), 0), "rows");
    const char *key;
    json_t *row;
    long jtotal = 0;
    json_object_foreach(o1, key, row) {
        long from = strtol(key, NULL, 10);
        json_t *cnt = json_object_get(row, "counts");
        for (size_t k = 0; k < json_array_size(cnt); k++) {
            long c = (long)json_integer_value(json_array_get(cnt, k));
            marg[0][from / 4][k / 4] += c;
            marg[1][from % 4][k % 4] += c;
            jtotal += c;
        }
    }
    assert_int_equal(jtotal, 399);
    for (size_t m = 0; m < 2; m++) {
        const struct mk_counts *c = &markov_series_chain(profile_metric(pr, m))->counts;
        for (uint32_t i = 0; i < 4; i++)
            for (uint32_t k = 0; k < 4; k++)
                assert_int_equal(marg[m][i][k], (long)mk_counts_get(c, 1, i, k));
    }
    profile_free(pr);
    json_decref(p);
    tu_cmd_free(&r);
    free(csv);
}

/* --history 2 in use: the period-4 series 0,0,100,100,... is a coin toss for order 1 from a
 * single state, and certain for order 2 from the last two. evaluate: order 1's h=1 MAE is ~50,
 * order 2's is 25 (each forecast at the right bin's centre; the first held-out origin has one
 * state of history only, hence 25.25 on 99 pairs). predict --state 0,0 follows the cycle. */
static void test_history_forecasts(void **state) {
    (void)state;
    char *csv = tu_path(tmp, "p4.csv");
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fprintf(f, "t,level\n");
    for (int i = 0; i < 200; i++)
        fprintf(f, "%d,%d\n", 1700000000 + i * 60, i % 4 < 2 ? 0 : 100);
    assert_int_equal(fclose(f), 0);
    double mae[3] = {0};
    for (int h = 1; h <= 2; h++) {
        struct tu_cmd r = run("evaluate --format json --metrics level --fixedbound --fixedmin 0 "
                              "--fixedmax 100 --states 2 --history %d --split 0.5 --horizons 1 %s",
                              h, csv);
        assert_int_equal(r.status, 0);
        json_error_t je;
        json_t *a = json_loads(r.out, 0, &je);
        assert_non_null(a);
        mae[h] = json_real_value(json_object_get(json_array_get(a, 0), "mae"));
        json_decref(a);
        tu_cmd_free(&r);
    }
    print_message("h=1 MAE: order 1 %.4f, order 2 %.4f\n", mae[1], mae[2]);
    assert_true(fabs(mae[1] - 50.0) < 0.5);
    assert_float_equal(mae[2], 25.0 * 100.0 / 99.0, 1e-9);
    char *prof = tu_path(tmp, "p4.json");
    struct tu_cmd r = run("--metrics level --fixedbound --fixedmin 0 --fixedmax 100 --states 2 "
                          "--history 2 -o file --target %s %s",
                          prof, csv);
    assert_int_equal(r.status, 0);
    tu_cmd_free(&r);
    r = run("predict -p %s --metric level --state 0,0 --steps 3", prof);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "after 0 (order 2)"));
    assert_non_null(strstr(r.out, "    1  0.0000  1.0000            75"));
    assert_non_null(strstr(r.out, "    3  1.0000  0.0000            25"));
    tu_cmd_free(&r);
    r = run("predict -p %s --metric level --state 0,0,0,0,0,0,0,0,0 --steps 1", prof);
    assert_int_equal(r.status, 2);
    assert_one_line(&r);
    tu_cmd_free(&r);
    free(prof);
    free(csv);
}

static void expect_failure(int status, const char *needle, const char *fmt, const char *arg) {
    struct tu_cmd r = run(fmt, arg);
    assert_int_equal(r.status, status);
    assert_one_line(&r);
    if (needle && !strstr(r.err, needle)) {
        fail_msg("stderr '%s' lacks '%s'", r.err, needle);
    }
    tu_cmd_free(&r);
}

static void test_bad_inputs(void **state) {
    (void)state;
    char *csv = write_tmp("ok.csv", "t,level\n0,1\n60,2\n");
    expect_failure(2, "unknown metric 'nope'", "--metrics nope %s", csv);
    expect_failure(2, "--states", "--states 1 %s", csv);
    expect_failure(2, "--history", "--history 0 %s", csv);
    expect_failure(2, "--outputFreq", "--outputFreq soon %s", csv);
    expect_failure(2, "--format", "--format xml %s", csv);
    char *empty = write_tmp("empty.pxj", "");
    expect_failure(1, "empty", "%s", empty);
    char *bad = write_tmp("bad.csv", "t,level\n0,1\n60,x\n120,3\n");
    expect_failure(1, "bad.csv:3: column 2: not a number: 'x'", "--metrics level %s", bad);
    char *j = tu_path(tmp, "bad.pxj");
    char args[4200];
    snprintf(args, sizeof args, "import -O %s %%s", j);
    expect_failure(1, "bad.csv:3:", args, bad);
    char *short_row = write_tmp("short.csv", "t,a,b\n0,1,2\n60,1\n");
    expect_failure(1, "short.csv:3: 2 fields, expected 3", "--metrics a %s", short_row);
    char *prof = write_tmp("bad.json", "{\"format\":\"proxtop-profile\",\"version\":1}\n");
    expect_failure(1, "record 1", "predict -p %s --metric level --state 0", prof);
    char *notjson = write_tmp("junk.json", "{not json\n");
    expect_failure(1, "record 1", "summary -p %s", notjson);
    expect_failure(1, "No such file", "%s", "/nonexistent/journal.pxj");
    /* --skip-bad skips and counts. */
    struct tu_cmd r = run("--skip-bad --metrics level %s", bad);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "1 malformed rows skipped"));
    tu_cmd_free(&r);
    free(csv);
    free(empty);
    free(bad);
    free(j);
    free(short_row);
    free(prof);
    free(notjson);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_counts),
        cmocka_unit_test(test_evaluate_by_hand),
        cmocka_unit_test(test_follow),
        cmocka_unit_test(test_phases_joint),
        cmocka_unit_test(test_history_forecasts),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_bitbrains),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
