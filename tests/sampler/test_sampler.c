/* test_sampler.c: the whole sampler (sources, collectors, journal rows, JSON printer) on a fake
 * procfs root assembled from the real captures in datasets/proc: the host files of host-vm and
 * the Proxmox-layout spinner qemu-pve-100 (pid 10713, its .conf has a [before-upgrade] snapshot
 * section with other values). Also the .conf parser and the QEMU command-line additions.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "journal_reader.h"
#include "journal_writer.h"
#include "printer.h"
#include "proc_parse.h"
#include "pve_conf.h"
#include "qemu_cmdline.h"
#include "sampler.h"
#include "sampler_fixture.h"
#include "testutil.h"

#define DATASET SF_DATASET

/* root/proc: host-vm files + /proc/10713 from qemu-pve-100; root/sys: host-vm/sys;
 * root/pve: var/run/qemu-server/100.pid, etc/pve/qemu-server/100.conf. */
static char *make_root(void) {
    char *root = sf_host_root("sampler");
    char cmd[4096];
    sf_add_qemu(root);
    snprintf(cmd, sizeof(cmd),
             "set -e; R='%s'; D='%s'; mkdir -p $R/pve/var/run/qemu-server "
             "$R/pve/etc/pve/qemu-server; "
             "cp $D/qemu-pve-100/layout/100.pid $R/pve/var/run/qemu-server/; "
             "cp $D/qemu-pve-100/layout/100.conf $R/pve/etc/pve/qemu-server/",
             root, DATASET);
    sf_run(cmd);
    return root;
}

static void test_procfs_source_on_capture(void **state) {
    (void)state;
    char *root = make_root(), proc[512], sys[512], err[256];
    struct sampler_opts o = {0};
    struct sampler *s;

    snprintf(proc, sizeof(proc), "%s/proc", root);
    snprintf(sys, sizeof(sys), "%s/sys", root);
    o.procfs = proc;
    o.sysfs = sys;
    o.source = SOURCE_PROCFS;
    assert_int_equal(sampler_new(&s, &o, err, sizeof(err)), 0);
    assert_string_equal(sampler_source_name(s), "procfs");
    assert_int_equal(sampler_tick(s), 0);
    assert_int_equal(sampler_nvms(s), 1);
    assert_int_equal(sampler_tick(s), 0);

    json_t *j = sf_tick_json(s, root);
    json_t *d = json_array_get(json_object_get(j, "domains"), 0);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "name")), "lab-vm100");
    assert_string_equal(json_string_value(json_object_get(d, "UUID")),
                        "5d0e3c1a-7a6b-4d8e-9a41-000000000100");
    assert_true(json_is_null(json_object_get(d, "VMID"))); /* procfs does not know VMIDs */
    assert_int_equal(json_integer_value(json_object_get(d, "pid")), 10713);
    /* the files do not change between the two ticks: rates are a real 0, not missing */
    assert_true(json_is_number(json_object_get(d, "cpu_used")));
    assert_true(json_number_value(json_object_get(d, "cpu_used")) == 0.0);
    json_t *vc = json_object_get(d, "vcpu");
    assert_int_equal(json_array_size(vc), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(vc, 0), "cpu")), 0);
    /* the tap named on the command line, in the guest's direction (not in the capture's
     * net/dev: missing, never 0) */
    json_t *nics = json_object_get(d, "nics");
    assert_int_equal(json_array_size(nics), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(nics, 0), "ifname")),
                        "tap100i0");
    assert_true(json_is_null(json_object_get(d, "net_rx_Bps")));
    json_t *h = json_object_get(j, "host");
    assert_true(json_number_value(json_object_get(h, "mem_total")) > 1e9);
    json_decref(j);

    /* the journal takes the tick */
    char *jpath = tu_path(root, "t.pxj");
    struct journal_writer_opts jo = {0};
    struct journal_writer *w;
    jo.path = jpath;
    jo.writer = "test_sampler";
    assert_int_equal(journal_writer_open(&w, &jo, NULL), 0);
    assert_int_equal(sampler_journal_write(s, w), 0);
    assert_int_equal(sampler_tick(s), 0);
    assert_int_equal(sampler_journal_write(s, w), 0);
    assert_int_equal(journal_writer_close(w), 0);
    struct stat sb;
    assert_int_equal(stat(jpath, &sb), 0);
    assert_true(sb.st_size > 100);
    free(jpath);

    sampler_free(s);
    tu_rmtree(root);
    free(root);
}

static void test_proxmox_source_on_capture(void **state) {
    (void)state;
    char *root = make_root(), proc[512], sys[512], pve[512], err[256];
    struct sampler_opts o = {0};
    struct sampler *s;

    snprintf(proc, sizeof(proc), "%s/proc", root);
    snprintf(sys, sizeof(sys), "%s/sys", root);
    snprintf(pve, sizeof(pve), "%s/pve", root);
    o.procfs = proc;
    o.sysfs = sys;
    o.pve_root = pve;
    o.source = SOURCE_AUTO; /* etc/pve/qemu-server exists under the root: Proxmox */
    assert_int_equal(sampler_new(&s, &o, err, sizeof(err)), 0);
    assert_string_equal(sampler_source_name(s), "proxmox");
    assert_int_equal(sampler_tick(s), 0);
    assert_int_equal(sampler_nvms(s), 1);
    assert_int_equal(sampler_tick(s), 0);
    json_t *j = sf_tick_json(s, root);
    json_t *d = json_array_get(json_object_get(j, "domains"), 0);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "VMID")), "100");
    assert_string_equal(json_string_value(json_object_get(d, "name")), "lab-vm100"); /* not -old */
    assert_int_equal(json_integer_value(json_object_get(d, "vcpus")), 1);            /* not 4 */
    assert_true(json_number_value(json_object_get(d, "mem_configured")) == 16.0 * 1048576);
    json_decref(j);

    /* Another pidfile appears (a VM starting; here a stale one): the directory is listed again
     * and the known VM must stay (regression: a second listing of the directory saw nothing). */
    char path[600];
    snprintf(path, sizeof(path), "%s/var/run/qemu-server/999.pid", pve);
    assert_int_equal(tu_write_file(path, "999999\n", 7), 0);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(sampler_tick(s), 0);
        assert_int_equal(sampler_nvms(s), 1);
    }
    unlink(path);
    assert_int_equal(sampler_tick(s), 0);
    assert_int_equal(sampler_nvms(s), 1);

    /* The VM stops: its pidfile goes (QEMU removes it) and its /proc entry too. */
    snprintf(path, sizeof(path), "%s/var/run/qemu-server/100.pid", pve);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "rm -rf '%s/10713'", proc);
    sf_run(path);
    assert_int_equal(sampler_tick(s), 0);
    assert_int_equal(sampler_nvms(s), 0);
    sampler_free(s);
    tu_rmtree(root);
    free(root);
}

/* NIC direction: a tun/tap's host counters are swapped into the guest's view; a macvtap's
 * (no tun_flags in sysfs) already are the guest's view. The capture's tap100i0 gets host rx
 * +1000 and tx +3000 between two ticks. */
static double nic_rx_over_tx(bool macvtap) {
    char *root = make_root(), proc[512], sys[512], err[256], path[2048];
    snprintf(proc, sizeof(proc), "%s/proc", root);
    snprintf(sys, sizeof(sys), "%s/sys", root);
    snprintf(path, sizeof(path),
             "mkdir -p '%s/class/net/tap100i0' && %s '%s/class/net/tap100i0/%s'", sys,
             macvtap ? "echo 1 >" : "echo 0x1002 >", sys, macvtap ? "ifindex" : "tun_flags");
    sf_run(path);
    static const char hdr[] =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
        "drop fifo colls carrier compressed\n";
    char dev[1024];
    snprintf(path, sizeof(path), "%s/net/dev", proc);
    snprintf(dev, sizeof(dev), "%s  tap100i0: 5000 50 0 0 0 0 0 0 7000 70 0 0 0 0 0 0\n", hdr);
    assert_int_equal(tu_write_file(path, dev, strlen(dev)), 0);
    struct sampler_opts o = {.procfs = proc, .sysfs = sys, .source = SOURCE_PROCFS};
    struct sampler *s;
    assert_int_equal(sampler_new(&s, &o, err, sizeof(err)), 0);
    assert_int_equal(sampler_tick(s), 0);
    snprintf(dev, sizeof(dev), "%s  tap100i0: 6000 60 0 0 0 0 0 0 10000 100 0 0 0 0 0 0\n", hdr);
    assert_int_equal(tu_write_file(path, dev, strlen(dev)), 0);
    assert_int_equal(sampler_tick(s), 0);
    json_t *j = sf_tick_json(s, root);
    json_t *d = json_array_get(json_object_get(j, "domains"), 0);
    double rx = json_number_value(json_object_get(d, "net_rx_Bps"));
    double tx = json_number_value(json_object_get(d, "net_tx_Bps"));
    assert_true(rx > 0 && tx > 0);
    json_decref(j);
    sampler_free(s);
    tu_rmtree(root);
    free(root);
    return rx / tx;
}

static void test_nic_direction(void **state) {
    (void)state;
    assert_float_equal(nic_rx_over_tx(false), 3.0, 1e-6);      /* tap: guest rx = host tx */
    assert_float_equal(nic_rx_over_tx(true), 1.0 / 3.0, 1e-6); /* macvtap: as counted */
}

/* host_nic.speed of NIC key on each tick of the journal at path (-1 = missing, -2 = no row). */
static void speeds_of(const char *path, const char *key, int64_t *out, int n) {
    struct journal_reader *r;
    struct journal_item it;
    const char *paths[1] = {path};
    int k = 0;
    assert_int_equal(journal_reader_open(&r, paths, 1, NULL, NULL), 0);
    while (journal_reader_next(r, &it) > 0 && k < n) {
        if (it.type != JI_TICK) {
            continue;
        }
        out[k] = -2;
        for (size_t i = 0; i < it.nrows; i++) {
            const struct journal_row *row = &it.rows[i];
            if (strcmp(journal_reader_entity(r, row->entity)->desc.key, key) != 0) {
                continue;
            }
            out[k] = -1;
            for (uint32_t j = 0; j < row->n; j++) {
                if (strcmp(journal_reader_metric(r, row->metric[j])->name, "host_nic.speed") == 0 &&
                    row->value[j].type == JV_INT) {
                    out[k] = row->value[j].i;
                }
            }
        }
        k++;
    }
    assert_int_equal(k, n);
    journal_reader_free(r);
}

/* A host NIC's link speed: on every tick, re-read every 30 ticks (a change shows within 30);
 * "-1" (unknown) is missing, never 0 or a stale number. */
static void test_host_nic_speed(void **state) {
    (void)state;
    char *root = make_root(), proc[512], sys[512], err[256], cmd[2048];
    snprintf(proc, sizeof(proc), "%s/proc", root);
    snprintf(sys, sizeof(sys), "%s/sys", root);
    snprintf(cmd, sizeof(cmd),
             "set -e; N='%s/class/net'; mkdir -p $N/eth9 $N/veth9; echo 1000 > $N/eth9/speed; "
             "echo -1 > $N/veth9/speed; "
             "printf 'Inter-|   Receive |  Transmit\\n face |bytes packets errs drop fifo frame "
             "compressed multicast|bytes packets errs drop fifo colls carrier compressed\\n"
             "  eth9: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\\n"
             " veth9: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\\n' > '%s/net/dev'",
             sys, proc);
    sf_run(cmd);
    char *jpath = tu_path(root, "speed.pxj");
    struct journal_writer_opts jo = {.path = jpath, .writer = "test_sampler", .sync_ns = -1};
    struct journal_writer *w;
    struct sampler_opts o = {.procfs = proc, .sysfs = sys, .source = SOURCE_PROCFS};
    struct sampler *s;
    assert_int_equal(journal_writer_open(&w, &jo, NULL), 0);
    assert_int_equal(sampler_new(&s, &o, err, sizeof(err)), 0);
    for (int k = 0; k < 35; k++) {
        if (k == 5) {
            snprintf(cmd, sizeof(cmd), "echo 2500 > '%s/class/net/eth9/speed'", sys);
            sf_run(cmd);
        }
        assert_int_equal(sampler_tick(s), 0);
        assert_int_equal(sampler_journal_write(s, w), 0);
    }
    sampler_free(s);
    assert_int_equal(journal_writer_close(w), 0);
    int64_t eth[35], veth[35];
    speeds_of(jpath, "nic/eth9", eth, 35);
    speeds_of(jpath, "nic/veth9", veth, 35);
    for (int k = 0; k < 35; k++) {
        assert_int_equal(eth[k], k < 30 ? 1000 : 2500);
        assert_int_equal(veth[k], -1);
    }
    free(jpath);
    tu_rmtree(root);
    free(root);
}

/* A VM name with quotes, a backslash, a tab and UTF-8 stays valid JSON and comes back intact. */
static void test_json_escapes_odd_names(void **state) {
    (void)state;
    char *root = make_root(), proc[512], sys[512], pve[512], err[256], path[700];
    static const char odd[] = "we\"ird\\na\tme \xc3\xa9";
    struct sampler_opts o = {0};
    struct sampler *s;

    snprintf(proc, sizeof(proc), "%s/proc", root);
    snprintf(sys, sizeof(sys), "%s/sys", root);
    snprintf(pve, sizeof(pve), "%s/pve", root);
    snprintf(path, sizeof(path), "%s/etc/pve/qemu-server/100.conf", pve);
    char conf[256];
    int n = snprintf(conf, sizeof(conf), "memory: 16\nname: %s\n[snap]\nname: x\n", odd);
    assert_int_equal(tu_write_file(path, conf, (size_t)n), 0);
    o.procfs = proc;
    o.sysfs = sys;
    o.pve_root = pve;
    o.source = SOURCE_PROXMOX;
    assert_int_equal(sampler_new(&s, &o, err, sizeof(err)), 0);
    assert_int_equal(sampler_tick(s), 0);
    json_t *j = sf_tick_json(s, root);
    json_t *d = json_array_get(json_object_get(j, "domains"), 0);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "name")), odd);
    json_decref(j);
    sampler_free(s);
    tu_rmtree(root);
    free(root);
}

static void test_pve_conf_snapshot_does_not_win(void **state) {
    (void)state;
    static const char conf[] = "# a description line\n"
                               "cores: 2\nmemory: 2048\nname: web01\nnet0: virtio=AA,bridge=vmbr0\n"
                               "net2: virtio=BB,bridge=vmbr1\nsockets: 2\n"
                               "smbios1: uuid=5d0e3c1a-7a6b-4d8e-9a41-000000000100,"
                               "manufacturer=x\n\n"
                               "[snap1]\ncores: 8\nmemory: 1\nname: old\nnet5: virtio=CC\n"
                               "[PENDING]\nname: pending\n";
    struct pve_conf c;
    assert_int_equal(pve_conf_parse(conf, sizeof(conf) - 1, &c), 0);
    assert_string_equal(c.name, "web01");
    assert_int_equal(c.memory_mib, 2048);
    assert_int_equal(pve_conf_vcpus(&c), 4);
    assert_string_equal(c.uuid, "5d0e3c1a-7a6b-4d8e-9a41-000000000100");
    assert_int_equal(c.nnets, 2);
    assert_int_equal(c.nets[0], 0);
    assert_int_equal(c.nets[1], 2);

    /* the captured config */
    size_t len;
    unsigned char *b = tu_read_file(DATASET "/qemu-pve-100/layout/100.conf", &len);
    assert_non_null(b);
    assert_int_equal(pve_conf_parse((const char *)b, len, &c), 0);
    assert_string_equal(c.name, "lab-vm100");
    assert_int_equal(c.memory_mib, 16);
    assert_int_equal(pve_conf_vcpus(&c), 1);
    free(b);

    /* garbage never crashes; a line without "key:" is rejected */
    assert_int_equal(pve_conf_parse("just words\n", 11, &c) < 0, 1);
    for (size_t n = 0; n < sizeof(conf) - 1; n++) {
        (void)pve_conf_parse(conf, n, &c);
    }
}

/* Found by fuzz_pve_conf: cores × sockets overflowed int32 (undefined behaviour) and counts of
 * 10+ digits wrapped to negative or absurd values; now a count outside 1..PVE_MAX_VCPUS is
 * missing. Also the property-string form of memory (current=N) Proxmox accepts. */
static void test_pve_conf_counts_bounded(void **state) {
    (void)state;
    struct pve_conf c;
    static const char big[] = "cores: 100000\nsockets: 100000\nmemory: 4096\n";
    assert_int_equal(pve_conf_parse(big, sizeof(big) - 1, &c), 0);
    assert_int_equal(c.cores, -1);
    assert_int_equal(c.sockets, -1);
    assert_int_equal(pve_conf_vcpus(&c), 1); /* both unknown: Proxmox's defaults */
    static const char wrap[] = "cores: 3424000000\nsockets: 2\nvcpus: 0\n";
    assert_int_equal(pve_conf_parse(wrap, sizeof(wrap) - 1, &c), 0);
    assert_int_equal(c.cores, -1);
    assert_int_equal(c.vcpus, -1);
    assert_int_equal(pve_conf_vcpus(&c), 2);
    static const char prod[] = "cores: 8192\nsockets: 4\n";
    assert_int_equal(pve_conf_parse(prod, sizeof(prod) - 1, &c), 0);
    assert_int_equal(c.cores, 8192);
    assert_int_equal(pve_conf_vcpus(&c), -1); /* 32768 vCPUs: no machine has that */
    static const char ok[] = "cores: 4\nsockets: 2\nvcpus: 6\n";
    assert_int_equal(pve_conf_parse(ok, sizeof(ok) - 1, &c), 0);
    assert_int_equal(pve_conf_vcpus(&c), 6);

    static const char cur[] = "memory: current=2048\n";
    assert_int_equal(pve_conf_parse(cur, sizeof(cur) - 1, &c), 0);
    assert_int_equal(c.memory_mib, 2048);
    static const char cur2[] = "memory: current=512,foo=bar\n";
    assert_int_equal(pve_conf_parse(cur2, sizeof(cur2) - 1, &c), 0);
    assert_int_equal(c.memory_mib, 512);
    static const char bad[] = "memory: current=\n";
    assert_int_equal(pve_conf_parse(bad, sizeof(bad) - 1, &c), 0);
    assert_int_equal(c.memory_mib, -1);
    static const char bad2[] = "memory: 1G\n";
    assert_int_equal(pve_conf_parse(bad2, sizeof(bad2) - 1, &c), 0);
    assert_int_equal(c.memory_mib, -1);

    /* the fuzzer's reproducer */
    size_t len;
    unsigned char *b = tu_read_file(
        PROXTOP_SOURCE_DIR "/tests/fuzz/corpus/pve_conf/regress-absurd-cores.conf", &len);
    assert_non_null(b);
    assert_int_equal(pve_conf_parse((const char *)b, len, &c), 0);
    int32_t n = pve_conf_vcpus(&c);
    assert_true(n == -1 || (n >= 1 && n <= PVE_MAX_VCPUS));
    free(b);
}

static void test_qemu_cmdline_mem_smp(void **state) {
    (void)state;
    static const char cl[] = "qemu-system-x86_64\0-m\0size=256M,slots=2,maxmem=1G\0-smp\0"
                             "2,sockets=1,cores=2\0-name\0x";
    struct qemu_cmdline q;
    assert_int_equal(qemu_cmdline_parse(cl, sizeof(cl), &q), 0);
    assert_int_equal(q.mem_bytes, 256LL << 20);
    assert_int_equal(q.smp, 2);
    static const char cl2[] = "kvm\0-m\0"
                              "128\0-smp\0cpus=3";
    assert_int_equal(qemu_cmdline_parse(cl2, sizeof(cl2), &q), 0);
    assert_int_equal(q.mem_bytes, 128LL << 20);
    assert_int_equal(q.smp, 3);
    static const char cl3[] = "kvm\0-m\0lots";
    assert_int_equal(qemu_cmdline_parse(cl3, sizeof(cl3), &q), 0);
    assert_int_equal(q.mem_bytes, -1);
    assert_int_equal(q.smp, -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_procfs_source_on_capture),
        cmocka_unit_test(test_nic_direction),
        cmocka_unit_test(test_host_nic_speed),
        cmocka_unit_test(test_proxmox_source_on_capture),
        cmocka_unit_test(test_json_escapes_odd_names),
        cmocka_unit_test(test_pve_conf_snapshot_does_not_win),
        cmocka_unit_test(test_pve_conf_counts_bounded),
        cmocka_unit_test(test_qemu_cmdline_mem_smp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
