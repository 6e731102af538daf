/* import_csv.c: CSV inputs — the Bitbrains GWA-T-12 per-VM format and a generic CSV — read with
 * a cursor parser (csv.h), either straight into the profiler (source_run_csv) or into a journal
 * (import_csv) that keeps the timestamps and the units of the columns.
 *
 * Bitbrains: a header line, fields separated by ";\t", the timestamp column in Unix seconds
 * (despite its "[ms]" label), ten metric columns kept as they are (MHz, %, KB, KB/s) under the
 * names of derive_bitbrains_defs. Generic: a header of names (or --no-header: metric_0, ...),
 * a timestamp column (default the first; unit --time-unit) and one column per metric; a header
 * name that is a catalogue metric takes the catalogue's definition (a counter stays a counter).
 * Empty fields are missing values. A malformed row fails with file:line, or with --skip-bad is
 * skipped and counted. A row repeating the previous row's timestamp is dropped and counted (the
 * Bitbrains files have such duplicates); a timestamp going backwards is a malformed row.
 * SPDX-License-Identifier: MIT */
#include "source.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_error.h"
#include "csv.h"
#include "journal_writer.h"

#define CSV_MAX_COLS 256

struct csvin {
    const char *path;
    struct csv_file *f;
    bool bitbrains;
    char sep;
    int ncols, time_col;
    size_t nm;                    /* metric columns */
    struct metric_def *defs;      /* nm, names and units owned */
    int col_metric[CSV_MAX_COLS]; /* column -> metric index, -1 = time */
    char *name;                   /* VM name */
    const char *pending;          /* first data line of a header-less file */
    size_t pending_len;
    int have_pending;
    int64_t t_ns, prev_t;
    int have_prev;
    uint64_t rowno;
    struct journal_value *vals; /* nm */
    uint64_t skipped, dups, rows;
    double cores, mem_kb; /* Bitbrains capacity of the current row */
};

static const char *skip_blanks(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    return p;
}

static bool has_semitab(const char *s, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] == ';' && s[i + 1] == '\t') {
            return true;
        }
    }
    return false;
}

static char *stem_of(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    const char *dot = strrchr(b, '.');
    if (dot && dot != b) {
        n = (size_t)(dot - b);
    }
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, b, n);
        s[n] = '\0';
    }
    return s;
}

static const char *unit_for(const char *units, const char *name, char *buf, size_t len) {
    if (!units) {
        return NULL;
    }
    size_t nl = strlen(name);
    const char *p = units;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            snprintf(buf, len, "%.*s", (int)(l - nl - 1), p + nl + 1);
            return buf;
        }
        p += l;
        if (*p == ',') {
            p++;
        }
    }
    return NULL;
}

static void csvin_close(struct csvin *c) {
    csv_close(c->f);
    if (c->defs) {
        source_csv_defs_free(c->defs, c->nm);
    }
    free(c->name);
    free(c->vals);
    memset(c, 0, sizeof *c);
}

void source_csv_defs_free(struct metric_def *defs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free((char *)(uintptr_t)defs[i].name);
        free((char *)(uintptr_t)defs[i].unit);
    }
    free(defs);
}

/* Splits a header line into trimmed, unquoted names. Returns the number of fields. */
static int split_header(const char *line, size_t len, char sep, char names[][128], int max) {
    const char *p = line, *end = line + len;
    int n = 0;
    for (;;) {
        const char *e = memchr(p, sep, (size_t)(end - p));
        const char *fe = e ? e : end;
        const char *a = skip_blanks(p, fe);
        const char *b = fe;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t')) {
            b--;
        }
        if (b - a >= 2 && *a == '"' && b[-1] == '"') {
            a++;
            b--;
        }
        if (n < max) {
            snprintf(names[n], 128, "%.*s", (int)(b - a), a);
        }
        n++;
        if (!e) {
            break;
        }
        p = e + 1;
    }
    return n;
}

static int csvin_open(struct csvin *c, const struct source_opts *o, const char *path, char *err,
                      size_t errlen) {
    memset(c, 0, sizeof *c);
    c->path = path;
    int rc = csv_open(&c->f, path);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    const char *line;
    size_t len;
    rc = csv_next_line(c->f, &line, &len);
    if (rc <= 0) {
        snprintf(err, errlen, "%s: %s", path, rc == 0 ? "empty file" : strerror(-rc));
        return rc == 0 ? -CORE_EEMPTY : rc;
    }
    static char names[CSV_MAX_COLS][128];
    c->bitbrains = o->format == SRC_BITBRAINS ||
                   (o->format != SRC_CSV &&
                    (has_semitab(line, len) || (len >= 9 && memcmp(line, "Timestamp", 9) == 0)));
    c->sep = c->bitbrains ? ';' : (o->csv.sep ? o->csv.sep : ',');
    c->ncols = split_header(line, len, c->sep, names, CSV_MAX_COLS);
    if (c->ncols > CSV_MAX_COLS) {
        snprintf(err, errlen, "%s:1: more than %d columns", path, CSV_MAX_COLS);
        return -CORE_ERANGE;
    }
    c->time_col = c->bitbrains ? 0 : o->csv.time_col;
    if (c->bitbrains && c->ncols != BB_NCOLS + 1) {
        snprintf(err, errlen, "%s:1: a Bitbrains header has %d columns, this one has %d", path,
                 BB_NCOLS + 1, c->ncols);
        return -CORE_EPARSE;
    }
    if (c->time_col >= c->ncols) {
        snprintf(err, errlen, "%s:1: no timestamp column %d (the file has %d columns)", path,
                 c->time_col + 1, c->ncols);
        return -CORE_ERANGE;
    }
    c->nm = (size_t)(c->ncols - (c->time_col >= 0 ? 1 : 0));
    if (c->nm == 0) {
        snprintf(err, errlen, "%s:1: no metric column", path);
        return -CORE_EPARSE;
    }
    c->defs = calloc(c->nm, sizeof *c->defs);
    c->vals = calloc(c->nm, sizeof *c->vals);
    c->name = o->csv.vm && o->npaths == 1 ? strdup(o->csv.vm) : stem_of(path);
    if (!c->defs || !c->vals || !c->name) {
        return -ENOMEM;
    }
    size_t m = 0;
    for (int col = 0; col < c->ncols; col++) {
        if (col == c->time_col) {
            c->col_metric[col] = -1;
            continue;
        }
        struct metric_def *d = &c->defs[m];
        char nm[160], ub[64];
        const char *unit = NULL;
        if (c->bitbrains) {
            *d = derive_bitbrains_defs[m];
            snprintf(nm, sizeof nm, "%.120s", d->name);
            unit = d->unit;
        } else {
            if (o->csv.no_header) {
                snprintf(nm, sizeof nm, "metric_%zu", m);
            } else if (!names[col][0]) {
                snprintf(err, errlen, "%s:1: column %d has no name", path, col + 1);
                return -CORE_EPARSE;
            } else {
                snprintf(nm, sizeof nm, "%.120s", names[col]);
            }
            for (size_t k = 0; k < m; k++) {
                if (strcmp(c->defs[k].name, nm) == 0) {
                    snprintf(err, errlen, "%s:1: column name '%s' appears twice", path, nm);
                    return -CORE_EPARSE;
                }
            }
            int ci = catalogue_find(nm);
            if (ci >= 0) {
                size_t ncat;
                *d = catalogue_all(&ncat)[ci];
                unit = d->unit;
            } else {
                *d = (struct metric_def){.kind = METRIC_GAUGE,
                                         .scope = SCOPE_VM,
                                         .type = METRIC_REAL,
                                         .collector = "import",
                                         .source = "CSV column",
                                         .meaning = "imported CSV column",
                                         .display = "value"};
            }
            const char *u = unit_for(o->csv.units, nm, ub, sizeof ub);
            unit = u ? u : unit;
        }
        d->name = strdup(nm);
        d->unit = strdup(unit ? unit : ""); /* the journal header wants a string */
        if (!d->name || !d->unit) {
            return -ENOMEM;
        }
        c->col_metric[col] = (int)m++;
    }
    if (o->csv.no_header && !c->bitbrains) {
        c->pending = line;
        c->pending_len = len;
        c->have_pending = 1;
    }
    c->rowno = 1;
    return 0;
}

/* Parses one data line into c->vals / c->t_ns. Returns 0, or -1 with a message in err. */
static int parse_row(struct csvin *c, const struct source_opts *o, const char *line, size_t len,
                     char *err, size_t errlen) {
    const char *p = line, *end = line + len;
    for (int col = 0; col < c->ncols; col++) {
        if (col > 0) {
            if (p >= end || *p != c->sep) {
                snprintf(err, errlen, "%s:%llu: %d fields, expected %d", c->path,
                         (unsigned long long)csv_lineno(c->f), col, c->ncols);
                return -1;
            }
            p++;
        }
        double v;
        const char *q = skip_blanks(p, end);
        int m = c->col_metric[col];
        if (q == end || *q == c->sep) {
            if (m < 0) {
                snprintf(err, errlen, "%s:%llu: empty timestamp", c->path,
                         (unsigned long long)csv_lineno(c->f));
                return -1;
            }
            c->vals[m].type = JV_MISSING;
            p = q;
            continue;
        }
        const char *e = csv_num(q, end, &v);
        if (e) {
            e = skip_blanks(e, end);
        }
        if (!e || (e < end && *e != c->sep) || isnan(v) || isinf(v)) {
            const char *fe = memchr(q, c->sep, (size_t)(end - q));
            fe = fe ? fe : end;
            snprintf(err, errlen, "%s:%llu: column %d: not a number: '%.*s'", c->path,
                     (unsigned long long)csv_lineno(c->f), col + 1,
                     (int)(fe - q > 40 ? 40 : fe - q), q);
            return -1;
        }
        p = e;
        if (m < 0) {
            c->t_ns =
                (int64_t)llround(v * (double)(o->csv.time_unit ? o->csv.time_unit : 1000000000));
        } else if (c->defs[m].type == METRIC_INT) {
            c->vals[m].type = JV_INT;
            c->vals[m].i = (int64_t)llround(v);
        } else {
            c->vals[m].type = JV_REAL;
            c->vals[m].d = v;
        }
    }
    if (p != end) {
        snprintf(err, errlen, "%s:%llu: more than %d fields", c->path,
                 (unsigned long long)csv_lineno(c->f), c->ncols);
        return -1;
    }
    if (c->time_col < 0) {
        c->t_ns = (int64_t)c->rows * (o->csv.interval ? o->csv.interval : 1000000000);
    }
    return 0;
}

/* Reads the next good row. Returns 1, 0 at the end, or a negative error with err set. */
static int csvin_next(struct csvin *c, const struct source_opts *o, char *err, size_t errlen) {
    for (;;) {
        const char *line;
        size_t len;
        int rc;
        if (c->have_pending) {
            line = c->pending;
            len = c->pending_len;
            c->have_pending = 0;
            rc = 1;
        } else {
            rc = csv_next_line(c->f, &line, &len);
        }
        if (rc < 0) {
            snprintf(err, errlen, "%s: %s", c->path, strerror(-rc));
            return rc;
        }
        if (rc == 0) {
            return 0;
        }
        const char *q = skip_blanks(line, line + len);
        if (q == line + len) {
            continue; /* blank line */
        }
        if (parse_row(c, o, line, len, err, errlen) < 0) {
            goto bad;
        }
        if (c->have_prev && c->t_ns == c->prev_t) {
            c->dups++;
            continue;
        }
        if (c->have_prev && c->t_ns < c->prev_t) {
            snprintf(err, errlen, "%s:%llu: timestamp goes backwards", c->path,
                     (unsigned long long)csv_lineno(c->f));
            goto bad;
        }
        c->prev_t = c->t_ns;
        c->have_prev = 1;
        c->rows++;
        return 1;
    bad:
        if (!o->csv.skip_bad) {
            return -CORE_EPARSE;
        }
        c->skipped++;
    }
}

static void report_counts(const struct csvin *c, const struct source_opts *o) {
    if (c->skipped) {
        fprintf(stderr, "proxprofiler: %s: %llu malformed rows skipped\n", c->path,
                (unsigned long long)c->skipped);
    }
    if (c->dups) {
        fprintf(stderr, "proxprofiler: %s: %llu rows repeating the previous timestamp dropped\n",
                c->path, (unsigned long long)c->dups);
    }
    if (o->skipped) {
        *o->skipped += c->skipped;
    }
}

int source_csv_metrics(const struct source_opts *o, const char *path, struct metric_def **defs,
                       size_t *n, char *err, size_t errlen) {
    struct csvin c;
    int rc = csvin_open(&c, o, path, err, errlen);
    if (rc < 0) {
        csvin_close(&c);
        return rc;
    }
    *defs = c.defs;
    *n = c.nm;
    c.defs = NULL;
    csvin_close(&c);
    return 0;
}

int source_run_csv(const struct source_opts *o, const char *path, uint32_t idx, struct derive *d,
                   const struct source_cb *cb, char *err, size_t errlen) {
    struct csvin c;
    struct derive_ent *de = NULL;
    double *acc = NULL, *out = NULL;
    const struct metric_def **ptrs = NULL;
    uint32_t *ids = NULL;
    int rc = csvin_open(&c, o, path, err, errlen);
    if (rc < 0) {
        goto done;
    }
    ptrs = malloc(c.nm * sizeof *ptrs);
    ids = malloc(c.nm * sizeof *ids);
    if (!ptrs || !ids) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < c.nm; i++) {
        ptrs[i] = &c.defs[i];
        ids[i] = (uint32_t)i;
    }
    de = derive_ent_new(d);
    acc = malloc(derive_acc_size(d));
    out = malloc((derive_count(d) + 1) * sizeof *out);
    if (!de || !acc || !out || derive_bind(d, ptrs, c.nm) < 0) {
        rc = -ENOMEM;
        goto done;
    }
    char key[600];
    snprintf(key, sizeof key, "csv/%s", c.name);
    struct source_vm sv = {.key = key, .name = c.name, .vcpus = -1, .mem_bytes = -1};
    if (!source_vm_match(o->vm_filter, &sv)) {
        goto done;
    }
    if ((rc = cb->vm(cb->ctx, idx, &sv)) < 0) {
        snprintf(err, errlen, "%s: %s", path, core_strerror(rc));
        goto done;
    }
    while ((rc = csvin_next(&c, o, err, errlen)) == 1) {
        derive_tick_begin(d, acc);
        derive_row(d, acc, de, ids, c.vals, (uint32_t)c.nm, c.t_ns, -1);
        double vc, mem;
        derive_capacity(d, acc, &vc, &mem);
        derive_tick_end(d, acc, vc, out);
        cb->row(cb->ctx, idx, c.t_ns / 1000000000, out, vc, mem);
    }
    if (rc == 0) {
        report_counts(&c, o);
    }
done:
    free(de);
    free(acc);
    free(out);
    free(ptrs);
    free(ids);
    csvin_close(&c);
    return rc < 0 ? rc : 0;
}

/* ---- import into a journal ---------------------------------------------------------------- */

int import_csv(const struct source_opts *o, const char *out, const char *host, uint64_t *rows,
               uint64_t *skipped, char *err, size_t errlen) {
    size_t nf = o->npaths;
    struct csvin *in = calloc(nf ? nf : 1, sizeof *in);
    int *live = calloc(nf ? nf : 1, sizeof *live);
    uint32_t *ent = calloc(nf ? nf : 1, sizeof *ent);
    struct metric_def *all = NULL;
    uint32_t **midx = calloc(nf ? nf : 1, sizeof *midx);
    size_t nall = 0;
    struct journal_writer *w = NULL;
    int rc = 0;
    *rows = 0;
    *skipped = 0;
    if (!in || !live || !ent || !midx) {
        rc = -ENOMEM;
        goto done;
    }
    bool bb = true;
    for (size_t i = 0; i < nf; i++) {
        if ((rc = csvin_open(&in[i], o, o->paths[i], err, errlen)) < 0) {
            goto done;
        }
        bb = bb && in[i].bitbrains;
        midx[i] = malloc(in[i].nm * sizeof **midx);
        if (!midx[i]) {
            rc = -ENOMEM;
            goto done;
        }
        for (size_t m = 0; m < in[i].nm; m++) {
            size_t k = 0;
            while (k < nall && strcmp(all[k].name, in[i].defs[m].name) != 0) {
                k++;
            }
            if (k == nall) {
                struct metric_def *g = realloc(all, (nall + 1) * sizeof *g);
                if (!g) {
                    rc = -ENOMEM;
                    goto done;
                }
                all = g;
                all[nall++] = in[i].defs[m];
            } else if ((all[k].unit && in[i].defs[m].unit &&
                        strcmp(all[k].unit, in[i].defs[m].unit) != 0) ||
                       all[k].type != in[i].defs[m].type) {
                snprintf(err, errlen, "%s: column '%s' has another unit or type than in %s",
                         o->paths[i], all[k].name, o->paths[0]);
                rc = -CORE_ERANGE;
                goto done;
            }
            midx[i][m] = (uint32_t)k;
        }
        rc = csvin_next(&in[i], o, err, errlen);
        if (rc < 0) {
            goto done;
        }
        live[i] = rc;
        if (rc == 1 && in[i].bitbrains) {
            in[i].cores = in[i].vals[0].type == JV_REAL ? in[i].vals[0].d : -1;
            in[i].mem_kb = in[i].vals[4].type == JV_REAL ? in[i].vals[4].d : -1;
        }
    }
    struct journal_writer_opts wo = {
        .path = out,
        .compress = true,
        .sync_ns = -1,
        .chunk_ticks = 64, /* an import is redone, not recovered: pack ticks per frame */
        .writer = "proxprofiler import " PROXTOP_VERSION,
        .hostname = host ? host : (bb ? "bitbrains" : "import"),
        .machine_id = "import",
        .interval_ns = bb ? 300000000000ll : (o->csv.interval ? o->csv.interval : 0),
        .metrics = all,
        .nmetrics = nall,
    };
    size_t ol = strlen(out);
    wo.single_file = ol > 4 && strcmp(out + ol - 4, ".pxj") == 0;
    if ((rc = journal_writer_open(&w, &wo, NULL)) < 0) {
        snprintf(err, errlen, "%s: %s", out, core_strerror(rc));
        goto done;
    }
    for (size_t i = 0; i < nf; i++) {
        char key[600];
        snprintf(key, sizeof key, "%s:%s", in[i].bitbrains ? "bitbrains" : "csv", in[i].name);
        struct journal_entity_desc d = {
            .scope = SCOPE_VM,
            .parent = JOURNAL_NO_ENTITY,
            .key = key,
            .name = in[i].name,
            .pid = -1,
            .start_time = -1,
            .vcpus = in[i].cores > 0 ? (int32_t)lround(in[i].cores) : -1,
            .mem_bytes = in[i].mem_kb > 0 ? (int64_t)llround(in[i].mem_kb * 1024.0) : -1,
            .metrics = midx[i],
            .nmetrics = (uint32_t)in[i].nm,
        };
        if (!in[i].bitbrains) {
            d.vcpus = -1;
            d.mem_bytes = -1;
        }
        if ((rc = journal_writer_entity(w, &d, &ent[i])) < 0) {
            snprintf(err, errlen, "%s: %s", out, core_strerror(rc));
            goto done;
        }
    }
    for (;;) {
        int64_t tmin = INT64_MAX;
        for (size_t i = 0; i < nf; i++) {
            if (live[i] && in[i].t_ns < tmin) {
                tmin = in[i].t_ns;
            }
        }
        if (tmin == INT64_MAX) {
            break;
        }
        if ((rc = journal_writer_tick_begin(w, tmin, -1)) < 0) {
            snprintf(err, errlen, "%s: %s", out, core_strerror(rc));
            goto done;
        }
        for (size_t i = 0; i < nf; i++) {
            if (!live[i] || in[i].t_ns != tmin) {
                continue;
            }
            if ((rc = journal_writer_row(w, ent[i], in[i].vals, (uint32_t)in[i].nm)) < 0) {
                snprintf(err, errlen, "%s: %s", out, core_strerror(rc));
                goto done;
            }
            (*rows)++;
            rc = csvin_next(&in[i], o, err, errlen);
            if (rc < 0) {
                goto done;
            }
            live[i] = rc;
        }
        if ((rc = journal_writer_tick_end(w)) < 0) {
            snprintf(err, errlen, "%s: %s", out, core_strerror(rc));
            goto done;
        }
    }
    for (size_t i = 0; i < nf; i++) {
        report_counts(&in[i], o);
        *skipped += in[i].skipped;
    }
    rc = 0;
done:
    if (w) {
        int crc = journal_writer_close(w);
        if (rc == 0 && crc < 0) {
            rc = crc;
            snprintf(err, errlen, "%s: %s", out, core_strerror(rc));
        }
    }
    for (size_t i = 0; i < nf && in; i++) {
        csvin_close(&in[i]);
        if (midx) {
            free(midx[i]);
        }
    }
    free(in);
    free(live);
    free(ent);
    free(midx);
    free(all);
    return rc;
}
