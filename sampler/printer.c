/* printer.c: text and JSON Lines output of the derived per-tick values (see printer.h).
 * SPDX-License-Identifier: MIT */
#include "printer.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "sampler_internal.h"
#include "timeparse.h"

/* A derived display value: ok false means missing. */
struct dv {
    bool ok;
    double v;
};

static struct dv val(const struct sampler *s, const struct ent *e, int f, double scale) {
    struct dv d = {false, 0};
    d.ok = sampler__value(s, e, f, &d.v);
    if (d.ok) {
        d.v *= scale;
        if (!isfinite(d.v)) {
            d.ok = false;
        }
    }
    return d;
}

static struct dv dv_add(struct dv a, struct dv b) {
    struct dv r = {a.ok && b.ok, a.v + b.v};
    return r;
}

/* Per-VM figures the printers show. */
struct vm_view {
    struct dv cpu_used, cpu_steal, cpu_other, cpu_other_steal, cpu_vhost, cpu_used_vcpus;
    struct dv cg_cpu, lv_cpu;
    struct dv mem_rss, mem_configured, mem_swap, minflt, majflt;
    struct dv io_read, io_write, io_rchar, io_wchar, blkio_delay;
    struct dv net_rx, net_tx, net_rx_pkts, net_tx_pkts;
    struct dv disk_rd, disk_wr, disk_rd_ops, disk_wr_ops, balloon;
    struct dv psi_cpu_some, psi_io_some, psi_mem_some;
};

static void vm_view(const struct sampler *s, const struct vm *v, struct vm_view *w) {
    const struct ent *e = &v->e;
    const double pct = 100.0 / 1e9; /* ns per second -> % of one core */

    w->cpu_used = val(s, e, V_VCPU_RUN, pct);
    w->cpu_steal = val(s, e, V_VCPU_WAIT, pct);
    w->cpu_other = val(s, e, V_OTHER_RUN, pct);
    w->cpu_other_steal = val(s, e, V_OTHER_WAIT, pct);
    w->cpu_vhost = val(s, e, V_VHOST_RUN, pct);
    struct dv nthr = val(s, e, V_VCPU_THREADS, 1);
    w->cpu_used_vcpus = w->cpu_used;
    if (nthr.ok && nthr.v > 0) {
        w->cpu_used_vcpus.v /= nthr.v;
    } else {
        w->cpu_used_vcpus.ok = false;
    }
    w->cg_cpu = val(s, e, V_CG_USAGE, 100.0 / 1e6);
    w->lv_cpu = val(s, e, V_LV_CPU_TIME, pct);
    w->mem_rss = val(s, e, V_MEM_RSS, 1);
    w->mem_configured = val(s, e, V_MEM_CONFIGURED, 1);
    w->mem_swap = val(s, e, V_MEM_SWAP, 1);
    w->minflt = val(s, e, V_MEM_MINFLT, 1);
    w->majflt = val(s, e, V_MEM_MAJFLT, 1);
    w->io_read = val(s, e, V_IO_READ_BYTES, 1);
    w->io_write = val(s, e, V_IO_WRITE_BYTES, 1);
    w->io_rchar = val(s, e, V_IO_RCHAR, 1);
    w->io_wchar = val(s, e, V_IO_WCHAR, 1);
    w->blkio_delay = val(s, e, V_IO_BLKIO_DELAY, pct);
    w->psi_cpu_some = val(s, e, V_PSI_CPU_SOME_AVG10, 1);
    w->psi_io_some = val(s, e, V_PSI_IO_SOME_AVG10, 1);
    w->psi_mem_some = val(s, e, V_PSI_MEM_SOME_AVG10, 1);
    struct dv zd = {v->nvdisks > 0, 0};
    w->disk_rd = w->disk_wr = w->disk_rd_ops = w->disk_wr_ops = zd;
    for (size_t k = 0; k < v->nvdisks; k++) {
        const struct ent *d = &v->vdisks[k].e;
        w->disk_rd = dv_add(w->disk_rd, val(s, d, D_RD_BYTES, 1));
        w->disk_wr = dv_add(w->disk_wr, val(s, d, D_WR_BYTES, 1));
        w->disk_rd_ops = dv_add(w->disk_rd_ops, val(s, d, D_RD_OPS, 1));
        w->disk_wr_ops = dv_add(w->disk_wr_ops, val(s, d, D_WR_OPS, 1));
    }
    w->balloon = val(s, e, V_BALLOON_ACTUAL, 1);
    struct dv z = {v->nnics > 0, 0};
    w->net_rx = w->net_tx = w->net_rx_pkts = w->net_tx_pkts = z;
    for (size_t k = 0; k < v->nnics; k++) {
        const struct ent *n = &v->nics[k].e;
        w->net_rx = dv_add(w->net_rx, val(s, n, N_RX_BYTES, 1));
        w->net_tx = dv_add(w->net_tx, val(s, n, N_TX_BYTES, 1));
        w->net_rx_pkts = dv_add(w->net_rx_pkts, val(s, n, N_RX_PACKETS, 1));
        w->net_tx_pkts = dv_add(w->net_tx_pkts, val(s, n, N_TX_PACKETS, 1));
    }
}

/*============================== JSON ============================== */

static json_t *jnum(struct dv d) {
    if (!d.ok) {
        return json_null();
    }
    return json_real(round(d.v * 1000.0) / 1000.0);
}

static json_t *jstr(const char *s) {
    return s && *s ? json_string(s) : json_null();
}

/* Host CPU shares: Δfield / ΣΔ(user..steal) × 100 (guest is inside user, never added). */
static void host_cpu_json(const struct sampler *s, json_t *h) {
    static const char *const names[] = {"cpu_user",    "cpu_nice",   "cpu_system",
                                        "cpu_idle",    "cpu_iowait", "cpu_irq",
                                        "cpu_softirq", "cpu_steal",  "cpu_guest"};
    struct dv r[9];
    double sum = 0;
    bool ok = true;
    for (int i = 0; i < 9; i++) {
        r[i] = val(s, &s->host, H_CPU_USER + i, 1);
        if (i < 8) {
            ok = ok && r[i].ok;
            sum += r[i].v;
        }
    }
    for (int i = 0; i < 9; i++) {
        struct dv d = {ok && r[i].ok && sum > 0, sum > 0 ? r[i].v / sum * 100.0 : 0};
        json_object_set_new(h, names[i], jnum(d));
    }
}

static json_t *host_json(const struct sampler *s) {
    json_t *h = json_object();
    const struct ent *e = &s->host;
    host_cpu_json(s, h);
    json_object_set_new(h, "cpu_cores_online", jnum(val(s, e, H_CPU_ONLINE, 1)));
    json_object_set_new(h, "cores", jnum(val(s, e, H_CORES, 1)));
    json_object_set_new(h, "load1", jnum(val(s, e, H_LOAD1, 1)));
    json_object_set_new(h, "load5", jnum(val(s, e, H_LOAD5, 1)));
    json_object_set_new(h, "load15", jnum(val(s, e, H_LOAD15, 1)));
    json_object_set_new(h, "ctxt_per_s", jnum(val(s, e, H_CPU_CTXT, 1)));
    json_object_set_new(h, "mem_total", jnum(val(s, e, H_MEM_TOTAL, 1)));
    json_object_set_new(h, "mem_free", jnum(val(s, e, H_MEM_FREE, 1)));
    json_object_set_new(h, "mem_available", jnum(val(s, e, H_MEM_AVAILABLE, 1)));
    json_object_set_new(h, "mem_cached", jnum(val(s, e, H_MEM_CACHED, 1)));
    struct dv st = val(s, e, H_MEM_SWAP_TOTAL, 1), sf = val(s, e, H_MEM_SWAP_FREE, 1);
    struct dv su = {st.ok && sf.ok, st.v - sf.v};
    json_object_set_new(h, "mem_swap_used", jnum(su));
    json_object_set_new(h, "psi_cpu_some_avg10", jnum(val(s, e, H_PSI_CPU_SOME_AVG10, 1)));
    json_object_set_new(h, "psi_io_some_avg10", jnum(val(s, e, H_PSI_IO_SOME_AVG10, 1)));
    json_object_set_new(h, "psi_io_full_avg10", jnum(val(s, e, H_PSI_IO_FULL_AVG10, 1)));
    json_object_set_new(h, "psi_memory_some_avg10", jnum(val(s, e, H_PSI_MEM_SOME_AVG10, 1)));
    json_object_set_new(h, "psi_memory_full_avg10", jnum(val(s, e, H_PSI_MEM_FULL_AVG10, 1)));
    /* Whole host disks, iostat style, summed (partitions are never counted). */
    struct dv rd = {s->ndisks > 0, 0}, wr = rd, rb = rd, wb = rd;
    for (size_t i = 0; i < s->ndisks; i++) {
        if (s->disks[i].kind == 0 /* partition */ || !s->disks[i].e.sampled) {
            continue;
        }
        rd = dv_add(rd, val(s, &s->disks[i].e, HD_READS, 1));
        wr = dv_add(wr, val(s, &s->disks[i].e, HD_WRITES, 1));
        rb = dv_add(rb, val(s, &s->disks[i].e, HD_READ_SECTORS, 512));
        wb = dv_add(wb, val(s, &s->disks[i].e, HD_WRITE_SECTORS, 512));
    }
    json_object_set_new(h, "disk_reads_per_s", jnum(rd));
    json_object_set_new(h, "disk_writes_per_s", jnum(wr));
    json_object_set_new(h, "disk_read_Bps", jnum(rb));
    json_object_set_new(h, "disk_write_Bps", jnum(wb));
    json_object_set_new(h, "vms", json_integer((json_int_t)s->nvms));
    json_object_set_new(h, "source", json_string(s->src.ops ? s->src.ops->name : "?"));
    return h;
}

static json_t *vm_json(const struct sampler *s, const struct vm *v) {
    struct vm_view w;
    json_t *d = json_object(), *vc = json_array();

    vm_view(s, v, &w);
    json_object_set_new(d, "VMID", jstr(v->src.vmid));
    json_object_set_new(d, "name", jstr(v->src.name));
    json_object_set_new(d, "UUID", jstr(v->src.uuid));
    json_object_set_new(d, "pid", json_integer(v->src.pid));
    json_object_set_new(d, "vcpus", v->src.vcpus > 0 ? json_integer(v->src.vcpus) : json_null());
    /* How the vCPU threads are known; null: unknown, cpu_used/cpu_steal missing, cpu_other is
     * the whole process. */
    static const char *const from[] = {NULL, "names", "qmp"};
    json_object_set_new(d, "vcpu_threads_from", jstr(v->vcpu_from < 3 ? from[v->vcpu_from] : NULL));
    json_object_set_new(d, "cpu_used", jnum(w.cpu_used));
    json_object_set_new(d, "cpu_steal", jnum(w.cpu_steal));
    json_object_set_new(d, "cpu_other", jnum(w.cpu_other));
    json_object_set_new(d, "cpu_other_steal", jnum(w.cpu_other_steal));
    json_object_set_new(d, "cpu_vhost", jnum(w.cpu_vhost));
    json_object_set_new(d, "cpu_used_of_vcpus", jnum(w.cpu_used_vcpus));
    json_object_set_new(d, "cgroup_cpu", jnum(w.cg_cpu));
    json_object_set_new(d, "cpu_libvirt", jnum(w.lv_cpu)); /* libvirt cpu.time, % of one core */
    if (s->coll & COLL_PERF) { /* --perf: rates of the VM cgroup's counters; null = not counted */
        const struct ent *e = &v->e;
        json_t *p = json_object();
        struct dv cyc = val(s, e, V_PERF_CYCLES, 1), ins = val(s, e, V_PERF_INSTRUCTIONS, 1);
        struct dv ipc = {cyc.ok && ins.ok && cyc.v > 0, cyc.v > 0 ? ins.v / cyc.v : 0};
        json_object_set_new(p, "cpu", jnum(val(s, e, V_PERF_TASK_CLOCK, 100.0 / 1e9)));
        json_object_set_new(p, "cycles_per_s", jnum(cyc));
        json_object_set_new(p, "instructions_per_s", jnum(ins));
        json_object_set_new(p, "ipc", jnum(ipc));
        json_object_set_new(p, "cache_misses_per_s", jnum(val(s, e, V_PERF_CACHE_MISSES, 1)));
        json_object_set_new(p, "context_switches_per_s",
                            jnum(val(s, e, V_PERF_CONTEXT_SWITCHES, 1)));
        json_object_set_new(p, "cpu_migrations_per_s", jnum(val(s, e, V_PERF_CPU_MIGRATIONS, 1)));
        json_object_set_new(p, "page_faults_per_s", jnum(val(s, e, V_PERF_PAGE_FAULTS, 1)));
        json_object_set_new(d, "perf", p);
    }
    json_object_set_new(d, "mem", jnum(w.mem_rss));
    json_object_set_new(d, "mem_configured", jnum(w.mem_configured));
    json_object_set_new(d, "mem_swap", jnum(w.mem_swap));
    json_object_set_new(d, "minflt_per_s", jnum(w.minflt));
    json_object_set_new(d, "majflt_per_s", jnum(w.majflt));
    json_object_set_new(d, "mem_balloon", jnum(w.balloon));
    /* The guest's view of its disks (QMP query-blockstats or libvirt block.N.*), summed over
     * its disks; per disk in "disks". */
    json_object_set_new(d, "disk_read_Bps", jnum(w.disk_rd));
    json_object_set_new(d, "disk_write_Bps", jnum(w.disk_wr));
    json_object_set_new(d, "disk_read_iops", jnum(w.disk_rd_ops));
    json_object_set_new(d, "disk_write_iops", jnum(w.disk_wr_ops));
    /* The host's I/O for the QEMU process (after the page cache), not the guest's view. */
    json_object_set_new(d, "io_read_Bps", jnum(w.io_read));
    json_object_set_new(d, "io_write_Bps", jnum(w.io_write));
    json_object_set_new(d, "io_rchar_Bps", jnum(w.io_rchar));
    json_object_set_new(d, "io_wchar_Bps", jnum(w.io_wchar));
    json_object_set_new(d, "blkio_delay", jnum(w.blkio_delay));
    json_object_set_new(d, "net_rx_Bps", jnum(w.net_rx));
    json_object_set_new(d, "net_tx_Bps", jnum(w.net_tx));
    json_object_set_new(d, "net_rx_pps", jnum(w.net_rx_pkts));
    json_object_set_new(d, "net_tx_pps", jnum(w.net_tx_pkts));
    json_object_set_new(d, "psi_cpu_some_avg10", jnum(w.psi_cpu_some));
    json_object_set_new(d, "psi_io_some_avg10", jnum(w.psi_io_some));
    json_object_set_new(d, "psi_memory_some_avg10", jnum(w.psi_mem_some));
    for (size_t k = 0; k < v->nvcpus; k++) {
        json_t *c = json_object();
        json_object_set_new(c, "cpu", json_integer(v->vcpus[k].idx));
        json_object_set_new(c, "tid", json_integer(v->vcpus[k].tid));
        json_object_set_new(c, "used", jnum(val(s, &v->vcpus[k].e, C_RUN, 100.0 / 1e9)));
        json_object_set_new(c, "steal", jnum(val(s, &v->vcpus[k].e, C_WAIT, 100.0 / 1e9)));
        json_object_set_new(c, "libvirt_used",
                            jnum(val(s, &v->vcpus[k].e, C_LV_TIME, 100.0 / 1e9)));
        json_array_append_new(vc, c);
    }
    json_object_set_new(d, "vcpu", vc);
    json_t *nics = json_array();
    for (size_t k = 0; k < v->nnics; k++) {
        json_t *n = json_object();
        const struct ent *e = &v->nics[k].e;
        json_object_set_new(n, "ifname", json_string(v->nics[k].ifname));
        json_object_set_new(n, "rx_Bps", jnum(val(s, e, N_RX_BYTES, 1)));
        json_object_set_new(n, "tx_Bps", jnum(val(s, e, N_TX_BYTES, 1)));
        json_object_set_new(n, "rx_pps", jnum(val(s, e, N_RX_PACKETS, 1)));
        json_object_set_new(n, "tx_pps", jnum(val(s, e, N_TX_PACKETS, 1)));
        json_array_append_new(nics, n);
    }
    json_object_set_new(d, "nics", nics);
    json_t *disks = json_array();
    for (size_t k = 0; k < v->nvdisks; k++) {
        json_t *n = json_object();
        const struct ent *e = &v->vdisks[k].e;
        json_object_set_new(n, "name", json_string(v->vdisks[k].name));
        json_object_set_new(n, "read_Bps", jnum(val(s, e, D_RD_BYTES, 1)));
        json_object_set_new(n, "write_Bps", jnum(val(s, e, D_WR_BYTES, 1)));
        json_object_set_new(n, "read_iops", jnum(val(s, e, D_RD_OPS, 1)));
        json_object_set_new(n, "write_iops", jnum(val(s, e, D_WR_OPS, 1)));
        json_object_set_new(n, "capacity", jnum(val(s, e, D_CAPACITY, 1)));
        json_array_append_new(disks, n);
    }
    json_object_set_new(d, "disks", disks);
    return d;
}

static int print_json(struct sampler *s, FILE *out) {
    char ts[40];
    json_t *root = json_object(), *doms = json_array();
    int rc = 0;

    time_format_iso(s->t_real, ts, sizeof(ts));
    json_object_set_new(root, "timestamp", json_string(ts));
    json_object_set_new(root, "host", host_json(s));
    for (size_t i = 0; i < s->nvms; i++) {
        json_array_append_new(doms, vm_json(s, s->vms[i]));
    }
    json_object_set_new(root, "domains", doms);
    if (json_dumpf(root, out, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12)) < 0 ||
        fputc('\n', out) == EOF || fflush(out) == EOF) {
        rc = -EIO;
    }
    json_decref(root);
    return rc;
}

/*============================== text ============================== */

static void tcol(FILE *out, struct dv d, int prec) {
    if (d.ok) {
        fprintf(out, "\t%.*f", prec, d.v);
    } else {
        fputs("\t-", out);
    }
}

/* Strings from VMs and configs: no tabs, newlines or control characters in a text line. */
static void tstr(FILE *out, const char *s) {
    fputc('\t', out);
    if (!s || !*s) {
        fputc('-', out);
        return;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
    }
}

static int print_text(struct sampler *s, FILE *out, int *header_done) {
    char ts[40];
    if (!*header_done) {
        fputs("timestamp\tVMID\tname\tUUID\tpid\tcpu_used\tcpu_steal\tcpu_other\tcpu_other_steal"
              "\tmem_rss_MiB\tio_read_kBps\tio_write_kBps\tnet_rx_kBps\tnet_tx_kBps\n",
              out);
        *header_done = 1;
    }
    time_format_iso(s->t_real, ts, sizeof(ts));
    for (size_t i = 0; i < s->nvms; i++) {
        struct vm_view w;
        const struct vm *v = s->vms[i];
        vm_view(s, v, &w);
        fputs(ts, out);
        tstr(out, v->src.vmid);
        tstr(out, v->src.name);
        tstr(out, v->src.uuid);
        fprintf(out, "\t%d", (int)v->src.pid);
        tcol(out, w.cpu_used, 1);
        tcol(out, w.cpu_steal, 1);
        tcol(out, w.cpu_other, 1);
        tcol(out, w.cpu_other_steal, 1);
        w.mem_rss.v /= 1048576.0;
        tcol(out, w.mem_rss, 1);
        w.io_read.v /= 1024.0;
        w.io_write.v /= 1024.0;
        w.net_rx.v /= 1024.0;
        w.net_tx.v /= 1024.0;
        tcol(out, w.io_read, 1);
        tcol(out, w.io_write, 1);
        tcol(out, w.net_rx, 2);
        tcol(out, w.net_tx, 2);
        fputc('\n', out);
    }
    return fflush(out) == EOF ? -EIO : 0;
}

int printer_print(enum printer_kind kind, struct sampler *s, FILE *out, int *header_done) {
    switch (kind) {
    case PRINTER_JSON:
        return print_json(s, out);
    case PRINTER_TEXT:
        return print_text(s, out, header_done);
    case PRINTER_NONE:
        break;
    }
    return 0;
}
