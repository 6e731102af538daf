/* test_profile.c: tsprofiler JSON reproduction (anchor §6), determinism, round trip, merge,
 * malformed profiles.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core_error.h"
#include "profile.h"

static const char *const TSP_EXPECTED =
    "{\"name\":\"csv2tsprofile\",\"roottx\":[{\"metric\":\"metric_0\",\"transitions\":{\"0\":{"
    "\"nextProbs\":[33,0,67,0],\"probability\":38},\"2\":{\"nextProbs\":[0,0,50,50],"
    "\"probability\":50},\"3\":{\"nextProbs\":[100,0,0,0],\"probability\":13}},\"stats\":{\"min\":"
    "0,\"max\":100,\"stddev\":0,\"avg\":50,\"count\":8,\"stddevsum\":0}},{\"metric\":\"metric_1\","
    "\"transitions\":{\"0\":{\"nextProbs\":[0,0,0,100],\"probability\":25},\"2\":{\"nextProbs\":["
    "50,0,50,0],\"probability\":50},\"3\":{\"nextProbs\":[0,0,100,0],\"probability\":25}},"
    "\"stats\":{\"min\":0,\"max\":100,\"stddev\":0,\"avg\":50,\"count\":8,\"stddevsum\":0}}],"
    "\"periodTree\":{\"root\":{\"UUID\":878,\"maxChilds\":0,\"maxCounts\":0,\"children\":[],"
    "\"txmatrix\":[]}},\"phases\":{\"phases\":[null],\"tx\":{\"metric\":\"\",\"transitions\":null,"
    "\"stats\":{\"min\":0,\"max\":0,\"stddev\":0,\"avg\":0,\"count\":0,\"stddevsum\":0}}},"
    "\"settings\":{\"buffersize\":1,\"states\":4,\"history\":1,\"filterstddevs\":2,\"fixbound\":"
    "true,\"periodsize\":[],\"phaseChangeLikeliness\":0,\"phaseChangeHistory\":1,"
    "\"phaseChangeHistoryFadeout\":false}}";

static struct profile *new_profile(const struct profile_settings *set, int nm, double lo,
                                   double hi) {
    struct profile *p;
    struct profile_identity id = {.name = "csv2tsprofile", .uuid = "u-1", .vmid = 101};
    assert_int_equal(profile_new(&p, &id, set), 0);
    for (int i = 0; i < nm; i++) {
        char name[32];
        snprintf(name, sizeof name, "metric_%d", i);
        struct profile_metric_spec sp = {.name = name, .unit = "%", .min = lo, .max = hi};
        assert_int_equal(profile_add_metric(p, &sp, NULL), 0);
    }
    return p;
}

/* Anchor §6: rows 10,90 40,60 60,40 90,10 twice, --states 4 --buffersize 1 --history 1
 * --fixedbound (0..100), filterstddevs 2 (a no-op in tsprofiler; here the filter is left off). */
static void test_tsprofiler_reference(void **state) {
    struct profile_settings set;
    profile_settings_default(&set);
    set.binning = PROFILE_BIN_COMPAT_TSP;
    set.compat_fixed = 1;
    set.filterk =
        2; /* printed like tsprofiler; with warm-up 8 and these 8 rows nothing is filtered */
    struct profile *p = new_profile(&set, 2, 0, 100);
    const double rows[4][2] = {{10, 90}, {40, 60}, {60, 40}, {90, 10}};
    for (int r = 0; r < 8; r++) {
        profile_push_row(p, 1000 + r, rows[r % 4]);
    }
    profile_finish(p);
    char *text;
    assert_int_equal(profile_dump_tsprofiler(p, &text), 0);
    assert_string_equal(text, TSP_EXPECTED);
    free(text);
    /* history 2 adds tsprofiler's mixed-order suffix rows and its phantom "0-0" row */
    profile_free(p);
    set.history = 2;
    p = new_profile(&set, 1, 0, 100);
    for (int r = 0; r < 8; r++) {
        profile_push_row(p, r, rows[r % 4]);
    }
    profile_finish(p);
    assert_int_equal(profile_dump_tsprofiler(p, &text), 0);
    assert_non_null(strstr(text, "\"0-0\":{\"nextProbs\":[50,0,50,0],\"probability\":25}"));
    assert_non_null(strstr(text, "\"0\":{\"nextProbs\":[33,0,67,0],\"probability\":38}"));
    free(text);
    profile_free(p);
}

static struct profile *sample_profile(int phases, int periods, uint64_t seed) {
    struct profile_settings set;
    profile_settings_default(&set);
    set.states = 5;
    set.history = 2;
    set.buffersize = 2;
    set.joint = 1;
    set.phases = phases;
    if (periods) {
        set.period.kind = PERIOD_DAY;
        set.period.slots = 24;
    }
    struct profile *p = new_profile(&set, 2, 0, 100);
    uint64_t x = seed;
    for (int i = 0; i < 5000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double v[2] = {(double)(x >> 33) / (double)(1ull << 31) * 100, (i / 500) % 2 ? 80 : 20};
        profile_push_row(p, 1700000000 + i * 60, v);
    }
    profile_finish(p);
    return p;
}

static void test_determinism_and_roundtrip(void **state) {
    struct profile *a = sample_profile(1, 1, 1), *b = sample_profile(1, 1, 1);
    char *ta, *tb, *tc;
    assert_int_equal(profile_dump(a, &ta), 0);
    assert_int_equal(profile_dump(b, &tb), 0);
    assert_string_equal(ta, tb);
    assert_non_null(strstr(ta, "\"format\":\"proxtop-profile\""));
    /* read back and write again: byte-identical */
    struct profile *c;
    char err[256];
    int rc = profile_load(ta, &c, err, sizeof err);
    if (rc < 0) {
        fail_msg("%s", err);
    }
    assert_int_equal(profile_dump(c, &tc), 0);
    assert_string_equal(ta, tc);
    free(ta);
    free(tb);
    free(tc);
    profile_free(a);
    profile_free(b);
    profile_free(c);
}

static void test_probabilities_in_json(void **state) {
    struct profile *a = sample_profile(0, 0, 9);
    json_t *root;
    assert_int_equal(profile_to_json(a, &root), 0);
    json_t *orders = json_object_get(
        json_object_get(json_object_get(json_object_get(root, "metrics"), "metric_0"), "chain"),
        "orders");
    assert_int_equal(json_array_size(orders), 2);
    size_t i;
    json_t *o;
    json_array_foreach(orders, i, o) {
        const char *k;
        json_t *row;
        json_object_foreach(json_object_get(o, "rows"), k, row) {
            double sum = 0;
            size_t j;
            json_t *v;
            json_array_foreach(json_object_get(row, "probs"), j, v) {
                sum += json_real_value(v);
            }
            assert_true(fabs(sum - 1.0) < 1e-12);
        }
    }
    json_decref(root);
    profile_free(a);
}

/* merge(profile(a), profile(b)) counts == profile(a, gap, b) counts, also through JSON. */
static void test_merge(void **state) {
    struct profile_settings set;
    profile_settings_default(&set);
    set.states = 4;
    set.history = 2;
    set.period.kind = PERIOD_DAY;
    set.period.slots = 4;
    struct profile *a = new_profile(&set, 1, 0, 100), *b = new_profile(&set, 1, 0, 100),
                   *all = new_profile(&set, 1, 0, 100);
    for (int i = 0; i < 3000; i++) {
        double v = (double)((i * 37) % 101);
        int64_t t = 1700000000 + i * 300;
        profile_push_row(i < 1300 ? a : b, t, &v);
        if (i == 1300) {
            profile_break(all);
        }
        profile_push_row(all, t, &v);
    }
    profile_finish(a);
    profile_finish(b);
    profile_finish(all);
    char *ta, *tb, *tall, *tm, err[256];
    assert_int_equal(profile_dump(a, &ta), 0);
    assert_int_equal(profile_dump(b, &tb), 0);
    assert_int_equal(profile_dump(all, &tall), 0);
    struct profile *ra, *rb;
    assert_int_equal(profile_load(ta, &ra, err, sizeof err), 0);
    assert_int_equal(profile_load(tb, &rb, err, sizeof err), 0);
    assert_int_equal(profile_merge(ra, rb), 0);
    const struct mk_counts *x = &markov_series_chain(profile_metric(ra, 0))->counts;
    const struct mk_counts *y = &markov_series_chain(profile_metric(all, 0))->counts;
    for (int h = 1; h <= 2; h++) {
        assert_int_equal(x->ord[h].total, y->ord[h].total);
        for (uint64_t r = 0; r < x->ord[h].rows; r++) {
            for (uint32_t j = 0; j < 4; j++) {
                assert_int_equal(mk_counts_get(x, h, r, j), mk_counts_get(y, h, r, j));
            }
        }
    }
    for (size_t s = 0; s < 4; s++) {
        const struct mk_counts *px = periods_slot(profile_metric_periods(ra, 0), s);
        const struct mk_counts *py = periods_slot(profile_metric_periods(all, 0), s);
        assert_int_equal(px->ord[1].total, py->ord[1].total);
        assert_int_equal(px->ord[2].total, py->ord[2].total);
    }
    assert_int_equal(markov_series_stats(profile_metric(ra, 0))->n, 3000);
    assert_int_equal(profile_dump(ra, &tm), 0);
    assert_non_null(strstr(tm, "\"first\":1700000000"));
    /* different settings refuse to merge */
    set.states = 5;
    struct profile *c = new_profile(&set, 1, 0, 100);
    assert_int_equal(profile_merge(ra, c), -CORE_ERANGE);
    free(ta);
    free(tb);
    free(tall);
    free(tm);
    profile_free(a);
    profile_free(b);
    profile_free(all);
    profile_free(ra);
    profile_free(rb);
    profile_free(c);
}

static void expect_error(const char *text, int want, const char *needle) {
    struct profile *p = NULL;
    char err[256];
    int rc = profile_load(text, &p, err, sizeof err);
    assert_int_equal(rc, want);
    assert_null(p);
    assert_non_null(strstr(err, needle));
    assert_null(strchr(err, '\n'));
}

static void test_malformed(void **state) {
    expect_error("{not json", -CORE_EPARSE, "not JSON");
    expect_error("[]", -CORE_EFORMAT, "format is missing");
    expect_error("{\"format\":\"other\",\"version\":1}", -CORE_EFORMAT, "expected");
    expect_error("{\"format\":\"proxtop-profile\",\"version\":9}", -CORE_EVERSION,
                 "version 9 is not supported");
    /* a valid profile, then corruptions of it */
    struct profile *a = sample_profile(0, 0, 5);
    char *t;
    assert_int_equal(profile_dump(a, &t), 0);
    char *bad = strdup(t);
    char *pos = strstr(bad, "\"states\":5");
    memcpy(pos, "\"states\":1", 10);
    expect_error(bad, -CORE_EFORMAT, "settings.states");
    free(bad);
    bad = malloc(strlen(t) + 4);
    pos = strstr(t, "\"counts\":[") + 10;
    sprintf(bad, "%.*s-1%s", (int)(pos - t), t, pos + strspn(pos, "0123456789")); /* negative */
    struct profile *p;
    char err[256];
    assert_int_equal(profile_load(bad, &p, err, sizeof err), -CORE_EFORMAT);
    assert_non_null(strstr(err, "has a bad count"));
    free(bad);
    bad = strdup(t);
    pos = strstr(bad, "\"total\":");
    pos[8] = pos[8] == '9' ? '1' : (char)(pos[8] + 1); /* totals no longer match */
    assert_int_equal(profile_load(bad, &p, err, sizeof err), -CORE_EFORMAT);
    assert_non_null(strstr(err, "total says"));
    free(bad);
    free(t);
    profile_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tsprofiler_reference),
        cmocka_unit_test(test_determinism_and_roundtrip),
        cmocka_unit_test(test_probabilities_in_json),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
