/* derive.c: derived metrics (see derive.h for the formulas).
 * SPDX-License-Identifier: MIT */
#include "derive.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core_error.h"
#include "rate.h"

const struct metric_def derive_bitbrains_defs[BB_NCOLS] = {
    {"vm.bitbrains.cpu_cores", "count", METRIC_GAUGE, SCOPE_VM, METRIC_REAL, "import",
     "Bitbrains 'CPU cores'", "virtual cores provisioned", "value"},
    {"vm.bitbrains.cpu_capacity", "MHz", METRIC_GAUGE, SCOPE_VM, METRIC_REAL, "import",
     "Bitbrains 'CPU capacity provisioned [MHZ]'", "CPU capacity provisioned", "value"},
    {"vm.bitbrains.cpu_usage", "MHz", METRIC_GAUGE, SCOPE_VM, METRIC_REAL, "import",
     "Bitbrains 'CPU usage [MHZ]'", "CPU used, averaged over the interval", "value"},
    {"vm.bitbrains.cpu_usage_pct", "%", METRIC_GAUGE, SCOPE_VM, METRIC_REAL, "import",
     "Bitbrains 'CPU usage [%]'", "CPU used as a share of the capacity", "value"},
    {"vm.bitbrains.mem_capacity", "KB", METRIC_GAUGE, SCOPE_VM, METRIC_REAL, "import",
     "Bitbrains 'Memory capacity provisioned [KB]'", "memory provisioned", "value"},
    {"vm.bitbrains.mem_usage", "KB", METRIC_GAUGE, SCOPE_VM, METRIC_REAL, "import",
     "Bitbrains 'Memory usage [KB]'", "memory actively used", "value"},
    {"vm.bitbrains.disk_read", "KB/s", METRIC_GAUGE, SCOPE_VM, METRIC_REAL, "import",
     "Bitbrains 'Disk read throughput [KB/s]'", "disk read throughput", "value"},
    {"vm.bitbrains.disk_write", "KB/s", METRIC_GAUGE, SCOPE_VM, METRIC_REAL, "import",
     "Bitbrains 'Disk write throughput [KB/s]'", "disk write throughput", "value"},
    {"vm.bitbrains.net_rx", "KB/s", METRIC_GAUGE, SCOPE_VM, METRIC_REAL, "import",
     "Bitbrains 'Network received throughput [KB/s]'", "network received throughput", "value"},
    {"vm.bitbrains.net_tx", "KB/s", METRIC_GAUGE, SCOPE_VM, METRIC_REAL, "import",
     "Bitbrains 'Network transmitted throughput [KB/s]'", "network transmitted throughput",
     "value"},
};

enum dv {
    DV_CPU = 0,
    DV_CPU_PCT,
    DV_DISK_RD,
    DV_DISK_RD_IOPS,
    DV_DISK_WR,
    DV_DISK_WR_IOPS,
    DV_MEM,
    DV_NET_RX,
    DV_NET_TX,
    DV_NAMED,
    DV_RAW = DV_NAMED,
};

/* Sorted by name: the default set is written in this order. */
static const struct {
    const char *name, *unit;
} named[DV_NAMED] = {
    {"cpu", "cores"},          {"cpu_pct", "%"},   {"disk_rd", "B/s"},
    {"disk_rd_iops", "ops/s"}, {"disk_wr", "B/s"}, {"disk_wr_iops", "ops/s"},
    {"mem", "bytes"},          {"net_rx", "B/s"},  {"net_tx", "B/s"},
};

/* Fixed inputs; raw selections and literal aliases are appended after them. */
enum in {
    IN_VCPU_RUN = 0,
    IN_VCPU_WAIT,
    IN_VCPU_THREADS,
    IN_RSS,
    IN_DISK_RD,
    IN_DISK_WR,
    IN_DISK_RD_OPS,
    IN_DISK_WR_OPS,
    IN_NIC_RX,
    IN_NIC_TX,
    IN_BB0, /* BB_NCOLS Bitbrains columns */
    IN_FIXED = IN_BB0 + BB_NCOLS,
};

static const char *const fixed_inputs[IN_BB0] = {
    "vm.cpu.vcpu_run",  "vm.cpu.vcpu_wait", "vm.cpu.vcpu_threads", "vm.mem.rss",
    "vm_disk.rd_bytes", "vm_disk.wr_bytes", "vm_disk.rd_ops",      "vm_disk.wr_ops",
    "vm_nic.rx_bytes",  "vm_nic.tx_bytes",
};

struct sel {
    char *name;
    char *unit; /* raw selections: the source's unit (counters: unit/s) */
    int kind;   /* enum dv or DV_RAW */
    int input;  /* DV_RAW: its input; named: the literal alias input */
};

struct derive {
    size_t n;
    struct sel sel[DERIVE_MAX_METRICS];
    bool deflt;
    size_t ninputs;
    char **input_name; /* ninputs */
    /* Binding: source metric id -> input (-1) and kind. */
    size_t nbound;
    int32_t *in_of;
    uint8_t *kind_of;
};

/* The last present sample of each input, with its own time: a counter read only every Nth tick
 * (QMP and libvirt's QEMU-served groups, --daemon-interval) or missing for a tick is derived
 * over the span since its last reading, never against a missing value. */
struct prev_cell {
    struct journal_value v; /* JV_MISSING: no sample of this entity yet */
    int64_t t_real, t_mono;
};

struct derive_ent {
    uint32_t ninputs;
    struct prev_cell prev[];
};

/* Accumulator layout: per input a double sum, an OK count and a failure count. */
struct acc_cell {
    double sum;
    uint32_t ok, bad;
};

static int add_input(struct derive *d, const char *name) {
    for (size_t i = 0; i < d->ninputs; i++) {
        if (strcmp(d->input_name[i], name) == 0) {
            return (int)i;
        }
    }
    char **g = realloc(d->input_name, (d->ninputs + 1) * sizeof *g);
    if (!g) {
        return -ENOMEM;
    }
    d->input_name = g;
    g[d->ninputs] = strdup(name);
    if (!g[d->ninputs]) {
        return -ENOMEM;
    }
    return (int)d->ninputs++;
}

static int cmp_sel(const void *a, const void *b) {
    return strcmp(((const struct sel *)a)->name, ((const struct sel *)b)->name);
}

static int known_raw(const char *name, const struct metric_def *defs, size_t n) {
    int c = catalogue_find(name);
    if (c >= 0) {
        size_t nc;
        const struct metric_def *all = catalogue_all(&nc);
        enum metric_scope sc = all[c].scope;
        return sc == SCOPE_VM || sc == SCOPE_VCPU || sc == SCOPE_VM_DISK || sc == SCOPE_VM_NIC;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(defs[i].name, name) == 0) {
            return 1;
        }
    }
    for (size_t i = 0; i < BB_NCOLS; i++) {
        if (strcmp(derive_bitbrains_defs[i].name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

int derive_new(struct derive **out, const char *list, const struct metric_def *defs, size_t n,
               const char **bad) {
    static char badbuf[128];
    *out = NULL;
    struct derive *d = calloc(1, sizeof *d);
    if (!d) {
        return -ENOMEM;
    }
    int rc = 0;
    for (int i = 0; i < IN_BB0; i++) {
        if ((rc = add_input(d, fixed_inputs[i])) < 0) {
            goto fail;
        }
    }
    for (int i = 0; i < BB_NCOLS; i++) {
        if ((rc = add_input(d, derive_bitbrains_defs[i].name)) < 0) {
            goto fail;
        }
    }
    if (!list || !*list) {
        d->deflt = true;
        for (int k = 0; k < DV_NAMED; k++) {
            d->sel[d->n].name = strdup(named[k].name);
            d->sel[d->n].kind = k;
            if (!d->sel[d->n].name) {
                rc = -ENOMEM;
                goto fail;
            }
            d->n++;
        }
    } else {
        const char *p = list;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (len == 0 || len >= sizeof badbuf) {
                snprintf(badbuf, sizeof badbuf, "%.*s", (int)(len < 100 ? len : 100), p);
                *bad = badbuf;
                rc = -CORE_ENOENTITY;
                goto fail;
            }
            char name[128];
            memcpy(name, p, len);
            name[len] = '\0';
            int kind = DV_RAW;
            for (int k = 0; k < DV_NAMED; k++) {
                if (strcmp(named[k].name, name) == 0) {
                    kind = k;
                }
            }
            if (kind == DV_RAW && !known_raw(name, defs, n)) {
                snprintf(badbuf, sizeof badbuf, "%s", name);
                *bad = badbuf;
                rc = -CORE_ENOENTITY;
                goto fail;
            }
            char *unit = NULL;
            for (size_t i = 0; kind == DV_RAW && i < n; i++) {
                if (strcmp(defs[i].name, name) == 0 && defs[i].unit && *defs[i].unit) {
                    size_t ul = strlen(defs[i].unit) + 3;
                    unit = malloc(ul);
                    if (unit) {
                        snprintf(unit, ul, "%s%s", defs[i].unit,
                                 defs[i].kind == METRIC_COUNTER ? "/s" : "");
                    }
                }
            }
            int dup = 0;
            for (size_t i = 0; i < d->n; i++) {
                dup |= strcmp(d->sel[i].name, name) == 0;
            }
            if (!dup) {
                if (d->n == DERIVE_MAX_METRICS) {
                    snprintf(badbuf, sizeof badbuf, "%.60s (more than %d metrics)", name,
                             DERIVE_MAX_METRICS);
                    *bad = badbuf;
                    rc = -CORE_ENOENTITY;
                    goto fail;
                }
                d->sel[d->n].name = strdup(name);
                d->sel[d->n].kind = kind;
                d->sel[d->n].unit = unit;
                unit = NULL;
                if (!d->sel[d->n].name) {
                    rc = -ENOMEM;
                    goto fail;
                }
                d->n++;
            }
            free(unit);
            p += len;
            if (*p == ',') {
                p++;
            }
        }
        qsort(d->sel, d->n, sizeof d->sel[0], cmp_sel);
    }
    for (size_t i = 0; i < d->n; i++) {
        if ((rc = add_input(d, d->sel[i].name)) < 0) {
            goto fail;
        }
        d->sel[i].input = rc;
    }
    *out = d;
    return 0;
fail:
    derive_free(d);
    return rc;
}

void derive_free(struct derive *d) {
    if (!d) {
        return;
    }
    for (size_t i = 0; i < d->n; i++) {
        free(d->sel[i].name);
        free(d->sel[i].unit);
    }
    for (size_t i = 0; i < d->ninputs; i++) {
        free(d->input_name[i]);
    }
    free(d->input_name);
    free(d->in_of);
    free(d->kind_of);
    free(d);
}

bool derive_is_default(const struct derive *d) {
    return d->deflt;
}
size_t derive_count(const struct derive *d) {
    return d->n;
}
const char *derive_name(const struct derive *d, size_t i) {
    return d->sel[i].name;
}

const char *derive_unit(const struct derive *d, size_t i) {
    if (d->sel[i].kind < DV_NAMED) {
        return named[d->sel[i].kind].unit;
    }
    if (d->sel[i].unit) {
        return d->sel[i].unit;
    }
    int c = catalogue_find(d->sel[i].name);
    if (c >= 0) {
        size_t nc;
        const struct metric_def *m = &catalogue_all(&nc)[c];
        return m->kind == METRIC_COUNTER ? NULL : m->unit; /* rates: unit/s, left to the reader */
    }
    return NULL;
}

int derive_default_bound(const struct derive *d, size_t i, double vcpus, double mem_bytes,
                         double *min, double *max) {
    switch (d->sel[i].kind) {
    case DV_CPU:
        if (vcpus > 0) {
            *min = 0;
            *max = vcpus;
            return 1;
        }
        return 0;
    case DV_CPU_PCT:
        *min = 0;
        *max = 100;
        return 1;
    case DV_MEM:
        if (mem_bytes > 0) {
            *min = 0;
            *max = mem_bytes;
            return 1;
        }
        return 0;
    default:
        return 0;
    }
}

int derive_bind(struct derive *d, const struct metric_def *const *defs, size_t n) {
    int32_t *in = realloc(d->in_of, (n ? n : 1) * sizeof *in);
    if (!in) {
        return -ENOMEM;
    }
    d->in_of = in;
    uint8_t *k = realloc(d->kind_of, n ? n : 1);
    if (!k) {
        return -ENOMEM;
    }
    d->kind_of = k;
    for (size_t id = 0; id < n; id++) {
        in[id] = -1;
        k[id] = defs[id] ? (uint8_t)defs[id]->kind : METRIC_GAUGE;
        if (!defs[id] || !defs[id]->name) {
            continue;
        }
        for (size_t j = 0; j < d->ninputs; j++) {
            if (strcmp(d->input_name[j], defs[id]->name) == 0) {
                in[id] = (int32_t)j;
                break;
            }
        }
    }
    d->nbound = n;
    return 0;
}

struct derive_ent *derive_ent_new(const struct derive *d) {
    struct derive_ent *e =
        calloc(1, sizeof(struct derive_ent) + d->ninputs * sizeof(struct prev_cell));
    if (e) {
        e->ninputs = (uint32_t)d->ninputs;
    }
    return e;
}

void derive_ent_reset(const struct derive *d, struct derive_ent *e) {
    memset(e->prev, 0, d->ninputs * sizeof e->prev[0]); /* JV_MISSING == 0 */
}

size_t derive_acc_size(const struct derive *d) {
    return d->ninputs * sizeof(struct acc_cell);
}

void derive_tick_begin(const struct derive *d, void *acc) {
    memset(acc, 0, derive_acc_size(d));
}

void derive_row(const struct derive *d, void *acc, struct derive_ent *e, const uint32_t *metric,
                const struct journal_value *value, uint32_t n, int64_t t_real, int64_t t_mono) {
    struct acc_cell *a = acc;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t id = metric[k];
        if (id >= d->nbound || d->in_of[id] < 0) {
            continue;
        }
        int in = d->in_of[id];
        enum metric_kind kind = (enum metric_kind)d->kind_of[id];
        double r;
        struct prev_cell *p = &e->prev[in];
        if (value[k].type == JV_MISSING) {
            a[in].bad++; /* p keeps the last reading for the next present one */
            continue;
        }
        enum rate_status st = rate_derive(kind, p->v.type != JV_MISSING ? &p->v : NULL, p->t_real,
                                          p->t_mono, &value[k], t_real, t_mono, &r);
        if (st == RATE_OK) {
            a[in].sum += r;
            a[in].ok++;
        } else {
            a[in].bad++;
        }
        p->v = value[k];
        p->t_real = t_real;
        p->t_mono = t_mono;
    }
}

/* The sum of an input when every contribution was good, else NaN. */
static double get(const struct acc_cell *a, int in) {
    return a[in].ok && !a[in].bad ? a[in].sum : NAN;
}

static int has(const struct acc_cell *a, int in) {
    return a[in].ok + a[in].bad > 0;
}

static double cores(const struct acc_cell *a) {
    if (has(a, IN_VCPU_RUN) || has(a, IN_VCPU_WAIT)) {
        return (get(a, IN_VCPU_RUN) + get(a, IN_VCPU_WAIT)) / 1e9;
    }
    if (has(a, IN_BB0 + 2)) {
        double cap = get(a, IN_BB0 + 1), nc = get(a, IN_BB0 + 0);
        return cap > 0 && nc > 0 ? get(a, IN_BB0 + 2) / (cap / nc) : NAN;
    }
    return NAN;
}

static double first_of(const struct acc_cell *a, int in, int bb, double scale, int alias) {
    if (has(a, in)) {
        return get(a, in);
    }
    if (bb >= 0 && has(a, IN_BB0 + bb)) {
        return get(a, IN_BB0 + bb) * scale;
    }
    return get(a, alias);
}

void derive_tick_end(const struct derive *d, const void *acc, double vcpus, double *out) {
    const struct acc_cell *a = acc;
    for (size_t i = 0; i < d->n; i++) {
        const struct sel *s = &d->sel[i];
        double v = NAN;
        switch (s->kind) {
        case DV_CPU:
            v = cores(a);
            if (isnan(v) && !has(a, IN_VCPU_RUN) && !has(a, IN_BB0 + 2)) {
                v = get(a, s->input);
            }
            break;
        case DV_CPU_PCT:
            if (has(a, IN_VCPU_RUN) || has(a, IN_VCPU_WAIT)) {
                double nv = has(a, IN_VCPU_THREADS) ? get(a, IN_VCPU_THREADS) : vcpus;
                v = nv > 0 ? cores(a) / nv * 100.0 : NAN;
            } else if (has(a, IN_BB0 + 3)) {
                v = get(a, IN_BB0 + 3);
            } else {
                v = get(a, s->input);
            }
            break;
        case DV_MEM:
            v = first_of(a, IN_RSS, 5, 1024.0, s->input);
            break;
        case DV_DISK_RD:
            v = first_of(a, IN_DISK_RD, 6, 1024.0, s->input);
            break;
        case DV_DISK_WR:
            v = first_of(a, IN_DISK_WR, 7, 1024.0, s->input);
            break;
        case DV_DISK_RD_IOPS:
            v = first_of(a, IN_DISK_RD_OPS, -1, 1.0, s->input);
            break;
        case DV_DISK_WR_IOPS:
            v = first_of(a, IN_DISK_WR_OPS, -1, 1.0, s->input);
            break;
        case DV_NET_RX:
            v = first_of(a, IN_NIC_RX, 8, 1024.0, s->input);
            break;
        case DV_NET_TX:
            v = first_of(a, IN_NIC_TX, 9, 1024.0, s->input);
            break;
        default:
            v = get(a, s->input);
        }
        out[i] = v;
    }
}

void derive_capacity(const struct derive *d, const void *acc, double *vcpus, double *mem_bytes) {
    const struct acc_cell *a = acc;
    (void)d;
    double c = get(a, IN_BB0 + 0), m = get(a, IN_BB0 + 4);
    *vcpus = isnan(c) ? -1 : c;
    *mem_bytes = isnan(m) ? -1 : m * 1024.0;
}
