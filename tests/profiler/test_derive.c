/* test_derive.c: derived metrics from raw rows, where values are missing on some ticks.
 *   - a disk read only every 3rd tick (its row absent between, as with --daemon-interval): the
 *     VM's disk_rd at each reading spans the time since the last one; NaN on the other ticks;
 *   - a VM counter nil on two ticks of three: the same, for a raw metric selected by name;
 *   - a counter that went down is a gap, and the reading after it starts afresh;
 *   - derive_ent_reset forgets the previous readings (the next one is a gap).
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "catalogue.h"
#include "derive.h"

#define S  1000000000ll
#define DT (2 * S)

static uint32_t mid(const char *name) {
    int id = catalogue_find(name);
    assert_true(id >= 0);
    return (uint32_t)id;
}

struct fixture {
    struct derive *d;
    struct derive_ent *vm, *disk;
    void *acc;
    size_t i_rd, i_mj;
};

static void setup(struct fixture *f) {
    const char *bad = NULL;
    size_t n;
    const struct metric_def *all = catalogue_all(&n);
    const struct metric_def **defs = calloc(n, sizeof(*defs));
    assert_non_null(defs);
    for (size_t i = 0; i < n; i++) {
        defs[i] = &all[i];
    }
    assert_int_equal(derive_new(&f->d, "disk_rd,vm.mem.guest_major_faults", NULL, 0, &bad), 0);
    assert_int_equal(derive_bind(f->d, defs, n), 0);
    free(defs);
    assert_int_equal(derive_count(f->d), 2);
    f->i_rd = 0; /* sorted: "disk_rd" < "vm.mem..." */
    f->i_mj = 1;
    assert_string_equal(derive_name(f->d, f->i_rd), "disk_rd");
    f->vm = derive_ent_new(f->d);
    f->disk = derive_ent_new(f->d);
    f->acc = malloc(derive_acc_size(f->d));
    assert_non_null(f->vm);
    assert_non_null(f->disk);
    assert_non_null(f->acc);
}

static void teardown(struct fixture *f) {
    free(f->vm);
    free(f->disk);
    free(f->acc);
    derive_free(f->d);
}

/* One tick: the VM row (guest_major_faults = mj, or nil when mj < 0) and, when rd >= 0, the
 * disk's row with rd_bytes = rd. Returns the derived values in out[2]. */
static void tick(struct fixture *f, int i, int64_t mj, int64_t rd, double out[2]) {
    int64_t t = (int64_t)i * DT;
    uint32_t vm_metric[1] = {mid("vm.mem.guest_major_faults")};
    struct journal_value vm_value[1] = {{.type = mj < 0 ? JV_MISSING : JV_INT, .u = (uint64_t)mj}};
    derive_tick_begin(f->d, f->acc);
    derive_row(f->d, f->acc, f->vm, vm_metric, vm_value, 1, 1800 * S + t, 100 * S + t);
    if (rd >= 0) {
        uint32_t m[1] = {mid("vm_disk.rd_bytes")};
        struct journal_value v[1] = {{.type = JV_INT, .u = (uint64_t)rd}};
        derive_row(f->d, f->acc, f->disk, m, v, 1, 1800 * S + t, 100 * S + t);
    }
    derive_tick_end(f->d, f->acc, 1, out);
}

static void test_gaps(void **state) {
    (void)state;
    struct fixture f;
    double out[2];
    setup(&f);
    for (int i = 0; i < 10; i++) {
        bool read = i % 3 == 0;
        tick(&f, i, read ? 90 * i : -1, read ? 6000 * i : -1, out);
        if (!read || i == 0) { /* not read, or the first reading */
            assert_true(isnan(out[f.i_rd]));
            assert_true(isnan(out[f.i_mj]));
        } else { /* 3 ticks of 2 s since the last reading */
            assert_true(fabs(out[f.i_rd] - 6000.0 * 3 / 6.0) < 1e-9);
            assert_true(fabs(out[f.i_mj] - 90.0 * 3 / 6.0) < 1e-9);
        }
    }
    /* A reset (the counter went down): a gap, then rates from the new base. */
    tick(&f, 10, 5, 7, out);
    assert_true(isnan(out[f.i_rd]) && isnan(out[f.i_mj]));
    tick(&f, 11, 15, 27, out);
    assert_true(fabs(out[f.i_rd] - 10.0) < 1e-9);
    assert_true(fabs(out[f.i_mj] - 5.0) < 1e-9);
    /* Forgotten entity state: the next reading is a gap again. */
    derive_ent_reset(f.d, f.vm);
    derive_ent_reset(f.d, f.disk);
    tick(&f, 12, 25, 47, out);
    assert_true(isnan(out[f.i_rd]) && isnan(out[f.i_mj]));
    teardown(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
