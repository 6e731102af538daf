/* summary.c: the readable text form of a profile (proxprofiler summary, --format text).
 * SPDX-License-Identifier: MIT */
#include "summary.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "markov.h"

/* Prints v with an SI-style suffix for large magnitudes (bytes and rates are huge numbers). */
static void human(char *buf, size_t n, double v) {
    double a = fabs(v);
    if (isnan(v)) {
        snprintf(buf, n, "-");
    } else if (isinf(v)) {
        snprintf(buf, n, v > 0 ? "inf" : "-inf");
    } else if (a >= 1e12) {
        snprintf(buf, n, "%.2fT", v / 1e12);
    } else if (a >= 1e9) {
        snprintf(buf, n, "%.2fG", v / 1e9);
    } else if (a >= 1e6) {
        snprintf(buf, n, "%.2fM", v / 1e6);
    } else if (a >= 1e4) {
        snprintf(buf, n, "%.1fk", v / 1e3);
    } else if (a >= 100 || a == 0) {
        snprintf(buf, n, "%.1f", v);
    } else {
        snprintf(buf, n, "%.3g", v);
    }
}

static void utc(char *buf, size_t n, json_t *t) {
    if (!json_is_integer(t)) {
        snprintf(buf, n, "?");
        return;
    }
    time_t s = (time_t)json_integer_value(t);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M UTC", &tm);
}

struct tx {
    uint32_t from, to;
    double p;
    uint64_t n;
};

static int cmp_tx(const void *a, const void *b) {
    const struct tx *x = a, *y = b;
    if (x->n != y->n) {
        return x->n > y->n ? -1 : 1;
    }
    if (x->from != y->from) {
        return x->from < y->from ? -1 : 1;
    }
    return x->to < y->to ? -1 : (x->to > y->to);
}

static void metric_summary(FILE *f, const struct profile *p, size_t i, int64_t interval_s) {
    const struct markov_series *s = profile_metric(p, i);
    const struct markov_config *cfg = markov_series_config(s);
    const struct disc *d = markov_series_disc(s);
    const struct markov_chain *ch = markov_series_chain(s);
    const struct mk_stats *st = markov_series_stats(s);
    uint32_t n = cfg->nstates;
    char a[32], b[32], c[32], e[32], q[32];
    human(a, sizeof a, mk_stats_mean(st));
    human(b, sizeof b, sqrt(mk_stats_var(st)));
    human(c, sizeof c, st->n ? st->min : NAN);
    human(e, sizeof e, st->n ? st->max : NAN);
    human(q, sizeof q, mk_stats_quantile(st, 0.95));
    fprintf(f, "  %s", profile_metric_name(p, i));
    fprintf(f,
            "  samples %" PRIu64 ", steps %" PRIu64 ", outliers %" PRIu64
            ", mean %s, sd %s, min %s, p95 %s, max %s\n",
            markov_series_samples(s), ch->steps, markov_series_outliers(s), a, b, c, q, e);
    if (ch->steps == 0) {
        fprintf(f, "    (no data)\n");
        return;
    }
    double *pi = calloc(n, sizeof *pi), *dw = calloc(n, sizeof *dw), *pr = calloc(n, sizeof *pr);
    if (!pi || !dw || !pr) {
        free(pi);
        free(dw);
        free(pr);
        return;
    }
    int have_pi = mk_stationary(&ch->counts, ch->occ, pi, NULL) == 0;
    mk_dwell(&ch->counts, dw);
    fprintf(f, "    %-5s %-25s %9s %10s %12s\n", "state", "range", "occupancy", "stationary",
            interval_s > 0 ? "dwell" : "dwell steps");
    for (uint32_t k = 0; k < n; k++) {
        char lo[32], hi[32], dwb[32], pib[16];
        human(lo, sizeof lo, d->edges[k]);
        human(hi, sizeof hi, d->edges[k + 1]);
        double occ = ch->steps ? 100.0 * (double)ch->occ[k] / (double)ch->steps : 0;
        if (isnan(dw[k])) {
            snprintf(dwb, sizeof dwb, "-");
        } else if (isinf(dw[k])) {
            snprintf(dwb, sizeof dwb, "never left");
        } else if (interval_s > 0) {
            double sec = dw[k] * (double)interval_s * (double)cfg->buffersize;
            if (sec >= 7200) {
                snprintf(dwb, sizeof dwb, "%.1f h", sec / 3600);
            } else if (sec >= 120) {
                snprintf(dwb, sizeof dwb, "%.1f min", sec / 60);
            } else {
                snprintf(dwb, sizeof dwb, "%.0f s", sec);
            }
        } else {
            snprintf(dwb, sizeof dwb, "%.1f", dw[k]);
        }
        if (have_pi) {
            snprintf(pib, sizeof pib, "%.1f %%", 100 * pi[k]);
        } else {
            snprintf(pib, sizeof pib, "-");
        }
        char range[80];
        snprintf(range, sizeof range, "[%s, %s%s", lo, hi, k + 1 == n ? "]" : ")");
        fprintf(f, "    %-5u %-25s %7.1f %% %10s %12s\n", k, range, occ, pib, dwb);
    }
    /* Most likely transitions between different states, by count. */
    struct tx *t = malloc((size_t)n * n * sizeof *t);
    size_t nt = 0;
    uint64_t *cnt = malloc(n * sizeof *cnt);
    if (t && cnt) {
        for (uint32_t from = 0; from < n; from++) {
            uint64_t tot = mk_counts_row(&ch->counts, 1, from, cnt);
            for (uint32_t to = 0; tot && to < n; to++) {
                if (to != from && cnt[to]) {
                    t[nt++] = (struct tx){from, to, (double)cnt[to] / (double)tot, cnt[to]};
                }
            }
        }
        qsort(t, nt, sizeof *t, cmp_tx);
        fprintf(f, "    changes:");
        if (nt == 0) {
            fprintf(f, " none");
        }
        for (size_t k = 0; k < nt && k < 5; k++) {
            fprintf(f, "%s %u->%u p=%.2f (%" PRIu64 "x)", k ? "," : "", t[k].from, t[k].to, t[k].p,
                    t[k].n);
        }
        fprintf(f, "\n");
    }
    free(t);
    free(cnt);
    free(pi);
    free(dw);
    free(pr);
}

void summary_print(FILE *f, const struct profile *p, int64_t interval_s) {
    json_t *j = NULL;
    if (profile_to_json(p, &j) < 0) {
        return;
    }
    json_t *id = json_object_get(j, "identity"), *tm = json_object_get(j, "time");
    const char *name = json_string_value(json_object_get(id, "name"));
    const char *host = json_string_value(json_object_get(id, "host"));
    const char *uuid = json_string_value(json_object_get(id, "uuid"));
    char t0[40], t1[40];
    utc(t0, sizeof t0, json_object_get(tm, "first"));
    utc(t1, sizeof t1, json_object_get(tm, "last"));
    const struct profile_settings *set = profile_get_settings(p);
    if (interval_s <= 0 && profile_nmetrics(p) > 0 &&
        json_is_integer(json_object_get(tm, "first"))) {
        const struct markov_series *s0 = profile_metric(p, 0);
        uint64_t n = markov_series_samples(s0) + markov_series_nan_skipped(s0);
        json_int_t span = json_integer_value(json_object_get(tm, "last")) -
                          json_integer_value(json_object_get(tm, "first"));
        if (n > 1 && span > 0) {
            interval_s = (int64_t)llround((double)span / (double)(n - 1));
        }
    }
    static const char *const bins[] = {"fixed", "minmax", "quantile", "compat-tsprofiler"};
    fprintf(f, "VM %s%s%s%s%s  %s .. %s\n", name ? name : "?", host ? " on " : "", host ? host : "",
            uuid ? "  uuid " : "", uuid ? uuid : "", t0, t1);
    fprintf(f, "  settings: %u states, history %d, buffersize %u, binning %s, filter %s\n",
            set->states, set->history, set->buffersize, bins[set->binning],
            set->filterk > 0 ? "on" : "off");
    for (size_t i = 0; i < profile_nmetrics(p); i++) {
        metric_summary(f, p, i, interval_s);
    }
    json_decref(j);
}
