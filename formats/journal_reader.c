/* journal_reader.c: decodes journals (FORMAT.md) into time-ordered items, merging sources.
 *
 * Layers: journal_file walks frames and reports damage; a source walks the files of one input
 * path, decodes sections and chunks (zstd, delta coding) and yields items one at a time; the
 * reader keeps one head item per source and returns the earliest. Entity and metric ids are
 * mapped from each section's own numbering to the reader's.
 * SPDX-License-Identifier: MIT */
#include "journal_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zstd.h>

#include "core_error.h"
#include "journal_file.h"
#include "journal_format.h"
#include "mpcursor.h"
#include "strmap.h"
#include "xalloc.h"

#define MAX_SECTION_ENTITIES (1u << 20) /* defensive bound on entity ids in one section */
#define MAX_DECODED_CHUNK    (256u << 20)

struct rmetric {
    struct metric_def def;
    char *name, *unit;
};

struct rentity {
    struct journal_entity_info info;
    char *key, *uuid, *name, *vmid, *host;
    uint32_t *metrics;
    struct journal_attr *attrs;
    char *attr_store; /* keys and values, NUL-separated */
};

/* A section's entity slot: how its samples decode. */
struct sentity {
    bool mapped;
    bool seen; /* defined in the current key chunk's snapshot */
    uint32_t rid;
    uint32_t n;
    uint32_t *metric;
    uint8_t *is_real;
    uint64_t *prev;
    uint8_t *has_prev;
};

struct source {
    uint32_t index;
    char *path;
    char **files;
    size_t nfiles, fi;
    struct journal_file *f;
    uint64_t pending_seek; /* 0 = none */
    bool started;

    bool have_section;
    uint32_t section_len, section_crc; /* identify the header in force (and its backup copy) */
    struct journal_section_info info;
    char *writer, *hostname, *machine_id, *compression, *file_path;
    uint32_t *mmap_ids;
    size_t nmmap;
    struct sentity *ents;
    size_t nents;

    bool block_ok;
    bool key_chunk;     /* the chunk being decoded is a key chunk */
    bool snapshot_open; /* key chunk: no tick decoded yet */
    uint16_t expect_seq;
    int64_t tick_real, tick_mono;
    bool have_mono;
    int64_t last_t;
    ZSTD_DCtx *dz;
    unsigned char *dec;
    size_t deccap;
    struct mpcursor rc;
    bool chunk_active;
    uint64_t chunk_off;

    uint32_t *gq;
    size_t ngq, capgq, gqi;

    struct journal_row *rows;
    size_t caprows;
    struct journal_value *vals;
    size_t capvals;
    uint32_t *rowoff;
    size_t caprowoff;
    char *ev_kind, *ev_text;

    bool has_head, done;
    struct journal_item head;
};

struct journal_reader {
    struct journal_reader_opts o;
    struct source *src;
    size_t nsrc;
    struct rmetric *metrics;
    size_t nmetrics, capmetrics;
    struct metric_def *mdefs; /* contiguous copy for journal_reader_metric */
    struct strmap metric_by_name;
    struct rentity **ents;
    size_t nents, capents;
    struct strmap entity_by_key;
    struct journal_reader_stats st;
    char msg[1024];
};

static void warnf(struct journal_reader *r, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);

static void warnf(struct journal_reader *r, const char *fmt, ...) {
    if (!r->o.warn)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    r->o.warn(r->o.warn_ctx, r->msg);
}

static char *dupn(const char *s, uint32_t n) {
    char *d = xmalloc((size_t)n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* ---------------------------------------------------------------- metrics */

static uint32_t metric_intern(struct journal_reader *r, const char *name, uint32_t nlen,
                              const char *unit, uint32_t ulen, enum metric_kind kind,
                              enum metric_scope scope, enum metric_type type) {
    uint32_t id;
    if (strmap_get(&r->metric_by_name, name, nlen, &id) == 0)
        return id;
    r->metrics = xgrow(r->metrics, &r->capmetrics, r->nmetrics + 1, sizeof(*r->metrics));
    struct rmetric *m = &r->metrics[r->nmetrics];
    memset(m, 0, sizeof(*m));
    m->name = dupn(name, nlen);
    m->unit = dupn(unit, ulen);
    int cat = catalogue_find(m->name);
    if (cat >= 0) {
        size_t n;
        m->def = catalogue_all(&n)[cat];
    } else {
        m->def.collector = "";
        m->def.source = "";
        m->def.meaning = "";
        m->def.display = "";
    }
    m->def.name = m->name;
    m->def.unit = m->unit;
    m->def.kind = kind;
    m->def.scope = scope;
    m->def.type = type;
    id = (uint32_t)r->nmetrics++;
    strmap_put(&r->metric_by_name, name, nlen, id);
    r->mdefs = xrealloc(r->mdefs, r->nmetrics * sizeof(*r->mdefs));
    for (size_t i = 0; i < r->nmetrics; i++)
        r->mdefs[i] = r->metrics[i].def;
    return id;
}

const struct metric_def *journal_reader_metric(const struct journal_reader *r, uint32_t id) {
    return id < r->nmetrics ? &r->mdefs[id] : NULL;
}

size_t journal_reader_metric_count(const struct journal_reader *r) {
    return r->nmetrics;
}

int journal_reader_metric_find(const struct journal_reader *r, const char *name) {
    uint32_t id;
    return strmap_get(&r->metric_by_name, name, strlen(name), &id) == 0 ? (int)id : -1;
}

/* ---------------------------------------------------------------- sections */

static void sentity_clear(struct sentity *e) {
    free(e->metric);
    free(e->is_real);
    free(e->prev);
    free(e->has_prev);
    memset(e, 0, sizeof(*e));
}

static void source_reset_section(struct source *s) {
    for (size_t i = 0; i < s->nents; i++)
        sentity_clear(&s->ents[i]);
    free(s->ents);
    s->ents = NULL;
    s->nents = 0;
    free(s->mmap_ids);
    s->mmap_ids = NULL;
    s->nmmap = 0;
    s->have_section = false;
    s->block_ok = false;
    s->chunk_active = false;
    s->ngq = s->gqi = 0;
}

static int parse_section(struct journal_reader *r, struct source *s, const unsigned char *body,
                         uint32_t len) {
    struct mpcursor c;
    mpc_init(&c, body, len);
    uint32_t n;
    if (mpc_map(&c, &n) < 0)
        return -CORE_ECORRUPT;
    bool format_ok = false;
    uint64_t major = 0, minor = 0, v;
    uint32_t *ids = NULL;
    size_t nids = 0;
    char *writer = NULL, *host = NULL, *mid = NULL, *comp = NULL;
    struct journal_section_info info = {0};
    int rc = -CORE_ECORRUPT;
    for (uint32_t i = 0; i < n; i++) {
        const char *k, *sv;
        uint32_t kl, sl, m;
        if (mpc_str(&c, &k, &kl) < 0)
            goto out;
#define KEY(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, kl) == 0)
        if (KEY("format")) {
            if (mpc_str(&c, &sv, &sl) < 0)
                goto out;
            format_ok = sl == 15 && memcmp(sv, "proxtop-journal", 15) == 0;
        } else if (KEY("version")) {
            if (mpc_array(&c, &m) < 0 || m < 2 || mpc_int(&c, &major) < 0 ||
                mpc_int(&c, &minor) < 0)
                goto out;
            for (uint32_t j = 2; j < m; j++)
                if (mpc_skip(&c) < 0)
                    goto out;
        } else if (KEY("writer") || KEY("hostname") || KEY("machine_id") || KEY("compression")) {
            if (mpc_str(&c, &sv, &sl) < 0)
                goto out;
            char **dst = KEY("writer")       ? &writer
                         : KEY("hostname")   ? &host
                         : KEY("machine_id") ? &mid
                                             : &comp;
            free(*dst);
            *dst = dupn(sv, sl);
        } else if (KEY("interval_ns") || KEY("start_ns") || KEY("segment") || KEY("block_ticks")) {
            if (mpc_int(&c, &v) < 0)
                goto out;
            if (KEY("interval_ns"))
                info.interval_ns = (int64_t)v;
            else if (KEY("start_ns"))
                info.start_ns = (int64_t)v;
            else if (KEY("segment"))
                info.segment = v;
            else
                info.block_ticks = (uint32_t)v;
        } else if (KEY("metrics")) {
            if (mpc_array(&c, &m) < 0 || m > len || ids)
                goto out;
            ids = xcalloc(m ? m : 1, sizeof(*ids));
            for (uint32_t j = 0; j < m; j++) {
                uint32_t f;
                const char *name, *unit, *ks, *ss, *ts;
                uint32_t nl, ul, kls, sls, tls;
                if (mpc_array(&c, &f) < 0 || f < 5 || mpc_str(&c, &name, &nl) < 0 ||
                    mpc_str(&c, &unit, &ul) < 0 || mpc_str(&c, &ks, &kls) < 0 ||
                    mpc_str(&c, &ss, &sls) < 0 || mpc_str(&c, &ts, &tls) < 0 || nl == 0 ||
                    nl > 200 || ul > 64 || kls > 16 || sls > 16 || tls > 16)
                    goto out;
                for (uint32_t e = 5; e < f; e++)
                    if (mpc_skip(&c) < 0)
                        goto out;
                char kb[17], sb[17], tb[17];
                memcpy(kb, ks, kls);
                kb[kls] = 0;
                memcpy(sb, ss, sls);
                sb[sls] = 0;
                memcpy(tb, ts, tls);
                tb[tls] = 0;
                enum metric_kind kind;
                enum metric_scope scope;
                enum metric_type type;
                if (catalogue_kind_parse(kb, &kind) < 0 || catalogue_scope_parse(sb, &scope) < 0 ||
                    catalogue_type_parse(tb, &type) < 0)
                    goto out;
                ids[j] = metric_intern(r, name, nl, unit, ul, kind, scope, type);
            }
            nids = m;
        } else if (mpc_skip(&c) < 0) {
            goto out;
        }
#undef KEY
    }
    if (!format_ok || !ids) {
        rc = -CORE_EFORMAT;
        goto out;
    }
    if (major > JOURNAL_FORMAT_MAJOR) {
        rc = -CORE_EVERSION;
        goto out;
    }
    source_reset_section(s);
    free(s->writer);
    free(s->hostname);
    free(s->machine_id);
    free(s->compression);
    s->writer = writer ? writer : xstrdup("");
    s->hostname = host ? host : xstrdup("");
    s->machine_id = mid ? mid : xstrdup("");
    s->compression = comp ? comp : xstrdup("none");
    writer = host = mid = comp = NULL;
    s->mmap_ids = ids;
    s->nmmap = nids;
    ids = NULL;
    info.major = (unsigned)major;
    info.minor = (unsigned)minor;
    info.writer = s->writer;
    info.hostname = s->hostname;
    info.machine_id = s->machine_id;
    info.compression = s->compression;
    info.path = journal_file_path(s->f);
    s->info = info;
    s->have_section = true;
    rc = 0;
out:
    free(ids);
    free(writer);
    free(host);
    free(mid);
    free(comp);
    return rc;
}

/* ---------------------------------------------------------------- entities */

struct parsed_entity {
    struct journal_entity_desc d;
    const char *key, *uuid, *name, *vmid;
    uint32_t keyl, uuidl, namel, vmidl;
    uint64_t parent_sec; /* section eid of the parent or UINT64_MAX */
    struct mpcursor metrics;
    uint32_t nmetrics;
    struct mpcursor attrs;
    uint32_t nattrs;
};

static int parse_entity_map(struct source *s, struct mpcursor *c, struct parsed_entity *pe) {
    uint32_t n;
    memset(pe, 0, sizeof(*pe));
    pe->d.pid = pe->d.start_time = pe->d.mem_bytes = -1;
    pe->d.vcpus = -1;
    pe->parent_sec = UINT64_MAX;
    bool have_scope = false;
    if (mpc_map(c, &n) < 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        const char *k, *sv;
        uint32_t kl, sl;
        uint64_t v = 0;
        if (mpc_str(c, &k, &kl) < 0)
            return -1;
#define KEY(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, kl) == 0)
        if (KEY("scope")) {
            char b[17];
            if (mpc_str(c, &sv, &sl) < 0 || sl > 16)
                return -1;
            memcpy(b, sv, sl);
            b[sl] = 0;
            if (catalogue_scope_parse(b, &pe->d.scope) < 0)
                return -1;
            have_scope = true;
        } else if (KEY("key")) {
            if (mpc_str(c, &pe->key, &pe->keyl) < 0)
                return -1;
        } else if (KEY("uuid")) {
            if (mpc_str(c, &pe->uuid, &pe->uuidl) < 0)
                return -1;
        } else if (KEY("name")) {
            if (mpc_str(c, &pe->name, &pe->namel) < 0)
                return -1;
        } else if (KEY("vmid")) {
            if (mpc_str(c, &pe->vmid, &pe->vmidl) < 0)
                return -1;
        } else if (KEY("parent")) {
            if (mpc_int(c, &pe->parent_sec) < 0)
                return -1;
        } else if (KEY("pid") || KEY("start_time") || KEY("vcpus") || KEY("memory")) {
            if (mpc_int(c, &v) < 0)
                return -1;
            if (KEY("pid"))
                pe->d.pid = (int64_t)v;
            else if (KEY("start_time"))
                pe->d.start_time = (int64_t)v;
            else if (KEY("vcpus"))
                pe->d.vcpus = (int32_t)v;
            else
                pe->d.mem_bytes = (int64_t)v;
        } else if (KEY("metrics")) {
            if (mpc_array(c, &pe->nmetrics) < 0)
                return -1;
            pe->metrics = *c;
            for (uint32_t j = 0; j < pe->nmetrics; j++)
                if (mpc_int(c, &v) < 0 || v >= s->nmmap)
                    return -1;
        } else if (KEY("attrs")) {
            if (mpc_map(c, &pe->nattrs) < 0)
                return -1;
            pe->attrs = *c;
            for (uint32_t j = 0; j < 2 * pe->nattrs; j++)
                if (mpc_str(c, &sv, &sl) < 0)
                    return -1;
        } else if (mpc_skip(c) < 0) {
            return -1;
        }
#undef KEY
    }
    return have_scope && pe->key ? 0 : -1;
}

static bool str_same(const char *owned, const char *p, uint32_t n) {
    if (!owned || !p)
        return !owned && !p;
    return strlen(owned) == n && memcmp(owned, p, n) == 0;
}

static char *dup_opt(const char *p, uint32_t n) {
    return p ? dupn(p, n) : NULL;
}

/* Copies a parsed definition into a reader entity. Returns true when anything changed. */
static bool rentity_assign(struct journal_reader *r, struct source *s, struct rentity *e,
                           const struct parsed_entity *pe, uint32_t parent_rid) {
    struct journal_entity_desc *d = &e->info.desc;
    bool same = d->scope == pe->d.scope && d->parent == parent_rid &&
                str_same(e->uuid, pe->uuid, pe->uuidl) && str_same(e->name, pe->name, pe->namel) &&
                str_same(e->vmid, pe->vmid, pe->vmidl) && d->pid == pe->d.pid &&
                d->start_time == pe->d.start_time && d->vcpus == pe->d.vcpus &&
                d->mem_bytes == pe->d.mem_bytes && d->nmetrics == pe->nmetrics &&
                d->nattrs == pe->nattrs;
    struct mpcursor c = pe->metrics;
    for (uint32_t i = 0; same && i < pe->nmetrics; i++) {
        uint64_t v = 0;
        mpc_int(&c, &v);
        same = e->metrics[i] == s->mmap_ids[v];
    }
    c = pe->attrs;
    for (uint32_t i = 0; same && i < pe->nattrs; i++) {
        const char *k, *v;
        uint32_t kl, vl;
        mpc_str(&c, &k, &kl);
        mpc_str(&c, &v, &vl);
        same = str_same(d->attrs[i].key, k, kl) && str_same(d->attrs[i].value, v, vl);
    }
    if (same)
        return false;
    free(e->uuid);
    free(e->name);
    free(e->vmid);
    free(e->metrics);
    free(e->attrs);
    free(e->attr_store);
    e->uuid = dup_opt(pe->uuid, pe->uuidl);
    e->name = dup_opt(pe->name, pe->namel);
    e->vmid = dup_opt(pe->vmid, pe->vmidl);
    e->metrics = xcalloc(pe->nmetrics + 1, sizeof(*e->metrics));
    c = pe->metrics;
    for (uint32_t i = 0; i < pe->nmetrics; i++) {
        uint64_t v = 0;
        mpc_int(&c, &v);
        e->metrics[i] = s->mmap_ids[v];
    }
    e->attrs = xcalloc(pe->nattrs + 1, sizeof(*e->attrs));
    size_t total = 0;
    c = pe->attrs;
    for (uint32_t i = 0; i < 2 * pe->nattrs; i++) {
        const char *p;
        uint32_t l;
        mpc_str(&c, &p, &l);
        total += l + 1;
    }
    e->attr_store = xmalloc(total + 1);
    char *w = e->attr_store;
    c = pe->attrs;
    for (uint32_t i = 0; i < pe->nattrs; i++) {
        const char *p;
        uint32_t l;
        mpc_str(&c, &p, &l);
        memcpy(w, p, l);
        w[l] = 0;
        e->attrs[i].key = w;
        w += l + 1;
        mpc_str(&c, &p, &l);
        memcpy(w, p, l);
        w[l] = 0;
        e->attrs[i].value = w;
        w += l + 1;
    }
    d->scope = pe->d.scope;
    d->parent = parent_rid;
    d->key = e->key;
    d->uuid = e->uuid;
    d->name = e->name;
    d->vmid = e->vmid;
    d->pid = pe->d.pid;
    d->start_time = pe->d.start_time;
    d->vcpus = pe->d.vcpus;
    d->mem_bytes = pe->d.mem_bytes;
    d->metrics = e->metrics;
    d->nmetrics = pe->nmetrics;
    d->attrs = e->attrs;
    d->nattrs = pe->nattrs;
    (void)r;
    return true;
}

/* Handles [1, eid, map]. Returns 1 with an item when something changed, 0 when not, <0 bad. */
static int decode_entity(struct journal_reader *r, struct source *s, struct mpcursor *c,
                         struct journal_item *it) {
    uint64_t eid;
    struct parsed_entity pe;
    if (mpc_int(c, &eid) < 0 || eid >= MAX_SECTION_ENTITIES || parse_entity_map(s, c, &pe) < 0)
        return -1;
    uint32_t parent_rid = JOURNAL_NO_ENTITY;
    if (pe.parent_sec < s->nents && s->ents[pe.parent_sec].mapped)
        parent_rid = s->ents[pe.parent_sec].rid;
    /* Reader identity: host + key, so that the same VM across segments is one entity. */
    size_t klen = strlen(s->machine_id) + strlen(s->hostname) + pe.keyl + 2;
    char *gkey = xmalloc(klen + 1);
    snprintf(gkey, klen + 1, "%s\x1f%s\x1f", s->machine_id, s->hostname);
    memcpy(gkey + klen - pe.keyl, pe.key, pe.keyl);
    gkey[klen] = 0;
    uint32_t rid;
    bool created = false;
    if (strmap_get(&r->entity_by_key, gkey, klen, &rid) < 0) {
        r->ents = xgrow(r->ents, &r->capents, r->nents + 1, sizeof(*r->ents));
        struct rentity *e = xcalloc(1, sizeof(*e));
        rid = (uint32_t)r->nents;
        e->info.id = rid;
        e->info.desc.parent = JOURNAL_NO_ENTITY;
        e->info.desc.scope = SCOPE_COUNT; /* forces assignment below */
        e->key = dupn(pe.key, pe.keyl);
        e->host = xstrdup(s->hostname);
        e->info.host = e->host;
        e->info.source = s->index;
        e->info.first_seen_ns = s->last_t;
        r->ents[r->nents++] = e;
        strmap_put(&r->entity_by_key, gkey, klen, rid);
        created = true;
        r->st.entities++;
    }
    free(gkey);
    struct rentity *e = r->ents[rid];
    if (eid >= s->nents) {
        size_t n = s->nents;
        size_t cap = n;
        s->ents = xgrow(s->ents, &cap, eid + 1, sizeof(*s->ents));
        memset(s->ents + n, 0, (cap - n) * sizeof(*s->ents));
        s->nents = cap;
    }
    struct sentity *se = &s->ents[eid];
    bool layout_same = se->mapped && se->rid == rid && se->n == pe.nmetrics;
    struct mpcursor mc = pe.metrics;
    for (uint32_t i = 0; layout_same && i < pe.nmetrics; i++) {
        uint64_t v = 0;
        mpc_int(&mc, &v);
        layout_same = se->metric[i] == s->mmap_ids[v];
    }
    if (!layout_same) {
        sentity_clear(se);
        se->mapped = true;
        se->rid = rid;
        se->n = pe.nmetrics;
        se->metric = xcalloc(pe.nmetrics + 1, sizeof(*se->metric));
        se->is_real = xcalloc(pe.nmetrics + 1, 1);
        se->prev = xcalloc(pe.nmetrics + 1, sizeof(*se->prev));
        se->has_prev = xcalloc(pe.nmetrics + 1, 1);
        mc = pe.metrics;
        for (uint32_t i = 0; i < pe.nmetrics; i++) {
            uint64_t v = 0;
            mpc_int(&mc, &v);
            se->metric[i] = s->mmap_ids[v];
            se->is_real[i] = r->metrics[se->metric[i]].def.type == METRIC_REAL;
        }
    }
    se->seen = true;
    bool changed = rentity_assign(r, s, e, &pe, parent_rid) || created;
    bool revived = !e->info.live;
    e->info.live = true;
    e->info.last_seen_ns = s->last_t;
    if (!changed && !revived)
        return 0;
    it->type = JI_ENTITY;
    it->entity = rid;
    return 1;
}

static void mark_gone(struct journal_reader *r, struct source *s, uint32_t sec_eid) {
    struct sentity *se = &s->ents[sec_eid];
    struct rentity *e = r->ents[se->rid];
    e->info.live = false;
    sentity_clear(se);
}

/* ---------------------------------------------------------------- ticks */

static int decode_tick(struct journal_reader *r, struct source *s, struct mpcursor *c,
                       uint32_t nfields, struct journal_item *it) {
    uint64_t dreal, dmono;
    if (nfields < 3 || mpc_int(c, &dreal) < 0)
        return -1;
    bool mono = !mpc_is_nil(c);
    if (mono ? mpc_int(c, &dmono) < 0 : mpc_nil(c) < 0)
        return -1;
    s->tick_real = (int64_t)((uint64_t)s->tick_real + dreal);
    if (mono) {
        s->tick_mono = (int64_t)((s->have_mono ? (uint64_t)s->tick_mono : 0) + dmono);
        s->have_mono = true;
    } else {
        s->have_mono = false;
    }
    size_t nrows = nfields - 3, nv = 0;
    if (nrows > (size_t)(c->end - c->p) / 2) /* a row takes at least 2 bytes */
        return -1;
    s->rows = xgrow(s->rows, &s->caprows, nrows + 1, sizeof(*s->rows));
    s->rowoff = xgrow(s->rowoff, &s->caprowoff, nrows + 1, sizeof(*s->rowoff));
    size_t out = 0;
    for (size_t i = 0; i < nrows; i++) {
        uint32_t m;
        uint64_t eid;
        if (mpc_array(c, &m) < 0 || m < 1 || mpc_int(c, &eid) < 0)
            return -1;
        if (eid >= s->nents || !s->ents[eid].mapped) {
            for (uint32_t k = 1; k < m; k++)
                if (mpc_skip(c) < 0)
                    return -1;
            continue; /* a row of an entity whose definition was lost */
        }
        struct sentity *se = &s->ents[eid];
        s->vals = xgrow(s->vals, &s->capvals, nv + se->n + 1, sizeof(*s->vals));
        struct journal_value *v = s->vals + nv;
        uint32_t have = m - 1 < se->n ? m - 1 : se->n;
        for (uint32_t k = 0; k < have; k++) {
            if (mpc_nil(c) == 0) {
                v[k].type = JV_MISSING;
                v[k].u = 0;
            } else if (se->is_real[k]) {
                if (mpc_double(c, &v[k].d) < 0)
                    return -1;
                v[k].type = JV_REAL;
            } else {
                uint64_t bits;
                if (mpc_int(c, &bits) < 0)
                    return -1;
                uint64_t x = (se->has_prev[k] ? se->prev[k] : 0) + bits;
                se->prev[k] = x;
                se->has_prev[k] = 1;
                v[k].type = JV_INT;
                v[k].u = x;
            }
        }
        for (uint32_t k = have; k < se->n; k++) {
            v[k].type = JV_MISSING;
            v[k].u = 0;
        }
        for (uint32_t k = have + 1; k < m; k++)
            if (mpc_skip(c) < 0)
                return -1;
        s->rows[out].entity = se->rid;
        s->rows[out].n = se->n;
        s->rows[out].metric = se->metric;
        s->rowoff[out] = (uint32_t)nv;
        r->ents[se->rid]->info.last_seen_ns = s->tick_real;
        nv += se->n;
        out++;
    }
    for (size_t i = 0; i < out; i++)
        s->rows[i].value = s->vals + s->rowoff[i];
    s->last_t = s->tick_real;
    r->st.ticks++;
    r->st.rows += out;
    r->st.values += nv;
    if (!r->st.t_first || s->tick_real < r->st.t_first)
        r->st.t_first = s->tick_real;
    if (s->tick_real > r->st.t_last)
        r->st.t_last = s->tick_real;
    if ((r->o.begin_ns && s->tick_real < r->o.begin_ns) ||
        (r->o.end_ns && s->tick_real >= r->o.end_ns))
        return 0;
    it->type = JI_TICK;
    it->t_real = s->tick_real;
    it->t_mono = s->have_mono ? s->tick_mono : -1;
    it->nrows = out;
    it->rows = s->rows;
    return 1;
}

/* Decodes records of the active chunk until one yields an item. 1 = item, 0 = chunk done. */
static int decode_records(struct journal_reader *r, struct source *s, struct journal_item *it) {
    while (!mpc_done(&s->rc)) {
        struct mpcursor c = s->rc;
        uint32_t n;
        uint64_t type;
        if (mpc_array(&c, &n) < 0 || n < 1 || mpc_int(&c, &type) < 0)
            goto bad;
        if (type == JR_TICK && s->key_chunk && s->snapshot_open) {
            /* The snapshot is complete: live entities it did not repeat are gone. */
            s->snapshot_open = false;
            s->ngq = s->gqi = 0;
            for (size_t i = 0; i < s->nents; i++) {
                if (!s->ents[i].mapped)
                    continue;
                if (!s->ents[i].seen) {
                    s->gq = xgrow(s->gq, &s->capgq, s->ngq + 1, sizeof(*s->gq));
                    s->gq[s->ngq++] = (uint32_t)i;
                }
            }
            if (s->ngq)
                return 0; /* the caller drains the queue, then comes back to this tick */
        }
        memset(it, 0, sizeof(*it));
        it->t_real = s->last_t;
        it->t_mono = -1;
        it->source = s->index;
        int got = 0;
        switch (type) {
        case JR_ENTITY:
            if (n < 3)
                goto bad;
            got = decode_entity(r, s, &c, it);
            for (uint32_t k = 3; got >= 0 && k < n; k++)
                if (mpc_skip(&c) < 0)
                    got = -1;
            break;
        case JR_GONE: {
            uint64_t eid;
            if (n < 2 || mpc_int(&c, &eid) < 0)
                goto bad;
            for (uint32_t k = 2; k < n; k++)
                if (mpc_skip(&c) < 0)
                    goto bad;
            if (eid < s->nents && s->ents[eid].mapped) {
                it->type = JI_GONE;
                it->entity = s->ents[eid].rid;
                mark_gone(r, s, (uint32_t)eid);
                got = 1;
            }
            break;
        }
        case JR_TICK:
            got = decode_tick(r, s, &c, n, it);
            break;
        case JR_EVENT: {
            uint64_t t;
            const char *k, *txt;
            uint32_t kl, tl;
            if (n < 4 || mpc_int(&c, &t) < 0 || mpc_str(&c, &k, &kl) < 0 ||
                mpc_str(&c, &txt, &tl) < 0)
                goto bad;
            for (uint32_t j = 4; j < n; j++)
                if (mpc_skip(&c) < 0)
                    goto bad;
            free(s->ev_kind);
            free(s->ev_text);
            s->ev_kind = dupn(k, kl);
            s->ev_text = dupn(txt, tl);
            it->type = JI_EVENT;
            it->t_real = (int64_t)t;
            it->event_kind = s->ev_kind;
            it->event_text = s->ev_text;
            r->st.events++;
            got = 1;
            break;
        }
        default: /* a record type from a newer minor version: skip it */
            for (uint32_t k = 1; k < n; k++)
                if (mpc_skip(&c) < 0)
                    goto bad;
            break;
        }
        if (got < 0)
            goto bad;
        s->rc = c;
        if (got)
            return 1;
    }
    return 0;
bad:
    warnf(r, "%s: undecodable record in chunk at offset %" PRIu64 "; rest of block dropped",
          journal_file_path(s->f), s->chunk_off);
    r->st.lost_chunks++;
    s->block_ok = false;
    s->chunk_active = false;
    return 0;
}

/* ---------------------------------------------------------------- chunks */

static int start_chunk(struct journal_reader *r, struct source *s, const struct journal_frame *fr) {
    const unsigned char *body = fr->body;
    size_t len = fr->len;
    bool key = fr->flags & JFF_KEY;
    s->chunk_off = fr->offset;
    if (!s->have_section) {
        r->st.lost_chunks++;
        return 0;
    }
    if (key) {
        if (len < 8)
            goto bad;
        s->block_ok = true;
        s->expect_seq = 1;
        s->key_chunk = true;
        s->snapshot_open = true;
        s->tick_real = 0;
        s->tick_mono = 0;
        s->have_mono = false;
        s->last_t = (int64_t)journal_get_u64(body);
        for (size_t i = 0; i < s->nents; i++) {
            s->ents[i].seen = false;
            if (s->ents[i].mapped)
                memset(s->ents[i].has_prev, 0, s->ents[i].n);
        }
        body += 8;
        len -= 8;
        if (fr->flags & JFF_ZSTD) {
            if (!s->dz)
                s->dz = ZSTD_createDCtx();
            ZSTD_DCtx_reset(s->dz, ZSTD_reset_session_only);
        }
    } else {
        s->key_chunk = false;
        if (!s->block_ok || fr->seq != s->expect_seq) {
            if (s->block_ok)
                warnf(r, "%s: chunk %u at offset %" PRIu64 " out of sequence (expected %u)",
                      journal_file_path(s->f), fr->seq, fr->offset, s->expect_seq);
            s->block_ok = false;
            r->st.lost_chunks++;
            return 0;
        }
        s->expect_seq++;
    }
    if (fr->flags & JFF_ZSTD) {
        if (!s->dz)
            goto bad;
        ZSTD_inBuffer in = {body, len, 0};
        size_t outlen = 0;
        for (;;) {
            if (s->deccap - outlen < 65536) {
                if (s->deccap >= MAX_DECODED_CHUNK)
                    goto bad;
                s->deccap = s->deccap ? s->deccap * 2 : 262144;
                s->dec = xrealloc(s->dec, s->deccap);
            }
            ZSTD_outBuffer out = {s->dec, s->deccap, outlen};
            size_t ret = ZSTD_decompressStream(s->dz, &out, &in);
            if (ZSTD_isError(ret))
                goto bad;
            outlen = out.pos;
            if (in.pos == in.size && out.pos < out.size)
                break;
        }
        mpc_init(&s->rc, s->dec, outlen);
    } else {
        mpc_init(&s->rc, body, len);
    }
    s->chunk_active = true;
    return 0;
bad:
    warnf(r, "%s: chunk at offset %" PRIu64 " does not decode; rest of block dropped",
          journal_file_path(s->f), fr->offset);
    r->st.lost_chunks++;
    s->block_ok = false;
    return 0;
}

/* ---------------------------------------------------------------- files and seeking */

static int64_t segment_stamp(const char *path) {
    const char *dash = strrchr(path, '/');
    dash = strchr(dash ? dash : path, '-');
    struct tm tm = {0};
    if (!dash || sscanf(dash + 1, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return INT64_MIN;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000000000ll;
}

/* Positions a freshly opened file near begin_ns: through its index when it has one, otherwise
 * by walking frame headers (no decompression) to the last key chunk at or before begin_ns. */
static void seek_file(struct journal_reader *r, struct source *s) {
    struct journal_file *f = s->f;
    uint64_t sec;
    const int64_t *tf;
    const uint64_t *off;
    size_t n;
    int64_t begin = r->o.begin_ns;
    if (journal_file_index(f, &sec, &tf, &off, &n) == 0 && n > 0 && tf[0] <= begin) {
        size_t lo = 0, hi = n;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (tf[mid] <= begin)
                lo = mid;
            else
                hi = mid;
        }
        journal_file_seek(f, sec);
        s->pending_seek = off[lo];
        return;
    }
    uint64_t section_at = 0, key_at = 0;
    struct journal_frame fr;
    struct journal_damage dmg;
    enum journal_step st;
    while ((st = journal_file_next(f, &fr, &dmg)) != JOURNAL_STEP_END) {
        if (st != JOURNAL_STEP_FRAME)
            continue;
        if (fr.type == JF_SECTION) {
            section_at = fr.offset;
            key_at = 0;
        } else if (fr.type == JF_CHUNK && (fr.flags & JFF_KEY) && fr.len >= 8) {
            if ((int64_t)journal_get_u64(fr.body) > begin)
                break;
            key_at = fr.offset;
        }
    }
    journal_file_seek(f, section_at);
    s->pending_seek = key_at;
}

static int open_next_file(struct journal_reader *r, struct source *s) {
    while (s->fi < s->nfiles) {
        const char *p = s->files[s->fi++];
        if (r->o.end_ns && s->nfiles > 1 && segment_stamp(p) != INT64_MIN &&
            segment_stamp(p) >= r->o.end_ns)
            return 0; /* this and later segments start after the range */
        int rc = journal_file_open(&s->f, p);
        if ((rc == -CORE_EEMPTY || rc == -CORE_ETRUNC) && r->o.follow && s->fi == s->nfiles) {
            s->fi--; /* a segment being started: its preamble comes with a later look */
            return 0;
        }
        if (rc == -CORE_EEMPTY || rc == -CORE_ETRUNC) {
            warnf(r, "%s: %s; skipped", p, core_strerror(rc));
            if (rc == -CORE_ETRUNC) {
                r->st.torn_files++;
            }
            continue;
        }
        if (rc < 0) {
            warnf(r, "%s: %s", p, core_strerror(rc));
            return rc;
        }
        r->st.files++;
        r->st.bytes += journal_file_size(s->f);
        source_reset_section(s);
        s->pending_seek = 0;
        if (r->o.begin_ns)
            seek_file(r, s);
        return 1;
    }
    return 0;
}

/* Follow mode, at the end of the source's newest file: 1 = the file grew, 2 = a newer segment
 * exists (s->files is updated, the current file is complete), 0 = nothing new yet. */
static int follow_more(struct journal_reader *r, struct source *s) {
    int rc = journal_file_refresh(s->f);
    if (rc != 0) {
        if (rc < 0)
            warnf(r, "%s: %s", journal_file_path(s->f), core_strerror(rc));
        return rc > 0;
    }
    char **files;
    uint64_t gaps;
    if (journal_list_files(s->path, &files, &gaps) < 0)
        return 0;
    size_t n = 0, next = 0;
    const char *cur = journal_file_path(s->f);
    while (files[n])
        n++;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(files[i], cur) == 0)
            next = i + 1; /* the list is in sequence order */
    }
    if (next == 0) { /* the current file was removed (retention): names sort by sequence */
        while (next < n && strcmp(files[next], cur) <= 0)
            next++;
    }
    if (next >= n) {
        journal_paths_free(files);
        return 0;
    }
    /* The writer finished this file before it started the next: what it appended last
     * (the index and footer) is read before moving on. */
    if (journal_file_refresh(s->f) > 0) {
        journal_paths_free(files);
        return 1;
    }
    journal_paths_free(s->files);
    s->files = files;
    s->nfiles = n;
    s->fi = next;
    return 2;
}

/* Produces the source's next item. 1 = item in s->head, 0 = source exhausted (in follow mode:
 * nothing more yet), <0 error. */
static int source_fill(struct journal_reader *r, struct source *s) {
    struct journal_item *it = &s->head;
    for (;;) {
        if (s->gqi < s->ngq) {
            uint32_t eid = s->gq[s->gqi++];
            memset(it, 0, sizeof(*it));
            it->type = JI_GONE;
            it->t_real = s->last_t;
            it->t_mono = -1;
            it->source = s->index;
            if (eid < s->nents && s->ents[eid].mapped) {
                it->entity = s->ents[eid].rid;
                mark_gone(r, s, eid);
                return 1;
            }
            continue;
        }
        if (s->chunk_active) {
            int got = decode_records(r, s, it);
            if (got)
                return got;
            if (s->gqi < s->ngq)
                continue;
            s->chunk_active = false;
            continue;
        }
        if (!s->f) {
            int rc = open_next_file(r, s);
            if (rc <= 0)
                return rc;
        }
        struct journal_frame fr;
        struct journal_damage dmg;
        enum journal_step st = journal_file_next(s->f, &fr, &dmg);
        bool newest = r->o.follow && s->fi >= s->nfiles;
        if (st == JOURNAL_STEP_END && newest) {
            int more = follow_more(r, s);
            if (more == 0)
                return 0;
            if (more == 1)
                continue;
        }
        if (st == JOURNAL_STEP_DAMAGE && dmg.tail && newest) {
            /* Possibly a frame being written: walk it again once the file has grown. */
            journal_file_seek(s->f, dmg.offset);
            int more = follow_more(r, s);
            if (more == 0)
                return 0;
            if (more == 1)
                continue;
            journal_file_seek(s->f, dmg.offset + dmg.len); /* a newer file: it is damage */
        }
        if (st == JOURNAL_STEP_END) {
            journal_file_close(s->f);
            s->f = NULL;
            s->block_ok = false;
            continue;
        }
        if (st == JOURNAL_STEP_DAMAGE) {
            const char *p = journal_file_path(s->f);
            if (dmg.torn) {
                r->st.torn_files++;
                r->st.torn_bytes += dmg.len;
                warnf(r,
                      "%s: torn tail at offset %" PRIu64 " (%" PRIu64 " bytes of an "
                      "interrupted write; `proxjournal verify --repair` cuts it)",
                      p, dmg.offset, dmg.len);
            } else {
                r->st.damaged_regions++;
                r->st.damaged_bytes += dmg.len;
                warnf(r, "%s: corrupt data at offset %" PRIu64 ", %" PRIu64 " bytes skipped%s", p,
                      dmg.offset, dmg.len, dmg.tail ? " (to the end of the file)" : "");
            }
            s->block_ok = false;
            continue;
        }
        r->st.frames++;
        if (fr.type == JF_SECTION) {
            uint32_t crc = journal_get_u32(fr.body - 4);
            if (s->have_section && s->section_len == fr.len && s->section_crc == crc)
                continue; /* the backup copy of the header in force */
            int rc = parse_section(r, s, fr.body, fr.len);
            if (rc < 0) {
                warnf(r, "%s: section header at offset %" PRIu64 ": %s; its data is skipped",
                      journal_file_path(s->f), fr.offset, core_strerror(rc));
                source_reset_section(s);
                if (rc == -CORE_EVERSION)
                    r->st.damaged_regions++;
                continue;
            }
            r->st.sections++;
            s->section_len = fr.len;
            s->section_crc = crc;
            if (s->pending_seek) {
                journal_file_seek(s->f, s->pending_seek);
                s->pending_seek = 0;
            }
            memset(it, 0, sizeof(*it));
            it->type = JI_SECTION;
            it->t_real = s->info.start_ns;
            it->t_mono = -1;
            it->source = s->index;
            return 1;
        }
        if (fr.type == JF_CHUNK)
            start_chunk(r, s, &fr);
        /* JF_INDEX, JF_FOOTER and unknown frame types carry no items. */
    }
}

/* ---------------------------------------------------------------- public */

int journal_reader_preload_metrics(struct journal_reader *r) {
    for (size_t i = 0; i < r->nsrc; i++) {
        struct source *src = &r->src[i];
        for (size_t k = 0; k < src->nfiles; k++) {
            struct source tmp = {0};
            if (journal_file_open(&tmp.f, src->files[k]) < 0)
                continue;
            struct journal_frame fr;
            struct journal_damage dmg;
            enum journal_step st;
            while ((st = journal_file_next(tmp.f, &fr, &dmg)) != JOURNAL_STEP_END) {
                if (st == JOURNAL_STEP_FRAME && fr.type == JF_SECTION &&
                    parse_section(r, &tmp, fr.body, fr.len) == 0)
                    break;
            }
            source_reset_section(&tmp);
            free(tmp.writer);
            free(tmp.hostname);
            free(tmp.machine_id);
            free(tmp.compression);
            journal_file_close(tmp.f);
        }
    }
    return 0;
}

int journal_reader_open(struct journal_reader **out, const char *const *paths, size_t npaths,
                        const struct journal_reader_opts *opts, const char **err_path) {
    if (!npaths || (opts && opts->follow && npaths != 1))
        return -EINVAL;
    struct journal_reader *r = xcalloc(1, sizeof(*r));
    if (opts)
        r->o = *opts;
    strmap_init(&r->metric_by_name);
    strmap_init(&r->entity_by_key);
    r->src = xcalloc(npaths, sizeof(*r->src));
    r->nsrc = npaths;
    int rc = 0;
    size_t failed = 0;
    for (size_t i = 0; i < npaths; i++) {
        struct source *s = &r->src[i];
        failed = i;
        s->index = (uint32_t)i;
        s->path = xstrdup(paths[i]);
        uint64_t gaps;
        rc = journal_list_files(paths[i], &s->files, &gaps);
        if (rc < 0)
            goto fail;
        while (s->files[s->nfiles])
            s->nfiles++;
        if (gaps) {
            r->st.gaps += gaps;
            warnf(r, "%s: %" PRIu64 " segment(s) missing between the first and the last", paths[i],
                  gaps);
        }
        /* Validate the first file now so that bad paths fail at open with a clear error. */
        struct journal_file *f;
        rc = journal_file_open(&f, s->files[0]);
        if (rc < 0 && !(rc == -CORE_EEMPTY && s->nfiles > 1))
            goto fail;
        journal_file_close(rc < 0 ? NULL : f);
        rc = 0;
        if (r->o.begin_ns) { /* skip whole segments that end before begin */
            while (s->fi + 1 < s->nfiles) {
                int64_t next = segment_stamp(s->files[s->fi + 1]);
                if (next == INT64_MIN || next + 1000000000ll > r->o.begin_ns)
                    break;
                s->fi++;
            }
        }
    }
    *out = r;
    return 0;
fail:
    if (err_path)
        *err_path = paths[failed];
    journal_reader_free(r);
    return rc;
}

int journal_reader_next(struct journal_reader *r, struct journal_item *it) {
    struct source *best = NULL;
    for (size_t i = 0; i < r->nsrc; i++) {
        struct source *s = &r->src[i];
        if (!s->has_head && !s->done) {
            int rc = source_fill(r, s);
            if (rc < 0)
                return rc;
            if (rc > 0)
                s->has_head = true;
            else if (!r->o.follow)
                s->done = true;
        }
        if (s->has_head && (!best || s->head.t_real < best->head.t_real))
            best = s;
    }
    if (!best)
        return 0;
    *it = best->head;
    best->has_head = false;
    return 1;
}

const struct journal_entity_info *journal_reader_entity(const struct journal_reader *r,
                                                        uint32_t id) {
    return id < r->nents ? &r->ents[id]->info : NULL;
}

size_t journal_reader_entity_count(const struct journal_reader *r) {
    return r->nents;
}

const struct journal_section_info *journal_reader_section(const struct journal_reader *r,
                                                          uint32_t source) {
    if (source >= r->nsrc || !r->src[source].have_section)
        return NULL;
    return &r->src[source].info;
}

void journal_reader_stats(const struct journal_reader *r, struct journal_reader_stats *st) {
    *st = r->st;
}

void journal_reader_free(struct journal_reader *r) {
    if (!r)
        return;
    for (size_t i = 0; i < r->nsrc; i++) {
        struct source *s = &r->src[i];
        source_reset_section(s);
        journal_file_close(s->f);
        journal_paths_free(s->files);
        free(s->path);
        free(s->writer);
        free(s->hostname);
        free(s->machine_id);
        free(s->compression);
        ZSTD_freeDCtx(s->dz);
        free(s->dec);
        free(s->gq);
        free(s->rows);
        free(s->vals);
        free(s->rowoff);
        free(s->ev_kind);
        free(s->ev_text);
    }
    free(r->src);
    for (size_t i = 0; i < r->nmetrics; i++) {
        free(r->metrics[i].name);
        free(r->metrics[i].unit);
    }
    free(r->metrics);
    free(r->mdefs);
    strmap_fini(&r->metric_by_name);
    for (size_t i = 0; i < r->nents; i++) {
        struct rentity *e = r->ents[i];
        free(e->key);
        free(e->uuid);
        free(e->name);
        free(e->vmid);
        free(e->host);
        free(e->metrics);
        free(e->attrs);
        free(e->attr_store);
        free(e);
    }
    free(r->ents);
    strmap_fini(&r->entity_by_key);
    free(r);
}
