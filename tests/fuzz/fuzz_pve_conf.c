/* fuzz_pve_conf.c: libFuzzer target for the Proxmox VE VM config parser (sampler/pve_conf.c).
 * The input is a VMID.conf as read from disk (no NUL terminator, so ASan catches any read past
 * the end). Besides memory safety it checks the parser's contract: strings are terminated in
 * their arrays, the UUID is "" or well formed, the counts are bounded, pve_conf_vcpus() is a
 * plausible count, and nothing after the first "[section]" line (snapshots, [PENDING]) changes
 * the result. Seeds: tests/fuzz/corpus/pve_conf/ (configs as Proxmox writes them).
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve_conf.h"
#include "qemu_cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Offset of the first line whose first non-blank byte is '[' (the parser's stop), or len. */
static size_t live_end(const char *b, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && (b[j] == ' ' || b[j] == '\t')) {
            j++;
        }
        if (j < len && b[j] == '[') {
            return i;
        }
        const char *nl = memchr(b + i, '\n', len - i);
        i = nl ? (size_t)(nl - b) + 1 : len;
    }
    return len;
}

static void check(const struct pve_conf *c) {
    if (memchr(c->name, '\0', sizeof(c->name)) == NULL ||
        memchr(c->uuid, '\0', sizeof(c->uuid)) == NULL) {
        abort();
    }
    if (c->uuid[0] && !qemu_uuid_valid(c->uuid)) {
        abort();
    }
    if (c->nnets > PVE_MAX_NETS || c->memory_mib < -1 || c->cores < -1 || c->sockets < -1 ||
        c->vcpus < -1) {
        abort();
    }
    int32_t n = pve_conf_vcpus(c);
    if (n == 0 || n < -1 || n > PVE_MAX_VCPUS) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *b = malloc(size ? size : 1);
    struct pve_conf full, live;
    if (!b) {
        return 0;
    }
    memcpy(b, data, size);
    int r = pve_conf_parse(b, size, &full);
    if (r == 0) {
        check(&full);
    }
    /* The live section alone gives the same answer, byte for byte. */
    size_t cut = live_end(b, size);
    if (cut < size) {
        int r2 = pve_conf_parse(b, cut, &live);
        if (r2 != r || (r == 0 && memcmp(&full, &live, sizeof(full)) != 0)) {
            abort();
        }
    }
    free(b);
    return 0;
}
