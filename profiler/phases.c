/* phases.c: CUSUM phase detection with held-back steps, one count set per phase.
 * SPDX-License-Identifier: MIT */
#include "phases.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core_error.h"

struct pending {
    struct mk_hist h;
    uint32_t s;
    int64_t t;
};

struct phases {
    struct phase_config cfg;
    uint32_t nstates;
    int order;
    uint32_t nphases;
    uint32_t cur;
    struct mk_counts counts[PH_MAX_PHASES];
    uint64_t *occ[PH_MAX_PHASES]; /* states committed to each phase */
    uint64_t occ_tot[PH_MAX_PHASES];
    uint64_t tx[PH_MAX_PHASES][PH_MAX_PHASES];
    uint64_t steps; /* committed steps */
    int have_last;
    uint32_t last_phase;
    uint64_t in_phase; /* steps committed to the current phase since it began */
    double S;
    struct pending *pend; /* ring of max_pending */
    size_t phead, plen;
    struct phase_segment *segs;
    size_t nsegs, capsegs;
};

void phase_config_default(struct phase_config *cfg) {
    cfg->min_len = 30;
    cfg->threshold = 12.0;
    cfg->drift = 0.5;
    cfg->alpha = 0.5;
    cfg->reuse_margin = 1.0;
    cfg->max_pending = 4096;
}

int phases_add_phase(struct phases *p, uint32_t *id) {
    if (p->nphases >= PH_MAX_PHASES) {
        return -CORE_ERANGE;
    }
    p->occ[p->nphases] = calloc(p->nstates, sizeof *p->occ[0]);
    if (!p->occ[p->nphases]) {
        return -ENOMEM;
    }
    int rc = mk_counts_init(&p->counts[p->nphases], p->nstates, p->order);
    if (rc < 0) {
        free(p->occ[p->nphases]);
        p->occ[p->nphases] = NULL;
        return rc;
    }
    *id = p->nphases++;
    return 0;
}

int phases_new(struct phases **out, const struct phase_config *cfg, uint32_t nstates, int order) {
    *out = NULL;
    if (cfg->max_pending == 0 || !(cfg->threshold > 0) || !(cfg->alpha > 0) || !(cfg->drift >= 0)) {
        return -CORE_ERANGE;
    }
    struct phases *p = calloc(1, sizeof *p);
    if (!p) {
        return -ENOMEM;
    }
    p->cfg = *cfg;
    p->nstates = nstates;
    p->order = order;
    p->pend = calloc(cfg->max_pending, sizeof *p->pend);
    if (!p->pend) {
        free(p);
        return -ENOMEM;
    }
    uint32_t id;
    int rc = phases_add_phase(p, &id);
    if (rc < 0) {
        phases_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void phases_free(struct phases *p) {
    if (!p) {
        return;
    }
    for (uint32_t i = 0; i < p->nphases; i++) {
        mk_counts_fini(&p->counts[i]);
        free(p->occ[i]);
    }
    free(p->pend);
    free(p->segs);
    free(p);
}

int phases_add_segment(struct phases *p, const struct phase_segment *seg) {
    if (p->nsegs == p->capsegs) {
        size_t cap = p->capsegs ? 2 * p->capsegs : 8;
        struct phase_segment *g = realloc(p->segs, cap * sizeof *g);
        if (!g) {
            return -ENOMEM;
        }
        p->segs = g;
        p->capsegs = cap;
    }
    p->segs[p->nsegs++] = *seg;
    return 0;
}

static void commit(struct phases *p, const struct mk_hist *h, uint32_t s, int64_t t) {
    mk_counts_add(&p->counts[p->cur], h, s);
    p->occ[p->cur][s]++;
    p->occ_tot[p->cur]++;
    if (p->have_last) {
        p->tx[p->last_phase][p->cur]++;
    }
    if (!p->have_last || p->last_phase != p->cur || p->nsegs == 0) {
        struct phase_segment seg = {.phase = p->cur, .start = p->steps, .t = t, .len = 0};
        phases_add_segment(p, &seg); /* on ENOMEM the segment list is short; counts stay exact */
    }
    if (p->nsegs) {
        p->segs[p->nsegs - 1].len++;
    }
    p->have_last = 1;
    p->last_phase = p->cur;
    p->steps++;
    p->in_phase++;
}

/* Smoothed log p(s | prev) and the row entropy under phase `ph`. The row is backed off to the
 * phase's own state occupancy q (itself smoothed with alpha): p = (c + beta q_s) / (T + beta),
 * beta = alpha N. A row the phase never saw is thus scored by how often the phase visits s, so a
 * jump to a level the phase never visited is surprising even though its row is empty. */
static void row_score(const struct phases *p, uint32_t ph, uint32_t prev, uint32_t s, double *logp,
                      double *entropy) {
    const struct mk_counts *c = &p->counts[ph];
    double a = p->cfg.alpha, n = (double)p->nstates, beta = a * n;
    double qden = (double)p->occ_tot[ph] + a * n;
    uint64_t tot = 0;
    for (uint32_t j = 0; j < p->nstates; j++) {
        tot += mk_counts_get(c, 1, prev, j);
    }
    double den = (double)tot + beta, h = 0.0;
    for (uint32_t j = 0; j < p->nstates && entropy; j++) {
        double q = ((double)p->occ[ph][j] + a) / qden;
        double r = ((double)mk_counts_get(c, 1, prev, j) + beta * q) / den;
        h -= r * log(r);
    }
    double qs = ((double)p->occ[ph][s] + a) / qden;
    *logp = log(((double)mk_counts_get(c, 1, prev, s) + beta * qs) / den);
    if (entropy) {
        *entropy = h;
    }
}

static struct pending *pend_at(struct phases *p, size_t i) {
    return &p->pend[(p->phead + i) % p->cfg.max_pending];
}

static void commit_pending(struct phases *p) {
    for (size_t i = 0; i < p->plen; i++) {
        struct pending *e = pend_at(p, i);
        commit(p, &e->h, e->s, e->t);
    }
    p->plen = 0;
    p->phead = 0;
}

static uint32_t choose_next(struct phases *p) {
    double best = -INFINITY;
    uint32_t bestj = p->cur;
    size_t n = 0;
    for (uint32_t j = 0; j < p->nphases; j++) {
        if (j == p->cur) {
            continue;
        }
        double ll = 0.0;
        n = 0;
        for (size_t i = 0; i < p->plen; i++) {
            struct pending *e = pend_at(p, i);
            if (e->h.nseen == 0) {
                continue;
            }
            double lp;
            row_score(p, j, (uint32_t)e->h.key[1], e->s, &lp, NULL);
            ll += lp;
            n++;
        }
        ll = n ? ll / (double)n : -INFINITY;
        if (ll > best) {
            best = ll;
            bestj = j;
        }
    }
    if (bestj != p->cur && best > -log((double)p->nstates) + p->cfg.reuse_margin) {
        return bestj;
    }
    uint32_t id;
    if (phases_add_phase(p, &id) == 0) {
        return id;
    }
    return bestj; /* phase table full (or ENOMEM): the best existing phase */
}

int phases_push(struct phases *p, int64_t t, const struct mk_hist *h, uint32_t s) {
    if (s >= p->nstates) {
        return -CORE_ERANGE;
    }
    if (p->in_phase < p->cfg.min_len || h->nseen == 0) {
        commit(p, h, s, t);
        return 0;
    }
    double lp, ent;
    row_score(p, p->cur, (uint32_t)h->key[1], s, &lp, &ent);
    double inc = -lp - ent - p->cfg.drift;
    double S = p->S + inc;
    if (S <= 0.0) {
        p->S = 0.0;
        commit_pending(p);
        commit(p, h, s, t);
        return 0;
    }
    p->S = S;
    if (p->plen == p->cfg.max_pending) {
        struct pending *e = pend_at(p, 0);
        commit(p, &e->h, e->s, e->t);
        p->phead = (p->phead + 1) % p->cfg.max_pending;
        p->plen--;
    }
    struct pending *e = pend_at(p, p->plen++);
    e->h = *h;
    e->s = s;
    e->t = t;
    if (S > p->cfg.threshold) {
        uint32_t next = choose_next(p);
        p->S = 0.0;
        if (next != p->cur) {
            p->cur = next;
            p->in_phase = 0;
        }
        commit_pending(p);
    }
    return 0;
}

void phases_hook(void *ctx, const struct mk_step_event *ev) {
    phases_push(ctx, ev->step->t, ev->hist, ev->state);
}

void phases_flush(struct phases *p) {
    commit_pending(p);
    p->S = 0.0;
}

const struct phase_config *phases_config(const struct phases *p) {
    return &p->cfg;
}
uint32_t phases_count(const struct phases *p) {
    return p->nphases;
}
uint32_t phases_current(const struct phases *p) {
    return p->cur;
}
const struct mk_counts *phases_counts(const struct phases *p, uint32_t i) {
    return i < p->nphases ? &p->counts[i] : NULL;
}
struct mk_counts *phases_counts_mut(struct phases *p, uint32_t i) {
    return i < p->nphases ? &p->counts[i] : NULL;
}
uint64_t phases_tx(const struct phases *p, uint32_t i, uint32_t j) {
    return i < p->nphases && j < p->nphases ? p->tx[i][j] : 0;
}
int phases_set_tx(struct phases *p, uint32_t i, uint32_t j, uint64_t n) {
    if (i >= p->nphases || j >= p->nphases) {
        return -CORE_ERANGE;
    }
    p->tx[i][j] = n;
    return 0;
}
int phases_set_current(struct phases *p, uint32_t i) {
    if (i >= p->nphases) {
        return -CORE_ERANGE;
    }
    p->cur = i;
    p->have_last = 1;
    p->last_phase = i;
    return 0;
}

const struct phase_segment *phases_segments(const struct phases *p, size_t *n) {
    *n = p->nsegs;
    return p->segs;
}
