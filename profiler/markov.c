/* markov.c: counting, probabilities, stationary distribution, stats and the streaming series.
 * SPDX-License-Identifier: MIT */
#include "markov.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_permutation.h>

#include "core_error.h"

void mk_hist_init(struct mk_hist *h, uint32_t nstates, int order) {
    memset(h, 0, sizeof *h);
    h->nstates = nstates;
    h->order = order;
}

/* ---- counts ---------------------------------------------------------------------------- */

int mk_counts_init(struct mk_counts *c, uint32_t nstates, int order) {
    memset(c, 0, sizeof *c);
    if (order < 1 || order > MK_MAX_ORDER || nstates < 2) {
        return -CORE_ERANGE;
    }
    c->nstates = nstates;
    c->order = order;
    uint64_t rows = 1;
    for (int k = 1; k <= order; k++) {
        if (rows > (UINT64_MAX >> 1) / nstates / nstates) {
            mk_counts_fini(c);
            return -CORE_ERANGE;
        }
        rows *= nstates;
        struct mk_order_table *t = &c->ord[k];
        t->rows = rows;
        if (rows * nstates <= MK_DENSE_MAX_CELLS) {
            t->dense = gsl_matrix_ulong_calloc(rows, nstates);
        } else {
            t->sparse = gsl_spmatrix_ulong_alloc_nzmax(rows, nstates, 1024, GSL_SPMATRIX_COO);
        }
        if (!t->dense && !t->sparse) {
            mk_counts_fini(c);
            return -ENOMEM;
        }
    }
    return 0;
}

void mk_counts_fini(struct mk_counts *c) {
    for (int k = 1; k <= MK_MAX_ORDER; k++) {
        if (c->ord[k].dense) {
            gsl_matrix_ulong_free(c->ord[k].dense);
        }
        if (c->ord[k].sparse) {
            gsl_spmatrix_ulong_free(c->ord[k].sparse);
        }
        c->ord[k].dense = NULL;
        c->ord[k].sparse = NULL;
    }
}

void mk__sparse_inc(struct mk_order_table *t, uint64_t row, uint32_t col, uint64_t by) {
    unsigned long *p = gsl_spmatrix_ulong_ptr(t->sparse, row, col);
    if (p) {
        *p += by;
    } else {
        gsl_spmatrix_ulong_set(t->sparse, row, col, by);
    }
}

static int mk_valid(const struct mk_counts *c, int order, uint64_t row, uint32_t col) {
    return order >= 1 && order <= c->order && row < c->ord[order].rows && col < c->nstates;
}

uint64_t mk_counts_get(const struct mk_counts *c, int order, uint64_t row, uint32_t col) {
    if (!mk_valid(c, order, row, col)) {
        return 0;
    }
    const struct mk_order_table *t = &c->ord[order];
    if (t->dense) {
        return t->dense->data[row * t->dense->tda + col];
    }
    const unsigned long *p = gsl_spmatrix_ulong_ptr(t->sparse, row, col);
    return p ? *p : 0;
}

int mk_counts_add_n(struct mk_counts *c, int order, uint64_t row, uint32_t col, uint64_t n) {
    if (!mk_valid(c, order, row, col)) {
        return -CORE_ERANGE;
    }
    struct mk_order_table *t = &c->ord[order];
    if (n == 0) {
        return 0;
    }
    if (t->dense) {
        t->dense->data[row * t->dense->tda + col] += n;
    } else {
        mk__sparse_inc(t, row, col, n);
    }
    t->total += n;
    return 0;
}

uint64_t mk_counts_row(const struct mk_counts *c, int order, uint64_t row, uint64_t *counts) {
    uint64_t total = 0;
    for (uint32_t j = 0; j < c->nstates; j++) {
        counts[j] = mk_counts_get(c, order, row, j);
        total += counts[j];
    }
    return total;
}

uint64_t mk_counts_row_probs(const struct mk_counts *c, int order, uint64_t row, double *p) {
    uint64_t total = 0;
    for (uint32_t j = 0; j < c->nstates; j++) {
        uint64_t n = mk_counts_get(c, order, row, j);
        p[j] = (double)n;
        total += n;
    }
    for (uint32_t j = 0; j < c->nstates; j++) {
        p[j] = total ? p[j] / (double)total : 0.0;
    }
    return total;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int mk_counts_seen_rows(const struct mk_counts *c, int order, uint64_t **rows, size_t *n) {
    *rows = NULL;
    *n = 0;
    if (order < 1 || order > c->order) {
        return -CORE_ERANGE;
    }
    const struct mk_order_table *t = &c->ord[order];
    size_t cap = 16, len = 0;
    uint64_t *out = malloc(cap * sizeof *out);
    if (!out) {
        return -ENOMEM;
    }
    if (t->dense) {
        for (uint64_t r = 0; r < t->rows; r++) {
            const unsigned long *d = t->dense->data + r * t->dense->tda;
            uint64_t tot = 0;
            for (uint32_t j = 0; j < c->nstates; j++) {
                tot |= d[j];
            }
            if (!tot) {
                continue;
            }
            if (len == cap) {
                uint64_t *g = realloc(out, 2 * cap * sizeof *out);
                if (!g) {
                    free(out);
                    return -ENOMEM;
                }
                out = g;
                cap *= 2;
            }
            out[len++] = r;
        }
    } else {
        const gsl_spmatrix_ulong *m = t->sparse;
        for (size_t k = 0; k < m->nz; k++) {
            if (!m->data[k]) {
                continue;
            }
            if (len == cap) {
                uint64_t *g = realloc(out, 2 * cap * sizeof *out);
                if (!g) {
                    free(out);
                    return -ENOMEM;
                }
                out = g;
                cap *= 2;
            }
            out[len++] = m->i[k];
        }
        qsort(out, len, sizeof *out, cmp_u64);
        size_t w = 0;
        for (size_t k = 0; k < len; k++) {
            if (w == 0 || out[w - 1] != out[k]) {
                out[w++] = out[k];
            }
        }
        len = w;
    }
    *rows = out;
    *n = len;
    return 0;
}

int mk_counts_merge(struct mk_counts *dst, const struct mk_counts *src) {
    if (dst->nstates != src->nstates || dst->order != src->order) {
        return -CORE_ERANGE;
    }
    for (int k = 1; k <= src->order; k++) {
        const struct mk_order_table *s = &src->ord[k];
        if (s->dense) {
            size_t cells = (size_t)s->rows * src->nstates;
            for (size_t i = 0; i < cells; i++) {
                if (s->dense->data[i]) {
                    mk_counts_add_n(dst, k, i / src->nstates, (uint32_t)(i % src->nstates),
                                    s->dense->data[i]);
                }
            }
        } else {
            for (size_t i = 0; i < s->sparse->nz; i++) {
                mk_counts_add_n(dst, k, s->sparse->i[i], (uint32_t)s->sparse->p[i],
                                s->sparse->data[i]);
            }
        }
    }
    return 0;
}

int mk_counts_prob_matrix(const struct mk_counts *c, gsl_matrix *P, size_t *unseen) {
    size_t n = c->nstates, miss = 0;
    if (P->size1 != n || P->size2 != n) {
        return -CORE_ERANGE;
    }
    for (size_t i = 0; i < n; i++) {
        double *row = gsl_matrix_ptr(P, i, 0);
        if (mk_counts_row_probs(c, 1, i, row) == 0) {
            miss++;
        }
    }
    if (unseen) {
        *unseen = miss;
    }
    return 0;
}

void mk_key_decode(uint64_t key, uint32_t nstates, int h, uint32_t *states) {
    for (int i = h - 1; i >= 0; i--) {
        states[i] = (uint32_t)(key % nstates);
        key /= nstates;
    }
}

/* pi P = pi, sum(pi) = 1, solved exactly: A = P^T - I with its last equation replaced by
 * sum(pi) = 1, by LU. Returns 0, or -1 when the system is singular or the answer is not a
 * distribution (several closed classes: no unique stationary vector). */
static int stationary_exact(const gsl_matrix *P, double *pi) {
    size_t n = P->size1;
    int rc = -1, sign;
    gsl_matrix *A = gsl_matrix_alloc(n, n);
    gsl_vector *b = gsl_vector_calloc(n), *x = gsl_vector_alloc(n);
    gsl_permutation *perm = gsl_permutation_alloc(n);
    if (!A || !b || !x || !perm) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            double a = i + 1 == n ? 1.0 : gsl_matrix_get(P, j, i) - (i == j ? 1.0 : 0.0);
            gsl_matrix_set(A, i, j, a);
        }
    }
    gsl_vector_set(b, n - 1, 1.0);
    gsl_linalg_LU_decomp(A, perm, &sign);
    for (size_t i = 0; i < n; i++) {
        if (fabs(gsl_matrix_get(A, i, i)) < 1e-10) {
            goto out; /* singular: several closed classes */
        }
    }
    if (gsl_linalg_LU_solve(A, perm, b, x) != GSL_SUCCESS) {
        goto out;
    }
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = gsl_vector_get(x, i);
        if (!isfinite(v) || v < -1e-9) {
            goto out;
        }
        pi[i] = v > 0.0 ? v : 0.0;
        sum += pi[i];
    }
    if (!(sum > 0.0)) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        pi[i] /= sum;
    }
    rc = 0;
out:
    gsl_matrix_free(A);
    gsl_vector_free(b);
    gsl_vector_free(x);
    gsl_permutation_free(perm);
    return rc;
}

int mk_stationary(const struct mk_counts *c, const uint64_t *occ, double *pi, int *iters) {
    size_t n = c->nstates;
    int rc = 0, it = 0;
    if (n > 4096) {
        return -CORE_ERANGE;
    }
    if (c->ord[1].total == 0) {
        return -CORE_EEMPTY;
    }
    gsl_matrix *P = gsl_matrix_alloc(n, n);
    gsl_vector *x = gsl_vector_alloc(n);
    gsl_vector *y = gsl_vector_alloc(n);
    if (!P || !x || !y) {
        rc = -ENOMEM;
        goto out;
    }
    mk_counts_prob_matrix(c, P, NULL);
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++) {
            s += gsl_matrix_get(P, i, j);
        }
        if (s > 0.0) {
            continue;
        }
        for (size_t j = 0; j < n; j++) {
            gsl_matrix_set(P, i, j, 1.0 / (double)n); /* a row never seen: uniform */
        }
    }
    if (stationary_exact(P, pi) == 0) {
        goto out; /* it = 0: solved, no iteration */
    }
    /* Several closed classes: the limit from the observed occupancy, by power iteration on the
     * lazy chain (I + P) / 2 (same stationary vectors, aperiodic). */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            gsl_matrix_set(P, i, j, 0.5 * gsl_matrix_get(P, i, j) + (i == j ? 0.5 : 0.0));
        }
    }
    uint64_t tot = 0;
    for (size_t i = 0; occ && i < n; i++) {
        tot += occ[i];
    }
    for (size_t i = 0; i < n; i++) {
        gsl_vector_set(x, i, tot ? (double)occ[i] / (double)tot : 1.0 / (double)n);
    }
    for (it = 1; it <= 100000; it++) {
        /* y = P^T x, i.e. the row vector x P. */
        gsl_blas_dgemv(CblasTrans, 1.0, P, x, 0.0, y);
        double sum = 0.0, diff = 0.0;
        for (size_t i = 0; i < n; i++) {
            sum += gsl_vector_get(y, i);
        }
        for (size_t i = 0; i < n; i++) {
            double v = gsl_vector_get(y, i) / sum;
            diff += fabs(v - gsl_vector_get(x, i));
            gsl_vector_set(x, i, v);
        }
        if (diff < 1e-13) {
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        pi[i] = gsl_vector_get(x, i);
    }
out:
    if (iters) {
        *iters = it;
    }
    if (P) {
        gsl_matrix_free(P);
    }
    if (x) {
        gsl_vector_free(x);
    }
    if (y) {
        gsl_vector_free(y);
    }
    return rc;
}

void mk_dwell(const struct mk_counts *c, double *dwell) {
    for (uint32_t i = 0; i < c->nstates; i++) {
        uint64_t tot = 0;
        for (uint32_t j = 0; j < c->nstates; j++) {
            tot += mk_counts_get(c, 1, i, j);
        }
        uint64_t stay = mk_counts_get(c, 1, i, i);
        if (tot == 0) {
            dwell[i] = NAN;
        } else if (stay == tot) {
            dwell[i] = INFINITY;
        } else {
            dwell[i] = (double)tot / (double)(tot - stay); /* 1 / (1 - p_ii) exactly */
        }
    }
}

/* ---- stats ----------------------------------------------------------------------------- */

int mk_stats_init(struct mk_stats *st, double lo, double hi) {
    memset(st, 0, sizeof *st);
    if (!isfinite(lo) || !isfinite(hi) || hi < lo) {
        return -CORE_ERANGE;
    }
    if (hi == lo) {
        hi = lo + 1.0;
    }
    st->lo = lo;
    st->hi = hi;
    st->qscale = (double)MK_QBINS / (hi - lo);
    st->min = INFINITY;
    st->max = -INFINITY;
    st->q = calloc(MK_QBINS, sizeof *st->q);
    return st->q ? 0 : -ENOMEM;
}

void mk_stats_fini(struct mk_stats *st) {
    free(st->q);
    st->q = NULL;
}

double mk_stats_mean(const struct mk_stats *st) {
    return st->n ? st->shift + st->s1 / (double)st->n : NAN;
}

double mk_stats_var(const struct mk_stats *st) {
    if (st->n < 2) {
        return 0.0;
    }
    double m2 = st->s2 - st->s1 * st->s1 / (double)st->n;
    return m2 > 0.0 ? m2 / (double)st->n : 0.0;
}

double mk_stats_quantile(const struct mk_stats *st, double p) {
    if (st->n == 0) {
        return NAN;
    }
    p = p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
    double target = p * (double)st->n;
    double w = (st->hi - st->lo) / MK_QBINS;
    double v;
    if (target <= (double)st->under) {
        double lo = st->min, hi = st->lo < st->max ? st->lo : st->max;
        v = st->under ? lo + (hi - lo) * target / (double)st->under : st->min;
    } else {
        double cum = (double)st->under;
        size_t b = 0;
        while (b < MK_QBINS && cum + (double)st->q[b] < target) {
            cum += (double)st->q[b];
            b++;
        }
        if (b < MK_QBINS) {
            double frac = st->q[b] ? (target - cum) / (double)st->q[b] : 0.0;
            v = st->lo + ((double)b + frac) * w;
        } else {
            double lo = st->hi > st->min ? st->hi : st->min;
            v = st->over ? lo + (st->max - lo) * (target - cum) / (double)st->over : st->max;
        }
    }
    v = v < st->min ? st->min : v;
    v = v > st->max ? st->max : v;
    return v;
}

void mk_stats_set(struct mk_stats *st, uint64_t n, double mean, double m2, double min, double max,
                  uint64_t under, uint64_t over, const uint64_t *q) {
    st->n = n;
    st->shift = n ? mean : 0.0;
    st->s1 = 0.0;
    st->s2 = n ? m2 : 0.0;
    st->min = n ? min : INFINITY;
    st->max = n ? max : -INFINITY;
    st->under = under;
    st->over = over;
    if (q) {
        memcpy(st->q, q, MK_QBINS * sizeof *q);
    }
}

int mk_stats_merge(struct mk_stats *dst, const struct mk_stats *src) {
    if (dst->lo != src->lo || dst->hi != src->hi) {
        return -CORE_ERANGE;
    }
    if (src->n == 0) {
        return 0;
    }
    if (dst->n == 0) {
        uint64_t *q = dst->q;
        *dst = *src;
        dst->q = q;
        memcpy(dst->q, src->q, MK_QBINS * sizeof *q);
        return 0;
    }
    double na = (double)dst->n, nb = (double)src->n;
    double ma = mk_stats_mean(dst), mb = mk_stats_mean(src);
    double m2a = dst->s2 - dst->s1 * dst->s1 / na, m2b = src->s2 - src->s1 * src->s1 / nb;
    double delta = mb - ma, n = na + nb;
    double mean = ma + delta * nb / n;
    double m2 = m2a + m2b + delta * delta * na * nb / n;
    dst->n += src->n;
    dst->shift = mean;
    dst->s1 = 0.0;
    dst->s2 = m2;
    dst->min = src->min < dst->min ? src->min : dst->min;
    dst->max = src->max > dst->max ? src->max : dst->max;
    dst->under += src->under;
    dst->over += src->over;
    for (size_t i = 0; i < MK_QBINS; i++) {
        dst->q[i] += src->q[i];
    }
    return 0;
}

/* ---- chain ----------------------------------------------------------------------------- */

int markov_chain_init(struct markov_chain *c, uint32_t nstates, int order) {
    memset(c, 0, sizeof *c);
    int rc = mk_counts_init(&c->counts, nstates, order);
    if (rc < 0) {
        return rc;
    }
    mk_hist_init(&c->hist, nstates, order);
    c->occ = calloc(nstates, sizeof *c->occ);
    if (!c->occ) {
        mk_counts_fini(&c->counts);
        return -ENOMEM;
    }
    return 0;
}

void markov_chain_fini(struct markov_chain *c) {
    mk_counts_fini(&c->counts);
    free(c->occ);
    c->occ = NULL;
}

int markov_chain_merge(struct markov_chain *dst, const struct markov_chain *src) {
    int rc = mk_counts_merge(&dst->counts, &src->counts);
    if (rc < 0) {
        return rc;
    }
    for (uint32_t i = 0; i < dst->counts.nstates; i++) {
        dst->occ[i] += src->occ[i];
    }
    if (dst->steps == 0) {
        memcpy(dst->first, src->first, sizeof dst->first);
    }
    dst->steps += src->steps;
    return 0;
}

/* ---- series ---------------------------------------------------------------------------- */

struct markov_series {
    struct markov_config cfg;
    struct disc disc;
    struct disc_filter filter;
    struct disc_buffer buf;
    struct mk_stats stats;
    struct mk_tsp_stats tsp;
    struct markov_chain chain;
    uint64_t nan_skipped;
    uint64_t extra_outliers; /* outliers merged in from other series */
    int fast;                /* buffersize 1, no filter, no hooks, static bins: fast path */
    int nhooks;
    mk_step_hook hooks[MK_MAX_HOOKS];
    void *hook_ctx[MK_MAX_HOOKS];
};

int markov_series_new(struct markov_series **out, const struct markov_config *cfg) {
    *out = NULL;
    if (cfg->order < 1 || cfg->order > MK_MAX_ORDER) {
        return -CORE_ERANGE;
    }
    struct markov_series *s = calloc(1, sizeof *s);
    if (!s) {
        return -ENOMEM;
    }
    s->cfg = *cfg;
    s->cfg.edges = NULL;
    int rc;
    switch (cfg->mode) {
    case DISC_LINEAR:
        rc = disc_init_linear(&s->disc, (int)cfg->nstates, cfg->min, cfg->max);
        break;
    case DISC_EDGES:
        rc = cfg->edges ? disc_init_edges(&s->disc, (int)cfg->nstates, cfg->edges) : -CORE_ERANGE;
        break;
    case DISC_COMPAT_TSP:
        rc = disc_init_compat(&s->disc, (int)cfg->nstates, cfg->fixed, cfg->min, cfg->max);
        break;
    default:
        rc = -CORE_ERANGE;
    }
    if (rc < 0) {
        goto fail;
    }
    s->cfg.edges = s->disc.edges;
    s->cfg.min = s->disc.min;
    s->cfg.max = s->disc.max;
    rc = disc_buffer_init(&s->buf, cfg->buffersize);
    if (rc < 0) {
        goto fail;
    }
    disc_filter_init(&s->filter, cfg->filterk, cfg->filter_action);
    s->cfg.filterk = s->filter.k;
    rc = mk_stats_init(&s->stats, s->disc.min, s->disc.max);
    if (rc < 0) {
        goto fail;
    }
    rc = markov_chain_init(&s->chain, cfg->nstates, cfg->order);
    if (rc < 0) {
        goto fail;
    }
    s->fast = s->buf.size == 1 && !(s->filter.k > 0.0) &&
              !(s->disc.mode == DISC_COMPAT_TSP && !s->disc.fixed);
    *out = s;
    return 0;
fail:
    markov_series_free(s);
    return rc;
}

void markov_series_free(struct markov_series *s) {
    if (!s) {
        return;
    }
    disc_fini(&s->disc);
    mk_stats_fini(&s->stats);
    markov_chain_fini(&s->chain);
    free(s);
}

static void series_step(struct markov_series *s, const struct disc_step *st) {
    uint32_t state = (uint32_t)disc_step_bin(&s->disc, st);
    struct mk_tsp_stats *tp = &s->tsp;
    double bmin = s->disc.fixed ? s->disc.min : st->tmin;
    double bmax = s->disc.fixed ? s->disc.max : st->tmax;
    if (!tp->started) {
        tp->min = bmin;
        tp->max = bmax;
        tp->started = 1;
    }
    tp->min = bmin < tp->min ? bmin : tp->min;
    tp->max = bmax > tp->max ? bmax : tp->max;
    tp->count += st->n;
    tp->sum += st->value * (double)st->n;
    tp->stddevsum += st->ss;
    if (s->nhooks) {
        struct mk_step_event ev = {.step = st, .state = state, .hist = &s->chain.hist};
        for (int i = 0; i < s->nhooks; i++) {
            s->hooks[i](s->hook_ctx[i], &ev);
        }
    }
    markov_chain_push(&s->chain, state);
}

/* Buffersize 1 without filter or hooks: the step is the sample itself, so the buffer, the
 * step struct and the hook loop are skipped. Same results as the general path: the tsprofiler
 * buffer bounds of a one-sample buffer are (v, max(v, 0)) and its sum of squares is 0. */
static void push_fast(struct markov_series *s, double v) {
    mk_stats_add(&s->stats, v);
    uint32_t state = (uint32_t)disc_bin(&s->disc, v);
    struct mk_tsp_stats *tp = &s->tsp;
    double bmin = s->disc.fixed ? s->disc.min : v;
    double bmax = s->disc.fixed ? s->disc.max : (v > 0.0 ? v : 0.0);
    if (!tp->started) {
        tp->min = bmin;
        tp->max = bmax;
        tp->started = 1;
    }
    tp->min = bmin < tp->min ? bmin : tp->min;
    tp->max = bmax > tp->max ? bmax : tp->max;
    tp->count++;
    tp->sum += v;
    markov_chain_push(&s->chain, state);
}

void markov_series_push(struct markov_series *s, int64_t t, double v) {
    struct disc_step st;
    if (isnan(v)) {
        s->nan_skipped++;
        return;
    }
    if (s->fast) {
        push_fast(s, v);
        return;
    }
    if (disc_filter_apply(&s->filter, &v)) {
        return;
    }
    mk_stats_add(&s->stats, v);
    if (disc_buffer_add(&s->buf, t, v, &st)) {
        series_step(s, &st);
    }
}

void markov_series_push_n(struct markov_series *s, const int64_t *t, const double *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        markov_series_push(s, t ? t[i] : 0, v[i]);
    }
}

void markov_series_flush(struct markov_series *s) {
    struct disc_step st;
    if (disc_buffer_flush(&s->buf, &st)) {
        series_step(s, &st);
    }
    if (s->tsp.count) {
        s->tsp.avg = s->tsp.sum / (double)s->tsp.count;
    }
}

void markov_series_break(struct markov_series *s) {
    markov_series_flush(s);
    mk_hist_init(&s->chain.hist, s->cfg.nstates, s->cfg.order);
}

int markov_series_add_hook(struct markov_series *s, mk_step_hook fn, void *ctx) {
    if (s->nhooks >= MK_MAX_HOOKS) {
        return -CORE_ERANGE;
    }
    s->fast = 0;
    s->hooks[s->nhooks] = fn;
    s->hook_ctx[s->nhooks] = ctx;
    s->nhooks++;
    return 0;
}

const struct markov_config *markov_series_config(const struct markov_series *s) {
    return &s->cfg;
}
const struct disc *markov_series_disc(const struct markov_series *s) {
    return &s->disc;
}
const struct markov_chain *markov_series_chain(const struct markov_series *s) {
    return &s->chain;
}
struct markov_chain *markov_series_chain_mut(struct markov_series *s) {
    return &s->chain;
}
const struct mk_stats *markov_series_stats(const struct markov_series *s) {
    return &s->stats;
}
struct mk_stats *markov_series_stats_mut(struct markov_series *s) {
    return &s->stats;
}
const struct mk_tsp_stats *markov_series_tsp_stats(const struct markov_series *s) {
    return &s->tsp;
}
struct mk_tsp_stats *markov_series_tsp_stats_mut(struct markov_series *s) {
    return &s->tsp;
}
uint64_t markov_series_nan_skipped(const struct markov_series *s) {
    return s->nan_skipped;
}
uint64_t markov_series_outliers(const struct markov_series *s) {
    return s->filter.outliers + s->extra_outliers;
}
uint64_t markov_series_samples(const struct markov_series *s) {
    return s->stats.n;
}
void markov_series_set_counters(struct markov_series *s, uint64_t nan_skipped, uint64_t outliers) {
    s->nan_skipped = nan_skipped;
    s->filter.outliers = 0;
    s->extra_outliers = outliers;
}

int markov_config_compatible(const struct markov_config *a, const struct disc *da,
                             const struct markov_config *b, const struct disc *db) {
    if (a->nstates != b->nstates || a->order != b->order || a->buffersize != b->buffersize ||
        a->filterk != b->filterk || (a->filterk > 0 && a->filter_action != b->filter_action) ||
        da->mode != db->mode || da->fixed != db->fixed || da->min != db->min ||
        da->max != db->max) {
        return -CORE_ERANGE;
    }
    for (uint32_t i = 0; i <= a->nstates; i++) {
        if (da->edges[i] != db->edges[i]) {
            return -CORE_ERANGE;
        }
    }
    return 0;
}

int markov_series_merge(struct markov_series *dst, const struct markov_series *src) {
    int rc = markov_config_compatible(&dst->cfg, &dst->disc, &src->cfg, &src->disc);
    if (rc < 0) {
        return rc;
    }
    rc = markov_chain_merge(&dst->chain, &src->chain);
    if (rc < 0) {
        return rc;
    }
    mk_stats_merge(&dst->stats, &src->stats);
    struct mk_tsp_stats *a = &dst->tsp;
    const struct mk_tsp_stats *b = &src->tsp;
    if (b->started) {
        if (!a->started) {
            *a = *b;
        } else {
            a->min = b->min < a->min ? b->min : a->min;
            a->max = b->max > a->max ? b->max : a->max;
            uint64_t n = a->count + b->count;
            a->avg = n ? (a->avg * (double)a->count + b->avg * (double)b->count) / (double)n : 0;
            a->sum = a->avg * (double)n;
            a->count = n;
            a->stddevsum += b->stddevsum;
        }
    }
    dst->nan_skipped += src->nan_skipped;
    dst->extra_outliers += markov_series_outliers(src);
    return 0;
}
