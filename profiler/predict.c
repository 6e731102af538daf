/* predict.c: matrix-power prediction, seeded simulation, scoring, evaluation and diff.
 * SPDX-License-Identifier: MIT */
#include "predict.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_matrix.h>

#include "core_error.h"

int predict_dist(const struct mk_counts *c, const double *p0, unsigned k, double *pk) {
    size_t n = c->nstates;
    int rc = 0;
    if (n > 4096) {
        return -CORE_ERANGE;
    }
    gsl_matrix *P = gsl_matrix_alloc(n, n), *R = gsl_matrix_alloc(n, n),
               *T = gsl_matrix_alloc(n, n);
    gsl_vector *x = gsl_vector_alloc(n), *y = gsl_vector_alloc(n);
    if (!P || !R || !T || !x || !y) {
        rc = -ENOMEM;
        goto out;
    }
    mk_counts_prob_matrix(c, P, NULL);
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++) {
            s += gsl_matrix_get(P, i, j);
        }
        if (s == 0.0) {
            gsl_matrix_set(P, i, i, 1.0);
        }
        gsl_vector_set(x, i, p0[i]);
    }
    gsl_matrix_set_identity(R);
    while (k) {
        if (k & 1u) {
            gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, R, P, 0.0, T);
            gsl_matrix_memcpy(R, T);
        }
        k >>= 1;
        if (k) {
            gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, P, P, 0.0, T);
            gsl_matrix_memcpy(P, T);
        }
    }
    gsl_blas_dgemv(CblasTrans, 1.0, R, x, 0.0, y);
    for (size_t i = 0; i < n; i++) {
        pk[i] = gsl_vector_get(y, i);
    }
out:
    if (P)
        gsl_matrix_free(P);
    if (R)
        gsl_matrix_free(R);
    if (T)
        gsl_matrix_free(T);
    if (x)
        gsl_vector_free(x);
    if (y)
        gsl_vector_free(y);
    return rc;
}

int predict_from_state(const struct mk_counts *c, uint32_t s, unsigned k, double *pk) {
    if (s >= c->nstates) {
        return -CORE_ERANGE;
    }
    double *p0 = calloc(c->nstates, sizeof *p0);
    if (!p0) {
        return -ENOMEM;
    }
    p0[s] = 1.0;
    int rc = predict_dist(c, p0, k, pk);
    free(p0);
    return rc;
}

double predict_expected_value(const struct disc *d, const double *p) {
    double v = 0.0;
    for (int i = 0; i < d->nstates; i++) {
        v += p[i] * 0.5 * (d->edges[i] + d->edges[i + 1]);
    }
    return v;
}

/* Key of the last h states of hist[0..len-1] (oldest first). */
static uint64_t tail_key(const uint32_t *hist, size_t len, int h, uint32_t nstates) {
    uint64_t key = 0;
    for (size_t i = len - (size_t)h; i < len; i++) {
        key = key * nstates + hist[i];
    }
    return key;
}

int predict_history_order(const struct mk_counts *c, size_t nhist) {
    int H = nhist < (size_t)c->order ? (int)nhist : c->order;
    while (H > 1) {
        uint64_t nk = 1;
        for (int i = 0; i < H; i++) {
            nk *= c->nstates;
        }
        if (nk <= PREDICT_MAX_HISTORIES) {
            break;
        }
        H--;
    }
    return H;
}

/* Next-state probabilities after the states st[0..H-1] (oldest first): the highest order whose
 * row was seen, else the chain stays in st[H-1]. row: nstates scratch counts. */
static void next_probs(const struct mk_counts *c, const uint32_t *st, int H, uint64_t *row,
                       double *p) {
    uint32_t n = c->nstates;
    for (int h = H; h >= 1; h--) {
        uint64_t key = tail_key(st, (size_t)H, h, n);
        uint64_t tot = mk_counts_row(c, h, key, row);
        if (tot) {
            for (uint32_t j = 0; j < n; j++) {
                p[j] = (double)row[j] / (double)tot;
            }
            return;
        }
    }
    memset(p, 0, n * sizeof *p);
    p[st[H - 1]] = 1.0;
}

int predict_from_history(const struct mk_counts *c, const uint32_t *hist, size_t nhist, unsigned k,
                         double *pk) {
    if (k == 0) {
        if (nhist == 0 || hist[nhist - 1] >= c->nstates) {
            return -CORE_ERANGE;
        }
        memset(pk, 0, c->nstates * sizeof *pk);
        pk[hist[nhist - 1]] = 1.0;
        return 0;
    }
    double *all = malloc((size_t)k * c->nstates * sizeof *all);
    if (!all) {
        return -ENOMEM;
    }
    int rc = predict_history_steps(c, hist, nhist, k, all);
    if (rc == 0) {
        memcpy(pk, all + (size_t)(k - 1) * c->nstates, c->nstates * sizeof *pk);
    }
    free(all);
    return rc;
}

int predict_history_steps(const struct mk_counts *c, const uint32_t *hist, size_t nhist, unsigned K,
                          double *pks) {
    uint32_t n = c->nstates;
    if (nhist == 0) {
        return -CORE_ERANGE;
    }
    for (size_t i = 0; i < nhist; i++) {
        if (hist[i] >= n) {
            return -CORE_ERANGE;
        }
    }
    int H = predict_history_order(c, nhist);
    if (H <= 1) {
        for (unsigned k = 1; k <= K; k++) {
            int rc = predict_from_state(c, hist[nhist - 1], k, pks + (size_t)(k - 1) * n);
            if (rc < 0) {
                return rc;
            }
        }
        return 0;
    }
    uint64_t nk = 1;
    for (int i = 0; i < H; i++) {
        nk *= n;
    }
    double *x = calloc(nk, sizeof *x), *y = calloc(nk, sizeof *y), *p = malloc(n * sizeof *p);
    uint64_t *row = malloc(n * sizeof *row);
    int rc = 0;
    if (!x || !y || !p || !row) {
        rc = -ENOMEM;
        goto out;
    }
    x[tail_key(hist, nhist, H, n)] = 1.0;
    uint32_t st[MK_MAX_ORDER];
    for (unsigned step = 0; step < K; step++) {
        memset(y, 0, nk * sizeof *y);
        for (uint64_t key = 0; key < nk; key++) {
            if (x[key] == 0.0) {
                continue;
            }
            mk_key_decode(key, n, H, st);
            next_probs(c, st, H, row, p);
            uint64_t shifted = (key % (nk / n)) * n; /* drop the oldest state */
            for (uint32_t j = 0; j < n; j++) {
                y[shifted + j] += x[key] * p[j];
            }
        }
        double *t = x;
        x = y;
        y = t;
        double *pk = pks + (size_t)step * n;
        memset(pk, 0, n * sizeof *pk);
        for (uint64_t key = 0; key < nk; key++) {
            pk[key % n] += x[key];
        }
    }
out:
    free(x);
    free(y);
    free(p);
    free(row);
    return rc;
}

int predict_simulate(const struct mk_counts *c, const struct disc *d, const uint32_t *start,
                     size_t nstart, size_t n, gsl_rng *rng, uint32_t *states, double *values) {
    uint32_t N = c->nstates, win[MK_MAX_ORDER];
    if (nstart == 0 || (uint32_t)d->nstates != N) {
        return -CORE_ERANGE;
    }
    size_t wl = nstart < (size_t)c->order ? nstart : (size_t)c->order;
    for (size_t i = 0; i < wl; i++) {
        win[i] = start[nstart - wl + i];
        if (win[i] >= N) {
            return -CORE_ERANGE;
        }
    }
    for (size_t t = 0; t < n; t++) {
        uint32_t next = win[wl - 1];
        for (int h = (int)wl; h >= 1; h--) {
            uint64_t key = tail_key(win, wl, h, N), tot = 0;
            for (uint32_t j = 0; j < N; j++) {
                tot += mk_counts_get(c, h, key, j);
            }
            if (!tot) {
                continue;
            }
            double u = gsl_rng_uniform(rng) * (double)tot, cum = 0.0;
            next = N - 1;
            for (uint32_t j = 0; j < N; j++) {
                uint64_t cnt = mk_counts_get(c, h, key, j);
                cum += (double)cnt;
                if (cnt && u < cum) {
                    next = j;
                    break;
                }
            }
            break;
        }
        states[t] = next;
        if (values) {
            double lo = d->edges[next], hi = d->edges[next + 1];
            values[t] = lo + gsl_rng_uniform(rng) * (hi - lo);
        }
        if (wl < (size_t)c->order) {
            win[wl++] = next;
        } else {
            memmove(win, win + 1, (wl - 1) * sizeof *win);
            win[wl - 1] = next;
        }
    }
    return 0;
}

int predict_score(const struct mk_counts *c, const uint32_t *states, size_t n, double floor_p,
                  double *ll, size_t *unseen) {
    size_t miss = 0;
    double sum = 0.0;
    if (!(floor_p > 0.0 && floor_p < 1.0)) {
        return -CORE_ERANGE;
    }
    for (size_t t = 0; t < n; t++) {
        if (states[t] >= c->nstates) {
            return -CORE_ERANGE;
        }
    }
    for (size_t t = 1; t < n; t++) {
        int top = t < (size_t)c->order ? (int)t : c->order;
        double p = 0.0;
        for (int h = top; h >= 1; h--) {
            uint64_t key = tail_key(states, t, h, c->nstates), tot = 0;
            for (uint32_t j = 0; j < c->nstates; j++) {
                tot += mk_counts_get(c, h, key, j);
            }
            if (tot) {
                p = (double)mk_counts_get(c, h, key, states[t]) / (double)tot;
                break;
            }
        }
        if (p <= 0.0) {
            miss++;
            p = floor_p;
        }
        sum += log(p);
    }
    *ll = sum;
    if (unseen) {
        *unseen = miss;
    }
    return 0;
}

double eval_mae(const double *f, const double *a, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        s += fabs(f[i] - a[i]);
    }
    return n ? s / (double)n : NAN;
}

double eval_rmse(const double *f, const double *a, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        s += (f[i] - a[i]) * (f[i] - a[i]);
    }
    return n ? sqrt(s / (double)n) : NAN;
}

double eval_smape(const double *f, const double *a, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double den = (fabs(a[i]) + fabs(f[i])) / 2.0;
        s += den > 0.0 ? fabs(f[i] - a[i]) / den : 0.0;
    }
    return n ? 100.0 * s / (double)n : NAN;
}

void eval_persistence(const double *a, size_t n, size_t h, double *f) {
    for (size_t i = 0; i < n; i++) {
        f[i] = i >= h ? a[i - h] : a[0];
    }
}

int predict_diff(const struct mk_counts *a, const struct mk_counts *b, int order, double *tv_mean,
                 double *js_mean, double *tv_max, size_t *rows, size_t *only) {
    if (a->nstates != b->nstates || a->order != b->order || order < 1 || order > a->order) {
        return -CORE_ERANGE;
    }
    uint32_t N = a->nstates;
    double *p = malloc(2 * (size_t)N * sizeof *p);
    if (!p) {
        return -ENOMEM;
    }
    double *q = p + N, tvs = 0.0, jss = 0.0, tvm = 0.0;
    size_t nr = 0, no = 0;
    uint64_t nrows = a->ord[order].rows;
    uint64_t *ra = NULL, *rb = NULL;
    size_t na = 0, nb = 0;
    int rc = mk_counts_seen_rows(a, order, &ra, &na);
    if (rc == 0) {
        rc = mk_counts_seen_rows(b, order, &rb, &nb);
    }
    if (rc < 0) {
        free(ra);
        free(p);
        return rc;
    }
    (void)nrows;
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        if (j >= nb || (i < na && ra[i] < rb[j])) {
            no++;
            i++;
            continue;
        }
        if (i >= na || rb[j] < ra[i]) {
            no++;
            j++;
            continue;
        }
        mk_counts_row_probs(a, order, ra[i], p);
        mk_counts_row_probs(b, order, rb[j], q);
        double tv = 0.0, js = 0.0;
        for (uint32_t k = 0; k < N; k++) {
            double m = 0.5 * (p[k] + q[k]);
            tv += fabs(p[k] - q[k]);
            if (p[k] > 0) {
                js += 0.5 * p[k] * log2(p[k] / m);
            }
            if (q[k] > 0) {
                js += 0.5 * q[k] * log2(q[k] / m);
            }
        }
        tv *= 0.5;
        tvs += tv;
        jss += js;
        tvm = tv > tvm ? tv : tvm;
        nr++;
        i++;
        j++;
    }
    *tv_mean = nr ? tvs / (double)nr : 0.0;
    *js_mean = nr ? jss / (double)nr : 0.0;
    *tv_max = tvm;
    *rows = nr;
    *only = no;
    free(ra);
    free(rb);
    free(p);
    return 0;
}
