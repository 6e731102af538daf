/* test_catalogue.c: unit tests of the metric catalogue (formats/catalogue.c) and of its
 * agreement with the human table in formats/METRICS.md.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalogue.h"

#define METRICS_MD PROXTOP_SOURCE_DIR "/formats/METRICS.md"

/* The fixed unit vocabulary; METRICS.md lists the same words in its "Units" section. */
static const char *const units[] = {
    "bytes", "sectors(512B)", "jiffies", "ns",     "us",    "ms",   "epoch_s", "kHz", "Mbit/s",
    "%",     "ops",           "packets", "events", "count", "code",
};

/* The sampler flags that enable collectors. */
static const char *const collectors[] = {
    "cpu", "mem", "disk", "net", "io", "pressure", "host", "perf",
};

static bool in_list(const char *const *list, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0)
            return true;
    }
    return false;
}

static const struct metric_def *all(size_t *n) {
    const struct metric_def *defs = catalogue_all(n);
    assert_non_null(defs);
    assert_true(*n > 0);
    return defs;
}

static void test_sorted_unique(void **state) {
    size_t n;
    const struct metric_def *defs = all(&n);

    for (size_t i = 1; i < n; i++) {
        if (strcmp(defs[i - 1].name, defs[i].name) >= 0)
            fail_msg("not sorted or duplicate: \"%s\" then \"%s\"", defs[i - 1].name, defs[i].name);
    }
    /* catalogue_all() accepts a NULL count and returns the same table. */
    assert_ptr_equal(catalogue_all(NULL), defs);
}

static void check_string(const char *name, const char *what, const char *s) {
    if (!s || !*s)
        fail_msg("%s: %s is NULL or empty", name, what);
    /* Tabs and newlines would break --list-metrics TSV, '|' the Markdown table. */
    if (strpbrk(s, "\t\n\r|"))
        fail_msg("%s: %s contains a tab, newline or '|'", name, what);
}

static void test_fields(void **state) {
    size_t n;
    const struct metric_def *defs = all(&n);

    for (size_t i = 0; i < n; i++) {
        const struct metric_def *m = &defs[i];
        check_string(m->name, "name", m->name);
        check_string(m->name, "unit", m->unit);
        check_string(m->name, "collector", m->collector);
        check_string(m->name, "source", m->source);
        check_string(m->name, "meaning", m->meaning);
        check_string(m->name, "display", m->display);

        /* Names: lower-case dotted words, "<scope>." first. */
        if (strspn(m->name, "abcdefghijklmnopqrstuvwxyz0123456789_.") != strlen(m->name))
            fail_msg("%s: bad character in name", m->name);
        if (strstr(m->name, "..") || m->name[strlen(m->name) - 1] == '.')
            fail_msg("%s: empty name component", m->name);
        const char *scope = catalogue_scope_name(m->scope);
        size_t sl = strlen(scope);
        if (strncmp(m->name, scope, sl) != 0 || m->name[sl] != '.')
            fail_msg("%s: name does not start with its scope \"%s.\"", m->name, scope);

        if (m->kind != METRIC_COUNTER && m->kind != METRIC_GAUGE)
            fail_msg("%s: bad kind %d", m->name, (int)m->kind);
        if (m->type != METRIC_INT && m->type != METRIC_REAL)
            fail_msg("%s: bad type %d", m->name, (int)m->type);
        if (!in_list(units, sizeof units / sizeof units[0], m->unit))
            fail_msg("%s: unit \"%s\" is not in the vocabulary", m->name, m->unit);
        if (!in_list(collectors, sizeof collectors / sizeof collectors[0], m->collector))
            fail_msg("%s: unknown collector \"%s\"", m->name, m->collector);

        /* Counters are exact cumulative integers; a percentage is never cumulative. */
        if (m->kind == METRIC_COUNTER) {
            if (strchr(m->unit, '%'))
                fail_msg("%s: counter with a %% unit", m->name);
            if (m->type != METRIC_INT)
                fail_msg("%s: counter stored as real", m->name);
        }
    }
}

static void test_find(void **state) {
    size_t n;
    const struct metric_def *defs = all(&n);
    static const char *const misses[] = {
        "",
        "a",
        "zzz",
        "host",
        "host.cpu",
        "host.cpu.",
        "HOST.CPU.USER",
        "host.cpu.user.",
        "host.cpu.usera",
        "vm.cpu.vcpu_ru",
        "vm_nic.rx_",
        "vcpu.cpu",
        "~",
    };

    for (size_t i = 0; i < n; i++)
        assert_int_equal(catalogue_find(defs[i].name), (int)i);
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
        if (catalogue_find(misses[i]) != -1)
            fail_msg("catalogue_find(\"%s\") should miss", misses[i]);
    }
    assert_int_equal(catalogue_find(NULL), -1);
}

static void test_enum_names(void **state) {
    for (int s = 0; s < SCOPE_COUNT; s++) {
        enum metric_scope out = SCOPE_COUNT;
        const char *name = catalogue_scope_name((enum metric_scope)s);
        assert_string_not_equal(name, "?");
        assert_int_equal(catalogue_scope_parse(name, &out), 0);
        assert_int_equal(out, s);
    }
    assert_string_equal(catalogue_scope_name(SCOPE_COUNT), "?");
    assert_string_equal(catalogue_scope_name(SCOPE_HOST_NIC), "host_nic");
    assert_string_equal(catalogue_scope_name(SCOPE_VM_DISK), "vm_disk");

    enum metric_scope scope = SCOPE_VM;
    assert_int_equal(catalogue_scope_parse("bogus", &scope), -1);
    assert_int_equal(catalogue_scope_parse("HOST", &scope), -1);
    assert_int_equal(catalogue_scope_parse("", &scope), -1);
    assert_int_equal(catalogue_scope_parse(NULL, &scope), -1);
    assert_int_equal(scope, SCOPE_VM); /* untouched on failure */

    enum metric_kind kind = METRIC_GAUGE;
    assert_string_equal(catalogue_kind_name(METRIC_COUNTER), "counter");
    assert_string_equal(catalogue_kind_name(METRIC_GAUGE), "gauge");
    assert_string_equal(catalogue_kind_name((enum metric_kind)2), "?");
    assert_int_equal(catalogue_kind_parse("counter", &kind), 0);
    assert_int_equal(kind, METRIC_COUNTER);
    assert_int_equal(catalogue_kind_parse("gauge", &kind), 0);
    assert_int_equal(kind, METRIC_GAUGE);
    assert_int_equal(catalogue_kind_parse("rate", &kind), -1);
    assert_int_equal(catalogue_kind_parse(NULL, &kind), -1);

    enum metric_type type = METRIC_REAL;
    assert_string_equal(catalogue_type_name(METRIC_INT), "int");
    assert_string_equal(catalogue_type_name(METRIC_REAL), "real");
    assert_string_equal(catalogue_type_name((enum metric_type)7), "?");
    assert_int_equal(catalogue_type_parse("int", &type), 0);
    assert_int_equal(type, METRIC_INT);
    assert_int_equal(catalogue_type_parse("real", &type), 0);
    assert_int_equal(type, METRIC_REAL);
    assert_int_equal(catalogue_type_parse("double", &type), -1);
    assert_int_equal(catalogue_type_parse(NULL, &type), -1);
}

/* Names other code already uses, with the kind, scope, type and unit it relies on (NULL unit:
 * not checked). */
struct required {
    const char *name;
    enum metric_kind kind;
    enum metric_scope scope;
    enum metric_type type;
    const char *unit;
};

#define CTR METRIC_COUNTER
#define GAU METRIC_GAUGE

static const struct required required[] = {
    {"vm.cpu.vcpu_run", CTR, SCOPE_VM, METRIC_INT, "ns"},
    {"vm.cpu.vcpu_wait", CTR, SCOPE_VM, METRIC_INT, "ns"},
    {"vm.cpu.other_run", CTR, SCOPE_VM, METRIC_INT, "ns"},
    {"vm.cpu.other_wait", CTR, SCOPE_VM, METRIC_INT, "ns"},
    {"vm.cpu.vhost_run", CTR, SCOPE_VM, METRIC_INT, "ns"},
    {"vm.cpu.vhost_wait", CTR, SCOPE_VM, METRIC_INT, "ns"},
    {"vm.cgroup.cpu.usage_usec", CTR, SCOPE_VM, METRIC_INT, "us"},
    {"vm.cgroup.cpu.user_usec", CTR, SCOPE_VM, METRIC_INT, "us"},
    {"vm.cgroup.cpu.system_usec", CTR, SCOPE_VM, METRIC_INT, "us"},
    {"vm.cgroup.cpu.nr_periods", CTR, SCOPE_VM, METRIC_INT, NULL},
    {"vm.cgroup.cpu.nr_throttled", CTR, SCOPE_VM, METRIC_INT, NULL},
    {"vm.cgroup.cpu.throttled_usec", CTR, SCOPE_VM, METRIC_INT, "us"},
    {"vm.mem.rss", GAU, SCOPE_VM, METRIC_INT, "bytes"},
    {"vm.mem.swap", GAU, SCOPE_VM, METRIC_INT, "bytes"},
    {"vm.mem.minflt", CTR, SCOPE_VM, METRIC_INT, NULL},
    {"vm.mem.majflt", CTR, SCOPE_VM, METRIC_INT, NULL},
    {"vm.mem.balloon_actual", GAU, SCOPE_VM, METRIC_INT, "bytes"},
    {"vm.mem.configured", GAU, SCOPE_VM, METRIC_INT, "bytes"},
    {"vm.cgroup.mem.current", GAU, SCOPE_VM, METRIC_INT, "bytes"},
    {"vm.io.rchar", CTR, SCOPE_VM, METRIC_INT, "bytes"},
    {"vm.io.wchar", CTR, SCOPE_VM, METRIC_INT, "bytes"},
    {"vm.io.syscr", CTR, SCOPE_VM, METRIC_INT, NULL},
    {"vm.io.syscw", CTR, SCOPE_VM, METRIC_INT, NULL},
    {"vm.io.read_bytes", CTR, SCOPE_VM, METRIC_INT, "bytes"},
    {"vm.io.write_bytes", CTR, SCOPE_VM, METRIC_INT, "bytes"},
    {"vm.io.cancelled_write_bytes", CTR, SCOPE_VM, METRIC_INT, "bytes"},
    {"vm.io.blkio_delay", CTR, SCOPE_VM, METRIC_INT, "ns"},
    {"vm.psi.cpu.some_total", CTR, SCOPE_VM, METRIC_INT, "us"},
    {"vm.psi.io.some_total", CTR, SCOPE_VM, METRIC_INT, "us"},
    {"vm.psi.io.full_total", CTR, SCOPE_VM, METRIC_INT, "us"},
    {"vm.psi.memory.some_total", CTR, SCOPE_VM, METRIC_INT, "us"},
    {"vm.psi.memory.full_total", CTR, SCOPE_VM, METRIC_INT, "us"},
    {"vcpu.cpu.run", CTR, SCOPE_VCPU, METRIC_INT, "ns"},
    {"vcpu.cpu.wait", CTR, SCOPE_VCPU, METRIC_INT, "ns"},
    {"vm_disk.rd_bytes", CTR, SCOPE_VM_DISK, METRIC_INT, "bytes"},
    {"vm_disk.wr_bytes", CTR, SCOPE_VM_DISK, METRIC_INT, "bytes"},
    {"vm_disk.rd_ops", CTR, SCOPE_VM_DISK, METRIC_INT, "ops"},
    {"vm_disk.wr_ops", CTR, SCOPE_VM_DISK, METRIC_INT, "ops"},
    {"vm_disk.flush_ops", CTR, SCOPE_VM_DISK, METRIC_INT, "ops"},
    {"vm_disk.rd_time", CTR, SCOPE_VM_DISK, METRIC_INT, "ns"},
    {"vm_disk.wr_time", CTR, SCOPE_VM_DISK, METRIC_INT, "ns"},
    {"vm_disk.flush_time", CTR, SCOPE_VM_DISK, METRIC_INT, "ns"},
    {"vm_disk.capacity", GAU, SCOPE_VM_DISK, METRIC_INT, "bytes"},
    {"vm_disk.allocation", GAU, SCOPE_VM_DISK, METRIC_INT, "bytes"},
    {"vm_nic.rx_bytes", CTR, SCOPE_VM_NIC, METRIC_INT, "bytes"},
    {"vm_nic.tx_bytes", CTR, SCOPE_VM_NIC, METRIC_INT, "bytes"},
    {"vm_nic.rx_packets", CTR, SCOPE_VM_NIC, METRIC_INT, "packets"},
    {"vm_nic.tx_packets", CTR, SCOPE_VM_NIC, METRIC_INT, "packets"},
    {"vm_nic.rx_errors", CTR, SCOPE_VM_NIC, METRIC_INT, NULL},
    {"vm_nic.tx_errors", CTR, SCOPE_VM_NIC, METRIC_INT, NULL},
    {"vm_nic.rx_drops", CTR, SCOPE_VM_NIC, METRIC_INT, NULL},
    {"vm_nic.tx_drops", CTR, SCOPE_VM_NIC, METRIC_INT, NULL},
    {"host.cpu.user", CTR, SCOPE_HOST, METRIC_INT, "jiffies"},
    {"host.cpu.nice", CTR, SCOPE_HOST, METRIC_INT, "jiffies"},
    {"host.cpu.system", CTR, SCOPE_HOST, METRIC_INT, "jiffies"},
    {"host.cpu.idle", CTR, SCOPE_HOST, METRIC_INT, "jiffies"},
    {"host.cpu.iowait", CTR, SCOPE_HOST, METRIC_INT, "jiffies"},
    {"host.cpu.irq", CTR, SCOPE_HOST, METRIC_INT, "jiffies"},
    {"host.cpu.softirq", CTR, SCOPE_HOST, METRIC_INT, "jiffies"},
    {"host.cpu.steal", CTR, SCOPE_HOST, METRIC_INT, "jiffies"},
    {"host.cpu.guest", CTR, SCOPE_HOST, METRIC_INT, "jiffies"},
    {"host.cpu.guest_nice", CTR, SCOPE_HOST, METRIC_INT, "jiffies"},
    {"host.mem.total", GAU, SCOPE_HOST, METRIC_INT, "bytes"},
    {"host.mem.available", GAU, SCOPE_HOST, METRIC_INT, "bytes"},
    {"host.psi.cpu.some_avg10", GAU, SCOPE_HOST, METRIC_REAL, "%"},
    /* Per-CPU and the PSI/load averages that other collectors' code is written against. */
    {"host_cpu.user", CTR, SCOPE_HOST_CPU, METRIC_INT, "jiffies"},
    {"host_cpu.guest_nice", CTR, SCOPE_HOST_CPU, METRIC_INT, "jiffies"},
    {"host.load.avg1", GAU, SCOPE_HOST, METRIC_REAL, NULL},
    {"host_disk.read_sectors", CTR, SCOPE_HOST_DISK, METRIC_INT, "sectors(512B)"},
    {"host_disk.in_flight", GAU, SCOPE_HOST_DISK, METRIC_INT, "count"},
    {"host_nic.rx_bytes", CTR, SCOPE_HOST_NIC, METRIC_INT, "bytes"},
    /* The libvirt source hands these over by name (sampler/source_libvirt.c). */
    {"vm.libvirt.state", GAU, SCOPE_VM, METRIC_INT, "code"},
    {"vm.libvirt.state_reason", GAU, SCOPE_VM, METRIC_INT, "code"},
    {"vm.cpu.libvirt_time", CTR, SCOPE_VM, METRIC_INT, "ns"},
    {"vcpu.cpu.libvirt_time", CTR, SCOPE_VCPU, METRIC_INT, "ns"},
    {"vm_disk.capacity", GAU, SCOPE_VM_DISK, METRIC_INT, "bytes"},
    {"vm_disk.wr_bytes", CTR, SCOPE_VM_DISK, METRIC_INT, "bytes"},
};

static void test_required(void **state) {
    size_t n;
    const struct metric_def *defs = all(&n);

    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        const struct required *r = &required[i];
        int idx = catalogue_find(r->name);
        if (idx < 0)
            fail_msg("required metric %s is missing", r->name);
        const struct metric_def *m = &defs[idx];
        if (m->kind != r->kind || m->scope != r->scope || m->type != r->type)
            fail_msg("%s: kind/scope/type %s/%s/%s, expected %s/%s/%s", r->name,
                     catalogue_kind_name(m->kind), catalogue_scope_name(m->scope),
                     catalogue_type_name(m->type), catalogue_kind_name(r->kind),
                     catalogue_scope_name(r->scope), catalogue_type_name(r->type));
        if (r->unit && strcmp(m->unit, r->unit) != 0)
            fail_msg("%s: unit %s, expected %s", r->name, m->unit, r->unit);
    }
}

/* Every scope has at least one metric, and every metric has a valid scope. */
static void test_scopes_covered(void **state) {
    size_t n;
    const struct metric_def *defs = all(&n);
    size_t per_scope[SCOPE_COUNT] = {0};

    for (size_t i = 0; i < n; i++) {
        assert_true((unsigned)defs[i].scope < SCOPE_COUNT);
        per_scope[defs[i].scope]++;
    }
    for (int s = 0; s < SCOPE_COUNT; s++) {
        if (per_scope[s] == 0)
            fail_msg("scope %s has no metric", catalogue_scope_name((enum metric_scope)s));
    }
}

/* Reads the whole file into a NUL-terminated heap buffer. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    char *buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* Copies cell k (0-based) of a Markdown table row into out, trimmed. Returns false if absent. */
static bool md_cell(const char *row, int k, char *out, size_t outsz) {
    const char *p = row;
    if (*p != '|')
        return false;
    p++;
    for (int i = 0; i < k; i++) {
        p = strchr(p, '|');
        if (!p)
            return false;
        p++;
    }
    const char *end = strchr(p, '|');
    if (!end)
        return false;
    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    size_t len = (size_t)(end - p);
    if (len >= outsz)
        return false;
    memcpy(out, p, len);
    out[len] = '\0';
    return true;
}

/* METRICS.md has one row per metric, "| `name` | unit | kind[, real] | collector | ...", and no
 * row for a metric the catalogue lacks. */
static void test_metrics_md(void **state) {
    size_t n;
    const struct metric_def *defs = all(&n);
    char *md = slurp(METRICS_MD);
    char cell[256];
    char want[256];

    for (size_t i = 0; i < n; i++) {
        const struct metric_def *m = &defs[i];
        snprintf(want, sizeof want, "\n| `%s` |", m->name);
        const char *row = strstr(md, want);
        if (!row)
            fail_msg("%s is not in a METRICS.md table row", m->name);
        row++;
        if (strstr(row + 1, want + 1))
            fail_msg("%s has two rows in METRICS.md", m->name);
        assert_true(md_cell(row, 1, cell, sizeof cell));
        if (strcmp(cell, m->unit) != 0)
            fail_msg("%s: METRICS.md unit \"%s\", catalogue \"%s\"", m->name, cell, m->unit);
        assert_true(md_cell(row, 2, cell, sizeof cell));
        snprintf(want, sizeof want, "%s%s", catalogue_kind_name(m->kind),
                 m->type == METRIC_REAL ? ", real" : "");
        if (strcmp(cell, want) != 0)
            fail_msg("%s: METRICS.md kind \"%s\", catalogue \"%s\"", m->name, cell, want);
        assert_true(md_cell(row, 3, cell, sizeof cell));
        if (strcmp(cell, m->collector) != 0)
            fail_msg("%s: METRICS.md collector \"%s\", catalogue \"%s\"", m->name, cell,
                     m->collector);
    }

    /* Reverse direction: every metric row names a catalogue entry. */
    size_t rows = 0;
    for (const char *p = md; (p = strstr(p, "\n| `")) != NULL; p++) {
        const char *name = p + 4;
        const char *end = strchr(name, '`');
        assert_non_null(end);
        size_t len = (size_t)(end - name);
        assert_true(len < sizeof cell);
        memcpy(cell, name, len);
        cell[len] = '\0';
        /* Rows of the units and collectors tables name no metric: they have no dot. */
        if (!strchr(cell, '.'))
            continue;
        if (catalogue_find(cell) < 0)
            fail_msg("METRICS.md row for %s, which the catalogue lacks", cell);
        rows++;
    }
    assert_int_equal(rows, n);

    /* The unit vocabulary is documented. */
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        snprintf(want, sizeof want, "| `%s` |", units[i]);
        if (!strstr(md, want))
            fail_msg("unit %s is not in the METRICS.md units table", units[i]);
    }
    free(md);
}

/* Reads a whole stream back as a heap string. */
static char *read_back(FILE *f) {
    long len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    char *buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    return buf;
}

static void test_print_tsv(void **state) {
    size_t n;
    const struct metric_def *defs = all(&n);
    FILE *f = tmpfile();
    assert_non_null(f);
    catalogue_print(f, true);
    char *text = read_back(f);
    fclose(f);

    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    assert_non_null(line);
    assert_string_equal(line, "name\tunit\tkind\tscope\ttype\tcollector\tsource\tmeaning\tdisplay");
    for (size_t i = 0; i < n; i++) {
        line = strtok_r(NULL, "\n", &save);
        assert_non_null(line);
        size_t tabs = 0;
        for (const char *p = line; *p; p++)
            tabs += *p == '\t';
        assert_int_equal(tabs, 8);
        size_t nl = strlen(defs[i].name);
        assert_true(strncmp(line, defs[i].name, nl) == 0 && line[nl] == '\t');
    }
    assert_null(strtok_r(NULL, "\n", &save));
    free(text);
}

static void test_print_aligned(void **state) {
    size_t n;
    const struct metric_def *defs = all(&n);
    FILE *f = tmpfile();
    assert_non_null(f);
    catalogue_print(f, false);
    char *text = read_back(f);
    fclose(f);

    char *save = NULL;
    char *header = strtok_r(text, "\n", &save);
    assert_non_null(header);
    assert_true(strncmp(header, "NAME ", 5) == 0);
    const char *col_unit = strstr(header, "UNIT");
    const char *col_meaning = strstr(header, "MEANING");
    assert_non_null(col_unit);
    assert_non_null(col_meaning);
    size_t off_unit = (size_t)(col_unit - header);
    size_t off_meaning = (size_t)(col_meaning - header);

    for (size_t i = 0; i < n; i++) {
        char *line = strtok_r(NULL, "\n", &save);
        assert_non_null(line);
        assert_true(strlen(line) > off_meaning);
        /* Columns line up with the header: the unit and the meaning start under their labels. */
        assert_true(strncmp(line, defs[i].name, strlen(defs[i].name)) == 0);
        assert_true(strncmp(line + off_unit, defs[i].unit, strlen(defs[i].unit)) == 0);
        assert_int_equal(line[off_unit - 1], ' ');
        assert_string_equal(line + off_meaning, defs[i].meaning);
        assert_int_equal(line[off_meaning - 1], ' ');
    }
    assert_null(strtok_r(NULL, "\n", &save));
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_unique), cmocka_unit_test(test_fields),
        cmocka_unit_test(test_find),          cmocka_unit_test(test_enum_names),
        cmocka_unit_test(test_required),      cmocka_unit_test(test_scopes_covered),
        cmocka_unit_test(test_metrics_md),    cmocka_unit_test(test_print_tsv),
        cmocka_unit_test(test_print_aligned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
