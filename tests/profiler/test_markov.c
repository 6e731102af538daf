/* test_markov.c: exact counts (orders 1-3, several buffer sizes), recovery of a known chain,
 * probabilities, stationary distribution, dwell, stats and merging.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_rng.h>

#include "core_error.h"
#include "markov.h"

static struct markov_series *mk(uint32_t n, int order, uint32_t b) {
    struct markov_config c = {
        .nstates = n, .order = order, .buffersize = b, .mode = DISC_LINEAR, .min = 0, .max = n};
    struct markov_series *s;
    assert_int_equal(markov_series_new(&s, &c), 0);
    return s;
}

static void push(struct markov_series *s, const double *v, size_t n) {
    markov_series_push_n(s, NULL, v, n);
    markov_series_flush(s);
}

static uint64_t get(const struct markov_series *s, int h, uint64_t row, uint32_t col) {
    return mk_counts_get(&markov_series_chain(s)->counts, h, row, col);
}

static void test_exact_counts_b1(void **state) {
    /* states 0 1 1 2 0 1, 4 states, orders 1..3 */
    const double v[] = {0.5, 1.5, 1.2, 2.7, 0.1, 1.9};
    struct markov_series *s = mk(4, 3, 1);
    push(s, v, 6);
    const struct markov_chain *ch = markov_series_chain(s);
    assert_int_equal(ch->steps, 6);
    /* order 1: 0->1 x2, 1->1, 1->2, 2->0; no phantom start */
    assert_int_equal(ch->counts.ord[1].total, 5);
    assert_int_equal(get(s, 1, 0, 1), 2);
    assert_int_equal(get(s, 1, 1, 1), 1);
    assert_int_equal(get(s, 1, 1, 2), 1);
    assert_int_equal(get(s, 1, 2, 0), 1);
    assert_int_equal(get(s, 1, 0, 0), 0);
    /* order 2: (0,1)->1 (1,1)->2 (1,2)->0 (2,0)->1; key = a*4 + b */
    assert_int_equal(ch->counts.ord[2].total, 4);
    assert_int_equal(get(s, 2, 1, 1), 1);
    assert_int_equal(get(s, 2, 5, 2), 1);
    assert_int_equal(get(s, 2, 6, 0), 1);
    assert_int_equal(get(s, 2, 8, 1), 1);
    /* order 3: (0,1,1)->2 (1,1,2)->0 (1,2,0)->1; key = a*16 + b*4 + c */
    assert_int_equal(ch->counts.ord[3].total, 3);
    assert_int_equal(get(s, 3, 5, 2), 1);
    assert_int_equal(get(s, 3, 22, 0), 1);
    assert_int_equal(get(s, 3, 24, 1), 1);
    assert_int_equal(ch->occ[0], 2);
    assert_int_equal(ch->occ[1], 3);
    assert_int_equal(ch->occ[2], 1);
    markov_series_free(s);
}

static void test_exact_counts_buffered(void **state) {
    /* B=2: means 0.5 1.5 3.5 and the trailing partial 0.1 -> states 0 1 3 0 */
    const double v2[] = {0.5, 0.5, 1.2, 1.8, 3.9, 3.1, 0.1};
    struct markov_series *s = mk(4, 2, 2);
    push(s, v2, 7);
    assert_int_equal(markov_series_chain(s)->steps, 4);
    assert_int_equal(markov_series_chain(s)->counts.ord[1].total, 3);
    assert_int_equal(get(s, 1, 0, 1), 1);
    assert_int_equal(get(s, 1, 1, 3), 1);
    assert_int_equal(get(s, 1, 3, 0), 1);
    assert_int_equal(get(s, 2, 0 * 4 + 1, 3), 1);
    assert_int_equal(get(s, 2, 1 * 4 + 3, 0), 1);
    assert_int_equal(markov_series_chain(s)->counts.ord[2].total, 2);
    markov_series_free(s);
    /* B=3: means 0.1, 2.3, partial 1.0 -> states 0 2 1 */
    const double v3[] = {0, 0, 0.3, 2, 2, 2.9, 1, 1};
    s = mk(4, 1, 3);
    push(s, v3, 8);
    assert_int_equal(markov_series_chain(s)->steps, 3);
    assert_int_equal(get(s, 1, 0, 2), 1);
    assert_int_equal(get(s, 1, 2, 1), 1);
    assert_int_equal(markov_series_chain(s)->counts.ord[1].total, 2);
    assert_int_equal(markov_series_samples(s), 8);
    markov_series_free(s);
}

static void test_nan_and_filter(void **state) {
    struct markov_config c = {.nstates = 4,
                              .order = 1,
                              .buffersize = 1,
                              .mode = DISC_LINEAR,
                              .min = 0,
                              .max = 100,
                              .filterk = 3,
                              .filter_action = DISC_FILTER_DROP};
    struct markov_series *s;
    assert_int_equal(markov_series_new(&s, &c), 0);
    for (int i = 0; i < 50; i++) {
        markov_series_push(s, 0, 10 + (i % 2));
    }
    markov_series_push(s, 0, NAN);
    markov_series_push(s, 0, 95);
    markov_series_flush(s);
    assert_int_equal(markov_series_nan_skipped(s), 1);
    assert_int_equal(markov_series_outliers(s), 1);
    assert_int_equal(markov_series_chain(s)->steps, 50);
    markov_series_free(s);
}

static const double TRUE_P[3][3] = {{0.9, 0.1, 0.0}, {0.2, 0.7, 0.1}, {0.3, 0.3, 0.4}};

/* A known 3-state chain, 200000 steps, seed 42: every entry within 0.02 (>= 4 standard errors
 * for the least visited row). */
static void test_recover_known_chain(void **state) {
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 42);
    struct markov_series *s = mk(3, 1, 1);
    int x = 0;
    for (int t = 0; t < 200000; t++) {
        markov_series_push(s, t, x + 0.5);
        double u = gsl_rng_uniform(r), c = 0;
        int nx = 2;
        for (int j = 0; j < 3; j++) {
            c += TRUE_P[x][j];
            if (u < c) {
                nx = j;
                break;
            }
        }
        x = nx;
    }
    markov_series_flush(s);
    const struct mk_counts *c = &markov_series_chain(s)->counts;
    double p[3];
    for (uint32_t i = 0; i < 3; i++) {
        assert_true(mk_counts_row_probs(c, 1, i, p) > 0);
        double sum = 0;
        for (int j = 0; j < 3; j++) {
            assert_true(fabs(p[j] - TRUE_P[i][j]) < 0.02);
            sum += p[j];
        }
        assert_true(fabs(sum - 1.0) < 1e-12);
    }
    /* Stationary distribution of TRUE_P: solve pi = pi P = (15, 6, 1) / 22 */
    double pi[3];
    int it;
    assert_int_equal(mk_stationary(c, markov_series_chain(s)->occ, pi, &it), 0);
    const double want[3] = {15.0 / 22.0, 6.0 / 22.0, 1.0 / 22.0};
    for (int i = 0; i < 3; i++) {
        assert_true(fabs(pi[i] - want[i]) < 0.01);
    }
    assert_true(fabs(pi[0] + pi[1] + pi[2] - 1.0) < 1e-12);
    double dw[3];
    mk_dwell(c, dw);
    assert_true(fabs(dw[0] - 10.0) < 1.0); /* 1 / (1 - 0.9) */
    const struct mk_stats *st = markov_series_stats(s);
    assert_int_equal(st->n, 200000);
    assert_true(fabs(mk_stats_quantile(st, 0.5) - 0.5) < 0.01);
    markov_series_free(s);
    gsl_rng_free(r);
}

static void test_probabilities_sum(void **state) {
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    struct markov_series *s = mk(10, 2, 1);
    for (int t = 0; t < 10000; t++) {
        markov_series_push(s, t, gsl_rng_uniform(r) * 10);
    }
    markov_series_flush(s);
    const struct mk_counts *c = &markov_series_chain(s)->counts;
    double p[10];
    for (int h = 1; h <= 2; h++) {
        for (uint64_t row = 0; row < c->ord[h].rows; row++) {
            if (mk_counts_row_probs(c, h, row, p) == 0) {
                continue;
            }
            double sum = 0;
            for (int j = 0; j < 10; j++) {
                sum += p[j];
            }
            assert_true(fabs(sum - 1.0) < 1e-12);
        }
    }
    /* an unseen row is all zero */
    struct markov_series *e = mk(10, 1, 1);
    assert_int_equal(mk_counts_row_probs(&markov_series_chain(e)->counts, 1, 3, p), 0);
    for (int j = 0; j < 10; j++) {
        assert_true(p[j] == 0.0);
    }
    markov_series_free(e);
    markov_series_free(s);
    gsl_rng_free(r);
}

/* Stationary distribution: solved exactly for a chain with one closed class (pi P = pi to
 * 1e-12, no iteration), and for two closed classes (a series broken between two levels that
 * each only stay put) the limit from the occupancy, by power iteration. */
static void test_stationary(void **state) {
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 11);
    struct markov_series *s = mk(6, 1, 1);
    double v = 5;
    for (int t = 0; t < 20000; t++) {
        v += gsl_rng_uniform(r) < 0.5 ? -1.3 : 1.1;
        v = v < 0 ? 0 : (v > 9.99 ? 9.99 : v);
        markov_series_push(s, t, v);
    }
    markov_series_flush(s);
    const struct mk_counts *c = &markov_series_chain(s)->counts;
    double pi[6], p[6];
    int it = -1;
    assert_int_equal(mk_stationary(c, markov_series_chain(s)->occ, pi, &it), 0);
    assert_int_equal(it, 0);
    double sum = 0;
    for (int j = 0; j < 6; j++) {
        double x = 0;
        for (int i = 0; i < 6; i++) {
            if (mk_counts_row_probs(c, 1, (uint64_t)i, p) > 0) {
                x += pi[i] * p[j];
            }
        }
        assert_true(fabs(x - pi[j]) < 1e-12);
        sum += pi[j];
    }
    assert_true(fabs(sum - 1.0) < 1e-12);
    markov_series_free(s);

    struct markov_series *b = mk(4, 1, 1); /* bounds 0..4: 0.5 is state 0, 3.5 state 3 */
    for (int t = 0; t < 30; t++) {
        markov_series_push(b, t, 0.5);
    }
    markov_series_break(b);
    for (int t = 30; t < 40; t++) {
        markov_series_push(b, t, 3.5);
    }
    markov_series_flush(b);
    double q[4];
    assert_int_equal(mk_stationary(&markov_series_chain(b)->counts, markov_series_chain(b)->occ,
                                   q, &it),
                     0);
    assert_true(it > 0);
    assert_true(fabs(q[0] - 0.75) < 1e-9 && fabs(q[3] - 0.25) < 1e-9);
    assert_true(q[1] < 1e-9 && q[2] < 1e-9);
    markov_series_free(b);
    gsl_rng_free(r);
}

static void test_sparse_tables(void **state) {
    /* 200 states, order 3: 8e6 rows -> sparse COO */
    struct markov_series *s = mk(200, 3, 1);
    assert_non_null(markov_series_chain(s)->counts.ord[3].sparse);
    assert_non_null(markov_series_chain(s)->counts.ord[1].dense);
    const double v[] = {5.5, 150.5, 7.5, 5.5, 150.5, 7.5, 5.5};
    push(s, v, 7);
    uint64_t key = (5ull * 200 + 150) * 200 + 7;
    assert_int_equal(get(s, 3, key, 5), 2);
    uint64_t *rows;
    size_t n;
    assert_int_equal(mk_counts_seen_rows(&markov_series_chain(s)->counts, 3, &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_true(rows[0] < rows[1] && rows[1] < rows[2]);
    free(rows);
    markov_series_free(s);
}

static void test_merge(void **state) {
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 3);
    double v[3000];
    for (int i = 0; i < 3000; i++) {
        v[i] = gsl_rng_uniform(r) * 4;
    }
    struct markov_series *a = mk(4, 3, 2), *b = mk(4, 3, 2), *all = mk(4, 3, 2);
    push(a, v, 1001);
    push(b, v + 1001, 1999);
    markov_series_push_n(all, NULL, v, 1001);
    markov_series_break(all);
    push(all, v + 1001, 1999);
    assert_int_equal(markov_series_merge(a, b), 0);
    const struct markov_chain *x = markov_series_chain(a), *y = markov_series_chain(all);
    assert_int_equal(x->steps, y->steps);
    for (int h = 1; h <= 3; h++) {
        assert_int_equal(x->counts.ord[h].total, y->counts.ord[h].total);
        for (uint64_t row = 0; row < x->counts.ord[h].rows; row++) {
            for (uint32_t j = 0; j < 4; j++) {
                assert_int_equal(mk_counts_get(&x->counts, h, row, j),
                                 mk_counts_get(&y->counts, h, row, j));
            }
        }
    }
    const struct mk_stats *sa = markov_series_stats(a), *sl = markov_series_stats(all);
    assert_int_equal(sa->n, sl->n);
    assert_true(fabs(mk_stats_mean(sa) - mk_stats_mean(sl)) < 1e-12);
    assert_true(fabs(mk_stats_var(sa) - mk_stats_var(sl)) < 1e-10);
    assert_true(sa->min == sl->min && sa->max == sl->max);
    /* incompatible settings */
    struct markov_series *c = mk(5, 3, 2);
    assert_int_equal(markov_series_merge(a, c), -CORE_ERANGE);
    markov_series_free(a);
    markov_series_free(b);
    markov_series_free(c);
    markov_series_free(all);
    gsl_rng_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_counts_b1),
        cmocka_unit_test(test_exact_counts_buffered),
        cmocka_unit_test(test_nan_and_filter),
        cmocka_unit_test(test_recover_known_chain),
        cmocka_unit_test(test_probabilities_sum),
        cmocka_unit_test(test_sparse_tables),
        cmocka_unit_test(test_stationary),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
