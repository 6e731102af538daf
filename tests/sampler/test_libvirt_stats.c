/* test_libvirt_stats.c: the libvirt source against libvirt's in-process test driver
 * (test:///default and a test:///PATH/node.xml written here; no daemon): enumeration, names,
 * UUIDs, ids, states, the PID / vCPU TID lookup from a run directory, the status XML parser, and
 * error paths (bad URI, no daemon, backoff). Real stats values come from a real libvirtd in
 * test_libvirt_stats_lab.c; the test driver only fills the state group.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../support/testutil.h"
#include "core_error.h"
#include "libvirt_stats.h"

static const char NODE_XML[] =
    "<node>\n"
    "  <cpu><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>1</threads>\n"
    "       <active>4</active><mhz>2000</mhz><model>x86_64</model></cpu>\n"
    "  <memory>16777216</memory>\n"
    "  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
    "    <name>web01</name><uuid>11111111-0000-0000-0000-000000000001</uuid>\n"
    "    <memory unit='MiB'>1024</memory><currentMemory unit='MiB'>768</currentMemory>"
    "<vcpu>2</vcpu>\n"
    "    <os><type arch='x86_64'>hvm</type></os>\n"
    "    <devices>\n"
    "      <disk type='file' device='disk'><source file='/var/lib/libvirt/images/web01.qcow2'/>"
    "<target dev='vda' bus='virtio'/></disk>\n"
    "      <interface type='network'><mac address='52:54:00:00:00:01'/><source "
    "network='default'/><target dev='vnet0'/></interface>\n"
    "      <memballoon model='virtio'/>\n"
    "    </devices>\n"
    "  </domain>\n"
    "  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
    "    <name>db01</name><uuid>11111111-0000-0000-0000-000000000002</uuid>\n"
    "    <memory unit='MiB'>4096</memory><vcpu>4</vcpu><os><type arch='x86_64'>hvm</type></os>\n"
    "    <test:runstate>3</test:runstate>\n"
    "  </domain>\n"
    "  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
    "    <name>idle01</name><uuid>11111111-0000-0000-0000-000000000003</uuid>\n"
    "    <memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>\n"
    "    <test:runstate>5</test:runstate>\n"
    "  </domain>\n"
    "</node>\n";

/* Shape of a real libvirt 9.0 status XML (abridged): the <domain> definition has its own
 * <vcpus> without pids, which must be ignored. */
static const char STATUS_XML[] =
    "<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE.\n-->\n"
    "<domstatus state='running' reason='booted' pid='28650'>\n"
    "  <monitor path='/var/lib/libvirt/qemu/domain-1-lab1/monitor.sock' type='unix'/>\n"
    "  <vcpus>\n"
    "    <vcpu id='0' pid='28662'/>\n"
    "    <vcpu id='1' pid='28663'/>\n"
    "  </vcpus>\n"
    "  <domain type='kvm' id='1'>\n"
    "    <name>test</name>\n"
    "    <vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/>"
    "<vcpu id='1' enabled='yes' hotpluggable='no'/></vcpus>\n"
    "  </domain>\n"
    "</domstatus>\n";

static const struct lvs_domain *find(const struct lvs_snapshot *s, const char *name) {
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->dom[i].name, name) == 0)
            return &s->dom[i];
    return NULL;
}

static void test_default_driver(void **state) {
    struct lvs_options o = {.uri = "test:///default", .no_pid_lookup = true};
    struct lvs_snapshot s = {0};
    int err = 1;
    (void)state;
    struct lvs *l = lvs_new(&o, &err);
    assert_non_null(l);
    assert_int_equal(err, 0);
    assert_true(lvs_connected(l));
    for (int round = 0; round < 3; round++) { /* arrays reused across ticks */
        int n = lvs_sample(l, LVS_G_ALL, &s);
        assert_int_equal(n, 1);
        const struct lvs_domain *d = &s.dom[0];
        assert_string_equal(d->name, "test");
        assert_string_equal(d->uuid, "6695eb01-f6a4-8304-79aa-97f2502e193f");
        assert_int_equal(d->id, 1);
        assert_true(d->valid & LVS_D_STATE);
        assert_int_equal(d->state, 1); /* VIR_DOMAIN_RUNNING */
        /* The test driver sends no cpu/balloon/vcpu/net/block stats: missing, not 0. */
        assert_false(d->valid & LVS_D_CPU_TIME);
        assert_int_equal(d->balloon_valid, 0);
        assert_false(d->valid & LVS_D_PID);
        assert_true(s.mono_after_ns >= s.mono_before_ns);
    }
    struct lvs_stats st;
    lvs_get_stats(l, &st);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.failures, 0);
    lvs_snapshot_done(&s);
    lvs_free(l);
}

static void test_node_xml(void **state) {
    char *dir = tu_mkdtemp("lvs");
    char *xml = tu_path(dir, "node.xml");
    char uri[600];
    struct lvs_snapshot s = {0};
    int err;
    (void)state;
    assert_int_equal(tu_write_file(xml, NODE_XML, strlen(NODE_XML)), 0);
    snprintf(uri, sizeof(uri), "test://%s", xml);

    /* Active domains only (the default): web01 running, db01 paused. */
    struct lvs_options o = {.uri = uri, .no_pid_lookup = true};
    struct lvs *l = lvs_new(&o, &err);
    assert_non_null(l);
    assert_int_equal(err, 0);
    assert_int_equal(lvs_sample(l, LVS_G_ALL, &s), 2);
    const struct lvs_domain *w = find(&s, "web01"), *db = find(&s, "db01");
    assert_non_null(w);
    assert_non_null(db);
    assert_null(find(&s, "idle01"));
    assert_string_equal(w->uuid, "11111111-0000-0000-0000-000000000001");
    assert_int_equal(w->state, 1);
    assert_int_equal(db->state, 3); /* paused */
    assert_true(w->id > 0 && db->id > 0 && w->id != db->id);
    lvs_free(l);

    /* With inactive domains: idle01 shut off, id -1. */
    o.include_inactive = true;
    l = lvs_new(&o, &err);
    assert_non_null(l);
    assert_int_equal(lvs_sample(l, LVS_G_ALL, &s), 3);
    const struct lvs_domain *idle = find(&s, "idle01");
    assert_non_null(idle);
    assert_int_equal(idle->id, -1);
    assert_int_equal(idle->state, 5);
    lvs_free(l);

    lvs_snapshot_done(&s);
    tu_rmtree(dir);
    free(xml);
    free(dir);
}

/* The PID and vCPU TIDs come from RUNDIR/NAME.pid and RUNDIR/NAME.xml. */
static void test_pid_lookup(void **state) {
    char *dir = tu_mkdtemp("lvs");
    char *pidf = tu_path(dir, "test.pid"), *xmlf = tu_path(dir, "test.xml");
    struct lvs_snapshot s = {0};
    int err;
    (void)state;
    assert_int_equal(tu_write_file(pidf, "28650", 5), 0);
    assert_int_equal(tu_write_file(xmlf, STATUS_XML, strlen(STATUS_XML)), 0);
    struct lvs_options o = {.uri = "test:///default", .run_dir = dir};
    struct lvs *l = lvs_new(&o, &err);
    assert_non_null(l);
    assert_int_equal(lvs_sample(l, LVS_G_ALL, &s), 1);
    const struct lvs_domain *d = &s.dom[0];
    assert_true(d->valid & LVS_D_PID);
    assert_int_equal(d->pid, 28650);
    assert_true(d->valid & LVS_D_VCPU_TIDS);
    assert_true(d->nvcpu >= 2);
    assert_int_equal(d->vcpu[0].tid, 28662);
    assert_int_equal(d->vcpu[1].tid, 28663);
    assert_true(d->vcpu[1].valid & LVS_V_TID);
    /* Cached: changing the files does not change the values for the same domain instance. */
    assert_int_equal(tu_write_file(pidf, "1", 1), 0);
    assert_int_equal(lvs_sample(l, LVS_G_ALL, &s), 1);
    assert_int_equal(s.dom[0].pid, 28650);
    lvs_free(l);

    /* Garbage files: missing, not a crash. */
    assert_int_equal(tu_write_file(pidf, "abc", 3), 0);
    assert_int_equal(tu_write_file(xmlf, "<domstatus", 10), 0);
    l = lvs_new(&o, &err);
    assert_int_equal(lvs_sample(l, LVS_G_ALL, &s), 1);
    assert_false(s.dom[0].valid & LVS_D_PID);
    assert_false(s.dom[0].valid & LVS_D_VCPU_TIDS);
    lvs_free(l);

    lvs_snapshot_done(&s);
    tu_rmtree(dir);
    free(pidf);
    free(xmlf);
    free(dir);
}

static void test_status_xml(void **state) {
    int32_t tids[4] = {0};
    pid_t pid;
    (void)state;
    assert_int_equal(lvs_parse_status_xml(STATUS_XML, strlen(STATUS_XML), tids, 4, &pid), 2);
    assert_int_equal(pid, 28650);
    assert_int_equal(tids[0], 28662);
    assert_int_equal(tids[1], 28663);
    assert_int_equal(tids[2], 0);
    /* More vCPUs than room: counted, not written out of bounds. */
    int32_t one[1] = {0};
    assert_int_equal(lvs_parse_status_xml(STATUS_XML, strlen(STATUS_XML), one, 1, &pid), 2);
    assert_int_equal(one[0], 28662);
    assert_int_equal(lvs_parse_status_xml("garbage", 7, tids, 4, &pid), -CORE_EPARSE);
    assert_int_equal(lvs_parse_status_xml("<domain/>", 9, tids, 4, &pid), -CORE_EPARSE);
    assert_int_equal(lvs_parse_status_xml("", 0, tids, 4, &pid), -CORE_EPARSE);
    const char nov[] = "<domstatus pid='7'><vcpus><vcpu id='x' pid='1'/></vcpus></domstatus>";
    assert_int_equal(lvs_parse_status_xml(nov, strlen(nov), tids, 4, &pid), 0);
    assert_int_equal(pid, 7);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A bad URI and an absent daemon: a clear error, no crash, no print, non-blocking backoff. */
static void test_bad_uri(void **state) {
    struct lvs_snapshot s = {0};
    int err = 0;
    (void)state;
    struct lvs_options o = {.uri = "nosuchdriver:///x", .backoff_min_ms = 100};
    struct lvs *l = lvs_new(&o, &err);
    assert_non_null(l);
    assert_int_equal(err, -ECONNREFUSED);
    assert_false(lvs_connected(l));
    printf("  bad URI: %s\n", lvs_last_error(l));
    assert_non_null(strstr(lvs_last_error(l), "nosuchdriver:///x"));
    int64_t t0 = now_ms();
    assert_int_equal(lvs_sample(l, LVS_G_ALL, &s), -ENOTCONN); /* inside the backoff: no attempt */
    assert_true(now_ms() - t0 < 20);
    usleep(120 * 1000);
    assert_int_equal(lvs_sample(l, LVS_G_ALL, &s), -ECONNREFUSED); /* retried, failed again */
    assert_int_equal(s.count, 0);
    struct lvs_stats st;
    lvs_get_stats(l, &st);
    assert_int_equal(st.connect_failures, 2);
    lvs_free(l);

    /* A qemu URI whose daemon socket does not exist (a remote socket path under a temp dir). */
    char *dir = tu_mkdtemp("lvs");
    char uri[600];
    snprintf(uri, sizeof(uri), "qemu:///system?socket=%s/absent-sock", dir);
    o.uri = uri;
    t0 = now_ms();
    l = lvs_new(&o, &err);
    assert_non_null(l);
    assert_int_equal(err, -ECONNREFUSED);
    printf("  no daemon: %s (%lld ms)\n", lvs_last_error(l), (long long)(now_ms() - t0));
    assert_true(now_ms() - t0 < 1000);
    lvs_free(l);
    tu_rmtree(dir);
    free(dir);

    assert_null(lvs_new(&(struct lvs_options){.backoff_min_ms = -1}, &err));
    assert_int_equal(err, -EINVAL);
    lvs_snapshot_done(&s);
    lvs_free(NULL);
}

/* --libvirt-stats: group lists, and a call asking for fewer groups. */
static void test_groups(void **state) {
    unsigned g = 0;
    char bad[80];
    (void)state;
    assert_int_equal(lvs_groups_parse("state", &g, bad, sizeof(bad)), 0);
    assert_int_equal(g, LVS_G_STATE);
    assert_int_equal(lvs_groups_parse("block,cpu-total,vcpu", &g, bad, sizeof(bad)), 0);
    assert_int_equal(g, LVS_G_BLOCK | LVS_G_CPU_TOTAL | LVS_G_VCPU);
    assert_int_equal(lvs_groups_parse("all", &g, bad, sizeof(bad)), 0);
    assert_int_equal(g, LVS_G_ALL);
    assert_int_equal(lvs_groups_parse("default,vcpu", &g, bad, sizeof(bad)), 0);
    assert_int_equal(g, LVS_G_DEFAULT | LVS_G_VCPU);
    assert_false(LVS_G_DEFAULT & (LVS_G_CPU_TOTAL | LVS_G_VCPU));
    const char *wrong[] = {"", ",", "state,", "stat", "state,,block", "cpu_total", "ALL"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        g = 12345;
        assert_int_equal(lvs_groups_parse(wrong[i], &g, bad, sizeof(bad)), -EINVAL);
        assert_int_equal(g, 12345); /* untouched */
    }
    assert_int_equal(lvs_groups_parse("state,bogus", &g, bad, sizeof(bad)), -EINVAL);
    assert_string_equal(bad, "bogus");

    /* Fewer groups: what was not asked for is missing, and the snapshot says what was. */
    struct lvs_options o = {.uri = "test:///default", .no_pid_lookup = true};
    struct lvs_snapshot s = {0};
    int err;
    struct lvs *l = lvs_new(&o, &err);
    assert_non_null(l);
    assert_int_equal(lvs_sample(l, LVS_G_INTERFACE, &s), 1);
    assert_int_equal(s.groups, LVS_G_INTERFACE);
    assert_false(s.dom[0].valid & LVS_D_STATE);
    assert_int_equal(lvs_sample(l, LVS_G_STATE, &s), 1);
    assert_true(s.dom[0].valid & LVS_D_STATE);
    assert_int_equal(lvs_sample(l, 0, &s), 1);
    assert_int_equal(s.groups, LVS_G_ALL);
    lvs_snapshot_done(&s);
    lvs_free(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_driver), cmocka_unit_test(test_node_xml),
        cmocka_unit_test(test_pid_lookup),     cmocka_unit_test(test_status_xml),
        cmocka_unit_test(test_bad_uri),        cmocka_unit_test(test_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
