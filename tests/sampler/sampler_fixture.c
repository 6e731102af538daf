/* sampler_fixture.c: see sampler_fixture.h.
 * SPDX-License-Identifier: MIT */
#include "sampler_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "printer.h"
#include "testutil.h"

void sf_run(const char *cmd) {
    int rc = system(cmd);
    if (rc != 0) {
        fail_msg("command failed (%d): %s", rc, cmd);
    }
}

char *sf_host_root(const char *tag) {
    char *root = tu_mkdtemp(tag);
    char cmd[4096];
    assert_non_null(root);
    snprintf(cmd, sizeof(cmd),
             "set -e; R='%s'; D='%s'; mkdir -p $R/proc; "
             "cp -r $D/host-vm/stat $D/host-vm/meminfo $D/host-vm/diskstats $D/host-vm/net "
             "$D/host-vm/loadavg $D/host-vm/pressure $R/proc/; cp -r $D/host-vm/sys $R/sys",
             root, SF_DATASET);
    sf_run(cmd);
    return root;
}

void sf_add_qemu(const char *root) {
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "set -e; R='%s'; D='%s'; mkdir -p $R/proc/%d; "
             "cp -r $D/qemu-pve-100/stat $D/qemu-pve-100/status $D/qemu-pve-100/io "
             "$D/qemu-pve-100/cmdline $D/qemu-pve-100/cgroup $D/qemu-pve-100/task "
             "$R/proc/%d/",
             root, SF_DATASET, SF_QEMU_PID, SF_QEMU_PID);
    sf_run(cmd);
}

json_t *sf_tick_json(struct sampler *s, const char *dir) {
    char *path = tu_path(dir, "out.json");
    FILE *f = fopen(path, "w+");
    int header = 0;
    json_error_t je;
    assert_non_null(f);
    assert_int_equal(printer_print(PRINTER_JSON, s, f, &header), 0);
    rewind(f);
    json_t *j = json_loadf(f, 0, &je);
    if (!j) {
        fail_msg("printer wrote invalid JSON: %s", je.text);
    }
    fclose(f);
    free(path);
    return j;
}
