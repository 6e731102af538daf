/* synth.c: see synth.h.
 * SPDX-License-Identifier: MIT */
#include "synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"

/* The VM metrics an unprivileged sampler records with --cpu --mem (no --io): the schedstat
 * thread groups, their thread counts, cgroup cpu.stat, and memory. Indices are used below. */
static const char *const vm_metrics[] = {"vm.cpu.vcpu_run",
                                         "vm.cpu.vcpu_wait",
                                         "vm.cpu.other_run",
                                         "vm.cpu.other_wait",
                                         "vm.cpu.vhost_run",
                                         "vm.cpu.vhost_wait",
                                         "vm.cgroup.cpu.usage_usec",
                                         "vm.cgroup.cpu.user_usec",
                                         "vm.cgroup.cpu.system_usec",
                                         "vm.cgroup.cpu.nr_periods",
                                         "vm.cgroup.cpu.nr_throttled",
                                         "vm.cgroup.cpu.throttled_usec",
                                         "vm.mem.rss",
                                         "vm.mem.swap",
                                         "vm.mem.minflt",
                                         "vm.mem.majflt",
                                         "vm.mem.balloon_actual",
                                         "vm.cgroup.mem.current",
                                         "vm.cpu.vcpu_threads",
                                         "vm.cpu.other_threads",
                                         "vm.mem.configured",
                                         "vm.mem.rss_anon"};
static const char *const vcpu_metrics[] = {"vcpu.cpu.run", "vcpu.cpu.wait"};
static const char *const disk_metrics[] = {
    "vm_disk.rd_bytes",  "vm_disk.wr_bytes", "vm_disk.rd_ops",  "vm_disk.wr_ops",
    "vm_disk.flush_ops", "vm_disk.rd_time",  "vm_disk.wr_time", "vm_disk.flush_time"};
static const char *const nic_metrics[] = {"vm_nic.rx_bytes",   "vm_nic.tx_bytes",
                                          "vm_nic.rx_packets", "vm_nic.tx_packets",
                                          "vm_nic.rx_drops",   "vm_nic.tx_drops"};
#define NVM   22
#define NVCPU 2
#define NDISK 8
#define NNIC  6

struct svm {
    uint32_t id_vm, id_vcpu[2], id_disk, id_nic;
    int load; /* 0 idle, 1 moderate, 2 busy */
    struct journal_value vm[NVM], vcpu[2][NVCPU], disk[NDISK], nic[NNIC];
};

struct synth {
    uint32_t n;
    struct svm *vms;
    uint64_t rng;
    int64_t t0;
};

static uint64_t rnd(struct synth *s) { /* xorshift64* */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ull;
}

/* A noisy non-negative increment around mean (± spread). */
static uint64_t inc(struct synth *s, uint64_t mean, uint64_t spread) {
    if (!mean && !spread)
        return 0;
    uint64_t r = spread ? rnd(s) % (2 * spread + 1) : spread;
    return mean + r >= spread ? mean + r - spread : 0;
}

static int define(struct journal_writer *w, enum metric_scope scope, uint32_t parent,
                  const char *key, const char *name, const char *const *names, uint32_t n,
                  uint32_t *id, int vcpus) {
    uint32_t ids[32];
    for (uint32_t i = 0; i < n; i++) {
        int m = catalogue_find(names[i]);
        if (m < 0) {
            fprintf(stderr, "synth: metric %s is not in the catalogue\n", names[i]);
            return -1;
        }
        ids[i] = (uint32_t)m;
    }
    /* VM keys are "uuid:UUID": the UUID is the key's tail. */
    const char *uuid = scope == SCOPE_VM && strncmp(key, "uuid:", 5) == 0 ? key + 5 : NULL;
    struct journal_entity_desc d = {.scope = scope,
                                    .parent = parent,
                                    .key = key,
                                    .name = name,
                                    .uuid = uuid,
                                    .pid = -1,
                                    .start_time = -1,
                                    .vcpus = vcpus,
                                    .mem_bytes = -1,
                                    .metrics = ids,
                                    .nmetrics = n};
    return journal_writer_entity(w, &d, id);
}

struct synth *synth_new(struct journal_writer *w, uint32_t vms, uint64_t seed) {
    struct synth *s = calloc(1, sizeof(*s));
    s->n = vms;
    s->vms = calloc(vms, sizeof(*s->vms));
    s->rng = seed ? seed : 88172645463325252ull;
    for (uint32_t i = 0; i < vms; i++) {
        struct svm *v = &s->vms[i];
        char key[64], name[64], sub[96];
        snprintf(key, sizeof(key), "uuid:00000000-0000-4000-8000-%012x", i + 1);
        snprintf(name, sizeof(name), "vm%03u", i + 100);
        v->load = i % 10 == 0 ? 2 : i % 10 < 4 ? 1 : 0;
        if (define(w, SCOPE_VM, JOURNAL_NO_ENTITY, key, name, vm_metrics, NVM, &v->id_vm, 2) < 0)
            goto fail;
        for (int c = 0; c < 2; c++) {
            char cname[16];
            snprintf(sub, sizeof(sub), "%s/vcpu%d", key, c);
            snprintf(cname, sizeof(cname), "CPU %d", c);
            if (define(w, SCOPE_VCPU, v->id_vm, sub, cname, vcpu_metrics, NVCPU, &v->id_vcpu[c],
                       -1) < 0)
                goto fail;
        }
        snprintf(sub, sizeof(sub), "%s/disk/virtio0", key);
        if (define(w, SCOPE_VM_DISK, v->id_vm, sub, "virtio0", disk_metrics, NDISK, &v->id_disk,
                   -1) < 0)
            goto fail;
        snprintf(sub, sizeof(sub), "%s/nic/net0", key);
        if (define(w, SCOPE_VM_NIC, v->id_vm, sub, "net0", nic_metrics, NNIC, &v->id_nic, -1) < 0)
            goto fail;
        for (int k = 0; k < NVM; k++)
            v->vm[k] = (struct journal_value){.type = JV_INT, .u = rnd(s) % 1000000000000ull};
        v->vm[12].u = (1ull << 30) + (rnd(s) % 256) * 4096; /* rss */
        v->vm[13].u = 0;
        v->vm[16].u = 2ull << 30; /* balloon actual */
        v->vm[17].u = v->vm[12].u + (64ull << 20);
        v->vm[9].u = v->vm[10].u = v->vm[11].u = 0; /* no cpu.max quota unless busy */
        v->vm[18].u = 2;                            /* vCPU threads */
        v->vm[19].u = 5 + i % 3;                    /* main loop, iothread, workers */
        v->vm[20].u = 2ull << 30;                   /* configured memory */
        v->vm[21].u = v->vm[12].u - (96ull << 20);
        for (int c = 0; c < 2; c++)
            for (int k = 0; k < NVCPU; k++)
                v->vcpu[c][k] =
                    (struct journal_value){.type = JV_INT, .u = rnd(s) % 100000000000ull};
        for (int k = 0; k < NDISK; k++)
            v->disk[k] = (struct journal_value){.type = JV_INT, .u = rnd(s) % 10000000000ull};
        for (int k = 0; k < NNIC; k++)
            v->nic[k] = (struct journal_value){.type = JV_INT, .u = rnd(s) % 10000000000ull};
    }
    return s;
fail:
    synth_free(s);
    return NULL;
}

int synth_tick(struct synth *s, struct journal_writer *w, int64_t t_real) {
    if (!s->t0)
        s->t0 = t_real;
    int rc = journal_writer_tick_begin(w, t_real, t_real - s->t0 + 123456789);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < s->n && rc == 0; i++) {
        struct svm *v = &s->vms[i];
        /* vCPU run per second: busy ≈ one core over two vCPUs, moderate 10–30 %, idle ~0.5 %. */
        uint64_t run_mean = v->load == 2 ? 500000000 : v->load == 1 ? 100000000 : 2500000;
        uint64_t run_total = 0, wait_total = 0;
        for (int c = 0; c < 2; c++) {
            uint64_t run = inc(s, run_mean, run_mean / 20 + 1000);
            uint64_t wait = inc(s, run / 50, run / 100 + 100);
            v->vcpu[c][0].u += run;
            v->vcpu[c][1].u += wait;
            run_total += run;
            wait_total += wait;
        }
        v->vm[0].u += run_total;
        v->vm[1].u += wait_total;
        uint64_t other = inc(s, v->load ? 8000000 : 400000, v->load ? 2000000 : 200000);
        v->vm[2].u += other;
        v->vm[3].u += inc(s, other / 10, other / 20 + 1);
        if (v->load) {
            v->vm[4].u += inc(s, 3000000, 1000000);
            v->vm[5].u += inc(s, 100000, 50000);
        }
        uint64_t usage_us = (run_total + other) / 1000;
        v->vm[6].u += usage_us;
        v->vm[7].u += usage_us / 20;
        v->vm[8].u += usage_us - usage_us / 20;
        if (v->load == 2) { /* only the busy VMs have a CPU quota (cpu.max) */
            v->vm[9].u += 10;
            if (rnd(s) % 8 == 0) {
                v->vm[10].u += 1;
                v->vm[11].u += inc(s, 2000, 1000);
            }
        }
        if (rnd(s) % 30 == 0) /* rss moves a few pages now and then */
            v->vm[12].u += (rnd(s) % 64) * 4096;
        v->vm[14].u += inc(s, v->load ? 200 : 5, v->load ? 150 : 5);
        if (rnd(s) % 600 == 0)
            v->vm[15].u += 1;
        if (rnd(s) % 30 == 0)
            v->vm[17].u = v->vm[12].u + (64ull << 20) + (rnd(s) % 16) * 4096;
        uint64_t rd = v->load == 2 ? inc(s, 8 << 20, 4 << 20)
                      : v->load    ? inc(s, 64 << 10, 64 << 10)
                                   : 0;
        uint64_t wr =
            v->load == 2 ? inc(s, 4 << 20, 2 << 20) : (rnd(s) % 5 == 0 ? 4096 * (rnd(s) % 8) : 0);
        if (rnd(s) % 30 == 0) { /* anonymous memory follows rss */
            v->vm[21].u = v->vm[12].u - (96ull << 20);
        }
        uint64_t rops = rd / 65536 + (rd ? 1 : 0), wops = wr / 65536 + (wr ? 1 : 0);
        v->disk[0].u += rd;
        v->disk[1].u += wr;
        v->disk[2].u += rops;
        v->disk[3].u += wops;
        if (wr && rnd(s) % 4 == 0)
            v->disk[4].u += 1;
        v->disk[5].u += rops * inc(s, 200000, 100000);
        v->disk[6].u += wops * inc(s, 400000, 200000);
        if (wr)
            v->disk[7].u += inc(s, 1000000, 500000) * (rnd(s) % 4 == 0);
        uint64_t rxp = v->load == 2 ? inc(s, 3000, 1000) : (rnd(s) % 10 == 0 ? 1 + rnd(s) % 3 : 0);
        uint64_t txp = v->load == 2 ? inc(s, 2000, 800) : (rnd(s) % 20 == 0 ? 1 : 0);
        v->nic[0].u += rxp * (64 + rnd(s) % 1400);
        v->nic[1].u += txp * (64 + rnd(s) % 1400);
        v->nic[2].u += rxp;
        v->nic[3].u += txp;
        rc = journal_writer_row(w, v->id_vm, v->vm, NVM);
        for (int c = 0; c < 2 && rc == 0; c++)
            rc = journal_writer_row(w, v->id_vcpu[c], v->vcpu[c], NVCPU);
        if (rc == 0)
            rc = journal_writer_row(w, v->id_disk, v->disk, NDISK);
        if (rc == 0)
            rc = journal_writer_row(w, v->id_nic, v->nic, NNIC);
    }
    int rc2 = journal_writer_tick_end(w);
    return rc ? rc : rc2;
}

void synth_free(struct synth *s) {
    if (!s)
        return;
    free(s->vms);
    free(s);
}
