/* profile.c: the profile model, its JSON writer/reader, merging and the tsprofiler shape.
 * SPDX-License-Identifier: MIT */
#include "profile.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrs.h"
#include "core_error.h"

#define JOINT_MAX_STATES (1u << 20)

struct metric {
    char *name;
    char *unit;
    struct markov_series *series;
    struct periods *periods;
    struct phases *phases;
    struct profile *owner;
    size_t index;
};

struct profile {
    char *name, *uuid, *vm_name, *host;
    int64_t vmid;
    struct profile_settings set;
    struct metric **m; /* each metric is its own allocation: hooks keep pointers to it */
    size_t nm;
    int pushed;
    int64_t t0, t1;
    int have_time;
    struct markov_chain *joint;
    uint32_t *joint_state;
    uint64_t joint_mask, joint_full;
};

void profile_settings_default(struct profile_settings *set) {
    memset(set, 0, sizeof *set);
    set->states = 4;
    set->history = 1;
    set->buffersize = 1;
    set->filter_action = DISC_FILTER_DROP;
    set->binning = PROFILE_BIN_FIXED;
    set->period.kind = PERIOD_NONE;
    phase_config_default(&set->phase);
}

static char *dup_opt(const char *s) {
    return s ? strdup(s) : NULL;
}

int profile_new(struct profile **out, const struct profile_identity *id,
                const struct profile_settings *set) {
    *out = NULL;
    if (set->states < 2 || set->states > DISC_MAX_STATES || set->history < 1 ||
        set->history > MK_MAX_ORDER || set->buffersize == 0 ||
        set->binning > PROFILE_BIN_COMPAT_TSP) {
        return -CORE_ERANGE;
    }
    struct profile *p = calloc(1, sizeof *p);
    if (!p) {
        return -ENOMEM;
    }
    p->set = *set;
    p->vmid = -1;
    if (id) {
        p->name = dup_opt(id->name);
        p->uuid = dup_opt(id->uuid);
        p->vm_name = dup_opt(id->vm_name);
        p->host = dup_opt(id->host);
        p->vmid = id->vmid;
    }
    *out = p;
    return 0;
}

void profile_free(struct profile *p) {
    if (!p) {
        return;
    }
    for (size_t i = 0; i < p->nm; i++) {
        free(p->m[i]->name);
        free(p->m[i]->unit);
        markov_series_free(p->m[i]->series);
        periods_free(p->m[i]->periods);
        phases_free(p->m[i]->phases);
    }
    for (size_t i = 0; i < p->nm; i++) {
        free(p->m[i]);
    }
    free(p->m);
    if (p->joint) {
        markov_chain_fini(p->joint);
        free(p->joint);
    }
    free(p->joint_state);
    free(p->name);
    free(p->uuid);
    free(p->vm_name);
    free(p->host);
    free(p);
}

static void joint_hook(void *ctx, const struct mk_step_event *ev) {
    struct metric *m = ctx;
    struct profile *p = m->owner;
    if (!p->joint) {
        return;
    }
    p->joint_state[m->index] = ev->state;
    p->joint_mask |= 1ull << m->index;
    if (p->joint_mask != p->joint_full) {
        return;
    }
    uint32_t s = 0;
    for (size_t i = 0; i < p->nm; i++) {
        s = s * p->set.states + p->joint_state[i];
    }
    markov_chain_push(p->joint, s);
    p->joint_mask = 0;
}

int profile_find_metric(const struct profile *p, const char *name) {
    for (size_t i = 0; i < p->nm; i++) {
        if (strcmp(p->m[i]->name, name) == 0) {
            return (int)i;
        }
    }
    return -CORE_ENOENTITY;
}

static int make_joint(struct profile *p) {
    uint64_t n = 1;
    for (size_t i = 0; i < p->nm; i++) {
        n *= p->set.states;
        if (n > JOINT_MAX_STATES) {
            return -CORE_ERANGE;
        }
    }
    if (p->nm > 63) {
        return -CORE_ERANGE;
    }
    if (p->joint) {
        markov_chain_fini(p->joint);
        free(p->joint);
        p->joint = NULL;
    }
    p->joint = calloc(1, sizeof *p->joint);
    uint32_t *js = realloc(p->joint_state, p->nm * sizeof *js);
    if (!p->joint || !js) {
        free(p->joint);
        p->joint = NULL;
        if (js) {
            p->joint_state = js;
        }
        return -ENOMEM;
    }
    p->joint_state = js;
    int rc = markov_chain_init(p->joint, (uint32_t)n, p->set.history);
    if (rc < 0) {
        free(p->joint);
        p->joint = NULL;
        return rc;
    }
    p->joint_full = p->nm == 64 ? ~0ull : (1ull << p->nm) - 1;
    p->joint_mask = 0;
    return 0;
}

int profile_add_metric(struct profile *p, const struct profile_metric_spec *spec, size_t *index) {
    if (p->pushed || !spec->name || profile_find_metric(p, spec->name) >= 0) {
        return -CORE_ERANGE;
    }
    struct markov_config cfg = {
        .nstates = p->set.states,
        .order = p->set.history,
        .buffersize = p->set.buffersize,
        .filterk = p->set.filterk,
        .filter_action = p->set.filter_action,
        .min = spec->min,
        .max = spec->max,
        .edges = spec->edges,
    };
    switch (p->set.binning) {
    case PROFILE_BIN_QUANTILE:
        cfg.mode = DISC_EDGES;
        break;
    case PROFILE_BIN_COMPAT_TSP:
        cfg.mode = DISC_COMPAT_TSP;
        cfg.fixed = p->set.compat_fixed;
        break;
    default:
        cfg.mode = DISC_LINEAR;
    }
    struct metric **g = realloc(p->m, (p->nm + 1) * sizeof *g);
    if (!g) {
        return -ENOMEM;
    }
    p->m = g;
    struct metric *m = calloc(1, sizeof *m);
    if (!m) {
        return -ENOMEM;
    }
    int rc = markov_series_new(&m->series, &cfg);
    if (rc < 0) {
        free(m);
        return rc;
    }
    p->m[p->nm] = m;
    m->owner = p;
    m->index = p->nm;
    m->name = strdup(spec->name);
    m->unit = dup_opt(spec->unit);
    if (!m->name) {
        rc = -ENOMEM;
        goto fail;
    }
    if (p->set.period.kind != PERIOD_NONE) {
        rc = periods_new(&m->periods, &p->set.period, p->set.states, p->set.history);
        if (rc < 0) {
            goto fail;
        }
        markov_series_add_hook(m->series, periods_hook, m->periods);
    }
    if (p->set.phases) {
        rc = phases_new(&m->phases, &p->set.phase, p->set.states, p->set.history);
        if (rc < 0) {
            goto fail;
        }
        markov_series_add_hook(m->series, phases_hook, m->phases);
    }
    p->nm++;
    if (p->set.joint) {
        rc = make_joint(p);
        if (rc < 0) {
            p->nm--;
            goto fail;
        }
        markov_series_add_hook(m->series, joint_hook, m);
    }
    if (index) {
        *index = p->nm - 1;
    }
    return 0;
fail:
    free(m->name);
    free(m->unit);
    markov_series_free(m->series);
    periods_free(m->periods);
    phases_free(m->phases);
    free(m);
    return rc;
}

void profile_push(struct profile *p, size_t index, int64_t t, double v) {
    p->pushed = 1;
    if (index < p->nm) {
        markov_series_push(p->m[index]->series, t, v);
    }
}

void profile_push_row(struct profile *p, int64_t t, const double *values) {
    p->pushed = 1;
    if (!p->have_time) {
        p->t0 = p->t1 = t;
        p->have_time = 1;
    }
    p->t0 = t < p->t0 ? t : p->t0;
    p->t1 = t > p->t1 ? t : p->t1;
    for (size_t i = 0; i < p->nm; i++) {
        markov_series_push(p->m[i]->series, t, values[i]);
    }
}

void profile_break(struct profile *p) {
    for (size_t i = 0; i < p->nm; i++) {
        markov_series_break(p->m[i]->series);
    }
    if (p->joint) {
        mk_hist_init(&p->joint->hist, p->joint->counts.nstates, p->joint->counts.order);
        p->joint_mask = 0;
    }
}

void profile_finish(struct profile *p) {
    for (size_t i = 0; i < p->nm; i++) {
        markov_series_flush(p->m[i]->series);
        if (p->m[i]->phases) {
            phases_flush(p->m[i]->phases);
        }
    }
}

size_t profile_nmetrics(const struct profile *p) {
    return p->nm;
}
const char *profile_metric_name(const struct profile *p, size_t i) {
    return i < p->nm ? p->m[i]->name : NULL;
}
const struct markov_series *profile_metric(const struct profile *p, size_t i) {
    return i < p->nm ? p->m[i]->series : NULL;
}
const struct periods *profile_metric_periods(const struct profile *p, size_t i) {
    return i < p->nm ? p->m[i]->periods : NULL;
}
const struct phases *profile_metric_phases(const struct profile *p, size_t i) {
    return i < p->nm ? p->m[i]->phases : NULL;
}
const struct markov_chain *profile_joint(const struct profile *p) {
    return p->joint;
}
const struct profile_settings *profile_get_settings(const struct profile *p) {
    return &p->set;
}

/* ==================================== JSON writer ==================================== */

static const char *const binning_names[] = {"fixed", "minmax", "quantile", "compat-tsprofiler"};
static const char *const period_names[] = {"none", "day", "week", "steps"};

static json_t *jreal(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jstr_opt(const char *s) {
    return s ? json_string(s) : json_null();
}

static json_t *ju64(uint64_t v) {
    return json_integer((json_int_t)v);
}

static void key_string(uint64_t key, uint32_t n, int h, char *buf, size_t len) {
    uint32_t st[MK_MAX_ORDER];
    mk_key_decode(key, n, h, st);
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < h && off < len; i++) {
        off += (size_t)snprintf(buf + off, len - off, i ? "-%" PRIu32 : "%" PRIu32, st[i]);
    }
}

/* [{"order":h,"total":T,"rows":{"a-b":{"counts":[..],"probs":[..]}}}, ...] */
static json_t *orders_json(const struct mk_counts *c) {
    json_t *arr = json_array();
    uint64_t *cnt = malloc(c->nstates * sizeof *cnt);
    double *pr = malloc(c->nstates * sizeof *pr);
    if (!arr || !cnt || !pr) {
        goto fail;
    }
    for (int h = 1; h <= c->order; h++) {
        uint64_t *rows = NULL;
        size_t nr = 0;
        if (mk_counts_seen_rows(c, h, &rows, &nr) < 0) {
            goto fail;
        }
        json_t *o = json_object(), *jr = json_object();
        json_object_set_new(o, "order", json_integer(h));
        json_object_set_new(o, "total", ju64(c->ord[h].total));
        for (size_t r = 0; r < nr; r++) {
            char key[MK_MAX_ORDER * 12];
            key_string(rows[r], c->nstates, h, key, sizeof key);
            mk_counts_row(c, h, rows[r], cnt);
            mk_counts_row_probs(c, h, rows[r], pr);
            json_t *row = json_object(), *jc = json_array(), *jp = json_array();
            for (uint32_t j = 0; j < c->nstates; j++) {
                json_array_append_new(jc, ju64(cnt[j]));
                json_array_append_new(jp, json_real(pr[j]));
            }
            json_object_set_new(row, "counts", jc);
            json_object_set_new(row, "probs", jp);
            json_object_set_new(jr, key, row);
        }
        free(rows);
        json_object_set_new(o, "rows", jr);
        json_array_append_new(arr, o);
    }
    free(cnt);
    free(pr);
    return arr;
fail:
    free(cnt);
    free(pr);
    json_decref(arr);
    return NULL;
}

static json_t *u64_array(const uint64_t *v, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, ju64(v[i]));
    }
    return a;
}

static json_t *chain_json(const struct markov_chain *ch) {
    json_t *o = json_object();
    uint32_t n = ch->counts.nstates;
    json_object_set_new(o, "steps", ju64(ch->steps));
    json_object_set_new(o, "occupancy", u64_array(ch->occ, n));
    json_t *first = json_array();
    for (uint64_t i = 0; i < ch->steps && i < (uint64_t)ch->counts.order; i++) {
        json_array_append_new(first, json_integer(ch->first[i]));
    }
    json_object_set_new(o, "first", first);
    double *v = malloc(n * sizeof *v);
    if (v && n <= 4096 && mk_stationary(&ch->counts, ch->occ, v, NULL) == 0) {
        json_t *a = json_array();
        for (uint32_t i = 0; i < n; i++) {
            json_array_append_new(a, json_real(v[i]));
        }
        json_object_set_new(o, "stationary", a);
    } else {
        json_object_set_new(o, "stationary", json_null());
    }
    if (v) {
        mk_dwell(&ch->counts, v);
        json_t *a = json_array();
        for (uint32_t i = 0; i < n; i++) {
            json_array_append_new(a, jreal(v[i]));
        }
        json_object_set_new(o, "dwell", a);
    }
    free(v);
    json_object_set_new(o, "orders", orders_json(&ch->counts));
    return o;
}

static json_t *stats_json(const struct mk_stats *st) {
    static const double qs[] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};
    static const char *const qn[] = {"p01", "p05", "p25", "p50", "p75", "p95", "p99"};
    json_t *o = json_object(), *q = json_object(), *h = json_object(), *bins = json_array();
    json_object_set_new(o, "n", ju64(st->n));
    json_object_set_new(o, "mean", jreal(mk_stats_mean(st)));
    json_object_set_new(o, "sd", jreal(sqrt(mk_stats_var(st))));
    json_object_set_new(o, "m2", json_real(mk_stats_var(st) * (double)st->n));
    json_object_set_new(o, "min", jreal(st->n ? st->min : NAN));
    json_object_set_new(o, "max", jreal(st->n ? st->max : NAN));
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        json_object_set_new(q, qn[i], jreal(mk_stats_quantile(st, qs[i])));
    }
    json_object_set_new(o, "quantiles", q);
    json_object_set_new(h, "lo", json_real(st->lo));
    json_object_set_new(h, "hi", json_real(st->hi));
    json_object_set_new(h, "under", ju64(st->under));
    json_object_set_new(h, "over", ju64(st->over));
    for (size_t i = 0; i < MK_QBINS; i++) {
        if (st->q[i]) {
            json_t *pair = json_array();
            json_array_append_new(pair, json_integer((json_int_t)i));
            json_array_append_new(pair, ju64(st->q[i]));
            json_array_append_new(bins, pair);
        }
    }
    json_object_set_new(h, "bins", bins);
    json_object_set_new(o, "hist", h);
    return o;
}

static json_t *settings_json(const struct profile_settings *s) {
    json_t *o = json_object();
    json_object_set_new(o, "states", json_integer(s->states));
    json_object_set_new(o, "history", json_integer(s->history));
    json_object_set_new(o, "buffersize", json_integer(s->buffersize));
    json_object_set_new(o, "filterstddevs", json_real(s->filterk));
    json_object_set_new(o, "filter_action",
                        json_string(s->filter_action == DISC_FILTER_CLAMP ? "clamp" : "drop"));
    json_object_set_new(o, "binning", json_string(binning_names[s->binning]));
    json_object_set_new(o, "compat_fixed", json_boolean(s->compat_fixed));
    json_object_set_new(o, "joint", json_boolean(s->joint));
    json_t *per = json_object(), *sizes = json_array();
    json_object_set_new(per, "kind", json_string(period_names[s->period.kind]));
    json_object_set_new(per, "slots", json_integer(s->period.slots));
    json_object_set_new(per, "utc_offset", json_integer(s->period.utc_offset));
    for (int i = 0; i < s->period.nsizes; i++) {
        json_array_append_new(sizes, json_integer(s->period.sizes[i]));
    }
    json_object_set_new(per, "sizes", sizes);
    json_object_set_new(o, "period", per);
    if (s->phases) {
        json_t *ph = json_object();
        json_object_set_new(ph, "min_len", json_integer(s->phase.min_len));
        json_object_set_new(ph, "threshold", json_real(s->phase.threshold));
        json_object_set_new(ph, "drift", json_real(s->phase.drift));
        json_object_set_new(ph, "alpha", json_real(s->phase.alpha));
        json_object_set_new(ph, "reuse_margin", json_real(s->phase.reuse_margin));
        json_object_set_new(ph, "max_pending", json_integer(s->phase.max_pending));
        json_object_set_new(o, "phases", ph);
    } else {
        json_object_set_new(o, "phases", json_null());
    }
    return o;
}

static json_t *metric_json(const struct metric *m) {
    const struct markov_series *s = m->series;
    const struct disc *d = markov_series_disc(s);
    const struct mk_tsp_stats *tsp = markov_series_tsp_stats(s);
    json_t *o = json_object(), *edges = json_array(), *t = json_object();
    json_object_set_new(o, "unit", jstr_opt(m->unit));
    json_object_set_new(o, "min", json_real(d->min));
    json_object_set_new(o, "max", json_real(d->max));
    for (int i = 0; i <= d->nstates; i++) {
        json_array_append_new(edges, json_real(d->edges[i]));
    }
    json_object_set_new(o, "edges", edges);
    json_object_set_new(o, "samples", ju64(markov_series_samples(s)));
    json_object_set_new(o, "nan_skipped", ju64(markov_series_nan_skipped(s)));
    json_object_set_new(o, "outliers", ju64(markov_series_outliers(s)));
    json_object_set_new(o, "stats", stats_json(markov_series_stats(s)));
    json_object_set_new(t, "min", json_real(tsp->min));
    json_object_set_new(t, "max", json_real(tsp->max));
    json_object_set_new(t, "avg", json_real(tsp->avg));
    json_object_set_new(t, "count", ju64(tsp->count));
    json_object_set_new(t, "stddevsum", json_real(tsp->stddevsum));
    json_object_set_new(o, "tsp_stats", t);
    json_object_set_new(o, "chain", chain_json(markov_series_chain(s)));
    if (m->periods) {
        json_t *slots = json_array();
        for (size_t i = 0; i < periods_nslots(m->periods); i++) {
            char label[64];
            json_t *so = json_object();
            periods_slot_label(m->periods, i, label, sizeof label);
            json_object_set_new(so, "label", json_string(label));
            json_object_set_new(so, "steps", ju64(periods_slot_steps(m->periods, i)));
            json_object_set_new(so, "orders", orders_json(periods_slot(m->periods, i)));
            json_array_append_new(slots, so);
        }
        json_object_set_new(o, "periods", slots);
    }
    if (m->phases) {
        json_t *ph = json_object(), *list = json_array(), *tx = json_array(), *segs = json_array();
        uint32_t np = phases_count(m->phases);
        for (uint32_t i = 0; i < np; i++) {
            json_array_append_new(list, orders_json(phases_counts(m->phases, i)));
            json_t *row = json_array();
            for (uint32_t j = 0; j < np; j++) {
                json_array_append_new(row, ju64(phases_tx(m->phases, i, j)));
            }
            json_array_append_new(tx, row);
        }
        size_t ns;
        const struct phase_segment *sg = phases_segments(m->phases, &ns);
        for (size_t i = 0; i < ns; i++) {
            json_t *e = json_array();
            json_array_append_new(e, json_integer(sg[i].phase));
            json_array_append_new(e, ju64(sg[i].start));
            json_array_append_new(e, json_integer(sg[i].t));
            json_array_append_new(e, ju64(sg[i].len));
            json_array_append_new(segs, e);
        }
        json_object_set_new(ph, "current", json_integer(phases_current(m->phases)));
        json_object_set_new(ph, "phases", list);
        json_object_set_new(ph, "tx", tx);
        json_object_set_new(ph, "segments", segs);
        json_object_set_new(o, "phases", ph);
    }
    return o;
}

int profile_to_json(const struct profile *p, json_t **out) {
    json_t *root = json_object(), *id = json_object(), *tm = json_object(), *ms = json_object();
    json_object_set_new(root, "format", json_string(PROFILE_FORMAT));
    json_object_set_new(root, "version", json_integer(PROFILE_VERSION));
    json_object_set_new(id, "name", jstr_opt(p->name));
    json_object_set_new(id, "uuid", jstr_opt(p->uuid));
    json_object_set_new(id, "vm_name", jstr_opt(p->vm_name));
    json_object_set_new(id, "host", jstr_opt(p->host));
    json_object_set_new(id, "vmid", p->vmid >= 0 ? json_integer(p->vmid) : json_null());
    json_object_set_new(root, "identity", id);
    json_object_set_new(tm, "first", p->have_time ? json_integer(p->t0) : json_null());
    json_object_set_new(tm, "last", p->have_time ? json_integer(p->t1) : json_null());
    json_object_set_new(root, "time", tm);
    json_object_set_new(root, "settings", settings_json(&p->set));
    for (size_t i = 0; i < p->nm; i++) {
        json_object_set_new(ms, p->m[i]->name, metric_json(p->m[i]));
    }
    json_object_set_new(root, "metrics", ms);
    if (p->joint) {
        json_t *j = chain_json(p->joint), *names = json_array();
        for (size_t i = 0; i < p->nm; i++) {
            json_array_append_new(names, json_string(p->m[i]->name));
        }
        json_object_set_new(j, "metrics", names);
        json_object_set_new(j, "states", json_integer(p->joint->counts.nstates));
        json_object_set_new(root, "joint", j);
    } else {
        json_object_set_new(root, "joint", json_null());
    }
    *out = root;
    return 0;
}

int profile_dump(const struct profile *p, char **out) {
    json_t *root;
    *out = NULL;
    int rc = profile_to_json(p, &root);
    if (rc < 0) {
        return rc;
    }
    char *text = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text) {
        return -ENOMEM;
    }
    size_t n = strlen(text);
    char *t2 = realloc(text, n + 2);
    if (!t2) {
        free(text);
        return -ENOMEM;
    }
    t2[n] = '\n';
    t2[n + 1] = '\0';
    *out = t2;
    return 0;
}

/* ==================================== JSON reader ==================================== */

struct rd {
    char *err;
    size_t errlen;
    int failed;
};

static int rd_fail(struct rd *r, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
static int rd_fail(struct rd *r, const char *fmt, ...) {
    if (!r->failed && r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    r->failed = 1;
    return -CORE_EFORMAT;
}

static json_t *rd_get(struct rd *r, json_t *o, const char *path, const char *key, int type) {
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (!v) {
        rd_fail(r, "profile: %s.%s is missing", path, key);
        return NULL;
    }
    int ok = type == JSON_REAL ? json_is_number(v) : (int)json_typeof(v) == type;
    if (type == JSON_TRUE) {
        ok = json_is_boolean(v);
    }
    if (!ok) {
        rd_fail(r, "profile: %s.%s has the wrong type", path, key);
        return NULL;
    }
    return v;
}

static int rd_u64(struct rd *r, json_t *o, const char *path, const char *key, uint64_t *out) {
    json_t *v = rd_get(r, o, path, key, JSON_INTEGER);
    if (!v) {
        return -CORE_EFORMAT;
    }
    if (json_integer_value(v) < 0) {
        return rd_fail(r, "profile: %s.%s is negative", path, key);
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int rd_num(struct rd *r, json_t *o, const char *path, const char *key, double *out) {
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (v && json_is_null(v)) {
        *out = NAN;
        return 0;
    }
    v = rd_get(r, o, path, key, JSON_REAL);
    if (!v) {
        return -CORE_EFORMAT;
    }
    *out = json_number_value(v);
    return 0;
}

static int rd_str_opt(struct rd *r, json_t *o, const char *path, const char *key, char **out) {
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return rd_fail(r, "profile: %s.%s must be a string or null", path, key);
    }
    *out = strdup(json_string_value(v));
    return *out ? 0 : -ENOMEM;
}

static int rd_enum(struct rd *r, json_t *o, const char *path, const char *key,
                   const char *const *names, int n, int *out) {
    json_t *v = rd_get(r, o, path, key, JSON_STRING);
    if (!v) {
        return -CORE_EFORMAT;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(json_string_value(v), names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return rd_fail(r, "profile: %s.%s has an unknown value \"%s\"", path, key,
                   json_string_value(v));
}

static int parse_key(const char *s, uint32_t n, int h, uint64_t *key) {
    uint64_t k = 0;
    for (int i = 0; i < h; i++) {
        char *end;
        if (*s < '0' || *s > '9') {
            return -1;
        }
        unsigned long v = strtoul(s, &end, 10);
        if (v >= n || (i + 1 < h ? *end != '-' : *end != '\0')) {
            return -1;
        }
        k = k * n + v;
        s = end + (i + 1 < h);
    }
    *key = k;
    return 0;
}

static int rd_orders(struct rd *r, json_t *arr, const char *path, struct mk_counts *c) {
    if (!json_is_array(arr) || json_array_size(arr) != (size_t)c->order) {
        return rd_fail(r, "profile: %s.orders must be an array of %d orders", path, c->order);
    }
    for (int h = 1; h <= c->order; h++) {
        json_t *o = json_array_get(arr, (size_t)h - 1);
        uint64_t ord, total, sum = 0;
        if (rd_u64(r, o, path, "order", &ord) < 0 || rd_u64(r, o, path, "total", &total) < 0) {
            return -CORE_EFORMAT;
        }
        if (ord != (uint64_t)h) {
            return rd_fail(r, "profile: %s.orders[%d].order is %" PRIu64, path, h - 1, ord);
        }
        json_t *rows = rd_get(r, o, path, "rows", JSON_OBJECT);
        if (!rows) {
            return -CORE_EFORMAT;
        }
        const char *k;
        json_t *row;
        json_object_foreach(rows, k, row) {
            uint64_t key;
            if (parse_key(k, c->nstates, h, &key) < 0) {
                return rd_fail(r, "profile: %s order %d has an invalid row key \"%s\"", path, h, k);
            }
            json_t *cnt = json_is_object(row) ? json_object_get(row, "counts") : NULL;
            if (!json_is_array(cnt) || json_array_size(cnt) != c->nstates) {
                return rd_fail(r, "profile: %s order %d row \"%s\" needs %u counts", path, h, k,
                               c->nstates);
            }
            for (uint32_t j = 0; j < c->nstates; j++) {
                json_t *v = json_array_get(cnt, j);
                if (!json_is_integer(v) || json_integer_value(v) < 0) {
                    return rd_fail(r, "profile: %s order %d row \"%s\" has a bad count", path, h,
                                   k);
                }
                mk_counts_add_n(c, h, key, j, (uint64_t)json_integer_value(v));
                sum += (uint64_t)json_integer_value(v);
            }
        }
        if (sum != total) {
            return rd_fail(r,
                           "profile: %s order %d: counts sum to %" PRIu64 ", total says %" PRIu64,
                           path, h, sum, total);
        }
    }
    return 0;
}

static int rd_chain(struct rd *r, json_t *o, const char *path, struct markov_chain *ch) {
    uint64_t steps, occsum = 0;
    if (!json_is_object(o)) {
        return rd_fail(r, "profile: %s must be an object", path);
    }
    if (rd_u64(r, o, path, "steps", &steps) < 0) {
        return -CORE_EFORMAT;
    }
    json_t *occ = rd_get(r, o, path, "occupancy", JSON_ARRAY);
    json_t *first = rd_get(r, o, path, "first", JSON_ARRAY);
    if (!occ || !first) {
        return -CORE_EFORMAT;
    }
    if (json_array_size(occ) != ch->counts.nstates) {
        return rd_fail(r, "profile: %s.occupancy needs %u values", path, ch->counts.nstates);
    }
    for (uint32_t i = 0; i < ch->counts.nstates; i++) {
        json_t *v = json_array_get(occ, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            return rd_fail(r, "profile: %s.occupancy[%u] is not a count", path, i);
        }
        ch->occ[i] = (uint64_t)json_integer_value(v);
        occsum += ch->occ[i];
    }
    if (occsum != steps) {
        return rd_fail(r, "profile: %s.occupancy sums to %" PRIu64 ", steps is %" PRIu64, path,
                       occsum, steps);
    }
    ch->steps = steps;
    for (size_t i = 0; i < json_array_size(first) && i < MK_MAX_ORDER; i++) {
        json_t *v = json_array_get(first, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= ch->counts.nstates) {
            return rd_fail(r, "profile: %s.first[%zu] is not a state", path, i);
        }
        ch->first[i] = (uint32_t)json_integer_value(v);
    }
    return rd_orders(r, json_object_get(o, "orders"), path, &ch->counts);
}

static int rd_stats(struct rd *r, json_t *o, const char *path, struct mk_stats *st) {
    uint64_t n, under, over;
    double mean, m2, min, max, lo, hi;
    json_t *h = rd_get(r, o, path, "hist", JSON_OBJECT);
    if (!h || rd_u64(r, o, path, "n", &n) < 0 || rd_num(r, o, path, "mean", &mean) < 0 ||
        rd_num(r, o, path, "m2", &m2) < 0 || rd_num(r, o, path, "min", &min) < 0 ||
        rd_num(r, o, path, "max", &max) < 0 || rd_num(r, h, path, "lo", &lo) < 0 ||
        rd_num(r, h, path, "hi", &hi) < 0 || rd_u64(r, h, path, "under", &under) < 0 ||
        rd_u64(r, h, path, "over", &over) < 0) {
        return -CORE_EFORMAT;
    }
    if (lo != st->lo || hi != st->hi) {
        return rd_fail(r, "profile: %s.hist range does not match the metric bounds", path);
    }
    json_t *bins = rd_get(r, h, path, "bins", JSON_ARRAY);
    if (!bins) {
        return -CORE_EFORMAT;
    }
    mk_stats_set(st, n, mean, m2, min, max, under, over, NULL);
    memset(st->q, 0, MK_QBINS * sizeof *st->q);
    for (size_t i = 0; i < json_array_size(bins); i++) {
        json_t *pr = json_array_get(bins, i);
        json_t *a = json_array_get(pr, 0), *b = json_array_get(pr, 1);
        if (!json_is_integer(a) || !json_is_integer(b) || json_integer_value(a) < 0 ||
            json_integer_value(a) >= MK_QBINS || json_integer_value(b) < 0) {
            return rd_fail(r, "profile: %s.hist.bins[%zu] is not [bin, count]", path, i);
        }
        st->q[json_integer_value(a)] = (uint64_t)json_integer_value(b);
    }
    return 0;
}

static int rd_settings(struct rd *r, json_t *o, struct profile_settings *s) {
    uint64_t states, history, bsize;
    int fa = 0, bin = 0, pk = 0;
    json_t *per, *fixed, *joint, *ph;
    profile_settings_default(s);
    if (!json_is_object(o)) {
        return rd_fail(r, "profile: settings must be an object");
    }
    if (rd_u64(r, o, "settings", "states", &states) < 0 ||
        rd_u64(r, o, "settings", "history", &history) < 0 ||
        rd_u64(r, o, "settings", "buffersize", &bsize) < 0 ||
        rd_num(r, o, "settings", "filterstddevs", &s->filterk) < 0 ||
        rd_enum(r, o, "settings", "filter_action", (const char *const[]){"drop", "clamp"}, 2, &fa) <
            0 ||
        rd_enum(r, o, "settings", "binning", binning_names, 4, &bin) < 0 ||
        !(fixed = rd_get(r, o, "settings", "compat_fixed", JSON_TRUE)) ||
        !(joint = rd_get(r, o, "settings", "joint", JSON_TRUE)) ||
        !(per = rd_get(r, o, "settings", "period", JSON_OBJECT))) {
        return -CORE_EFORMAT;
    }
    if (states < 2 || states > DISC_MAX_STATES || history < 1 || history > MK_MAX_ORDER ||
        bsize < 1 || bsize > UINT32_MAX) {
        return rd_fail(r, "profile: settings.states/history/buffersize out of range");
    }
    s->states = (uint32_t)states;
    s->history = (int)history;
    s->buffersize = (uint32_t)bsize;
    s->filter_action = fa ? DISC_FILTER_CLAMP : DISC_FILTER_DROP;
    s->binning = (enum profile_binning)bin;
    s->compat_fixed = json_is_true(fixed);
    s->joint = json_is_true(joint);
    uint64_t slots;
    json_t *off = rd_get(r, per, "settings.period", "utc_offset", JSON_INTEGER);
    json_t *sizes = rd_get(r, per, "settings.period", "sizes", JSON_ARRAY);
    if (rd_enum(r, per, "settings.period", "kind", period_names, 4, &pk) < 0 ||
        rd_u64(r, per, "settings.period", "slots", &slots) < 0 || !off || !sizes) {
        return -CORE_EFORMAT;
    }
    s->period.kind = (enum period_kind)pk;
    s->period.slots = (uint32_t)slots;
    s->period.utc_offset = json_integer_value(off);
    if (json_array_size(sizes) > PERIOD_MAX_LEVELS) {
        return rd_fail(r, "profile: settings.period.sizes has too many entries");
    }
    for (size_t i = 0; i < json_array_size(sizes); i++) {
        json_t *v = json_array_get(sizes, i);
        if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
            json_integer_value(v) > UINT32_MAX) {
            return rd_fail(r, "profile: settings.period.sizes[%zu] is not a positive size", i);
        }
        s->period.sizes[s->period.nsizes++] = (uint32_t)json_integer_value(v);
    }
    ph = json_object_get(o, "phases");
    if (ph && !json_is_null(ph)) {
        uint64_t ml, mp;
        s->phases = 1;
        if (rd_u64(r, ph, "settings.phases", "min_len", &ml) < 0 ||
            rd_u64(r, ph, "settings.phases", "max_pending", &mp) < 0 ||
            rd_num(r, ph, "settings.phases", "threshold", &s->phase.threshold) < 0 ||
            rd_num(r, ph, "settings.phases", "drift", &s->phase.drift) < 0 ||
            rd_num(r, ph, "settings.phases", "alpha", &s->phase.alpha) < 0 ||
            rd_num(r, ph, "settings.phases", "reuse_margin", &s->phase.reuse_margin) < 0) {
            return -CORE_EFORMAT;
        }
        s->phase.min_len = (uint32_t)ml;
        s->phase.max_pending = (uint32_t)mp;
    }
    return 0;
}

static int rd_metric(struct rd *r, struct profile *p, const char *name, json_t *o) {
    char path[300];
    snprintf(path, sizeof path, "metrics.%s", name);
    if (!json_is_object(o)) {
        return rd_fail(r, "profile: %s must be an object", path);
    }
    struct profile_metric_spec spec = {.name = name};
    char *unit = NULL;
    json_t *edges = rd_get(r, o, path, "edges", JSON_ARRAY);
    if (!edges || rd_num(r, o, path, "min", &spec.min) < 0 ||
        rd_num(r, o, path, "max", &spec.max) < 0 || rd_str_opt(r, o, path, "unit", &unit) < 0) {
        return -CORE_EFORMAT;
    }
    double *ev = NULL;
    int rc;
    spec.unit = unit;
    if (json_array_size(edges) != (size_t)p->set.states + 1) {
        rc = rd_fail(r, "profile: %s.edges needs %u values", path, p->set.states + 1);
        goto out;
    }
    ev = malloc(((size_t)p->set.states + 1) * sizeof *ev);
    if (!ev) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i <= p->set.states; i++) {
        json_t *v = json_array_get(edges, i);
        if (!json_is_number(v)) {
            rc = rd_fail(r, "profile: %s.edges[%u] is not a number", path, i);
            goto out;
        }
        ev[i] = json_number_value(v);
    }
    spec.edges = ev;
    size_t idx;
    rc = profile_add_metric(p, &spec, &idx);
    if (rc < 0) {
        rc = rd_fail(r, "profile: %s has invalid bounds or edges", path);
        goto out;
    }
    struct markov_series *s = p->m[idx]->series;
    uint64_t nan_sk, outl;
    json_t *tsp = rd_get(r, o, path, "tsp_stats", JSON_OBJECT);
    if (!tsp || rd_u64(r, o, path, "nan_skipped", &nan_sk) < 0 ||
        rd_u64(r, o, path, "outliers", &outl) < 0) {
        rc = -CORE_EFORMAT;
        goto out;
    }
    markov_series_set_counters(s, nan_sk, outl);
    struct mk_tsp_stats *t = markov_series_tsp_stats_mut(s);
    if (rd_num(r, tsp, path, "min", &t->min) < 0 || rd_num(r, tsp, path, "max", &t->max) < 0 ||
        rd_num(r, tsp, path, "avg", &t->avg) < 0 || rd_u64(r, tsp, path, "count", &t->count) < 0 ||
        rd_num(r, tsp, path, "stddevsum", &t->stddevsum) < 0) {
        rc = -CORE_EFORMAT;
        goto out;
    }
    t->started = t->count > 0;
    t->sum = t->avg * (double)t->count;
    char sub[340];
    snprintf(sub, sizeof sub, "%s.stats", path);
    rc = rd_stats(r, json_object_get(o, "stats"), sub, markov_series_stats_mut(s));
    if (rc < 0) {
        goto out;
    }
    snprintf(sub, sizeof sub, "%s.chain", path);
    rc = rd_chain(r, json_object_get(o, "chain"), sub, markov_series_chain_mut(s));
    if (rc < 0) {
        goto out;
    }
    if (p->m[idx]->periods) {
        struct periods *pe = p->m[idx]->periods;
        json_t *slots = json_object_get(o, "periods");
        if (!json_is_array(slots) || json_array_size(slots) != periods_nslots(pe)) {
            rc = rd_fail(r, "profile: %s.periods needs %zu slots", path, periods_nslots(pe));
            goto out;
        }
        for (size_t i = 0; i < periods_nslots(pe); i++) {
            json_t *so = json_array_get(slots, i);
            uint64_t steps;
            snprintf(sub, sizeof sub, "%s.periods[%zu]", path, i);
            if (rd_u64(r, so, sub, "steps", &steps) < 0) {
                rc = -CORE_EFORMAT;
                goto out;
            }
            periods_set_slot_steps(pe, i, steps);
            rc = rd_orders(r, json_object_get(so, "orders"), sub, periods_slot_mut(pe, i));
            if (rc < 0) {
                goto out;
            }
        }
    }
    if (p->m[idx]->phases) {
        struct phases *ph = p->m[idx]->phases;
        json_t *po = json_object_get(o, "phases");
        json_t *list = json_object_get(po, "phases"), *tx = json_object_get(po, "tx");
        json_t *segs = json_object_get(po, "segments");
        if (!json_is_array(list) || json_array_size(list) < 1 ||
            json_array_size(list) > PH_MAX_PHASES || !json_is_array(tx) ||
            json_array_size(tx) != json_array_size(list) || !json_is_array(segs)) {
            rc = rd_fail(r, "profile: %s.phases is malformed", path);
            goto out;
        }
        uint32_t np = (uint32_t)json_array_size(list);
        for (uint32_t i = 1; i < np; i++) {
            uint32_t id;
            phases_add_phase(ph, &id);
        }
        for (uint32_t i = 0; i < np; i++) {
            snprintf(sub, sizeof sub, "%s.phases[%u]", path, i);
            rc = rd_orders(r, json_array_get(list, i), sub, phases_counts_mut(ph, i));
            if (rc < 0) {
                goto out;
            }
            json_t *row = json_array_get(tx, i);
            for (uint32_t j = 0; j < np; j++) {
                json_t *v = json_array_get(row, j);
                if (!json_is_integer(v) || json_integer_value(v) < 0) {
                    rc = rd_fail(r, "profile: %s.phases.tx[%u][%u] is not a count", path, i, j);
                    goto out;
                }
                phases_set_tx(ph, i, j, (uint64_t)json_integer_value(v));
            }
        }
        for (size_t i = 0; i < json_array_size(segs); i++) {
            json_t *e = json_array_get(segs, i);
            struct phase_segment sg;
            if (json_array_size(e) != 4 || !json_is_integer(json_array_get(e, 0)) ||
                json_integer_value(json_array_get(e, 0)) >= np) {
                rc = rd_fail(r, "profile: %s.phases.segments[%zu] is malformed", path, i);
                goto out;
            }
            sg.phase = (uint32_t)json_integer_value(json_array_get(e, 0));
            sg.start = (uint64_t)json_integer_value(json_array_get(e, 1));
            sg.t = json_integer_value(json_array_get(e, 2));
            sg.len = (uint64_t)json_integer_value(json_array_get(e, 3));
            phases_add_segment(ph, &sg);
        }
        json_t *cur = json_object_get(po, "current");
        if (!json_is_integer(cur) || json_integer_value(cur) < 0 ||
            phases_set_current(ph, (uint32_t)json_integer_value(cur)) < 0) {
            rc = rd_fail(r, "profile: %s.phases.current is not a phase", path);
            goto out;
        }
    }
    rc = 0;
out:
    free(unit);
    free(ev);
    return rc;
}

int profile_load(const char *text, struct profile **out, char *err, size_t errlen) {
    struct rd r = {.err = err, .errlen = errlen};
    json_error_t je;
    struct profile *p = NULL;
    struct profile_settings set;
    struct profile_identity id = {.vmid = -1};
    char *name = NULL, *uuid = NULL, *vm_name = NULL, *host = NULL;
    int rc;
    *out = NULL;
    if (errlen) {
        err[0] = '\0';
    }
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (errlen) {
            snprintf(err, errlen, "profile: not JSON: %s at line %d column %d", je.text, je.line,
                     je.column);
        }
        return -CORE_EPARSE;
    }
    json_t *fmt = rd_get(&r, root, "", "format", JSON_STRING);
    if (!fmt) {
        rc = -CORE_EFORMAT;
        goto out;
    }
    if (strcmp(json_string_value(fmt), PROFILE_FORMAT) != 0) {
        rc = rd_fail(&r, "profile: format is \"%s\", expected \"%s\"", json_string_value(fmt),
                     PROFILE_FORMAT);
        goto out;
    }
    uint64_t version;
    if (rd_u64(&r, root, "", "version", &version) < 0) {
        rc = -CORE_EFORMAT;
        goto out;
    }
    if (version != PROFILE_VERSION) {
        rd_fail(&r, "profile: version %" PRIu64 " is not supported (this reader knows %d)", version,
                PROFILE_VERSION);
        rc = version > PROFILE_VERSION ? -CORE_EVERSION : -CORE_EFORMAT;
        goto out;
    }
    json_t *ido = rd_get(&r, root, "", "identity", JSON_OBJECT);
    json_t *tm = rd_get(&r, root, "", "time", JSON_OBJECT);
    json_t *ms = rd_get(&r, root, "", "metrics", JSON_OBJECT);
    if (!ido || !tm || !ms) {
        rc = -CORE_EFORMAT;
        goto out;
    }
    if (rd_str_opt(&r, ido, "identity", "name", &name) < 0 ||
        rd_str_opt(&r, ido, "identity", "uuid", &uuid) < 0 ||
        rd_str_opt(&r, ido, "identity", "vm_name", &vm_name) < 0 ||
        rd_str_opt(&r, ido, "identity", "host", &host) < 0) {
        rc = -CORE_EFORMAT;
        goto out;
    }
    json_t *vmid = json_object_get(ido, "vmid");
    if (json_is_integer(vmid)) {
        id.vmid = json_integer_value(vmid);
    }
    id.name = name;
    id.uuid = uuid;
    id.vm_name = vm_name;
    id.host = host;
    rc = rd_settings(&r, json_object_get(root, "settings"), &set);
    if (rc < 0) {
        goto out;
    }
    rc = profile_new(&p, &id, &set);
    if (rc < 0) {
        rc = rd_fail(&r, "profile: settings are invalid");
        goto out;
    }
    json_t *t0 = json_object_get(tm, "first"), *t1 = json_object_get(tm, "last");
    if (json_is_integer(t0) && json_is_integer(t1)) {
        p->have_time = 1;
        p->t0 = json_integer_value(t0);
        p->t1 = json_integer_value(t1);
    }
    /* Metrics in sorted order (the object is written sorted; jansson keeps file order). */
    const char *mname;
    json_t *mo;
    json_object_foreach(ms, mname, mo) {
        rc = rd_metric(&r, p, mname, mo);
        if (rc < 0) {
            goto out;
        }
    }
    if (p->joint) {
        json_t *jo = json_object_get(root, "joint");
        rc = rd_chain(&r, jo, "joint", p->joint);
        if (rc < 0) {
            goto out;
        }
    }
    p->pushed = 1;
    *out = p;
    p = NULL;
    rc = 0;
out:
    if (rc < 0 && r.failed) {
        rc = rc == -CORE_EVERSION ? rc : -CORE_EFORMAT;
    }
    profile_free(p);
    json_decref(root);
    free(name);
    free(uuid);
    free(vm_name);
    free(host);
    return rc;
}

/* ======================================= merge ======================================= */

int profile_merge(struct profile *dst, const struct profile *src) {
    const struct profile_settings *a = &dst->set, *b = &src->set;
    if (a->states != b->states || a->history != b->history || a->buffersize != b->buffersize ||
        a->filterk != b->filterk || a->binning != b->binning ||
        a->compat_fixed != b->compat_fixed || a->joint != b->joint ||
        a->period.kind != b->period.kind || a->phases || b->phases || dst->nm != src->nm) {
        return -CORE_ERANGE;
    }
    for (size_t i = 0; i < dst->nm; i++) {
        const struct markov_series *x = dst->m[i]->series, *y = src->m[i]->series;
        if (strcmp(dst->m[i]->name, src->m[i]->name) != 0 ||
            markov_config_compatible(markov_series_config(x), markov_series_disc(x),
                                     markov_series_config(y), markov_series_disc(y)) < 0) {
            return -CORE_ERANGE;
        }
    }
    for (size_t i = 0; i < dst->nm; i++) {
        markov_series_merge(dst->m[i]->series, src->m[i]->series);
        if (dst->m[i]->periods) {
            periods_merge(dst->m[i]->periods, src->m[i]->periods);
        }
    }
    if (dst->joint && src->joint) {
        markov_chain_merge(dst->joint, src->joint);
    }
    if (src->have_time) {
        if (!dst->have_time) {
            dst->t0 = src->t0;
            dst->t1 = src->t1;
            dst->have_time = 1;
        }
        dst->t0 = src->t0 < dst->t0 ? src->t0 : dst->t0;
        dst->t1 = src->t1 > dst->t1 ? src->t1 : dst->t1;
    }
    return 0;
}

/* =================================== tsprofiler shape ================================= */

/* Go writes integral float64 values without a fraction; we do the same. */
static json_t *gonum(double v) {
    if (isfinite(v) && v == floor(v) && fabs(v) < 9e15) {
        return json_integer((json_int_t)v);
    }
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *tsp_stats_json(double min, double max, double sd, double avg, uint64_t count,
                              double ssum) {
    json_t *o = json_object();
    json_object_set_new(o, "min", gonum(min));
    json_object_set_new(o, "max", gonum(max));
    json_object_set_new(o, "stddev", gonum(sd));
    json_object_set_new(o, "avg", gonum(avg));
    json_object_set_new(o, "count", ju64(count));
    json_object_set_new(o, "stddevsum", gonum(ssum));
    return o;
}

struct tsp_row {
    char key[MK_MAX_ORDER * 12];
    int order;
    uint64_t row;
};

static int cmp_tsp_row(const void *a, const void *b) {
    return strcmp(((const struct tsp_row *)a)->key, ((const struct tsp_row *)b)->key);
}

static json_t *tsp_metric_json(const struct metric *m, uint32_t buffersize) {
    const struct markov_chain *ch = markov_series_chain(m->series);
    const struct mk_tsp_stats *ts = markov_series_tsp_stats(m->series);
    uint32_t N = ch->counts.nstates;
    int H = ch->counts.order;
    struct mk_counts c;
    json_t *o = NULL;
    struct tsp_row *rows = NULL;
    size_t nrows = 0, cap = 0;
    uint64_t *cnt = malloc(N * sizeof *cnt);
    if (!cnt || mk_counts_init(&c, N, H) < 0) {
        free(cnt);
        return NULL;
    }
    mk_counts_merge(&c, &ch->counts);
    /* tsprofiler's phantom rows: its history starts as H zeros, and every suffix is counted. */
    for (uint64_t t = 0; t < (uint64_t)H && t < ch->steps; t++) {
        uint64_t key = 0;
        for (uint64_t i = 0; i < t; i++) {
            key = key * N + ch->first[i];
        }
        for (int L = (int)t + 1; L <= H; L++) {
            mk_counts_add_n(&c, L, key, ch->first[t], 1);
        }
    }
    for (int h = 1; h <= H; h++) {
        uint64_t *seen;
        size_t ns;
        if (mk_counts_seen_rows(&c, h, &seen, &ns) < 0) {
            goto out;
        }
        if (nrows + ns > cap) {
            cap = (nrows + ns) * 2;
            struct tsp_row *g = realloc(rows, cap * sizeof *g);
            if (!g) {
                free(seen);
                goto out;
            }
            rows = g;
        }
        for (size_t i = 0; i < ns; i++) {
            struct tsp_row *r = &rows[nrows++];
            r->order = h;
            r->row = seen[i];
            key_string(seen[i], N, h, r->key, sizeof r->key);
        }
        free(seen);
    }
    if (nrows) {
        qsort(rows, nrows, sizeof *rows, cmp_tsp_row);
    }
    o = json_object();
    json_object_set_new(o, "metric", json_string(m->name));
    json_t *tr = json_object();
    double maxcount = (double)ts->count / (double)buffersize;
    for (size_t i = 0; i < nrows; i++) {
        uint64_t sum = mk_counts_row(&c, rows[i].order, rows[i].row, cnt);
        json_t *step = json_object(), *np = json_array();
        for (uint32_t j = 0; j < N; j++) {
            double frac = sum ? (double)cnt[j] / (double)sum * 100.0 : 0.0;
            json_array_append_new(np, json_integer((json_int_t)round(frac)));
        }
        json_object_set_new(step, "nextProbs", np);
        json_object_set_new(step, "probability",
                            json_integer((json_int_t)round((double)sum / maxcount * 100.0)));
        json_object_set_new(tr, rows[i].key, step);
    }
    json_object_set_new(o, "transitions", tr);
    double sd = ts->count ? sqrt(ts->stddevsum / (double)ts->count) : 0.0;
    json_object_set_new(o, "stats",
                        tsp_stats_json(ts->min, ts->max, sd, ts->avg, ts->count, ts->stddevsum));
out:
    free(rows);
    free(cnt);
    mk_counts_fini(&c);
    return o;
}

static int cmp_metric_name(const void *a, const void *b) {
    const struct metric *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

int profile_dump_tsprofiler(const struct profile *p, char **out) {
    *out = NULL;
    const struct metric **order = malloc((p->nm ? p->nm : 1) * sizeof *order);
    if (!order) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < p->nm; i++) {
        order[i] = p->m[i];
    }
    qsort(order, p->nm, sizeof *order, cmp_metric_name);
    json_t *root = json_object(), *roottx = json_array();
    json_object_set_new(root, "name", json_string(p->name ? p->name : ""));
    for (size_t i = 0; i < p->nm; i++) {
        json_t *mj = tsp_metric_json(order[i], p->set.buffersize);
        if (!mj) {
            json_decref(roottx);
            json_decref(root);
            free(order);
            return -ENOMEM;
        }
        json_array_append_new(roottx, mj);
    }
    free(order);
    json_object_set_new(root, "roottx", roottx);
    json_t *pt = json_object(), *node = json_object();
    const struct period_config *pc = &p->set.period;
    uint64_t maxcounts = 0;
    if (pc->kind == PERIOD_STEPS && pc->nsizes > 1) {
        maxcounts = 1;
        for (int i = 0; i < pc->nsizes; i++) {
            maxcounts *= pc->sizes[i];
        }
    } else if (pc->kind == PERIOD_STEPS) {
        maxcounts = pc->sizes[0];
    }
    json_object_set_new(node, "UUID", json_integer(878)); /* Go's rand.Intn(999), seed 1 */
    json_object_set_new(
        node, "maxChilds",
        json_integer(pc->kind == PERIOD_STEPS && pc->nsizes > 1 ? pc->sizes[0] : 0));
    json_object_set_new(node, "maxCounts", ju64(maxcounts));
    json_object_set_new(node, "children", json_array());
    json_object_set_new(node, "txmatrix", json_array());
    json_object_set_new(pt, "root", node);
    json_object_set_new(root, "periodTree", pt);
    json_t *ph = json_object(), *list = json_array(), *tx = json_object();
    json_array_append_new(list, json_null());
    json_object_set_new(ph, "phases", list);
    json_object_set_new(tx, "metric", json_string(""));
    json_object_set_new(tx, "transitions", json_null());
    json_object_set_new(tx, "stats", tsp_stats_json(0, 0, 0, 0, 0, 0));
    json_object_set_new(ph, "tx", tx);
    json_object_set_new(root, "phases", ph);
    json_t *st = json_object(), *ps = json_array();
    json_object_set_new(st, "buffersize", json_integer(p->set.buffersize));
    json_object_set_new(st, "states", json_integer(p->set.states));
    json_object_set_new(st, "history", json_integer(p->set.history));
    json_object_set_new(st, "filterstddevs", gonum(p->set.filterk));
    json_object_set_new(st, "fixbound",
                        json_boolean(p->set.binning == PROFILE_BIN_COMPAT_TSP
                                         ? p->set.compat_fixed
                                         : p->set.binning == PROFILE_BIN_FIXED));
    for (int i = 0; pc->kind == PERIOD_STEPS && i < pc->nsizes; i++) {
        json_array_append_new(ps, json_integer(pc->sizes[i]));
    }
    json_object_set_new(st, "periodsize", ps);
    json_object_set_new(st, "phaseChangeLikeliness", json_integer(0));
    json_object_set_new(st, "phaseChangeHistory", json_integer(1));
    json_object_set_new(st, "phaseChangeHistoryFadeout", json_false());
    json_object_set_new(root, "settings", st);
    char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text) {
        return -ENOMEM;
    }
    *out = text;
    return 0;
}
