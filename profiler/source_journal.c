/* source_journal.c: journals as a profiler source, and the source dispatch.
 *
 * Every tick's rows are grouped per VM (the VM entity and its vcpu/disk/nic children), derived
 * through derive.c (rates by rate_derive) and handed over as one row per VM.
 * SPDX-License-Identifier: MIT */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core_error.h"
#include "journal_format.h"
#include "journal_reader.h"

bool source_is_journal(const char *path) {
    struct stat st;
    if (stat(path, &st) < 0) {
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        return true;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    char m[JOURNAL_MAGIC_LEN];
    ssize_t n = read(fd, m, sizeof m);
    close(fd);
    return n == JOURNAL_MAGIC_LEN && memcmp(m, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) == 0;
}

static bool glob_one(const char *pat, size_t len, const char *s) {
    char buf[256];
    if (!s || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, pat, len);
    buf[len] = '\0';
    return fnmatch(buf, s, 0) == 0;
}

bool source_vm_match(const char *filter, const struct source_vm *vm) {
    if (!filter || !*filter) {
        return true;
    }
    const char *p = filter;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (glob_one(p, len, vm->name) || glob_one(p, len, vm->key) || glob_one(p, len, vm->uuid) ||
            glob_one(p, len, vm->vmid)) {
            return true;
        }
        p += len;
        if (*p == ',') {
            p++;
        }
    }
    return false;
}

/* ---- journal ---------------------------------------------------------------------------- */

struct jent {
    int32_t vm; /* source VM index, -1 = not profiled */
    struct derive_ent *de;
};

struct jvm {
    char *key;
    double vcpus, mem;
    int touched;
    double *acc;
};

struct jrun {
    const struct source_opts *o;
    struct derive *d;
    const struct source_cb *cb;
    struct journal_reader *r;
    struct jent *ent;
    size_t nent;
    struct jvm *vm;
    size_t nvm;
    uint32_t *touched;
    double *out;
    size_t nbound;
    uint64_t warnings;
};

static void warn_cb(void *ctx, const char *msg) {
    struct jrun *j = ctx;
    if (j->warnings++ < 5) {
        fprintf(stderr, "proxprofiler: warning: %s\n", msg);
    }
}

static int rebind(struct jrun *j) {
    size_t n = journal_reader_metric_count(j->r);
    if (n == j->nbound) {
        return 0;
    }
    const struct metric_def **defs = malloc((n ? n : 1) * sizeof *defs);
    if (!defs) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        defs[i] = journal_reader_metric(j->r, (uint32_t)i);
    }
    int rc = derive_bind(j->d, defs, n);
    free(defs);
    j->nbound = n;
    return rc;
}

static int grow_ent(struct jrun *j, uint32_t id) {
    if (id < j->nent) {
        return 0;
    }
    size_t n = (size_t)id + 1;
    struct jent *g = realloc(j->ent, n * sizeof *g);
    if (!g) {
        return -ENOMEM;
    }
    for (size_t i = j->nent; i < n; i++) {
        g[i].vm = -1;
        g[i].de = NULL;
    }
    j->ent = g;
    j->nent = n;
    return 0;
}

static int on_entity(struct jrun *j, uint32_t id) {
    const struct journal_entity_info *info = journal_reader_entity(j->r, id);
    if (!info) {
        return 0;
    }
    int rc = grow_ent(j, id);
    if (rc < 0) {
        return rc;
    }
    struct jent *e = &j->ent[id];
    if (!e->de) {
        e->de = derive_ent_new(j->d);
        if (!e->de) {
            return -ENOMEM;
        }
    } else {
        derive_ent_reset(j->d, e->de);
    }
    const struct journal_entity_desc *d = &info->desc;
    if (d->scope == SCOPE_VM) {
        char key[512];
        snprintf(key, sizeof key, "%s/%s", info->host ? info->host : "", d->key ? d->key : "");
        struct source_vm sv = {.key = key,
                               .name = d->name ? d->name : d->key,
                               .uuid = d->uuid,
                               .vmid = d->vmid,
                               .host = info->host,
                               .vcpus = d->vcpus > 0 ? d->vcpus : -1,
                               .mem_bytes = d->mem_bytes > 0 ? (double)d->mem_bytes : -1};
        if (e->vm >= 0) {
            j->vm[e->vm].vcpus = sv.vcpus;
            j->vm[e->vm].mem = sv.mem_bytes;
            j->cb->gap(j->cb->ctx, (uint32_t)e->vm);
            return j->cb->vm(j->cb->ctx, (uint32_t)e->vm, &sv);
        }
        if (!source_vm_match(j->o->vm_filter, &sv)) {
            return 0;
        }
        struct jvm *g = realloc(j->vm, (j->nvm + 1) * sizeof *g);
        if (!g) {
            return -ENOMEM;
        }
        j->vm = g;
        uint32_t *t = realloc(j->touched, (j->nvm + 1) * sizeof *t);
        if (!t) {
            return -ENOMEM;
        }
        j->touched = t;
        struct jvm *v = &j->vm[j->nvm];
        memset(v, 0, sizeof *v);
        v->key = strdup(key);
        v->acc = malloc(derive_acc_size(j->d));
        v->vcpus = sv.vcpus;
        v->mem = sv.mem_bytes;
        if (!v->key || !v->acc) {
            free(v->key);
            free(v->acc);
            return -ENOMEM;
        }
        e->vm = (int32_t)j->nvm++;
        return j->cb->vm(j->cb->ctx, (uint32_t)e->vm, &sv);
    }
    if ((d->scope == SCOPE_VCPU || d->scope == SCOPE_VM_DISK || d->scope == SCOPE_VM_NIC) &&
        d->parent != JOURNAL_NO_ENTITY && d->parent < j->nent) {
        e->vm = j->ent[d->parent].vm;
    }
    return 0;
}

static void on_tick(struct jrun *j, const struct journal_item *it, bool emit) {
    size_t nt = 0;
    for (size_t k = 0; k < it->nrows; k++) {
        const struct journal_row *row = &it->rows[k];
        if (row->entity >= j->nent) {
            continue;
        }
        struct jent *e = &j->ent[row->entity];
        if (e->vm < 0) {
            continue;
        }
        struct jvm *v = &j->vm[e->vm];
        if (!v->touched) {
            v->touched = 1;
            derive_tick_begin(j->d, v->acc);
            j->touched[nt++] = (uint32_t)e->vm;
        }
        derive_row(j->d, v->acc, e->de, row->metric, row->value, row->n, it->t_real, it->t_mono);
    }
    int64_t t = it->t_real / 1000000000;
    for (size_t k = 0; k < nt; k++) {
        struct jvm *v = &j->vm[j->touched[k]];
        v->touched = 0;
        if (emit) {
            derive_tick_end(j->d, v->acc, v->vcpus, j->out);
            j->cb->row(j->cb->ctx, j->touched[k], t, j->out, v->vcpus, v->mem);
        }
    }
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool all_journals(const struct source_opts *o);

static void jrun_close(struct jrun *j) {
    journal_reader_free(j->r);
    for (size_t i = 0; i < j->nent; i++) {
        free(j->ent[i].de);
    }
    for (size_t i = 0; i < j->nvm; i++) {
        free(j->vm[i].key);
        free(j->vm[i].acc);
    }
    free(j->ent);
    free(j->vm);
    free(j->touched);
    free(j->out);
}

static int jrun_open(struct jrun *j, const struct source_opts *o, struct derive *d,
                     const struct source_cb *cb, bool follow, char *err, size_t errlen) {
    memset(j, 0, sizeof *j);
    j->o = o;
    j->d = d;
    j->cb = cb;
    struct journal_reader_opts ro = {.begin_ns = o->begin_ns,
                                     .end_ns = o->end_ns,
                                     .warn = warn_cb,
                                     .warn_ctx = j,
                                     .follow = follow};
    const char *bad = NULL;
    int rc = journal_reader_open(&j->r, o->paths, o->npaths, &ro, &bad);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", bad ? bad : o->paths[0], core_strerror(rc));
        return rc;
    }
    journal_reader_preload_metrics(j->r);
    j->out = malloc((derive_count(d) + 1) * sizeof *j->out);
    if (!j->out || rebind(j) < 0) {
        snprintf(err, errlen, "out of memory");
        jrun_close(j);
        return -ENOMEM;
    }
    return 0;
}

/* Reads until the reader has nothing more (the end, or in follow mode what exists now). */
static int jrun_read(struct jrun *j, char *err, size_t errlen) {
    const struct source_opts *o = j->o;
    struct journal_item it;
    uint64_t ticks = 0;
    double last_progress = now_s();
    int rc;
    while ((rc = journal_reader_next(j->r, &it)) == 1) {
        switch (it.type) {
        case JI_SECTION:
            rc = rebind(j);
            break;
        case JI_ENTITY:
            if ((rc = rebind(j)) == 0) {
                rc = on_entity(j, it.entity);
            }
            break;
        case JI_GONE:
            if (it.entity < j->nent && j->ent[it.entity].de) {
                derive_ent_reset(j->d, j->ent[it.entity].de);
                if (j->ent[it.entity].vm >= 0 &&
                    journal_reader_entity(j->r, it.entity)->desc.scope == SCOPE_VM) {
                    j->cb->gap(j->cb->ctx, (uint32_t)j->ent[it.entity].vm);
                }
            }
            rc = 0;
            break;
        case JI_TICK:
            on_tick(j, &it, it.t_real > o->prime_until_ns);
            if (o->last_ns) {
                *o->last_ns = it.t_real;
            }
            if (o->progress && (++ticks & 1023) == 0 && now_s() - last_progress > 0.5) {
                struct journal_reader_stats st;
                journal_reader_stats(j->r, &st);
                fprintf(stderr, "\rproxprofiler: %s%.1f MiB, %llu ticks ",
                        o->progress_tag ? o->progress_tag : "", (double)st.bytes / 1048576.0,
                        (unsigned long long)ticks);
                last_progress = now_s();
            }
            rc = 0;
            break;
        default:
            rc = 0;
        }
        if (rc < 0) {
            break;
        }
    }
    if (o->progress && ticks >= 1024) {
        fprintf(stderr, "\r%60s\r", "");
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", o->paths[0], core_strerror(rc));
        return rc;
    }
    return 0;
}

static int run_journal(const struct source_opts *o, struct derive *d, const struct source_cb *cb,
                       char *err, size_t errlen) {
    struct jrun j;
    int rc = jrun_open(&j, o, d, cb, false, err, errlen);
    if (rc < 0) {
        return rc;
    }
    rc = jrun_read(&j, err, errlen);
    jrun_close(&j);
    return rc;
}

struct source_live {
    struct source_opts o;
    struct jrun j;
};

int source_live_open(struct source_live **out, const struct source_opts *o, struct derive *d,
                     const struct source_cb *cb, char *err, size_t errlen) {
    *out = NULL;
    if (o->npaths != 1 || !all_journals(o)) {
        snprintf(err, errlen, "--follow: give exactly one journal (file or directory)");
        return -CORE_ERANGE;
    }
    struct source_live *l = calloc(1, sizeof *l);
    if (!l) {
        return -ENOMEM;
    }
    l->o = *o;
    l->o.progress = false;
    int rc = jrun_open(&l->j, &l->o, d, cb, true, err, errlen);
    if (rc < 0) {
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

int source_live_poll(struct source_live *l, char *err, size_t errlen) {
    return jrun_read(&l->j, err, errlen);
}

void source_live_close(struct source_live *l) {
    if (l) {
        jrun_close(&l->j);
        free(l);
    }
}

static bool all_journals(const struct source_opts *o) {
    if (o->format == SRC_JOURNAL) {
        return true;
    }
    if (o->format != SRC_AUTO) {
        return false;
    }
    for (size_t i = 0; i < o->npaths; i++) {
        if (!source_is_journal(o->paths[i])) {
            return false;
        }
    }
    return true;
}

static int check_paths(const struct source_opts *o, char *err, size_t errlen) {
    if (o->npaths == 0) {
        snprintf(err, errlen, "no input given");
        return -CORE_ERANGE;
    }
    for (size_t i = 0; i < o->npaths; i++) {
        if (strcmp(o->paths[i], "-") != 0 && access(o->paths[i], R_OK) < 0) {
            int e = errno;
            snprintf(err, errlen, "%s: %s", o->paths[i], strerror(e));
            return -e;
        }
    }
    return 0;
}

int source_run(const struct source_opts *o, struct derive *d, const struct source_cb *cb, char *err,
               size_t errlen) {
    int rc = check_paths(o, err, errlen);
    if (rc < 0) {
        return rc;
    }
    if (all_journals(o)) {
        return run_journal(o, d, cb, err, errlen);
    }
    for (size_t i = 0; i < o->npaths; i++) {
        if (source_is_journal(o->paths[i])) {
            snprintf(err, errlen, "%s: journals and CSV files cannot be mixed in one run",
                     o->paths[i]);
            return -CORE_ERANGE;
        }
        rc = source_run_csv(o, o->paths[i], (uint32_t)i, d, cb, err, errlen);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

struct metrics_priv {
    struct metric_def *defs;
    size_t n;
};

int source_metrics(const struct source_opts *o, struct source_metrics *out, char *err,
                   size_t errlen) {
    memset(out, 0, sizeof *out);
    int rc = check_paths(o, err, errlen);
    if (rc < 0) {
        return rc;
    }
    struct metrics_priv *mp = calloc(1, sizeof *mp);
    if (!mp) {
        return -ENOMEM;
    }
    out->priv = mp;
    if (all_journals(o)) {
        struct journal_reader *r;
        const char *bad = NULL;
        rc = journal_reader_open(&r, o->paths, o->npaths, NULL, &bad);
        if (rc < 0) {
            snprintf(err, errlen, "%s: %s", bad ? bad : o->paths[0], core_strerror(rc));
            return rc;
        }
        journal_reader_preload_metrics(r);
        size_t n = journal_reader_metric_count(r);
        mp->defs = calloc(n ? n : 1, sizeof *mp->defs);
        if (!mp->defs) {
            journal_reader_free(r);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            const struct metric_def *m = journal_reader_metric(r, (uint32_t)i);
            mp->defs[i] = *m;
            mp->defs[i].name = strdup(m->name ? m->name : "");
            mp->defs[i].unit = m->unit && *m->unit ? strdup(m->unit) : NULL;
            mp->defs[i].collector = mp->defs[i].source = mp->defs[i].meaning = NULL;
            mp->defs[i].display = NULL;
            mp->n++;
        }
        journal_reader_free(r);
    } else {
        for (size_t i = 0; i < o->npaths; i++) {
            if (source_is_journal(o->paths[i])) {
                snprintf(err, errlen, "%s: journals and CSV files cannot be mixed in one run",
                         o->paths[i]);
                return -CORE_ERANGE;
            }
        }
        struct metric_def *defs;
        size_t n;
        rc = source_csv_metrics(o, o->paths[0], &defs, &n, err, errlen);
        if (rc < 0) {
            return rc;
        }
        mp->defs = calloc(n ? n : 1, sizeof *mp->defs);
        if (!mp->defs) {
            source_csv_defs_free(defs, n);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            mp->defs[i] = defs[i];
            mp->defs[i].name = strdup(defs[i].name);
            mp->defs[i].unit = defs[i].unit && *defs[i].unit ? strdup(defs[i].unit) : NULL;
            mp->n++;
        }
        source_csv_defs_free(defs, n);
    }
    out->defs = mp->defs;
    out->n = mp->n;
    return 0;
}

void source_metrics_free(struct source_metrics *m) {
    struct metrics_priv *mp = m->priv;
    if (!mp) {
        return;
    }
    for (size_t i = 0; i < mp->n; i++) {
        free((char *)(uintptr_t)mp->defs[i].name);
        free((char *)(uintptr_t)mp->defs[i].unit);
    }
    free(mp->defs);
    free(mp);
    m->priv = NULL;
}
