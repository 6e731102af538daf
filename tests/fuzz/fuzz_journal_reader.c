/* fuzz_journal_reader.c: libFuzzer target for the journal reader and the frame layer.
 *
 * The input is a journal file. It is written to a memfd and read three ways: frame by frame with
 * journal_file (damage steps, index, valid_up_to), item by item with journal_reader to the end,
 * and again with a time bound taken from the first pass so that the index seek path runs too.
 * Mutations almost always break a frame's CRC-32C, which would keep the fuzzer out of the
 * decoders; so the same is done a second time on a copy whose frame CRCs have been recomputed.
 * Seeds: tests/fuzz/corpus/journal/ (small valid, torn and multi-section journals).
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* memfd_create */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crc32c.h"
#include "journal_file.h"
#include "journal_format.h"
#include "journal_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Everything read is summed here so that no read can be optimised away. */
static volatile uint64_t sum;

static void ignore_warning(void *ctx, const char *msg) {
    size_t *n = ctx;
    *n += strlen(msg); /* read the message so a bad pointer or a missing NUL shows up */
}

static void walk_frames(const char *path) {
    struct journal_file *f;
    if (journal_file_open(&f, path) < 0)
        return;
    struct journal_frame fr;
    struct journal_damage dmg;
    enum journal_step st;
    uint64_t size = journal_file_size(f), steps = 0;
    while ((st = journal_file_next(f, &fr, &dmg)) != JOURNAL_STEP_END) {
        if (st == JOURNAL_STEP_FRAME && fr.len)
            sum += fr.body[0] + fr.body[fr.len - 1];
        if (++steps > size + 16)
            __builtin_trap(); /* the walk must make progress: at most one step per byte */
    }
    if (journal_file_valid_up_to(f) > size)
        __builtin_trap();
    uint64_t section;
    const int64_t *t_first;
    const uint64_t *offset;
    size_t n;
    if (journal_file_index(f, &section, &t_first, &offset, &n) == 0)
        for (size_t i = 0; i < n; i++)
            sum += (unsigned)t_first[i] + (unsigned)offset[i];
    journal_file_close(f);
}

/* Reads everything once; returns the stats through *st (zeroed when the open failed). */
static void read_all(const char *path, int64_t begin, int64_t end,
                     struct journal_reader_stats *st) {
    size_t warned = 0;
    struct journal_reader_opts o = {
        .begin_ns = begin, .end_ns = end, .warn = ignore_warning, .warn_ctx = &warned};
    struct journal_reader *r;
    memset(st, 0, sizeof(*st));
    if (journal_reader_open(&r, &path, 1, &o, NULL) < 0)
        return;
    (void)journal_reader_preload_metrics(r);
    struct journal_item it;
    while (journal_reader_next(r, &it) == 1) {
        switch (it.type) {
        case JI_SECTION: {
            const struct journal_section_info *si = journal_reader_section(r, it.source);
            if (si)
                sum += strlen(si->hostname) + strlen(si->writer) + strlen(si->compression);
            break;
        }
        case JI_ENTITY:
        case JI_GONE: {
            const struct journal_entity_info *e = journal_reader_entity(r, it.entity);
            if (!e)
                __builtin_trap();
            sum += strlen(e->desc.key) + (e->desc.name ? strlen(e->desc.name) : 0);
            for (uint32_t a = 0; a < e->desc.nattrs; a++)
                sum += strlen(e->desc.attrs[a].key) + strlen(e->desc.attrs[a].value);
            for (uint32_t m = 0; m < e->desc.nmetrics; m++)
                sum += strlen(journal_reader_metric(r, e->desc.metrics[m])->name);
            break;
        }
        case JI_TICK:
            for (size_t k = 0; k < it.nrows; k++) {
                const struct journal_row *row = &it.rows[k];
                if (!journal_reader_entity(r, row->entity))
                    __builtin_trap();
                for (uint32_t j = 0; j < row->n; j++)
                    sum += row->value[j].u + row->metric[j];
            }
            break;
        case JI_EVENT:
            sum += strlen(it.event_kind) + strlen(it.event_text);
            break;
        }
    }
    for (size_t i = 0; i < journal_reader_metric_count(r); i++)
        sum += (uint64_t)journal_reader_metric_find(r, journal_reader_metric(r, (uint32_t)i)->name);
    journal_reader_stats(r, st);
    journal_reader_free(r);
}

/* Recomputes the CRC of every frame that a walk from the preamble finds (a sync marker and a
 * length that fits). Returns true when some CRC changed. */
static bool fix_crcs(unsigned char *buf, size_t size) {
    bool changed = false;
    size_t p = JOURNAL_PREAMBLE_LEN;
    while (p + JOURNAL_FRAME_HDR_LEN <= size) {
        unsigned char *h = buf + p;
        uint32_t len = journal_get_u32(h + 4);
        if (h[0] != JOURNAL_SYNC0 || h[1] != JOURNAL_SYNC1 || h[2] != JOURNAL_SYNC2 ||
            h[3] != JOURNAL_SYNC3 || len > size - p - JOURNAL_FRAME_HDR_LEN) {
            p++;
            continue;
        }
        uint32_t crc = crc32c(crc32c(0, h + 4, 8), h + JOURNAL_FRAME_HDR_LEN, len);
        if (crc != journal_get_u32(h + 12)) {
            journal_put_u32(h + 12, crc);
            changed = true;
        }
        p += JOURNAL_FRAME_HDR_LEN + (size_t)len;
    }
    return changed;
}

static void run_one(const unsigned char *data, size_t size) {
    int fd = memfd_create("fuzz.pxj", MFD_CLOEXEC);
    if (fd < 0)
        return;
    for (size_t done = 0; done < size;) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0) {
            close(fd);
            return;
        }
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

    walk_frames(path);
    struct journal_reader_stats st;
    read_all(path, 0, 0, &st);
    if (st.ticks > 1 && st.t_last > st.t_first) {
        /* A bounded read: begin in the middle, so the reader seeks (index or scan). */
        struct journal_reader_stats st2;
        int64_t mid = st.t_first + (st.t_last - st.t_first) / 2;
        read_all(path, mid, st.t_last, &st2);
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    run_one(data, size);
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (fix_crcs(copy, size))
        run_one(copy, size);
    free(copy);
    return 0;
}
