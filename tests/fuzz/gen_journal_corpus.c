/* gen_journal_corpus.c: writes the seed corpus of fuzz_journal_reader (tests/fuzz/corpus/journal/).
 *
 * Small journals that between them reach every record and frame type: raw and zstd blocks,
 * entities with parents and attributes, entities gone and redefined, events, missing values,
 * reals, counters near 2^64, several blocks with an index, two sections in one file, and a torn
 * tail. Each uses a handful of metrics so that its section header (the catalogue copy) stays
 * small and every file stays well under 20 KB. Usage: gen_journal_corpus DIR
 * SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalogue.h"
#include "core_error.h"
#include "journal_writer.h"

#define T0      1763700000000000000ll
#define STEP_NS 1000000000ll

static const char *const metric_names[] = {"vm.cpu.vcpu_run", "vm.mem.rss", "vm.psi.cpu.some_avg10",
                                           "vm_disk.wr_bytes", "vm_nic.rx_bytes"};
#define NMETRICS (sizeof(metric_names) / sizeof(metric_names[0]))

static struct metric_def defs[NMETRICS];

static int fail(const char *what, int rc) {
    fprintf(stderr, "gen_journal_corpus: %s: %s\n", what, core_strerror(rc));
    return 1;
}

/* Writes nticks ticks starting at tick t0 of a VM with a disk and a NIC; the VM is stopped and
 * started again half way when churn is set. */
static int write_ticks(struct journal_writer *w, uint32_t t0, uint32_t nticks, bool churn) {
    size_t n;
    const struct metric_def *all = catalogue_all(&n);
    (void)all;
    uint32_t vm_metrics[3] = {0, 1, 2}, disk_metrics[1] = {3}, nic_metrics[1] = {4};
    struct journal_attr nic_attrs[2] = {{"ifname", "tap100i0"}, {"model", "virtio"}};
    uint32_t vm = 0, disk = 0, nic = 0;
    int rc = 0;
    for (uint32_t t = t0; t < t0 + nticks && rc == 0; t++) {
        if (t == t0 || (churn && t == t0 + nticks / 2)) {
            if (t != t0) {
                if ((rc = journal_writer_gone(w, nic)) < 0 ||
                    (rc = journal_writer_gone(w, disk)) < 0 ||
                    (rc = journal_writer_gone(w, vm)) < 0)
                    return rc;
                rc = journal_writer_event(w, T0 + (int64_t)t * STEP_NS, "vm-restart", "vm 100");
                if (rc < 0)
                    return rc;
            }
            char key[32];
            snprintf(key, sizeof(key), "pid:4242@%u", t);
            struct journal_entity_desc d = {.scope = SCOPE_VM,
                                            .parent = JOURNAL_NO_ENTITY,
                                            .key = key,
                                            .uuid = "5c0f6c3a-1111-2222-3333-444455556666",
                                            .name = "web, \"prod\" =1",
                                            .vmid = "100",
                                            .pid = 4242,
                                            .start_time = t,
                                            .vcpus = 2,
                                            .mem_bytes = 1 << 30,
                                            .metrics = vm_metrics,
                                            .nmetrics = 3};
            if ((rc = journal_writer_entity(w, &d, &vm)) < 0)
                return rc;
            struct journal_entity_desc dd = {.scope = SCOPE_VM_DISK,
                                             .parent = vm,
                                             .key = "disk/virtio0",
                                             .name = "virtio0",
                                             .pid = -1,
                                             .start_time = -1,
                                             .vcpus = -1,
                                             .mem_bytes = -1,
                                             .metrics = disk_metrics,
                                             .nmetrics = 1};
            if ((rc = journal_writer_entity(w, &dd, &disk)) < 0)
                return rc;
            struct journal_entity_desc nd = {.scope = SCOPE_VM_NIC,
                                             .parent = vm,
                                             .key = "nic/net0",
                                             .name = "net0",
                                             .pid = -1,
                                             .start_time = -1,
                                             .vcpus = -1,
                                             .mem_bytes = -1,
                                             .metrics = nic_metrics,
                                             .nmetrics = 1,
                                             .attrs = nic_attrs,
                                             .nattrs = 2};
            if ((rc = journal_writer_entity(w, &nd, &nic)) < 0)
                return rc;
        }
        int64_t t_mono = t % 11 == 10 ? -1 : 7000000000ll + (int64_t)t * STEP_NS;
        if ((rc = journal_writer_tick_begin(w, T0 + (int64_t)t * STEP_NS, t_mono)) < 0)
            return rc;
        struct journal_value v[3] = {{.type = JV_INT, .u = UINT64_MAX - 100000 + (uint64_t)t * 997},
                                     {.type = JV_INT, .i = -4096 + (int64_t)t * 4096},
                                     t % 5 == 4
                                         ? (struct journal_value){.type = JV_MISSING}
                                         : (struct journal_value){.type = JV_REAL, .d = t * 0.25}};
        struct journal_value dv = {.type = JV_INT, .u = (uint64_t)t * t * 512};
        struct journal_value nv = {.type = JV_INT, .u = (uint64_t)t * 1500};
        if ((rc = journal_writer_row(w, vm, v, 3)) < 0 ||
            (rc = journal_writer_row(w, disk, &dv, 1)) < 0 ||
            (rc = journal_writer_row(w, nic, &nv, 1)) < 0)
            return rc;
        rc = journal_writer_tick_end(w);
    }
    return rc;
}

static int write_journal(const char *dir, const char *name, bool compress, uint32_t block,
                         uint32_t t0, uint32_t nticks, bool churn) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct journal_writer_opts o = {.path = path,
                                    .single_file = true,
                                    .compress = compress,
                                    .block_ticks = block,
                                    .sync_ns = -1,
                                    .writer = "gen_journal_corpus",
                                    .hostname = "fuzzhost",
                                    .machine_id = "0123456789abcdef",
                                    .interval_ns = STEP_NS,
                                    .metrics = defs,
                                    .nmetrics = NMETRICS};
    struct journal_writer *w;
    int rc = journal_writer_open(&w, &o, NULL);
    if (rc < 0)
        return fail(path, rc);
    rc = write_ticks(w, t0, nticks, churn);
    int rc2 = journal_writer_close(w);
    if (rc < 0 || rc2 < 0)
        return fail(path, rc < 0 ? rc : rc2);
    return 0;
}

/* Copies src to dst keeping only its first len bytes minus cut. */
static int write_cut(const char *dir, const char *src, const char *dst, long cut) {
    char in[4096], out[4096];
    snprintf(in, sizeof(in), "%s/%s", dir, src);
    snprintf(out, sizeof(out), "%s/%s", dir, dst);
    FILE *f = fopen(in, "rb");
    if (!f)
        return 1;
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if ((long)n <= cut)
        return 1;
    f = fopen(out, "wb");
    if (!f)
        return 1;
    size_t keep = n - (size_t)cut;
    int rc = fwrite(buf, 1, keep, f) == keep ? 0 : 1;
    return fclose(f) == 0 ? rc : 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen_journal_corpus DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    for (size_t i = 0; i < NMETRICS; i++) {
        int id = catalogue_find(metric_names[i]);
        if (id < 0) {
            fprintf(stderr, "gen_journal_corpus: no metric %s\n", metric_names[i]);
            return 1;
        }
        size_t n;
        defs[i] = catalogue_all(&n)[id];
    }
    int bad = 0;
    bad |= write_journal(dir, "raw.pxj", false, 8, 0, 30, true);
    bad |= write_journal(dir, "zstd.pxj", true, 8, 0, 30, true);
    bad |= write_journal(dir, "one-block.pxj", true, 0, 0, 5, false);
    /* Two sections in one file: the second open appends a new section. */
    bad |= write_journal(dir, "multi-section.pxj", true, 4, 0, 12, false);
    bad |= write_journal(dir, "multi-section.pxj", false, 4, 12, 12, true);
    /* A torn tail: the index, footer and part of the last tick are gone. */
    bad |= write_journal(dir, "torn-src.pxj", true, 8, 0, 20, false);
    bad |= write_cut(dir, "torn-src.pxj", "torn.pxj", 90);
    char src[4096];
    snprintf(src, sizeof(src), "%s/torn-src.pxj", dir);
    unlink(src);
    return bad ? 1 : 0;
}
