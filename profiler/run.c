/* run.c: multi-pass profile building (see run.h).
 * SPDX-License-Identifier: MIT */
#include "run.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_error.h"

enum pass { PASS_SCAN = 0, PASS_HIST, PASS_COUNT };

struct run_vm {
    char *key, *name, *uuid, *vmid, *host;
    double vcpus, mem;
    struct disc_scan *scan; /* nm */
    uint64_t rows, seen;    /* rows in pass 1; rows seen in the current pass */
    uint64_t train;         /* evaluation: training rows */
    struct profile *p;
    int late;              /* appeared after the first run (follow mode) */
    struct evaluator **ev; /* nkeep, evaluation only */
    int finished;
};

struct run {
    struct run_config cfg;
    struct derive *d;
    size_t nm; /* derived metrics */
    struct run_vm **vm;
    size_t nvm;
    int32_t *map; /* source index -> vm slot */
    size_t nmap;
    enum pass pass;
    size_t *keep; /* kept metric indices */
    size_t nkeep;
    double *row; /* nkeep */
    struct run_vm **sorted;
    int64_t last_ns;
    int started; /* profiles exist */
    int rc;      /* first error inside a callback */
    struct source_live *live; /* follow mode: the journal kept open between feeds */
    struct source_cb live_cb;
};

int run_natural_cmp(const char *a, const char *b) {
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1])) {
                a++;
            }
            while (*b == '0' && isdigit((unsigned char)b[1])) {
                b++;
            }
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la])) {
                la++;
            }
            while (isdigit((unsigned char)b[lb])) {
                lb++;
            }
            if (la != lb) {
                return la < lb ? -1 : 1;
            }
            int c = strncmp(a, b, la);
            if (c) {
                return c;
            }
            a += la;
            b += lb;
            continue;
        }
        if (*a != *b) {
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        }
        a++;
        b++;
    }
    return *a ? 1 : (*b ? -1 : 0);
}

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

int run_new(struct run **out, const struct run_config *cfg, char *err, size_t errlen) {
    *out = NULL;
    struct source_metrics sm;
    int rc = source_metrics(&cfg->src, &sm, err, errlen);
    if (rc < 0) {
        source_metrics_free(&sm); /* may hold what it allocated before failing */
        return rc;
    }
    struct run *r = calloc(1, sizeof *r);
    if (!r) {
        source_metrics_free(&sm);
        return -ENOMEM;
    }
    r->cfg = *cfg;
    const char *bad = NULL;
    rc = derive_new(&r->d, cfg->metrics, sm.defs, sm.n, &bad);
    source_metrics_free(&sm);
    if (rc < 0) {
        if (rc == -CORE_ENOENTITY) {
            snprintf(err, errlen, "--metrics: unknown metric '%s'", bad);
        } else {
            snprintf(err, errlen, "%s", core_strerror(rc));
        }
        free(r);
        return rc;
    }
    r->nm = derive_count(r->d);
    for (size_t b = 0; b < cfg->nbounds; b++) {
        size_t i = 0;
        while (i < r->nm && strcmp(derive_name(r->d, i), cfg->bounds[b].name) != 0) {
            i++;
        }
        if (i == r->nm) {
            snprintf(err, errlen, "--bound: '%s' is not a profiled metric", cfg->bounds[b].name);
            run_free(r);
            return -CORE_ENOENTITY;
        }
    }
    r->keep = malloc((r->nm + 1) * sizeof *r->keep);
    r->row = malloc((r->nm + 1) * sizeof *r->row);
    if (!r->keep || !r->row) {
        run_free(r);
        return -ENOMEM;
    }
    *out = r;
    return 0;
}

static void vm_free(struct run *r, struct run_vm *v) {
    if (!v) {
        return;
    }
    free(v->key);
    free(v->name);
    free(v->uuid);
    free(v->vmid);
    free(v->host);
    if (v->scan) {
        for (size_t m = 0; m < r->nm; m++) {
            disc_scan_fini(&v->scan[m]);
        }
        free(v->scan);
    }
    if (v->ev) {
        for (size_t m = 0; m < r->nkeep; m++) {
            evaluator_free(v->ev[m]);
        }
        free(v->ev);
    }
    profile_free(v->p);
    free(v);
}

void run_free(struct run *r) {
    if (!r) {
        return;
    }
    for (size_t i = 0; i < r->nvm; i++) {
        vm_free(r, r->vm[i]);
    }
    free(r->vm);
    free(r->map);
    free(r->keep);
    free(r->row);
    free(r->sorted);
    source_live_close(r->live);
    derive_free(r->d);
    free(r);
}

static int scan_init(struct run *r, struct run_vm *v, int hist) {
    if (!v->scan) {
        v->scan = calloc(r->nm, sizeof *v->scan);
        if (!v->scan) {
            return -ENOMEM;
        }
    }
    for (size_t m = 0; m < r->nm; m++) {
        double lo = 0, hi = 0;
        int h = 0;
        if (hist) {
            lo = v->scan[m].min;
            hi = v->scan[m].max;
            h = v->scan[m].steps > 0 && lo < hi;
        }
        disc_scan_fini(&v->scan[m]);
        int rc = disc_scan_init(&v->scan[m], r->cfg.set.buffersize, r->cfg.set.filterk,
                                r->cfg.set.filter_action, h, lo, hi);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* Bounds of metric m (derived index) for VM v. */
static void bounds_of(const struct run *r, const struct run_vm *v, size_t m, double *lo,
                      double *hi) {
    const struct run_config *c = &r->cfg;
    for (size_t b = 0; b < c->nbounds; b++) {
        if (strcmp(c->bounds[b].name, derive_name(r->d, m)) == 0) {
            *lo = c->bounds[b].min;
            *hi = c->bounds[b].max;
            return;
        }
    }
    if (c->set.binning == PROFILE_BIN_COMPAT_TSP) {
        *lo = c->have_fixedmin ? c->fixedmin : 0;
        *hi = c->have_fixedmax ? c->fixedmax : 100;
        return;
    }
    double dlo = 0, dhi = 1;
    int have_default = derive_default_bound(r->d, m, v->vcpus, v->mem, &dlo, &dhi);
    double smin = v->scan ? v->scan[m].min : NAN, smax = v->scan ? v->scan[m].max : NAN;
    int have_data = v->scan && v->scan[m].steps > 0;
    if (c->fixedbound) {
        *lo = c->have_fixedmin ? c->fixedmin : (have_default ? dlo : (have_data ? smin : 0));
        *hi = c->have_fixedmax ? c->fixedmax : (have_default ? dhi : (have_data ? smax : 1));
    } else {
        *lo = have_data ? smin : (have_default ? dlo : 0);
        *hi = have_data ? smax : (have_default ? dhi : 1);
    }
    if (!(*hi >= *lo)) {
        *hi = *lo;
    }
}

static int make_profile(struct run *r, struct run_vm *v, char *err, size_t errlen) {
    int64_t vmid = -1;
    if (v->vmid) {
        char *e;
        long long x = strtoll(v->vmid, &e, 10);
        if (*v->vmid && !*e) {
            vmid = x;
        }
    }
    struct profile_identity id = {
        .name = v->name, .uuid = v->uuid, .vm_name = v->name, .host = v->host, .vmid = vmid};
    int rc = profile_new(&v->p, &id, &r->cfg.set);
    if (rc < 0) {
        snprintf(err, errlen, "invalid profile settings");
        return rc;
    }
    for (size_t k = 0; k < r->nkeep; k++) {
        size_t m = r->keep[k];
        struct profile_metric_spec spec = {.name = derive_name(r->d, m),
                                           .unit = derive_unit(r->d, m)};
        bounds_of(r, v, m, &spec.min, &spec.max);
        double *edges = NULL;
        if (r->cfg.set.binning == PROFILE_BIN_QUANTILE) {
            edges = malloc((r->cfg.set.states + 1) * sizeof *edges);
            if (!edges) {
                return -ENOMEM;
            }
            if (!v->scan ||
                disc_scan_quantile_edges(&v->scan[m], (int)r->cfg.set.states, edges) < 0) {
                /* constant or empty series: equal edges over its bounds */
                for (uint32_t i = 0; i <= r->cfg.set.states; i++) {
                    edges[i] = spec.min + (spec.max - spec.min) * i / r->cfg.set.states;
                }
            }
            spec.edges = edges;
        }
        rc = profile_add_metric(v->p, &spec, NULL);
        free(edges);
        if (rc < 0) {
            snprintf(err, errlen, "%s: metric %s: invalid bounds [%g, %g]", v->name, spec.name,
                     spec.min, spec.max);
            return rc;
        }
    }
    return 0;
}

/* ---- source callbacks ------------------------------------------------------------------ */

static int cb_vm(void *ctx, uint32_t idx, const struct source_vm *sv) {
    struct run *r = ctx;
    if (idx >= r->nmap) {
        size_t n = (size_t)idx + 1;
        int32_t *g = realloc(r->map, n * sizeof *g);
        if (!g) {
            return -ENOMEM;
        }
        for (size_t i = r->nmap; i < n; i++) {
            g[i] = -1;
        }
        r->map = g;
        r->nmap = n;
    }
    size_t slot = 0;
    while (slot < r->nvm && strcmp(r->vm[slot]->key, sv->key) != 0) {
        slot++;
    }
    if (slot == r->nvm) {
        struct run_vm **g = realloc(r->vm, (r->nvm + 1) * sizeof *g);
        if (!g) {
            return -ENOMEM;
        }
        r->vm = g;
        struct run_vm *v = calloc(1, sizeof *v);
        if (!v) {
            return -ENOMEM;
        }
        v->key = strdup(sv->key);
        v->name = strdup(sv->name ? sv->name : sv->key);
        v->uuid = dup_or_null(sv->uuid);
        v->vmid = dup_or_null(sv->vmid);
        v->host = dup_or_null(sv->host);
        v->vcpus = sv->vcpus;
        v->mem = sv->mem_bytes;
        r->vm[r->nvm++] = v;
        if (!v->key || !v->name) {
            return -ENOMEM;
        }
        if (r->started) {
            v->late = 1;
            char err[256];
            int rc = make_profile(r, v, err, sizeof err);
            if (rc < 0) {
                return rc;
            }
        } else if (scan_init(r, v, 0) < 0) {
            return -ENOMEM;
        }
    } else {
        struct run_vm *v = r->vm[slot];
        v->vcpus = sv->vcpus > v->vcpus ? sv->vcpus : v->vcpus;
        v->mem = sv->mem_bytes > v->mem ? sv->mem_bytes : v->mem;
    }
    r->map[idx] = (int32_t)slot;
    return 0;
}

static void cb_gap(void *ctx, uint32_t idx) {
    struct run *r = ctx;
    if (idx < r->nmap && r->map[idx] >= 0 && r->pass == PASS_COUNT) {
        struct run_vm *v = r->vm[r->map[idx]];
        if (v->p) {
            profile_break(v->p);
        }
    }
}

static void start_eval(struct run *r, struct run_vm *v) {
    v->finished = 1;
    profile_finish(v->p);
    v->ev = calloc(r->nkeep ? r->nkeep : 1, sizeof *v->ev);
    if (!v->ev) {
        r->rc = -ENOMEM;
        return;
    }
    for (size_t k = 0; k < r->nkeep; k++) {
        int rc = evaluator_new(&v->ev[k], profile_metric(v->p, k), r->cfg.horizons);
        if (rc < 0) {
            r->rc = rc;
        }
    }
}

static void cb_row(void *ctx, uint32_t idx, int64_t t, const double *values, double vcpus,
                   double mem) {
    struct run *r = ctx;
    if (idx >= r->nmap || r->map[idx] < 0) {
        return;
    }
    struct run_vm *v = r->vm[r->map[idx]];
    if (r->pass != PASS_COUNT) {
        v->vcpus = vcpus > v->vcpus ? vcpus : v->vcpus;
        v->mem = mem > v->mem ? mem : v->mem;
        for (size_t m = 0; m < r->nm; m++) {
            disc_scan_push(&v->scan[m], values[m]);
        }
        if (r->pass == PASS_SCAN) {
            v->rows++;
        }
        return;
    }
    if (!v->p) {
        return;
    }
    for (size_t k = 0; k < r->nkeep; k++) {
        r->row[k] = values[r->keep[k]];
    }
    if (r->cfg.split > 0 && v->seen >= v->train) {
        if (!v->finished) {
            start_eval(r, v);
        }
        if (v->ev) {
            for (size_t k = 0; k < r->nkeep; k++) {
                if (v->ev[k]) {
                    evaluator_push(v->ev[k], r->row[k]);
                }
            }
        }
        v->seen++;
        return;
    }
    v->seen++;
    profile_push_row(v->p, t, r->row);
}

static int pass(struct run *r, enum pass p, char *err, size_t errlen) {
    r->pass = p;
    for (size_t i = 0; i < r->nmap; i++) {
        r->map[i] = -1;
    }
    for (size_t i = 0; i < r->nvm; i++) {
        r->vm[i]->seen = 0;
    }
    struct source_cb cb = {.ctx = r, .vm = cb_vm, .row = cb_row, .gap = cb_gap};
    static const char *const tags[] = {"pass 1 (bounds): ", "pass 2 (quantiles): ", "counting: "};
    struct source_opts so = r->cfg.src;
    so.progress_tag = tags[p];
    so.last_ns = &r->last_ns;
    int rc = source_run(&so, r->d, &cb, err, errlen);
    if (rc == 0 && r->rc < 0) {
        rc = r->rc;
        snprintf(err, errlen, "%s", core_strerror(rc));
    }
    return rc;
}

static int cmp_vm(const void *a, const void *b) {
    const struct run_vm *x = *(struct run_vm *const *)a, *y = *(struct run_vm *const *)b;
    int c = run_natural_cmp(x->name, y->name);
    if (!c) {
        c = strcmp(x->host ? x->host : "", y->host ? y->host : "");
    }
    return c ? c : strcmp(x->key, y->key);
}

/* True when pass 1 would learn nothing: explicit metrics, every bound fixed, no evaluation. */
static bool scan_needed(const struct run *r) {
    const struct run_config *c = &r->cfg;
    if (derive_is_default(r->d) || c->split > 0) {
        return true;
    }
    if (c->set.binning == PROFILE_BIN_COMPAT_TSP) {
        return false;
    }
    if (c->set.binning != PROFILE_BIN_FIXED) {
        return true;
    }
    return !(c->have_fixedmin && c->have_fixedmax);
}

int run_profiles(struct run *r, char *err, size_t errlen) {
    if (!scan_needed(r)) {
        for (size_t m = 0; m < r->nm; m++) {
            r->keep[r->nkeep++] = m;
        }
        r->started = 1; /* VMs get their profiles as they are discovered */
        int rc = pass(r, PASS_COUNT, err, errlen);
        if (rc == 0 && r->nvm == 0) {
            snprintf(err, errlen, "%s: no VM to profile%s", r->cfg.src.paths[0],
                     r->cfg.src.vm_filter ? " (check --vm)" : "");
            rc = -CORE_EEMPTY;
        }
        if (rc < 0) {
            return rc;
        }
        goto finish;
    }
    int rc = pass(r, PASS_SCAN, err, errlen);
    if (rc < 0) {
        return rc;
    }
    if (r->nvm == 0) {
        snprintf(err, errlen, "%s: no VM to profile%s", r->cfg.src.paths[0],
                 r->cfg.src.vm_filter ? " (check --vm)" : "");
        return -CORE_EEMPTY;
    }
    for (size_t m = 0; m < r->nm; m++) {
        int used = !derive_is_default(r->d);
        for (size_t i = 0; i < r->nvm && !used; i++) {
            used = r->vm[i]->scan[m].steps > 0;
        }
        if (used) {
            r->keep[r->nkeep++] = m;
        }
    }
    if (r->nkeep == 0) {
        snprintf(err, errlen, "%s: none of the default metrics has data (choose with --metrics)",
                 r->cfg.src.paths[0]);
        return -CORE_EEMPTY;
    }
    for (size_t i = 0; i < r->nvm; i++) {
        disc_scan_flush(&r->vm[i]->scan[0]);
        for (size_t m = 1; m < r->nm; m++) {
            disc_scan_flush(&r->vm[i]->scan[m]);
        }
    }
    if (r->cfg.set.binning == PROFILE_BIN_QUANTILE) {
        for (size_t i = 0; i < r->nvm; i++) {
            if ((rc = scan_init(r, r->vm[i], 1)) < 0) {
                snprintf(err, errlen, "out of memory");
                return rc;
            }
        }
        if ((rc = pass(r, PASS_HIST, err, errlen)) < 0) {
            return rc;
        }
        for (size_t i = 0; i < r->nvm; i++) {
            for (size_t m = 0; m < r->nm; m++) {
                disc_scan_flush(&r->vm[i]->scan[m]);
            }
        }
    }
    for (size_t i = 0; i < r->nvm; i++) {
        struct run_vm *v = r->vm[i];
        if ((rc = make_profile(r, v, err, errlen)) < 0) {
            return rc;
        }
        v->train = (uint64_t)floor(r->cfg.split * (double)v->rows);
    }
    r->started = 1;
    if ((rc = pass(r, PASS_COUNT, err, errlen)) < 0) {
        return rc;
    }
finish:
    for (size_t i = 0; i < r->nvm; i++) {
        struct run_vm *v = r->vm[i];
        if (r->cfg.split > 0 && !v->finished) {
            start_eval(r, v); /* nothing held out */
        }
        if (!v->finished) {
            profile_finish(v->p);
        }
        if (v->ev) {
            for (size_t k = 0; k < r->nkeep; k++) {
                if (v->ev[k]) {
                    evaluator_flush(v->ev[k]);
                }
            }
        }
    }
    free(r->sorted);
    r->sorted = malloc(r->nvm * sizeof *r->sorted);
    if (!r->sorted) {
        return -ENOMEM;
    }
    memcpy(r->sorted, r->vm, r->nvm * sizeof *r->sorted);
    qsort(r->sorted, r->nvm, sizeof *r->sorted, cmp_vm);
    return r->rc;
}

int run_feed_more(struct run *r, int64_t from_ns, int64_t prime_ns, int64_t *last_ns, char *err,
                  size_t errlen) {
    size_t before = r->nvm;
    int rc;
    if (!r->live) {
        /* The counting pass's set-up, with a source that stays open between feeds. */
        r->pass = PASS_COUNT;
        for (size_t i = 0; i < r->nmap; i++) {
            r->map[i] = -1;
        }
        struct source_opts so = r->cfg.src;
        so.begin_ns = from_ns;
        so.prime_until_ns = prime_ns;
        so.progress = false;
        so.last_ns = &r->last_ns;
        r->last_ns = prime_ns;
        r->live_cb = (struct source_cb){.ctx = r, .vm = cb_vm, .row = cb_row, .gap = cb_gap};
        rc = source_live_open(&r->live, &so, r->d, &r->live_cb, err, errlen);
        if (rc < 0) {
            return rc;
        }
    }
    rc = source_live_poll(r->live, err, errlen);
    if (rc == 0 && r->rc < 0) {
        rc = r->rc;
        snprintf(err, errlen, "%s", core_strerror(rc));
    }
    *last_ns = r->last_ns;
    if (r->nvm != before) {
        free(r->sorted);
        r->sorted = malloc(r->nvm * sizeof *r->sorted);
        if (!r->sorted) {
            return -ENOMEM;
        }
        memcpy(r->sorted, r->vm, r->nvm * sizeof *r->sorted);
        qsort(r->sorted, r->nvm, sizeof *r->sorted, cmp_vm);
    }
    return rc;
}

size_t run_count(const struct run *r) {
    return r->sorted ? r->nvm : 0;
}

struct profile *run_profile_at(const struct run *r, size_t i) {
    return r->sorted[i]->p;
}

const struct eval_result *run_eval_at(const struct run *r, size_t i, size_t m) {
    const struct run_vm *v = r->sorted[i];
    return v->ev && m < r->nkeep && v->ev[m] ? evaluator_result(v->ev[m]) : NULL;
}

int64_t run_last_ns(const struct run *r) {
    return r->last_ns;
}
