/* proxjournal: inspect, verify, repair, export and concatenate proxtop journals.
 *
 *   proxjournal info PATH...                 header, time range, sizes, entities
 *   proxjournal verify [--repair] PATH...    walk everything; exit code says intact/torn/corrupt
 *   proxjournal dump [options] PATH...       CSV (long format), JSON lines or line protocol
 *   proxjournal cat -o OUT PATH...           merge journals by time into a new one
 *   proxjournal --list-metrics [--tsv]       the metric catalogue
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "catalogue.h"
#include "cli.h"
#include "core_error.h"
#include "journal_file.h"
#include "journal_reader.h"
#include "journal_writer.h"
#include "rate.h"
#include "timeparse.h"
#include "xalloc.h"

#define EXIT_USAGE   2
#define EXIT_TORN    3
#define EXIT_CORRUPT 4

static const char *prog = "proxjournal";

static void print_help(void) {
    printf("Usage: proxjournal COMMAND [OPTIONS] PATH...\n"
           "Inspect, verify, export and concatenate proxtop journals. PATH is a journal file\n"
           "(*.pxj) or a journal directory of segments; several PATHs are merged by time.\n"
           "\n"
           "Commands:\n"
           "  info PATH...             header, hosts, time range, sizes and entities\n"
           "  verify [--repair] PATH...\n"
           "                           walk every record; exit 0 intact, 3 torn tail (an\n"
           "                           interrupted write), 4 corrupt (damage, lost blocks or\n"
           "                           missing segments); --repair cuts torn or damaged tails\n"
           "  dump [OPTIONS] PATH...   export samples, one row per entity per sample\n"
           "      --format csv|json|influx   CSV long format (default), JSON lines, InfluxDB\n"
           "                                 line protocol\n"
           "      --fields LIST        metrics to export: comma-separated names or globs\n"
           "                           (e.g. 'vm.cpu.*,vm.mem.rss'); default all\n"
           "      --scope LIST         entity scopes to export (host, host_cpu, host_disk,\n"
           "                           host_nic, vm, vcpu, vm_disk, vm_nic); default all\n"
           "      --vm ID              only this VM and its vCPUs, disks and NICs (name,\n"
           "                           UUID, VMID or entity key)\n"
           "      --begin TIME, --end TIME\n"
           "                           time range: '2h ago', '2026-11-21 10:00', '@epoch', ...\n"
           "      --rate               counters as per-second rates (Δ/Δt, resets left empty)\n"
           "                           instead of raw cumulative values\n"
           "      --epoch              times as epoch nanoseconds instead of ISO 8601\n"
           "      --follow             keep reading as the journal is written (one PATH),\n"
           "                           until SIGINT/SIGTERM\n"
           "  cat -o OUT [--no-compress] [--begin T] [--end T] PATH...\n"
           "                           merge the inputs by time into journal OUT (a .pxj file\n"
           "                           or a directory)\n"
           "\n"
           "Options:\n"
           "  --list-metrics [--tsv]   print the metric catalogue\n"
           "  -q, --quiet              no warnings about damaged data on stderr\n"
           "  -h, --help               this help\n"
           "  -v, --version            version\n"
           "\n"
           "Exit codes: 0 success (verify: intact), 1 runtime error, 2 bad usage, 3 torn tail,\n"
           "4 corrupt.\n");
}

static bool quiet;

static void warn_stderr(void *ctx, const char *msg) {
    (void)ctx;
    if (!quiet)
        fprintf(stderr, "%s: warning: %s\n", prog, msg);
}

static struct journal_reader *open_reader_opts(char **paths, int n, int64_t begin, int64_t end,
                                               bool follow) {
    struct journal_reader *r;
    struct journal_reader_opts o = {
        .begin_ns = begin, .end_ns = end, .warn = warn_stderr, .follow = follow};
    const char *culprit = NULL;
    int rc = journal_reader_open(&r, (const char *const *)paths, (size_t)n, &o, &culprit);
    if (rc < 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, culprit ? culprit : paths[0], core_strerror(rc));
        exit(1);
    }
    return r;
}

static struct journal_reader *open_reader(char **paths, int n, int64_t begin, int64_t end) {
    return open_reader_opts(paths, n, begin, end, false);
}

static volatile sig_atomic_t stop_follow;

static void on_stop(int sig) {
    (void)sig;
    stop_follow = 1;
}

/* journal_reader_next(), and with --follow: wait for more (output flushed meanwhile) until
 * SIGINT/SIGTERM, which ends the dump normally (0). */
static int next_or_wait(struct journal_reader *r, struct journal_item *it, bool follow) {
    for (;;) {
        int rc = journal_reader_next(r, it);
        if (rc != 0 || !follow || stop_follow)
            return rc;
        if (fflush(stdout) != 0)
            return 0;
        struct timespec nap = {0, 200000000};
        nanosleep(&nap, NULL);
    }
}

static void fmt_bytes(uint64_t b, char *buf, size_t n) {
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

/* ------------------------------------------------------------------ info */

static int cmd_info(char **paths, int n) {
    struct journal_reader *r = open_reader(paths, n, 0, 0);
    struct journal_item it;
    int rc;
    while ((rc = journal_reader_next(r, &it)) == 1) {
        if (it.type != JI_SECTION)
            continue;
        const struct journal_section_info *s = journal_reader_section(r, it.source);
        if (s && s->segment <= 1)
            printf("source %u: %s\n  format %u.%u, writer %s, host %s (machine-id %s), "
                   "compression %s, interval %.3f s\n",
                   it.source, paths[it.source], s->major, s->minor, s->writer, s->hostname,
                   *s->machine_id ? s->machine_id : "-", s->compression,
                   (double)s->interval_ns / 1e9);
    }
    struct journal_reader_stats st;
    journal_reader_stats(r, &st);
    char a[40], b[40], sz[32];
    time_format_iso(st.t_first, a, sizeof(a));
    time_format_iso(st.t_last, b, sizeof(b));
    fmt_bytes(st.bytes, sz, sizeof(sz));
    printf("time range: %s .. %s (%.0f s)\n", st.ticks ? a : "-", st.ticks ? b : "-",
           st.ticks ? (double)(st.t_last - st.t_first) / 1e9 : 0.0);
    printf("files: %" PRIu64 ", sections: %" PRIu64 ", size: %s\n", st.files, st.sections, sz);
    printf("ticks: %" PRIu64 ", rows: %" PRIu64 ", values: %" PRIu64 ", entities: %zu\n", st.ticks,
           st.rows, st.values, journal_reader_entity_count(r));
    if (st.values)
        printf("bytes per value: %.3f, bytes per row: %.1f\n", (double)st.bytes / st.values,
               (double)st.bytes / st.rows);
    if (st.damaged_regions || st.torn_files || st.lost_chunks || st.gaps)
        printf("damage: %" PRIu64 " corrupt regions (%" PRIu64 " bytes), %" PRIu64
               " torn tails, %" PRIu64 " chunks lost, %" PRIu64 " segments missing\n",
               st.damaged_regions, st.damaged_bytes, st.torn_files, st.lost_chunks, st.gaps);
    printf("entities:\n  %-5s %-9s %-8s %-24s %-8s %-36s %s\n", "id", "scope", "vmid", "name",
           "metrics", "uuid", "key");
    for (size_t i = 0; i < journal_reader_entity_count(r); i++) {
        const struct journal_entity_info *e = journal_reader_entity(r, (uint32_t)i);
        printf("  %-5u %-9s %-8s %-24s %-8u %-36s %s\n", e->id, catalogue_scope_name(e->desc.scope),
               e->desc.vmid ? e->desc.vmid : "-", e->desc.name ? e->desc.name : "-",
               e->desc.nmetrics, e->desc.uuid ? e->desc.uuid : "-", e->desc.key);
    }
    journal_reader_free(r);
    return rc < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ verify */

/* Cuts damage at the end of one file. Returns bytes cut, or -errno. */
static int64_t repair_file(const char *path) {
    struct journal_file *f;
    int rc = journal_file_open(&f, path);
    if (rc < 0)
        return rc == -CORE_ETRUNC ? (truncate(path, 0) < 0 ? -errno : 0) : rc;
    struct journal_frame fr;
    struct journal_damage dmg;
    enum journal_step st;
    int64_t cut_at = -1;
    while ((st = journal_file_next(f, &fr, &dmg)) != JOURNAL_STEP_END)
        if (st == JOURNAL_STEP_DAMAGE && dmg.tail)
            cut_at = (int64_t)dmg.offset;
    uint64_t size = journal_file_size(f);
    journal_file_close(f);
    if (cut_at < 0)
        return 0;
    if (truncate(path, cut_at) < 0)
        return -errno;
    return (int64_t)size - cut_at;
}

static int cmd_verify(char **paths, int n, bool repair) {
    struct journal_reader *r = open_reader(paths, n, 0, 0);
    struct journal_item it;
    int rc;
    while ((rc = journal_reader_next(r, &it)) == 1)
        ;
    struct journal_reader_stats st;
    journal_reader_stats(r, &st);
    journal_reader_free(r);
    if (rc < 0) {
        fprintf(stderr, "%s: read error: %s\n", prog, core_strerror(rc));
        return 1;
    }
    bool corrupt = st.damaged_regions || st.lost_chunks || st.gaps;
    bool torn = st.torn_files > 0;
    printf("%" PRIu64 " files, %" PRIu64 " frames, %" PRIu64 " ticks, %" PRIu64 " values: %s\n",
           st.files, st.frames, st.ticks, st.values,
           corrupt ? "CORRUPT"
           : torn  ? "TORN TAIL"
                   : "intact");
    if (corrupt)
        printf("  %" PRIu64 " corrupt regions (%" PRIu64 " bytes skipped), %" PRIu64
               " chunks lost with their blocks, %" PRIu64 " segments missing\n",
               st.damaged_regions, st.damaged_bytes, st.lost_chunks, st.gaps);
    if (torn)
        printf("  %" PRIu64 " torn tails (%" PRIu64 " bytes)\n", st.torn_files, st.torn_bytes);
    if (repair && (torn || corrupt)) {
        int failed = 0;
        for (int i = 0; i < n; i++) {
            char **files;
            uint64_t gaps;
            if (journal_list_files(paths[i], &files, &gaps) < 0)
                continue;
            for (size_t k = 0; files[k]; k++) {
                int64_t cut = repair_file(files[k]);
                if (cut < 0) {
                    fprintf(stderr, "%s: %s: cannot repair: %s\n", prog, files[k],
                            core_strerror((int)cut));
                    failed = 1;
                } else if (cut > 0) {
                    printf("  repaired %s: cut %" PRId64 " bytes at its end\n", files[k], cut);
                }
            }
            journal_paths_free(files);
        }
        if (failed)
            return 1;
        if (!corrupt)
            return 0;
    }
    return corrupt ? EXIT_CORRUPT : torn ? EXIT_TORN : 0;
}

/* ------------------------------------------------------------------ dump */

enum dump_format { DUMP_CSV, DUMP_JSON, DUMP_INFLUX };

struct dump_opts {
    enum dump_format format;
    const char *fields, *scopes, *vm;
    bool rate, epoch, follow;
    int64_t begin, end;
};

/* Per reader entity: last values, for rates. */
/* Per entity and slot, the last present value and its tick's time: a counter missing on some
 * ticks (read every Nth tick, or not answered) is derived over the span since its last reading. */
struct last_row {
    bool have;
    uint32_t n;
    struct journal_value *v;
    int64_t *t_real, *t_mono;
};

static bool list_match(const char *list, const char *name) {
    if (!list)
        return true;
    char *dup = xstrdup(list), *save = NULL;
    bool hit = false;
    for (char *tok = strtok_r(dup, ",", &save); tok && !hit; tok = strtok_r(NULL, ",", &save))
        hit = fnmatch(tok, name, 0) == 0;
    free(dup);
    return hit;
}

static bool entity_selected(struct journal_reader *r, const struct journal_entity_info *e,
                            const struct dump_opts *o) {
    if (o->scopes && !list_match(o->scopes, catalogue_scope_name(e->desc.scope)))
        return false;
    if (!o->vm)
        return true;
    for (int depth = 0; e && depth < 8; depth++) {
        const struct journal_entity_desc *d = &e->desc;
        if (d->scope == SCOPE_VM &&
            ((d->name && !strcmp(d->name, o->vm)) || (d->uuid && !strcasecmp(d->uuid, o->vm)) ||
             (d->vmid && !strcmp(d->vmid, o->vm)) || !strcmp(d->key, o->vm)))
            return true;
        e = d->parent == JOURNAL_NO_ENTITY ? NULL : journal_reader_entity(r, d->parent);
    }
    return false;
}

/* CSV field: quoted when it holds a separator, quote or line break (RFC 4180). */
static void csv_str(FILE *out, const char *s) {
    if (!s) {
        return;
    }
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* Line protocol escaping: tag keys/values and measurement escape commas, spaces, equals. */
static void influx_tag(FILE *out, const char *s) {
    for (; *s; s++) {
        if (*s == ',' || *s == ' ' || *s == '=' || *s == '\\')
            fputc('\\', out);
        if (*s == '\n' || *s == '\r')
            fputc(' ', out);
        else
            fputc(*s, out);
    }
}

/* Shortest text that reads back as exactly x (%.17g always would, but prints 0.1 as
 * 0.10000000000000001). */
static void fmt_double(char *buf, size_t n, double x) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

/* Prints one value; returns false when there is nothing to print (missing, first, reset). */
static bool value_text(const struct metric_def *m, const struct journal_value *v,
                       const struct last_row *last, uint32_t slot, int64_t t_real, int64_t t_mono,
                       bool rate, char *buf, size_t n, bool *is_int) {
    *is_int = false;
    if (v->type == JV_MISSING)
        return false;
    if (rate && m->kind == METRIC_COUNTER) {
        double x;
        bool known = last->have && slot < last->n && last->v[slot].type != JV_MISSING;
        if (!known)
            return false; /* first reading of this entity */
        if (rate_derive(m->kind, &last->v[slot], last->t_real[slot], last->t_mono[slot], v, t_real,
                        t_mono, &x) != RATE_OK)
            return false;
        fmt_double(buf, n, x);
        return true;
    }
    if (v->type == JV_REAL) {
        fmt_double(buf, n, v->d);
        return true;
    }
    *is_int = true;
    if (m->kind == METRIC_COUNTER)
        snprintf(buf, n, "%" PRIu64, v->u);
    else
        snprintf(buf, n, "%" PRId64, v->i);
    return true;
}

static int cmd_dump(char **paths, int n, const struct dump_opts *o) {
    struct journal_reader *r = open_reader_opts(paths, n, o->begin, o->end, o->follow);
    if (o->follow) {
        struct sigaction sa = {.sa_handler = on_stop};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    journal_reader_preload_metrics(r);
    size_t nm = journal_reader_metric_count(r);
    /* Columns (CSV): the selected metrics, in the reader's order. */
    uint32_t *cols = xcalloc(nm + 1, sizeof(*cols));
    int32_t *col_of = xcalloc(nm + 1, sizeof(*col_of));
    size_t ncols = 0;
    for (size_t i = 0; i < nm; i++) {
        const struct metric_def *m = journal_reader_metric(r, (uint32_t)i);
        col_of[i] = -1;
        if (list_match(o->fields, m->name) &&
            (!o->scopes || list_match(o->scopes, catalogue_scope_name(m->scope)))) {
            col_of[i] = (int32_t)ncols;
            cols[ncols++] = (uint32_t)i;
        }
    }
    if (o->fields && !ncols) {
        fprintf(stderr, "%s: --fields '%s' matches no metric in these journals\n", prog, o->fields);
        free(cols);
        free(col_of);
        journal_reader_free(r);
        return EXIT_USAGE;
    }
    FILE *out = stdout;
    if (o->format == DUMP_CSV) {
        fputs("time,host,scope,entity,name,vmid,uuid", out);
        for (size_t c = 0; c < ncols; c++) {
            fputc(',', out);
            csv_str(out, journal_reader_metric(r, cols[c])->name);
        }
        fputc('\n', out);
    }
    struct last_row *last = NULL;
    size_t nlast = 0;
    char **cells = xcalloc(ncols + 1, sizeof(*cells));
    for (size_t c = 0; c < ncols; c++)
        cells[c] = xmalloc(48);
    struct journal_item it;
    int rc;
    while ((rc = next_or_wait(r, &it, o->follow)) == 1) {
        if (it.type == JI_GONE && it.entity < nlast)
            last[it.entity].have = false;
        if (it.type != JI_TICK)
            continue;
        char tbuf[40];
        if (o->epoch)
            snprintf(tbuf, sizeof(tbuf), "%" PRId64, it.t_real);
        else
            time_format_iso(it.t_real, tbuf, sizeof(tbuf));
        for (size_t k = 0; k < it.nrows; k++) {
            const struct journal_row *row = &it.rows[k];
            const struct journal_entity_info *e = journal_reader_entity(r, row->entity);
            if (row->entity >= nlast) {
                size_t old = nlast;
                last = xgrow(last, &nlast, row->entity + 1, sizeof(*last));
                memset(last + old, 0, (nlast - old) * sizeof(*last));
            }
            struct last_row *lr = &last[row->entity];
            if (entity_selected(r, e, o)) {
                const struct journal_entity_desc *d = &e->desc;
                bool any = false;
                json_t *obj = NULL, *vals = NULL;
                if (o->format == DUMP_CSV) {
                    for (size_t c = 0; c < ncols; c++)
                        cells[c][0] = 0;
                } else if (o->format == DUMP_JSON) {
                    obj = json_object();
                    vals = json_object();
                }
                bool first_field = true;
                for (uint32_t j = 0; j < row->n; j++) {
                    int32_t c = col_of[row->metric[j]];
                    if (c < 0)
                        continue;
                    const struct metric_def *m = journal_reader_metric(r, row->metric[j]);
                    char buf[48];
                    bool is_int;
                    bool have = value_text(m, &row->value[j], lr, j, it.t_real, it.t_mono, o->rate,
                                           buf, sizeof(buf), &is_int);
                    if (o->format == DUMP_CSV) {
                        if (have)
                            snprintf(cells[c], 48, "%s", buf);
                    } else if (o->format == DUMP_JSON) {
                        json_t *jv = json_null();
                        if (have) {
                            const struct journal_value *v = &row->value[j];
                            if (is_int && m->kind == METRIC_COUNTER && v->u > INT64_MAX)
                                jv = json_real((double)v->u); /* no unsigned in jansson */
                            else if (is_int && m->kind == METRIC_COUNTER)
                                jv = json_integer((json_int_t)v->u);
                            else if (is_int)
                                jv = json_integer((json_int_t)v->i);
                            else
                                jv = json_real(strtod(buf, NULL));
                        }
                        json_object_set_new(vals, m->name, jv);
                    } else if (have) {
                        if (first_field) {
                            influx_tag(out, catalogue_scope_name(d->scope));
                            fputs(",host=", out);
                            influx_tag(out, e->host);
                            fputs(",entity=", out);
                            influx_tag(out, d->key);
                            if (d->name && *d->name) {
                                fputs(",name=", out);
                                influx_tag(out, d->name);
                            }
                            if (d->vmid && *d->vmid) {
                                fputs(",vmid=", out);
                                influx_tag(out, d->vmid);
                            }
                            fputc(' ', out);
                        } else {
                            fputc(',', out);
                        }
                        influx_tag(out, m->name);
                        fprintf(out, "=%s%s", buf, is_int ? "i" : "");
                        first_field = false;
                    }
                    any = any || have;
                }
                if (o->format == DUMP_CSV) {
                    fputs(tbuf, out);
                    fputc(',', out);
                    csv_str(out, e->host);
                    fprintf(out, ",%s,", catalogue_scope_name(d->scope));
                    csv_str(out, d->key);
                    fputc(',', out);
                    csv_str(out, d->name);
                    fputc(',', out);
                    csv_str(out, d->vmid);
                    fputc(',', out);
                    csv_str(out, d->uuid);
                    for (size_t c = 0; c < ncols; c++) {
                        fputc(',', out);
                        fputs(cells[c], out);
                    }
                    fputc('\n', out);
                } else if (o->format == DUMP_JSON) {
                    json_object_set_new(obj, "time",
                                        o->epoch ? json_integer(it.t_real) : json_string(tbuf));
                    json_object_set_new(obj, "host", json_string(e->host));
                    json_object_set_new(obj, "scope", json_string(catalogue_scope_name(d->scope)));
                    json_object_set_new(obj, "entity", json_string(d->key));
                    if (d->name)
                        json_object_set_new(obj, "name", json_string(d->name));
                    if (d->vmid)
                        json_object_set_new(obj, "vmid", json_string(d->vmid));
                    if (d->uuid)
                        json_object_set_new(obj, "uuid", json_string(d->uuid));
                    json_object_set_new(obj, "values", vals);
                    char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
                    if (line) {
                        fputs(line, out);
                        fputc('\n', out);
                        free(line);
                    }
                    json_decref(obj);
                } else if (any) {
                    fprintf(out, " %" PRId64 "\n", it.t_real);
                }
            }
            /* Remember this row's present values for the next rate (a new life or a wider row
             * starts afresh). */
            if (!lr->have || lr->n != row->n) {
                free(lr->v);
                free(lr->t_real);
                free(lr->t_mono);
                lr->v = xcalloc(row->n ? row->n : 1, sizeof(*lr->v));
                lr->t_real = xcalloc(row->n ? row->n : 1, sizeof(*lr->t_real));
                lr->t_mono = xcalloc(row->n ? row->n : 1, sizeof(*lr->t_mono));
                lr->n = row->n;
            }
            for (uint32_t j = 0; j < row->n; j++) {
                if (row->value[j].type != JV_MISSING) {
                    lr->v[j] = row->value[j];
                    lr->t_real[j] = it.t_real;
                    lr->t_mono[j] = it.t_mono;
                }
            }
            lr->have = true;
        }
        if (ferror(out))
            break;
    }
    int ret = 0;
    if (fflush(out) != 0 || ferror(out)) {
        if (errno != EPIPE)
            fprintf(stderr, "%s: write error: %s\n", prog, strerror(errno));
        ret = 1;
    } else if (rc < 0) {
        fprintf(stderr, "%s: read error: %s\n", prog, core_strerror(rc));
        ret = 1;
    }
    for (size_t i = 0; i < nlast; i++) {
        free(last[i].v);
        free(last[i].t_real);
        free(last[i].t_mono);
    }
    free(last);
    for (size_t c = 0; c < ncols; c++)
        free(cells[c]);
    free(cells);
    free(cols);
    free(col_of);
    journal_reader_free(r);
    return ret;
}

/* ------------------------------------------------------------------ cat */

static int cmd_cat(char **paths, int n, const char *outpath, bool compress, int64_t begin,
                   int64_t end) {
    struct journal_reader *r = open_reader(paths, n, begin, end);
    journal_reader_preload_metrics(r);
    size_t nm = journal_reader_metric_count(r);
    struct metric_def *defs = xcalloc(nm + 1, sizeof(*defs));
    for (size_t i = 0; i < nm; i++)
        defs[i] = *journal_reader_metric(r, (uint32_t)i);
    struct journal_writer *w;
    struct journal_writer_opts wo = {.path = outpath,
                                     .chunk_ticks = 64,
                                     .compress = compress,
                                     .sync_ns = -1,
                                     .writer = "proxjournal cat " PROXTOP_VERSION,
                                     .metrics = defs,
                                     .nmetrics = nm};
    int rc = journal_writer_open(&w, &wo, NULL);
    if (rc < 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, outpath, core_strerror(rc));
        free(defs);
        journal_reader_free(r);
        return 1;
    }
    uint32_t *wid = NULL;
    size_t nwid = 0;
    struct journal_item it;
    int ret = 0;
    while ((rc = journal_reader_next(r, &it)) == 1) {
        if (it.type == JI_ENTITY) {
            const struct journal_entity_info *e = journal_reader_entity(r, it.entity);
            if (it.entity >= nwid) {
                size_t old = nwid;
                wid = xgrow(wid, &nwid, it.entity + 1, sizeof(*wid));
                for (size_t i = old; i < nwid; i++)
                    wid[i] = JOURNAL_NO_ENTITY;
            }
            struct journal_entity_desc d = e->desc;
            char key[1024];
            if (n > 1) { /* keys are unique per host; a merge of hosts qualifies them */
                snprintf(key, sizeof(key), "%s/%s", e->host, e->desc.key);
                d.key = key;
            }
            d.parent = d.parent != JOURNAL_NO_ENTITY && d.parent < nwid ? wid[d.parent]
                                                                        : JOURNAL_NO_ENTITY;
            rc = journal_writer_entity(w, &d, &wid[it.entity]);
        } else if (it.type == JI_GONE) {
            if (it.entity < nwid && wid[it.entity] != JOURNAL_NO_ENTITY) {
                rc = journal_writer_gone(w, wid[it.entity]);
                wid[it.entity] = JOURNAL_NO_ENTITY;
            }
        } else if (it.type == JI_EVENT) {
            rc = journal_writer_event(w, it.t_real, it.event_kind, it.event_text);
        } else if (it.type == JI_TICK) {
            rc = journal_writer_tick_begin(w, it.t_real, it.t_mono);
            for (size_t k = 0; rc == 0 && k < it.nrows; k++) {
                const struct journal_row *row = &it.rows[k];
                if (row->entity < nwid && wid[row->entity] != JOURNAL_NO_ENTITY)
                    rc = journal_writer_row(w, wid[row->entity], row->value, row->n);
            }
            int rc2 = journal_writer_tick_end(w);
            if (rc == 0)
                rc = rc2;
        } else {
            rc = 0;
        }
        if (rc < 0) {
            fprintf(stderr, "%s: %s: %s\n", prog, outpath, core_strerror(rc));
            ret = 1;
            break;
        }
    }
    if (rc < 0 && !ret) {
        fprintf(stderr, "%s: read error: %s\n", prog, core_strerror(rc));
        ret = 1;
    }
    rc = journal_writer_close(w);
    if (rc < 0 && !ret) {
        fprintf(stderr, "%s: %s: %s\n", prog, outpath, core_strerror(rc));
        ret = 1;
    }
    free(wid);
    free(defs);
    journal_reader_free(r);
    return ret;
}

/* ------------------------------------------------------------------ main */

static int64_t parse_time_opt(const char *opt, const char *arg) {
    int64_t t;
    if (time_parse_point(arg, time_now_ns(), &t) < 0) {
        fprintf(stderr, "%s: %s: cannot parse time '%s' (see '%s --help')\n", prog, opt, arg, prog);
        exit(EXIT_USAGE);
    }
    return t;
}

/* "--name" of the option whose getopt value is val, or "-c" for a short one. */
static const char *opt_name(const struct option *longopts, int val) {
    static char buf[64];
    for (; longopts->name; longopts++)
        if (longopts->val == val && val >= 256) {
            snprintf(buf, sizeof(buf), "--%s", longopts->name);
            return buf;
        }
    snprintf(buf, sizeof(buf), "-%c", val > 0 && val < 256 ? val : '?');
    return buf;
}

int main(int argc, char **argv) {
    cli_set_program(prog);
    enum {
        OPT_REPAIR = 256,
        OPT_FORMAT,
        OPT_FIELDS,
        OPT_SCOPE,
        OPT_VM,
        OPT_BEGIN,
        OPT_END,
        OPT_RATE,
        OPT_EPOCH,
        OPT_FOLLOW,
        OPT_LIST,
        OPT_TSV,
        OPT_NOCOMP
    };
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'v'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"repair", no_argument, NULL, OPT_REPAIR},
                                             {"format", required_argument, NULL, OPT_FORMAT},
                                             {"fields", required_argument, NULL, OPT_FIELDS},
                                             {"scope", required_argument, NULL, OPT_SCOPE},
                                             {"vm", required_argument, NULL, OPT_VM},
                                             {"begin", required_argument, NULL, OPT_BEGIN},
                                             {"end", required_argument, NULL, OPT_END},
                                             {"rate", no_argument, NULL, OPT_RATE},
                                             {"epoch", no_argument, NULL, OPT_EPOCH},
                                             {"follow", no_argument, NULL, OPT_FOLLOW},
                                             {"list-metrics", no_argument, NULL, OPT_LIST},
                                             {"tsv", no_argument, NULL, OPT_TSV},
                                             {"output", required_argument, NULL, 'o'},
                                             {"no-compress", no_argument, NULL, OPT_NOCOMP},
                                             {NULL, 0, NULL, 0}};
    struct dump_opts d = {.format = DUMP_CSV};
    bool repair = false, list = false, tsv = false, compress = true;
    const char *outpath = NULL;
    int c;
    opterr = 0;
    int li = 0;
    while ((c = getopt_long(argc, argv, "+:hvqo:", longopts, &li)) != -1) {
        switch (c) {
        case 'h':
            print_help();
            return 0;
        case 'o':
            cli_usage_error("option '-o' goes after the command");
        case 'v':
            printf("proxjournal %s (journal format %d.%d)\n", PROXTOP_VERSION, 1, 0);
            return 0;
        case 'q':
            quiet = true;
            break;
        case OPT_LIST:
            list = true;
            break;
        case OPT_TSV:
            tsv = true;
            break;
        case ':':
            cli_usage_error("option '%s' needs an argument", opt_name(longopts, optopt));
        case '?':
            cli_usage_error("unknown option '%s'", argv[optind - 1]);
        default: /* an option of a command, given before it */
            cli_usage_error("option '--%s' goes after the command", longopts[li].name);
        }
    }
    if (list) {
        catalogue_print(stdout, tsv);
        return 0;
    }
    if (optind >= argc)
        cli_usage_error("missing command: info, verify, dump or cat");
    const char *cmd = argv[optind];
    if (strcmp(cmd, "info") && strcmp(cmd, "verify") && strcmp(cmd, "dump") && strcmp(cmd, "cat"))
        cli_usage_error("unknown command '%s'", cmd);
    bool is_dump = !strcmp(cmd, "dump"), is_cat = !strcmp(cmd, "cat");
    /* The command's own arguments, parsed afresh (optind = 0 resets getopt, whose '+' mode
     * would otherwise stick): options may come before or after the paths. */
    argc -= optind;
    argv += optind;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":hqo:", longopts, &li)) != -1) {
        switch (c) {
        case 'h':
            print_help();
            return 0;
        case 'q':
            quiet = true;
            break;
        case OPT_REPAIR:
            if (strcmp(cmd, "verify"))
                cli_usage_error("--repair belongs to 'verify'");
            repair = true;
            break;
        case OPT_FORMAT:
            if (!is_dump)
                cli_usage_error("--format belongs to 'dump'");
            if (!strcmp(optarg, "csv"))
                d.format = DUMP_CSV;
            else if (!strcmp(optarg, "json"))
                d.format = DUMP_JSON;
            else if (!strcmp(optarg, "influx"))
                d.format = DUMP_INFLUX;
            else
                cli_usage_error("--format: unknown format '%s' (csv, json, influx)", optarg);
            break;
        case OPT_FIELDS:
        case OPT_SCOPE:
        case OPT_VM:
        case OPT_RATE:
        case OPT_EPOCH:
        case OPT_FOLLOW:
            if (!is_dump)
                cli_usage_error("option '--%s' belongs to 'dump'", longopts[li].name);
            if (c == OPT_FIELDS)
                d.fields = optarg;
            else if (c == OPT_VM)
                d.vm = optarg;
            else if (c == OPT_RATE)
                d.rate = true;
            else if (c == OPT_EPOCH)
                d.epoch = true;
            else if (c == OPT_FOLLOW)
                d.follow = true;
            else {
                char *dup = xstrdup(optarg), *save = NULL;
                for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                    enum metric_scope sc;
                    if (catalogue_scope_parse(t, &sc) < 0)
                        cli_usage_error("--scope: unknown scope '%s'", t);
                }
                free(dup);
                d.scopes = optarg;
            }
            break;
        case OPT_BEGIN:
        case OPT_END:
            if (!is_dump && !is_cat)
                cli_usage_error("option '--%s' belongs to 'dump' and 'cat'", longopts[li].name);
            if (c == OPT_BEGIN)
                d.begin = parse_time_opt("--begin", optarg);
            else
                d.end = parse_time_opt("--end", optarg);
            break;
        case 'o':
            if (!is_cat)
                cli_usage_error("-o belongs to 'cat'");
            outpath = optarg;
            break;
        case OPT_NOCOMP:
            if (!is_cat)
                cli_usage_error("--no-compress belongs to 'cat'");
            compress = false;
            break;
        case ':':
            cli_usage_error("option '%s' needs an argument", opt_name(longopts, optopt));
        default:
            cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        cli_usage_error("'%s' needs at least one journal PATH", cmd);
    if (d.begin && d.end && d.end <= d.begin)
        cli_usage_error("--end must be after --begin");
    if (d.follow && argc - optind != 1)
        cli_usage_error("--follow takes exactly one journal PATH");
    char **paths = argv + optind;
    int n = argc - optind;
    if (!strcmp(cmd, "info"))
        return cmd_info(paths, n);
    if (!strcmp(cmd, "verify"))
        return cmd_verify(paths, n, repair);
    if (is_dump)
        return cmd_dump(paths, n, &d);
    if (!outpath)
        cli_usage_error("'cat' needs -o OUT");
    return cmd_cat(paths, n, outpath, compress, d.begin, d.end);
}
