/* test_predict.c: k-step prediction, seeded simulation, scoring, evaluation, diff.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include <gsl/gsl_rng.h>

#include "core_error.h"
#include "markov.h"
#include "predict.h"

/* counts: 0->1 x3, 0->0 x1, 1->0 x2, 1->1 x2 : P = [[.25,.75],[.5,.5]] */
static void fill(struct mk_counts *c) {
    assert_int_equal(mk_counts_init(c, 2, 1), 0);
    mk_counts_add_n(c, 1, 0, 1, 3);
    mk_counts_add_n(c, 1, 0, 0, 1);
    mk_counts_add_n(c, 1, 1, 0, 2);
    mk_counts_add_n(c, 1, 1, 1, 2);
}

static void test_predict(void **state) {
    struct mk_counts c;
    fill(&c);
    double pk[2];
    assert_int_equal(predict_from_state(&c, 0, 1, pk), 0);
    assert_true(fabs(pk[0] - 0.25) < 1e-15 && fabs(pk[1] - 0.75) < 1e-15);
    assert_int_equal(predict_from_state(&c, 0, 2, pk), 0);
    /* [.25 .75] P = [.0625 + .375, .1875 + .375] */
    assert_true(fabs(pk[0] - 0.4375) < 1e-15 && fabs(pk[1] - 0.5625) < 1e-15);
    assert_int_equal(predict_from_state(&c, 0, 200, pk), 0);
    assert_true(fabs(pk[0] - 0.4) < 1e-12 && fabs(pk[1] - 0.6) < 1e-12); /* stationary */
    mk_counts_fini(&c);
}

/* Order 2 on the period-4 sequence 0,0,1,1,0,0,1,1,...: from the history (0,0) the next states
 * are 1, 1, 0, 0 for sure, while the order-1 view of state 0 is a coin toss. With a history of
 * one state, or an order-1 chain, it is predict_from_state. */
static void test_predict_history(void **state) {
    (void)state;
    struct mk_counts c;
    assert_int_equal(mk_counts_init(&c, 2, 2), 0);
    static const uint32_t seq[] = {0, 0, 1, 1};
    struct mk_hist h;
    mk_hist_init(&h, 2, 2);
    for (int t = 0; t < 400; t++) {
        mk_counts_add(&c, &h, seq[t % 4]);
        mk_hist_push(&h, seq[t % 4]);
    }
    double pk[2], q[2];
    const uint32_t h00[2] = {0, 0}, h01[2] = {0, 1};
    static const double want[4][2] = {{0, 1}, {0, 1}, {1, 0}, {1, 0}};
    for (unsigned k = 1; k <= 4; k++) {
        assert_int_equal(predict_from_history(&c, h00, 2, k, pk), 0);
        assert_true(fabs(pk[0] - want[k - 1][0]) < 1e-12 && fabs(pk[1] - want[k - 1][1]) < 1e-12);
    }
    assert_int_equal(predict_from_history(&c, h01, 2, 1, pk), 0);
    assert_true(fabs(pk[1] - 1.0) < 1e-12);
    double all[8];
    assert_int_equal(predict_history_steps(&c, h00, 2, 4, all), 0);
    for (unsigned k = 0; k < 4; k++)
        assert_true(fabs(all[2 * k] - want[k][0]) < 1e-12);
    /* order 1 from state 0: a coin toss */
    assert_int_equal(predict_from_history(&c, h00 + 1, 1, 1, pk), 0);
    assert_int_equal(predict_from_state(&c, 0, 1, q), 0);
    assert_true(fabs(pk[0] - q[0]) < 1e-15 && fabs(pk[0] - 0.5) < 0.01);
    /* an unseen order-2 row backs off to order 1 */
    struct mk_counts d;
    assert_int_equal(mk_counts_init(&d, 2, 2), 0);
    mk_counts_add_n(&d, 1, 1, 0, 3); /* 1 -> 0 */
    mk_counts_add_n(&d, 1, 1, 1, 1);
    const uint32_t h11[2] = {1, 1};
    assert_int_equal(predict_from_history(&d, h11, 2, 1, pk), 0);
    assert_true(fabs(pk[0] - 0.75) < 1e-12);
    assert_int_equal(predict_from_history(&d, h11, 0, 1, pk), -CORE_ERANGE);
    mk_counts_fini(&d);
    mk_counts_fini(&c);
}

static void test_simulate_and_score(void **state) {
    struct mk_counts c;
    struct disc d;
    fill(&c);
    assert_int_equal(disc_init_linear(&d, 2, 0, 100), 0);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    uint32_t a[20000], b[20000], start = 0;
    double v[20000];
    gsl_rng_set(r, 5);
    assert_int_equal(predict_simulate(&c, &d, &start, 1, 20000, r, a, v), 0);
    gsl_rng_set(r, 5);
    assert_int_equal(predict_simulate(&c, &d, &start, 1, 20000, r, b, NULL), 0);
    size_t ones = 0;
    for (int i = 0; i < 20000; i++) {
        ones += a[i];
        assert_true(v[i] >= d.edges[a[i]] && v[i] < d.edges[a[i] + 1]);
    }
    assert_true(fabs((double)ones / 20000 - 0.6) < 0.02);
    /* same seed, same states (values draw from the same stream, so compare only the first) */
    assert_int_equal(a[0], b[0]);
    double ll;
    size_t unseen;
    const uint32_t seq[] = {0, 1, 1, 0};
    assert_int_equal(predict_score(&c, seq, 4, 1e-6, &ll, &unseen), 0);
    assert_true(fabs(ll - (log(0.75) + log(0.5) + log(0.5))) < 1e-12);
    assert_int_equal(unseen, 0);
    struct mk_counts z;
    assert_int_equal(mk_counts_init(&z, 2, 1), 0);
    mk_counts_add_n(&z, 1, 0, 0, 5);
    const uint32_t seq2[] = {0, 1};
    assert_int_equal(predict_score(&z, seq2, 2, 1e-6, &ll, &unseen), 0);
    assert_true(fabs(ll - log(1e-6)) < 1e-12);
    assert_int_equal(unseen, 1);
    mk_counts_fini(&z);
    gsl_rng_free(r);
    disc_fini(&d);
    mk_counts_fini(&c);
}

static void test_eval(void **state) {
    const double a[] = {10, 20, 30, 40};
    const double f[] = {12, 18, 30, 0};
    assert_true(fabs(eval_mae(f, a, 4) - (2 + 2 + 0 + 40) / 4.0) < 1e-12);
    assert_true(fabs(eval_rmse(f, a, 4) - sqrt((4 + 4 + 0 + 1600) / 4.0)) < 1e-12);
    double sm = 100.0 / 4 * (2 / 11.0 + 2 / 19.0 + 0 + 40 / 20.0);
    assert_true(fabs(eval_smape(f, a, 4) - sm) < 1e-12);
    double p[4];
    eval_persistence(a, 4, 1, p);
    assert_true(p[0] == 10 && p[1] == 10 && p[3] == 30);
}

static void test_diff(void **state) {
    struct mk_counts a, b;
    fill(&a);
    assert_int_equal(mk_counts_init(&b, 2, 1), 0);
    mk_counts_add_n(&b, 1, 0, 1, 1); /* row 0: [0, 1] vs [.25, .75]: TV .25 */
    mk_counts_add_n(&b, 1, 1, 0, 7); /* row 1: [.5, .5] vs [.5, .5] after adding 7/7 */
    mk_counts_add_n(&b, 1, 1, 1, 7);
    double tv, js, tvmax;
    size_t rows, only;
    assert_int_equal(predict_diff(&a, &b, 1, &tv, &js, &tvmax, &rows, &only), 0);
    assert_int_equal(rows, 2);
    assert_int_equal(only, 0);
    assert_true(fabs(tvmax - 0.25) < 1e-15 && fabs(tv - 0.125) < 1e-15);
    assert_true(js > 0 && js < 0.25);
    assert_int_equal(predict_diff(&a, &a, 1, &tv, &js, &tvmax, &rows, &only), 0);
    assert_true(tv == 0 && js == 0);
    mk_counts_fini(&a);
    mk_counts_fini(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predict),
        cmocka_unit_test(test_predict_history),
        cmocka_unit_test(test_simulate_and_score),
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
