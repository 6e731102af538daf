/* discretise.c: bounds, bins, the outlier filter, buffering and the bounds scan.
 * SPDX-License-Identifier: MIT */
#include "discretise.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core_error.h"

static int disc_alloc_edges(struct disc *d, int nstates) {
    if (nstates < 2 || nstates > DISC_MAX_STATES) {
        return -CORE_ERANGE;
    }
    d->edges = calloc((size_t)nstates + 1, sizeof *d->edges);
    if (!d->edges) {
        return -ENOMEM;
    }
    d->nstates = nstates;
    return 0;
}

int disc_init_linear(struct disc *d, int nstates, double min, double max) {
    memset(d, 0, sizeof *d);
    if (!isfinite(min) || !isfinite(max) || max < min) {
        return -CORE_ERANGE;
    }
    int rc = disc_alloc_edges(d, nstates);
    if (rc < 0) {
        return rc;
    }
    d->mode = DISC_LINEAR;
    d->min = min;
    d->max = max;
    d->range = max > min ? max - min : 1.0;
    for (int i = 0; i <= nstates; i++) {
        d->edges[i] = min + (max - min) * (double)i / (double)nstates;
    }
    d->edges[nstates] = max;
    return 0;
}

int disc_init_edges(struct disc *d, int nstates, const double *edges) {
    memset(d, 0, sizeof *d);
    if (nstates < 2 || nstates > DISC_MAX_STATES) {
        return -CORE_ERANGE;
    }
    for (int i = 0; i <= nstates; i++) {
        if (!isfinite(edges[i]) || (i > 0 && edges[i] < edges[i - 1])) {
            return -CORE_ERANGE;
        }
    }
    int rc = disc_alloc_edges(d, nstates);
    if (rc < 0) {
        return rc;
    }
    d->mode = DISC_EDGES;
    memcpy(d->edges, edges, ((size_t)nstates + 1) * sizeof *edges);
    d->min = edges[0];
    d->max = edges[nstates];
    d->range = d->max > d->min ? d->max - d->min : 1.0;
    return 0;
}

int disc_init_compat(struct disc *d, int nstates, int fixed, double min, double max) {
    memset(d, 0, sizeof *d);
    if (!isfinite(min) || !isfinite(max) || max < min) {
        return -CORE_ERANGE;
    }
    int rc = disc_alloc_edges(d, nstates);
    if (rc < 0) {
        return rc;
    }
    d->mode = DISC_COMPAT_TSP;
    d->fixed = fixed != 0;
    d->min = min;
    d->max = max;
    d->range = max > min ? max - min : 1.0;
    double step = (max - min) / (double)nstates;
    d->edges[0] = min;
    for (int i = 1; i < nstates; i++) {
        d->edges[i] = (double)i * step - 0.5 * step;
    }
    d->edges[nstates] = max;
    return 0;
}

void disc_fini(struct disc *d) {
    free(d->edges);
    d->edges = NULL;
}

void disc_filter_init(struct disc_filter *f, double k, enum disc_filter_action action) {
    memset(f, 0, sizeof *f);
    f->k = k > 0.0 ? k : 0.0;
    f->action = action;
}

int disc_buffer_init(struct disc_buffer *b, uint32_t size) {
    memset(b, 0, sizeof *b);
    if (size == 0) {
        return -CORE_ERANGE;
    }
    b->size = size;
    return 0;
}

int disc_buffer_flush(struct disc_buffer *b, struct disc_step *out) {
    if (b->n == 0) {
        return 0;
    }
    double n = (double)b->n;
    out->value = b->sum / n;
    double dm = out->value - b->first;
    out->ss = b->sumsq_shift - n * dm * dm;
    out->ss = out->ss > 0.0 ? out->ss : 0.0;
    out->tmin = b->tmin;
    out->tmax = b->tmax;
    out->n = b->n;
    out->t = b->t0;
    b->n = 0;
    return 1;
}

int disc_scan_init(struct disc_scan *s, uint32_t buffersize, double filterk,
                   enum disc_filter_action action, int with_hist, double lo, double hi) {
    memset(s, 0, sizeof *s);
    int rc = disc_buffer_init(&s->buf, buffersize);
    if (rc < 0) {
        return rc;
    }
    disc_filter_init(&s->filter, filterk, action);
    s->min = INFINITY;
    s->max = -INFINITY;
    if (with_hist) {
        if (!isfinite(lo) || !isfinite(hi) || !(lo < hi)) {
            return -CORE_ERANGE;
        }
        s->hist = calloc(DISC_SCAN_BINS, sizeof *s->hist);
        if (!s->hist) {
            return -ENOMEM;
        }
        s->lo = lo;
        s->hi = hi;
    }
    return 0;
}

static void disc_scan_step(struct disc_scan *s, const struct disc_step *st) {
    double v = st->value;
    s->steps++;
    s->min = v < s->min ? v : s->min;
    s->max = v > s->max ? v : s->max;
    if (s->hist) {
        double x = (v - s->lo) / (s->hi - s->lo) * DISC_SCAN_BINS;
        x = x > 0.0 ? x : 0.0;
        x = x < DISC_SCAN_BINS - 1 ? x : DISC_SCAN_BINS - 1;
        s->hist[(size_t)x]++;
    }
}

void disc_scan_push(struct disc_scan *s, double v) {
    struct disc_step st;
    if (isnan(v) || disc_filter_apply(&s->filter, &v)) {
        return;
    }
    if (disc_buffer_add(&s->buf, 0, v, &st)) {
        disc_scan_step(s, &st);
    }
}

void disc_scan_flush(struct disc_scan *s) {
    struct disc_step st;
    if (disc_buffer_flush(&s->buf, &st)) {
        disc_scan_step(s, &st);
    }
}

int disc_scan_quantile_edges(const struct disc_scan *s, int nstates, double *edges) {
    if (!s->hist || s->steps == 0 || nstates < 2 || nstates > DISC_MAX_STATES) {
        return -CORE_ERANGE;
    }
    double w = (s->hi - s->lo) / DISC_SCAN_BINS;
    edges[0] = s->min;
    edges[nstates] = s->max;
    uint64_t cum = 0;
    size_t bin = 0;
    for (int i = 1; i < nstates; i++) {
        double target = (double)s->steps * (double)i / (double)nstates;
        while (bin < DISC_SCAN_BINS && (double)(cum + s->hist[bin]) < target) {
            cum += s->hist[bin];
            bin++;
        }
        double e;
        if (bin >= DISC_SCAN_BINS) {
            e = s->max;
        } else {
            double frac = s->hist[bin] ? (target - (double)cum) / (double)s->hist[bin] : 0.0;
            e = s->lo + ((double)bin + frac) * w;
        }
        e = e < s->min ? s->min : e;
        e = e > s->max ? s->max : e;
        edges[i] = e < edges[i - 1] ? edges[i - 1] : e;
    }
    return 0;
}

void disc_scan_fini(struct disc_scan *s) {
    free(s->hist);
    s->hist = NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int disc_quantile_edges(const double *values, size_t n, int nstates, double *edges) {
    if (n == 0 || nstates < 2 || nstates > DISC_MAX_STATES) {
        return -CORE_ERANGE;
    }
    double *v = malloc(n * sizeof *v);
    if (!v) {
        return -ENOMEM;
    }
    memcpy(v, values, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    for (int i = 0; i <= nstates; i++) {
        double h = (double)(n - 1) * (double)i / (double)nstates;
        size_t lo = (size_t)h;
        size_t hi = lo + 1 < n ? lo + 1 : lo;
        edges[i] = v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
    }
    free(v);
    return 0;
}
