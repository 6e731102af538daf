/* test_sampler_libvirt.c: libvirt's per-tick statistics on their way into the journal.
 *
 * 1. source__libvirt_values(): a hand-made libvirt snapshot of one domain goes to a recording
 *    sink as catalogue metrics: KiB × 1024 → bytes where the catalogue says bytes, counters as
 *    sent, a parameter libvirt did not send never handed over (never 0), the quantities other
 *    metrics already hold (balloon.rss, balloon.maximum, vcpu.N.delay) not handed over, NIC
 *    values unswapped (libvirt's are the guest's view), and the disk list complete only when the
 *    block group came.
 * 2. The whole sampler with the libvirt source on libvirt's in-process test driver
 *    (test:///default, no daemon) over a fake procfs root made from the datasets/proc capture
 *    of a QEMU process: the domain "test" is matched to that process through a run directory
 *    (test.pid, status XML with the vCPU TID), a journal is written and read back. The test
 *    driver sends only the state group: vm.libvirt.state is in the journal, the cpu, balloon,
 *    vCPU and disk values libvirt did not send are nil, and no disk or NIC entity is made up.
 * Real values from a real libvirtd: tests/lab (test_lab_sampler_libvirt, _libvirt_io).
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "catalogue.h"
#include "journal_reader.h"
#include "journal_writer.h"
#include "libvirt_stats.h"
#include "printer.h"
#include "sampler.h"
#include "source.h"
#include "source_internal.h"
#include "sampler_fixture.h"
#include "testutil.h"


#define TEST_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f" /* test:///default's domain "test" */
#define QEMU_PID  10713                                  /* datasets/proc/qemu-pve-100 */
#define VCPU0_TID 10722                                  /* its "CPU 0/KVM" thread */

/*============================== 1. the mapping ============================== */

/* What the sink received: one line per value, "scope key metric=value". */
struct rec {
    char lines[64][160];
    size_t n;
};

static void rec_add(struct rec *r, const char *where, const struct source_value *val, size_t n) {
    size_t count;
    const struct metric_def *defs = catalogue_all(&count);
    if (n == 0) {
        assert_true(r->n < 64);
        snprintf(r->lines[r->n++], sizeof(r->lines[0]), "%s (no values)", where);
    }
    for (size_t i = 0; i < n; i++) {
        assert_true(val[i].metric >= 0 && (size_t)val[i].metric < count);
        assert_true(r->n < 64);
        snprintf(r->lines[r->n++], sizeof(r->lines[0]), "%s %s=%llu", where,
                 defs[val[i].metric].name, (unsigned long long)val[i].v);
    }
}

static void rec_vm(void *ctx, const struct source_value *val, size_t n) {
    rec_add(ctx, "vm", val, n);
}

static void rec_vcpu(void *ctx, int32_t idx, int32_t tid, const struct source_value *val,
                     size_t n) {
    char where[64];
    snprintf(where, sizeof(where), "vcpu%d/tid%d", (int)idx, (int)tid);
    rec_add(ctx, where, val, n);
}

static void rec_disk(void *ctx, const char *name, const struct source_value *val, size_t n) {
    char where[64];
    snprintf(where, sizeof(where), "disk/%s", name);
    rec_add(ctx, where, val, n);
}

static void rec_nic(void *ctx, const char *ifname, const struct source_value *val, size_t n) {
    char where[64];
    snprintf(where, sizeof(where), "nic/%s", ifname);
    rec_add(ctx, where, val, n);
}

static bool has_line(const struct rec *r, const char *line) {
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->lines[i], line) == 0) {
            return true;
        }
    }
    return false;
}

/* Whether any line mentions s (a metric name or an entity). */
static bool mentions(const struct rec *r, const char *s) {
    for (size_t i = 0; i < r->n; i++) {
        if (strstr(r->lines[i], s)) {
            return true;
        }
    }
    return false;
}

static void expect(const struct rec *r, const char *line) {
    if (!has_line(r, line)) {
        for (size_t i = 0; i < r->n; i++) {
            print_message("  got: %s\n", r->lines[i]);
        }
        fail_msg("expected \"%s\"", line);
    }
}

static void test_values_mapping(void **state) {
    (void)state;
    struct lvs_vcpu vcpu[3];
    struct lvs_disk disk[3];
    struct lvs_nic nic[1];
    struct lvs_domain d;
    struct rec r = {.n = 0};
    const struct source_sink sink = {&r, rec_vm, rec_vcpu, rec_disk, rec_nic};

    memset(&d, 0, sizeof(d));
    memset(vcpu, 0, sizeof(vcpu));
    memset(disk, 0, sizeof(disk));
    memset(nic, 0, sizeof(nic));
    d.valid = LVS_D_STATE | LVS_D_CPU_TIME | LVS_D_CPU_SYSTEM | LVS_D_BLOCK;
    d.state = 3; /* paused */
    d.reason = 5;
    d.cpu_time_ns = 6413459000;
    d.cpu_user_ns = 111; /* not valid: never handed over */
    d.cpu_system_ns = 640133000;
    d.balloon[LVS_BAL_CURRENT] = 131072; /* KiB */
    d.balloon[LVS_BAL_MAXIMUM] = 262144;
    d.balloon[LVS_BAL_MINOR_FAULT] = 665;
    d.balloon[LVS_BAL_UNUSED] = 53392;
    d.balloon[LVS_BAL_RSS] = 215004;
    d.balloon[LVS_BAL_LAST_UPDATE] = 1795308942;
    d.balloon[LVS_BAL_SWAP_IN] = 77; /* not valid */
    d.balloon_valid = 1u << LVS_BAL_CURRENT | 1u << LVS_BAL_MAXIMUM | 1u << LVS_BAL_MINOR_FAULT |
                      1u << LVS_BAL_UNUSED | 1u << LVS_BAL_RSS | 1u << LVS_BAL_LAST_UPDATE;
    vcpu[0] =
        (struct lvs_vcpu){.time_ns = 6040000000,
                          .wait_ns = 0,
                          .delay_ns = 25884400,
                          .tid = 4242,
                          .valid = LVS_V_TIME | LVS_V_WAIT | LVS_V_DELAY | LVS_V_STATE | LVS_V_TID};
    vcpu[1] = (struct lvs_vcpu){.delay_ns = 9, .valid = LVS_V_DELAY}; /* delay only: nothing */
    vcpu[2] = (struct lvs_vcpu){.time_ns = 5, .valid = LVS_V_TIME};   /* TID unknown */
    d.vcpu = vcpu;
    d.nvcpu = 3;
    snprintf(disk[0].name, sizeof(disk[0].name), "vda");
    disk[0].v[LVS_DISK_WR_BYTES] = 3407872;
    disk[0].v[LVS_DISK_WR_TIMES] = 11797794;
    disk[0].v[LVS_DISK_CAPACITY] = 67108864;
    disk[0].v[LVS_DISK_ERRORS] = 3;   /* Xen's only: never handed over */
    disk[0].v[LVS_DISK_RD_BYTES] = 1; /* not valid */
    disk[0].valid = 1u << LVS_DISK_WR_BYTES | 1u << LVS_DISK_WR_TIMES | 1u << LVS_DISK_CAPACITY |
                    1u << LVS_DISK_ERRORS;
    snprintf(disk[1].name, sizeof(disk[1].name), "vdb"); /* present, no statistics this tick */
    disk[2].valid = 1u << LVS_DISK_WR_BYTES;             /* no name: not a disk to name */
    d.disk = disk;
    d.ndisk = 3;
    snprintf(nic[0].name, sizeof(nic[0].name), "vnet7");
    nic[0].v[LVS_NIC_RX_BYTES] = 88474;
    nic[0].v[LVS_NIC_TX_BYTES] = 38484;
    nic[0].v[LVS_NIC_RX_PKTS] = 107;
    nic[0].valid = 1u << LVS_NIC_RX_BYTES | 1u << LVS_NIC_TX_BYTES | 1u << LVS_NIC_RX_PKTS;
    d.nic = nic;
    d.nnic = 1;

    assert_int_equal(source__libvirt_values(&d, &sink), 1);
    expect(&r, "vm vm.libvirt.state=3");
    expect(&r, "vm vm.libvirt.state_reason=5");
    expect(&r, "vm vm.cpu.libvirt_time=6413459000");
    expect(&r, "vm vm.cpu.libvirt_system=640133000");
    assert_false(mentions(&r, "vm.cpu.libvirt_user"));
    expect(&r, "vm vm.mem.balloon_actual=134217728"); /* 131072 KiB */
    expect(&r, "vm vm.mem.guest_free=54673408");      /* 53392 KiB */
    expect(&r, "vm vm.mem.guest_minor_faults=665");   /* a count: not scaled */
    expect(&r, "vm vm.mem.guest_stats_updated=1795308942");
    assert_false(mentions(&r, "guest_swap_in"));
    assert_false(mentions(&r, "vm.mem.rss"));        /* = statm, read by the collector */
    assert_false(mentions(&r, "vm.mem.configured")); /* from the VM's description */
    expect(&r, "vcpu0/tid4242 vcpu.cpu.libvirt_time=6040000000");
    expect(&r, "vcpu0/tid4242 vcpu.cpu.libvirt_wait=0"); /* sent as 0: stored as 0 */
    assert_false(mentions(&r, "vcpu1/"));                /* delay = vcpu.cpu.wait */
    assert_false(mentions(&r, "vcpu.cpu.wait="));
    expect(&r, "vcpu2/tid-1 vcpu.cpu.libvirt_time=5");
    expect(&r, "disk/vda vm_disk.wr_bytes=3407872");
    expect(&r, "disk/vda vm_disk.wr_time=11797794");
    expect(&r, "disk/vda vm_disk.capacity=67108864");
    assert_false(mentions(&r, "vm_disk.rd_bytes"));
    expect(&r, "disk/vdb (no values)");
    assert_false(mentions(&r, "disk/ "));
    expect(&r, "nic/vnet7 vm_nic.rx_bytes=88474"); /* libvirt's rx is the guest's rx */
    expect(&r, "nic/vnet7 vm_nic.tx_bytes=38484");
    expect(&r, "nic/vnet7 vm_nic.rx_packets=107");
    assert_int_equal(r.n, 18);

    /* Without the block group the disk list is not known to be complete; with nothing valid at
     * all, nothing is handed over. */
    d.valid &= ~(unsigned)LVS_D_BLOCK;
    r.n = 0;
    assert_int_equal(source__libvirt_values(&d, &sink), 0);
    memset(&d, 0, sizeof(d));
    r.n = 0;
    assert_int_equal(source__libvirt_values(&d, &sink), 0);
    assert_int_equal(r.n, 0);
}

/*============================== 2. sampler + journal ============================== */

/* root/proc: host-vm files + /proc/10713 from qemu-pve-100; root/sys; root/run: libvirt's run
 * directory for the test driver's domain "test" (its pidfile and status XML). */
static char *make_root(void) {
    static const char status_xml[] = "<domstatus state='running' reason='booted' pid='10713'>\n"
                                     "  <vcpus>\n"
                                     "    <vcpu id='0' pid='10722'/>\n"
                                     "  </vcpus>\n"
                                     "  <domain type='kvm' id='1'><name>test</name></domain>\n"
                                     "</domstatus>\n";
    char *root = sf_host_root("sampler-lv");
    char path[600];
    sf_add_qemu(root);
    snprintf(path, sizeof(path), "%s/run", root);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/run/test.pid", root);
    assert_int_equal(tu_write_file(path, "10713\n", 6), 0);
    snprintf(path, sizeof(path), "%s/run/test.xml", root);
    assert_int_equal(tu_write_file(path, status_xml, sizeof(status_xml) - 1), 0);
    return root;
}

/* The last value of metric name for entity key in the journal at path. */
static struct journal_value last_value(const char *path, const char *key, const char *name,
                                       bool *entity_seen, bool *metric_in_row) {
    struct journal_reader *r;
    struct journal_item it;
    struct journal_value v = {.type = JV_MISSING};
    const char *paths[] = {path};
    *entity_seen = *metric_in_row = false;
    assert_int_equal(journal_reader_open(&r, paths, 1, NULL, NULL), 0);
    while (journal_reader_next(r, &it) == 1) {
        if (it.type != JI_TICK) {
            continue;
        }
        int mid = journal_reader_metric_find(r, name);
        for (size_t i = 0; i < it.nrows; i++) {
            const struct journal_row *row = &it.rows[i];
            const struct journal_entity_info *e = journal_reader_entity(r, row->entity);
            if (strcmp(e->desc.key, key) != 0) {
                continue;
            }
            *entity_seen = true;
            for (uint32_t k = 0; k < row->n; k++) {
                if (mid >= 0 && row->metric[k] == (uint32_t)mid) {
                    *metric_in_row = true;
                    v = row->value[k];
                }
            }
        }
    }
    journal_reader_free(r);
    return v;
}

/* What the journal says about its entities: counts per scope, and the VM with key vmkey. */
struct facts {
    size_t per_scope[SCOPE_COUNT];
    bool vm_found;
    char name[64], uuid[64], source[32];
    int64_t pid;
};

static void journal_facts(const char *path, const char *vmkey, struct facts *f) {
    struct journal_reader *r;
    struct journal_item it;
    const char *paths[] = {path};
    memset(f, 0, sizeof(*f));
    assert_int_equal(journal_reader_open(&r, paths, 1, NULL, NULL), 0);
    while (journal_reader_next(r, &it) == 1) {
    }
    for (size_t i = 0; i < journal_reader_entity_count(r); i++) {
        const struct journal_entity_desc *e = &journal_reader_entity(r, (uint32_t)i)->desc;
        assert_true((unsigned)e->scope < SCOPE_COUNT);
        f->per_scope[e->scope]++;
        if (strcmp(e->key, vmkey) != 0) {
            continue;
        }
        f->vm_found = true;
        snprintf(f->name, sizeof(f->name), "%s", e->name ? e->name : "");
        snprintf(f->uuid, sizeof(f->uuid), "%s", e->uuid ? e->uuid : "");
        f->pid = e->pid;
        for (uint32_t a = 0; a < e->nattrs; a++) {
            if (strcmp(e->attrs[a].key, "source") == 0) {
                snprintf(f->source, sizeof(f->source), "%s", e->attrs[a].value);
            }
        }
    }
    journal_reader_free(r);
}

static void expect_int(const char *jpath, const char *key, const char *name, uint64_t want) {
    bool ent, in_row;
    struct journal_value v = last_value(jpath, key, name, &ent, &in_row);
    if (!ent || !in_row || v.type != JV_INT || v.u != want) {
        fail_msg("%s %s: entity %d, in row %d, type %d, value %llu; expected %llu", key, name, ent,
                 in_row, v.type, (unsigned long long)v.u, (unsigned long long)want);
    }
}

static void expect_nil(const char *jpath, const char *key, const char *name) {
    bool ent, in_row;
    struct journal_value v = last_value(jpath, key, name, &ent, &in_row);
    /* the metric is one of the entity's slots (the journal can hold it) and is nil */
    if (!ent || !in_row || v.type != JV_MISSING) {
        fail_msg("%s %s: entity %d, in row %d, type %d; expected nil", key, name, ent, in_row,
                 v.type);
    }
}

static void expect_present(const char *jpath, const char *key, const char *name) {
    bool ent, in_row;
    struct journal_value v = last_value(jpath, key, name, &ent, &in_row);
    if (!ent || !in_row || v.type == JV_MISSING) {
        fail_msg("%s %s: entity %d, in row %d, type %d; expected a value", key, name, ent, in_row,
                 v.type);
    }
}

static void test_libvirt_source_journal(void **state) {
    (void)state;
    char *root = make_root(), proc[512], sys[512], rund[512], err[256];
    struct sampler_opts o = {0};
    struct sampler *s;

    snprintf(proc, sizeof(proc), "%s/proc", root);
    snprintf(sys, sizeof(sys), "%s/sys", root);
    snprintf(rund, sizeof(rund), "%s/run", root);
    o.procfs = proc;
    o.sysfs = sys;
    o.source = SOURCE_LIBVIRT;
    o.uri = "test:///default";
    o.libvirt_run_dir = rund;
    if (sampler_new(&s, &o, err, sizeof(err)) != 0) {
        fail_msg("sampler_new: %s", err);
    }
    assert_string_equal(sampler_source_name(s), "libvirt");

    char *jpath = tu_path(root, "lv.pxj");
    struct journal_writer_opts jo = {0};
    struct journal_writer *w;
    jo.path = jpath;
    jo.writer = "test_sampler_libvirt";
    assert_int_equal(journal_writer_open(&w, &jo, NULL), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sampler_tick(s), 0);
        assert_int_equal(sampler_nvms(s), 1);
        assert_int_equal(sampler_journal_write(s, w), 0);
    }
    assert_int_equal(journal_writer_close(w), 0);

    /* The JSON printer: the VM by libvirt's name, libvirt's figures null (not 0), no disks. */
    json_t *j = sf_tick_json(s, root);
    json_t *d = json_array_get(json_object_get(j, "domains"), 0);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "name")), "test");
    assert_string_equal(json_string_value(json_object_get(d, "UUID")), TEST_UUID);
    assert_int_equal(json_integer_value(json_object_get(d, "pid")), QEMU_PID);
    assert_true(json_is_null(json_object_get(d, "cpu_libvirt")));
    assert_true(json_is_number(json_object_get(d, "cpu_used"))); /* /proc goes on */
    assert_int_equal(json_array_size(json_object_get(d, "disks")), 0);
    json_t *c0 = json_array_get(json_object_get(d, "vcpu"), 0);
    assert_non_null(c0);
    assert_int_equal(json_integer_value(json_object_get(c0, "tid")), VCPU0_TID);
    assert_true(json_is_null(json_object_get(c0, "libvirt_used")));
    json_decref(j);
    sampler_free(s);

    /* The journal, read back. */
    struct facts f;
    journal_facts(jpath, "vm/" TEST_UUID, &f);
    assert_true(f.vm_found);
    assert_int_equal(f.per_scope[SCOPE_VM], 1);
    assert_string_equal(f.name, "test");
    assert_string_equal(f.uuid, TEST_UUID);
    assert_string_equal(f.source, "libvirt");
    assert_int_equal(f.pid, QEMU_PID);
    const char *vk = "vm/" TEST_UUID, *ck = "vm/" TEST_UUID "/vcpu0";
    expect_int(jpath, vk, "vm.libvirt.state", 1); /* running */
    expect_present(jpath, vk, "vm.libvirt.state_reason");
    expect_present(jpath, vk, "vm.cpu.vcpu_run"); /* the collectors' own values */
    expect_nil(jpath, vk, "vm.cpu.libvirt_time");
    expect_nil(jpath, vk, "vm.cpu.libvirt_user");
    expect_nil(jpath, vk, "vm.mem.balloon_actual");
    expect_nil(jpath, vk, "vm.mem.guest_total");
    expect_present(jpath, ck, "vcpu.cpu.run");
    expect_nil(jpath, ck, "vcpu.cpu.libvirt_time");
    expect_nil(jpath, ck, "vcpu.cpu.libvirt_wait");
    assert_int_equal(f.per_scope[SCOPE_VCPU], 1);
    assert_int_equal(f.per_scope[SCOPE_VM_DISK], 0); /* no block group: no disk made up */
    assert_int_equal(f.per_scope[SCOPE_VM_NIC], 0);  /* no interface group, no NIC listed */

    free(jpath);
    tu_rmtree(root);
    free(root);
}

/* With the cpu collector off, libvirt's cpu-collector values are not recorded either. */
static void test_libvirt_collector_off(void **state) {
    (void)state;
    char *root = make_root(), proc[512], sys[512], rund[512], err[256];
    struct sampler_opts o = {0};
    struct sampler *s;

    snprintf(proc, sizeof(proc), "%s/proc", root);
    snprintf(sys, sizeof(sys), "%s/sys", root);
    snprintf(rund, sizeof(rund), "%s/run", root);
    o.procfs = proc;
    o.sysfs = sys;
    o.source = SOURCE_LIBVIRT;
    o.uri = "test:///default";
    o.libvirt_run_dir = rund;
    o.collectors = COLL_MEM;
    if (sampler_new(&s, &o, err, sizeof(err)) != 0) {
        fail_msg("sampler_new: %s", err);
    }
    char *jpath = tu_path(root, "lv.pxj");
    struct journal_writer_opts jo = {.path = jpath, .writer = "test_sampler_libvirt"};
    struct journal_writer *w;
    assert_int_equal(journal_writer_open(&w, &jo, NULL), 0);
    assert_int_equal(sampler_tick(s), 0);
    assert_int_equal(sampler_journal_write(s, w), 0);
    assert_int_equal(journal_writer_close(w), 0);
    sampler_free(s);
    bool ent, in_row;
    (void)last_value(jpath, "vm/" TEST_UUID, "vm.libvirt.state", &ent, &in_row);
    assert_true(ent);
    assert_false(in_row); /* not a slot of the VM's rows at all */
    expect_present(jpath, "vm/" TEST_UUID, "vm.mem.minflt");
    free(jpath);
    tu_rmtree(root);
    free(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_mapping),
        cmocka_unit_test(test_libvirt_source_journal),
        cmocka_unit_test(test_libvirt_collector_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
