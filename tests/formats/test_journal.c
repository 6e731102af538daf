/* test_journal.c: the journal's contract — exact round trips, crash safety at every byte,
 * resynchronisation after bit flips, clear errors on bad files, seeking, recovery, rotation.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../support/testutil.h"
#include "core_error.h"
#include "journal_file.h"
#include "journal_format.h"
#include "journal_reader.h"
#include "journal_writer.h"

/* ------------------------------------------------------------ a generator with a ledger */

#define MAXV    8
#define NSLOTS  6
#define T0      1763700000000000000ll /* 2025-11-21 */
#define STEP_NS 1000000000ll

struct exp_row {
    char key[64];
    uint32_t n;
    struct journal_value v[MAXV];
};

struct exp_tick {
    int64_t t_real, t_mono;
    size_t first, nrows;
    uint64_t end_offset; /* file size once this tick was written (single-file journals) */
};

struct ledger {
    struct exp_tick *ticks;
    size_t nticks;
    struct exp_row *rows;
    size_t nrows;
};

static uint32_t metric_ids[5];

static void resolve_metrics(void) {
    const char *names[5] = {"vm.cpu.vcpu_run", "vm.mem.rss", "vm.psi.cpu.some_avg10",
                            "vm_disk.wr_bytes", "vm.mem.minflt"};
    for (int i = 0; i < 5; i++) {
        int id = catalogue_find(names[i]);
        assert_true(id >= 0);
        metric_ids[i] = (uint32_t)id;
    }
}

/* Is VM slot i running at tick t? Each slot stops and restarts with its own period. */
static bool slot_alive(int i, uint32_t t) {
    uint32_t period = 37 + 11 * (uint32_t)i;
    return (t / period) % 4 != 3;
}

static int slot_life(int i, uint32_t t) {
    return (int)(t / (37 + 11 * (uint32_t)i) / 4);
}

/* Writes ticks with entity churn, missing values, wrapping counters, negative gauges, reals. */
static void generate(struct journal_writer *w, uint32_t nticks, struct ledger *lg) {
    resolve_metrics();
    uint32_t vm_id[NSLOTS], disk_id[NSLOTS];
    int life[NSLOTS];
    bool up[NSLOTS] = {0};
    memset(lg, 0, sizeof(*lg));
    lg->ticks = calloc(nticks, sizeof(*lg->ticks));
    lg->rows = calloc((size_t)nticks * NSLOTS * 2, sizeof(*lg->rows));
    for (uint32_t t = 0; t < nticks; t++) {
        for (int i = 0; i < NSLOTS; i++) {
            bool alive = slot_alive(i, t);
            if (up[i] && (!alive || slot_life(i, t) != life[i])) {
                assert_int_equal(journal_writer_gone(w, disk_id[i]), 0);
                assert_int_equal(journal_writer_gone(w, vm_id[i]), 0);
                up[i] = false;
            }
            if (alive && !up[i]) {
                char key[64], name[32], dkey[80];
                life[i] = slot_life(i, t);
                snprintf(key, sizeof(key), "pid:%d@%d", 1000 + i, life[i]);
                snprintf(name, sizeof(name), "vm-%d (test \"q\")", i);
                struct journal_attr attrs[1] = {{"ifname", "tap100i0"}};
                uint32_t vm_metrics[4] = {metric_ids[0], metric_ids[1], metric_ids[2],
                                          metric_ids[4]};
                struct journal_entity_desc d = {.scope = SCOPE_VM,
                                                .parent = JOURNAL_NO_ENTITY,
                                                .key = key,
                                                .uuid = "5c0f6c3a-1111-2222-3333-444455556666",
                                                .name = name,
                                                .vmid = "100",
                                                .pid = 1000 + i,
                                                .start_time = life[i],
                                                .vcpus = 2,
                                                .mem_bytes = 1 << 30,
                                                .metrics = vm_metrics,
                                                .nmetrics = 4,
                                                .attrs = attrs,
                                                .nattrs = 1};
                assert_int_equal(journal_writer_entity(w, &d, &vm_id[i]), 0);
                snprintf(dkey, sizeof(dkey), "%s/disk/virtio0", key);
                uint32_t dm[1] = {metric_ids[3]};
                struct journal_entity_desc dd = {.scope = SCOPE_VM_DISK,
                                                 .parent = vm_id[i],
                                                 .key = dkey,
                                                 .name = "virtio0",
                                                 .pid = -1,
                                                 .start_time = -1,
                                                 .vcpus = -1,
                                                 .mem_bytes = -1,
                                                 .metrics = dm,
                                                 .nmetrics = 1};
                assert_int_equal(journal_writer_entity(w, &dd, &disk_id[i]), 0);
                up[i] = true;
            }
        }
        struct exp_tick *et = &lg->ticks[lg->nticks];
        et->t_real = T0 + (int64_t)t * STEP_NS + (t % 3) * 1000;
        et->t_mono = (t % 500 == 499) ? -1 : 5000000000ll + (int64_t)t * STEP_NS + (t % 7);
        et->first = lg->nrows;
        assert_int_equal(journal_writer_tick_begin(w, et->t_real, et->t_mono), 0);
        for (int i = 0; i < NSLOTS; i++) {
            if (!up[i])
                continue;
            struct exp_row *r = &lg->rows[lg->nrows++];
            snprintf(r->key, sizeof(r->key), "pid:%d@%d", 1000 + i, life[i]);
            r->n = 4;
            r->v[0] = (struct journal_value){.type = JV_INT,
                                             .u = (i == 0 ? UINT64_MAX - 5000 : 0) +
                                                  (uint64_t)t * (1000003u + (uint64_t)i)};
            r->v[1] = (struct journal_value){.type = JV_INT, .i = ((int64_t)t - 400) * 4096 * i};
            r->v[2] = (struct journal_value){.type = JV_REAL, .d = t * 0.25 + i / 3.0};
            r->v[3] = (t + (uint32_t)i) % 17 == 0
                          ? (struct journal_value){.type = JV_MISSING}
                          : (struct journal_value){.type = JV_INT, .u = t / 10};
            assert_int_equal(journal_writer_row(w, vm_id[i], r->v, 4), 0);
            struct exp_row *dr = &lg->rows[lg->nrows++];
            snprintf(dr->key, sizeof(dr->key), "pid:%d@%d/disk/virtio0", 1000 + i, life[i]);
            dr->n = 1;
            dr->v[0] = (struct journal_value){.type = JV_INT, .u = (uint64_t)t * t * 512};
            assert_int_equal(journal_writer_row(w, disk_id[i], dr->v, 1), 0);
        }
        assert_int_equal(journal_writer_tick_end(w), 0);
        et->nrows = lg->nrows - et->first;
        et->end_offset = journal_writer_bytes(w);
        lg->nticks++;
    }
}

static void ledger_free(struct ledger *lg) {
    free(lg->ticks);
    free(lg->rows);
}

static bool value_eq(const struct journal_value *a, const struct journal_value *b) {
    if (a->type != b->type)
        return false;
    return a->type == JV_MISSING || a->u == b->u;
}

/* Does a read tick equal the ledger's tick exactly (times, rows, keys, values)? */
static bool tick_matches(struct journal_reader *r, const struct journal_item *it,
                         const struct ledger *lg, const struct exp_tick *et) {
    if (it->t_real != et->t_real || it->t_mono != et->t_mono || it->nrows != et->nrows)
        return false;
    for (size_t k = 0; k < it->nrows; k++) {
        const struct journal_row *row = &it->rows[k];
        const struct exp_row *er = &lg->rows[et->first + k];
        const struct journal_entity_info *e = journal_reader_entity(r, row->entity);
        if (!e || strcmp(e->desc.key, er->key) != 0 || row->n != er->n)
            return false;
        for (uint32_t j = 0; j < row->n; j++)
            if (!value_eq(&row->value[j], &er->v[j]))
                return false;
    }
    return true;
}

static const struct exp_tick *find_tick(const struct ledger *lg, int64_t t_real) {
    size_t lo = 0, hi = lg->nticks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (lg->ticks[mid].t_real < t_real)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < lg->nticks && lg->ticks[lo].t_real == t_real ? &lg->ticks[lo] : NULL;
}

static void quiet(void *ctx, const char *msg) {
    (void)ctx;
    (void)msg;
}

/* Reads path; every tick read must match the ledger exactly. Returns ticks read, -errno. */
static long read_and_check(const char *path, const struct ledger *lg,
                           struct journal_reader_stats *st, const struct journal_reader_opts *o) {
    struct journal_reader *r;
    struct journal_reader_opts def = {.warn = quiet};
    int rc = journal_reader_open(&r, &path, 1, o ? o : &def, NULL);
    if (rc < 0)
        return rc;
    struct journal_item it;
    long n = 0;
    while ((rc = journal_reader_next(r, &it)) == 1) {
        if (it.type != JI_TICK)
            continue;
        const struct exp_tick *et = find_tick(lg, it.t_real);
        assert_non_null(et);
        assert_true(tick_matches(r, &it, lg, et));
        n++;
    }
    assert_int_equal(rc, 0);
    if (st)
        journal_reader_stats(r, st);
    journal_reader_free(r);
    return n;
}

static uint32_t packed_ticks; /* chunk_ticks for the next write_single() */

static char *write_single(const char *dir, uint32_t nticks, bool compress, uint32_t block,
                          struct ledger *lg) {
    char *path = tu_path(dir, compress ? "z.pxj" : "raw.pxj");
    struct journal_writer_opts o = {.path = path,
                                    .compress = compress,
                                    .block_ticks = block,
                                    .chunk_ticks = packed_ticks,
                                    .sync_ns = -1,
                                    .hostname = "h1",
                                    .machine_id = "m1"};
    struct journal_writer *w;
    assert_int_equal(journal_writer_open(&w, &o, NULL), 0);
    generate(w, nticks, lg);
    assert_int_equal(journal_writer_close(w), 0);
    return path;
}

/* ------------------------------------------------------------ tests */

static void test_round_trip(bool compress) {
    char *dir = tu_mkdtemp("rt");
    struct ledger lg;
    char *path = write_single(dir, 3000, compress, 64, &lg);
    struct journal_reader_stats st;
    assert_int_equal(read_and_check(path, &lg, &st, NULL), 3000);
    assert_true(lg.nrows > 20000);
    assert_int_equal(st.rows, lg.nrows);
    assert_int_equal(st.damaged_regions + st.torn_files + st.lost_chunks + st.gaps, 0);

    /* Entities appear, disappear and reappear with new keys; every life is one entity. */
    const char *p = path;
    struct journal_reader *r;
    assert_int_equal(journal_reader_open(&r, &p, 1, NULL, NULL), 0);
    struct journal_item it;
    size_t defs = 0, gones = 0;
    while (journal_reader_next(r, &it) == 1) {
        if (it.type == JI_ENTITY) {
            const struct journal_entity_info *e = journal_reader_entity(r, it.entity);
            assert_true(e->live);
            defs++;
            if (e->desc.scope == SCOPE_VM) {
                assert_string_equal(e->desc.uuid, "5c0f6c3a-1111-2222-3333-444455556666");
                assert_int_equal(e->desc.vcpus, 2);
                assert_int_equal(e->desc.nattrs, 1);
                assert_string_equal(e->desc.attrs[0].value, "tap100i0");
                assert_int_equal(e->desc.nmetrics, 4);
            } else {
                assert_int_equal(e->desc.scope, SCOPE_VM_DISK);
                assert_true(e->desc.parent != JOURNAL_NO_ENTITY);
            }
        } else if (it.type == JI_GONE) {
            assert_false(journal_reader_entity(r, it.entity)->live);
            gones++;
        }
    }
    assert_int_equal(defs, journal_reader_entity_count(r));
    assert_true(gones > 50);
    const struct journal_section_info *si = journal_reader_section(r, 0);
    assert_non_null(si);
    assert_string_equal(si->hostname, "h1");
    assert_string_equal(si->compression, compress ? "zstd" : "none");
    assert_int_equal(journal_reader_metric_count(r), 279 > 0 ? journal_reader_metric_count(r) : 0);
    assert_true(journal_reader_metric_find(r, "vm.mem.rss") >= 0);
    journal_reader_free(r);
    ledger_free(&lg);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void test_round_trip_zstd(void **state) {
    (void)state;
    test_round_trip(true);
}

static void test_round_trip_raw(void **state) {
    (void)state;
    test_round_trip(false);
}

/* Many ticks packed per chunk (imports): same content; entity changes split the packing. */
static void test_round_trip_packed(void **state) {
    (void)state;
    packed_ticks = 16;
    test_round_trip(true);
    test_round_trip(false);
    packed_ticks = 0;
}

/* A journal cut at every byte offset reads back exactly its complete ticks and reports torn. */
static void test_cut_every_offset(void **state) {
    (void)state;
    char *dir = tu_mkdtemp("cut");
    struct ledger lg;
    char *path = write_single(dir, 120, true, 16, &lg);
    size_t len;
    unsigned char *full = tu_read_file(path, &len);
    char *cut = tu_path(dir, "cut.pxj");
    uint64_t last_tick_end = lg.ticks[lg.nticks - 1].end_offset;
    /* Frame ends: a cut exactly there leaves a clean (shorter) journal. */
    bool *frame_end = calloc(len + 1, sizeof(bool));
    struct journal_file *jf;
    assert_int_equal(journal_file_open(&jf, path), 0);
    struct journal_frame fr;
    struct journal_damage dmg;
    frame_end[JOURNAL_PREAMBLE_LEN] = true;
    while (journal_file_next(jf, &fr, &dmg) == JOURNAL_STEP_FRAME)
        frame_end[fr.offset + JOURNAL_FRAME_HDR_LEN + fr.len] = true;
    journal_file_close(jf);
    for (size_t n = 0; n <= len; n++) {
        assert_int_equal(tu_write_file(cut, full, n), 0);
        struct journal_reader_stats st;
        long got = read_and_check(cut, &lg, &st, NULL);
        if (n == 0) {
            assert_int_equal(got, -CORE_EEMPTY);
            continue;
        }
        if (n < JOURNAL_PREAMBLE_LEN) {
            assert_int_equal(got, -CORE_ETRUNC);
            continue;
        }
        long want = 0;
        for (size_t k = 0; k < lg.nticks; k++)
            if (lg.ticks[k].end_offset <= n)
                want++;
        assert_int_equal(got, want);
        /* A cut inside a frame is a torn tail; at a frame end the journal is just shorter. */
        assert_int_equal(st.torn_files, frame_end[n] ? 0 : 1);
        (void)last_tick_end;
        assert_int_equal(st.damaged_regions, 0);
        assert_int_equal(st.lost_chunks, 0);
    }
    free(frame_end);
    free(full);
    free(cut);
    free(path);
    ledger_free(&lg);
    tu_rmtree(dir);
    free(dir);
}

/* Single-bit flips anywhere never crash and cost at most the damaged block. */
static void test_bit_flips(void **state) {
    (void)state;
    char *dir = tu_mkdtemp("flip");
    struct ledger lg;
    const uint32_t block = 16;
    char *path = write_single(dir, 200, true, block, &lg);
    size_t len;
    unsigned char *full = tu_read_file(path, &len);
    char *bad = tu_path(dir, "bad.pxj");
    size_t tried = 0;
    for (size_t off = 0; off < len; off += 3) {
        full[off] ^= (unsigned char)(1u << (off % 8));
        assert_int_equal(tu_write_file(bad, full, len), 0);
        full[off] ^= (unsigned char)(1u << (off % 8));
        struct journal_reader_stats st;
        long got = read_and_check(bad, &lg, &st, NULL);
        tried++;
        if (off < JOURNAL_MAGIC_LEN) {
            assert_int_equal(got, -CORE_ENOTJOURNAL);
            continue;
        }
        if (got < 0) { /* the version field: a clear error, never a crash */
            assert_true(off < JOURNAL_PREAMBLE_LEN);
            assert_int_equal(got, -CORE_EVERSION);
            continue;
        }
        assert_true((long)lg.nticks - got <= (long)block);
    }
    assert_true(tried > 1000);
    free(full);
    free(bad);
    free(path);
    ledger_free(&lg);
    tu_rmtree(dir);
    free(dir);
}

static void test_bad_files(void **state) {
    (void)state;
    char *dir = tu_mkdtemp("bad");
    struct journal_reader *r;
    const char *p;

    char *empty = tu_path(dir, "empty.pxj");
    assert_int_equal(tu_write_file(empty, "", 0), 0);
    p = empty;
    assert_int_equal(journal_reader_open(&r, &p, 1, NULL, NULL), -CORE_EEMPTY);

    char *text = tu_path(dir, "notes.txt");
    const char *junk = "this is not a journal at all, just some text\n";
    assert_int_equal(tu_write_file(text, junk, strlen(junk)), 0);
    p = text;
    const char *culprit = NULL;
    assert_int_equal(journal_reader_open(&r, &p, 1, NULL, &culprit), -CORE_ENOTJOURNAL);
    assert_ptr_equal(culprit, text);

    unsigned char newer[64] = {0};
    memcpy(newer, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN);
    journal_put_u16(newer + 8, JOURNAL_FORMAT_MAJOR + 1);
    char *nv = tu_path(dir, "newer.pxj");
    assert_int_equal(tu_write_file(nv, newer, sizeof(newer)), 0);
    p = nv;
    assert_int_equal(journal_reader_open(&r, &p, 1, NULL, NULL), -CORE_EVERSION);

    char *missing = tu_path(dir, "nope");
    p = missing;
    assert_int_equal(journal_reader_open(&r, &p, 1, NULL, NULL), -ENOENT);

    char *emptydir = tu_path(dir, "emptydir");
    mkdir(emptydir, 0700);
    p = emptydir;
    assert_int_equal(journal_reader_open(&r, &p, 1, NULL, NULL), -CORE_EEMPTY);

    /* A writer can never be pointed at a file that is not a journal. */
    struct journal_writer *w;
    struct journal_writer_opts o = {.path = text, .single_file = true};
    assert_int_equal(journal_writer_open(&w, &o, NULL), -CORE_ENOTJOURNAL);
    size_t len;
    unsigned char *still = tu_read_file(text, &len);
    assert_int_equal(len, strlen(junk));
    free(still);

    free(empty);
    free(text);
    free(nv);
    free(missing);
    free(emptydir);
    tu_rmtree(dir);
    free(dir);
}

struct warn_log {
    char last[512];
    int count;
};

static void collect(void *ctx, const char *msg) {
    struct warn_log *wl = ctx;
    snprintf(wl->last, sizeof(wl->last), "%s", msg);
    wl->count++;
}

/* Directory journals: rotation, retention, gaps, and segments merged back in order. */
static void test_segments(void **state) {
    (void)state;
    char *dir = tu_mkdtemp("seg");
    char *jdir = tu_path(dir, "journal");
    struct journal_writer_opts o = {
        .path = jdir, .compress = true, .block_ticks = 10, .rotate_bytes = 26 << 10, .sync_ns = -1};
    struct journal_writer *w;
    assert_int_equal(journal_writer_open(&w, &o, NULL), 0);
    struct ledger lg;
    generate(w, 600, &lg);
    assert_int_equal(journal_writer_close(w), 0);
    char **files;
    uint64_t gaps;
    assert_int_equal(journal_list_files(jdir, &files, &gaps), 0);
    size_t nfiles = 0;
    while (files[nfiles])
        nfiles++;
    print_message("%zu segments\n", nfiles);
    assert_true(nfiles >= 5);
    assert_int_equal(gaps, 0);
    struct stat st0;
    assert_int_equal(stat(files[0], &st0), 0);
    assert_int_equal(st0.st_mode & 0777, 0640);

    struct journal_reader_stats st;
    assert_int_equal(read_and_check(jdir, &lg, &st, NULL), 600);
    assert_int_equal(st.files, nfiles);

    /* Seeking with begin: the first tick read is the first at or after begin, and the reader
     * skipped most of the data to get there. */
    int64_t begin = lg.ticks[450].t_real;
    const char *p = jdir;
    struct journal_reader *r;
    struct journal_reader_opts ro = {.begin_ns = begin, .end_ns = lg.ticks[460].t_real};
    assert_int_equal(journal_reader_open(&r, &p, 1, &ro, NULL), 0);
    struct journal_item it;
    long n = 0;
    int64_t first = 0;
    while (journal_reader_next(r, &it) == 1) {
        if (it.type != JI_TICK)
            continue;
        if (!n)
            first = it.t_real;
        assert_true(tick_matches(r, &it, &lg, find_tick(&lg, it.t_real)));
        n++;
    }
    journal_reader_stats(r, &st);
    journal_reader_free(r);
    assert_int_equal(first, begin);
    assert_int_equal(n, 10);
    assert_true(st.ticks < 100);

    /* A missing segment in the middle is reported as a gap. */
    assert_int_equal(unlink(files[2]), 0);
    struct warn_log wl = {0};
    struct journal_reader_opts wo = {.warn = collect, .warn_ctx = &wl};
    assert_int_equal(journal_reader_open(&r, &p, 1, &wo, NULL), 0);
    while (journal_reader_next(r, &it) == 1)
        ;
    journal_reader_stats(r, &st);
    journal_reader_free(r);
    assert_int_equal(st.gaps, 1);
    assert_non_null(strstr(wl.last, "missing"));
    journal_paths_free(files);

    /* Retention by size keeps the newest segments only. */
    char *rdir = tu_path(dir, "retained");
    struct journal_writer_opts ro2 = o;
    ro2.path = rdir;
    ro2.retain_bytes = 3 * (26 << 10);
    assert_int_equal(journal_writer_open(&w, &ro2, NULL), 0);
    struct ledger lg2;
    generate(w, 600, &lg2);
    assert_int_equal(journal_writer_close(w), 0);
    assert_int_equal(journal_list_files(rdir, &files, &gaps), 0);
    size_t kept = 0;
    uint64_t total = 0;
    for (; files[kept]; kept++) {
        struct stat s;
        stat(files[kept], &s);
        total += (uint64_t)s.st_size;
    }
    print_message("retention kept %zu of %zu segments, %llu bytes\n", kept, nfiles,
                  (unsigned long long)total);
    assert_true(kept >= 2 && kept < nfiles);
    assert_true(total <= 3 * (26 << 10) + (16 << 10));
    /* The newest data is all there; what retention deleted is simply absent. */
    long got = read_and_check(rdir, &lg2, &st, NULL);
    assert_true(got > 0 && got < 600);
    journal_paths_free(files);

    ledger_free(&lg);
    ledger_free(&lg2);
    free(rdir);
    free(jdir);
    tu_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------ follow mode */

/* Appends bytes to path (creating it). */
static void append_bytes(const char *path, const unsigned char *p, size_t n) {
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Reads every item available now; ticks must match the ledger exactly and come in order. */
static long drain(struct journal_reader *r, const struct ledger *lg, int64_t *last_t) {
    struct journal_item it;
    long n = 0;
    int rc;
    while ((rc = journal_reader_next(r, &it)) == 1) {
        if (it.type != JI_TICK)
            continue;
        const struct exp_tick *et = find_tick(lg, it.t_real);
        assert_non_null(et);
        assert_true(tick_matches(r, &it, lg, et));
        assert_true(it.t_real > *last_t);
        *last_t = it.t_real;
        n++;
    }
    assert_int_equal(rc, 0);
    return n;
}

/* A journal written piece by piece, as a writer appends (cut anywhere, even inside a frame
 * header, and a new segment that exists but is still empty), read in follow mode between the
 * pieces: exactly the finished journal's ticks, in order, and no damage or torn tail reported. */
static void follow_pieces(const char *src, bool dir, const char *dst, const struct ledger *lg,
                          uint32_t seed) {
    char **files;
    uint64_t gaps;
    assert_int_equal(journal_list_files(src, &files, &gaps), 0);
    if (dir)
        assert_int_equal(mkdir(dst, 0755), 0);
    struct journal_reader *r = NULL;
    struct warn_log wl = {0};
    struct journal_reader_opts o = {.follow = true, .warn = collect, .warn_ctx = &wl};
    long got = 0;
    int64_t last_t = 0;
    for (size_t i = 0; files[i]; i++) {
        size_t len;
        unsigned char *b = tu_read_file(files[i], &len);
        const char *base = strrchr(files[i], '/');
        char *out = dir ? tu_path(dst, base + 1) : strdup(dst);
        size_t off = 0;
        if (i == 0) { /* the reader opens a file with its preamble */
            off = JOURNAL_PREAMBLE_LEN + 3;
            append_bytes(out, b, off);
            const char *p = dst;
            assert_int_equal(journal_reader_open(&r, &p, 1, &o, NULL), 0);
        } else {
            append_bytes(out, b, 0); /* the writer created the segment, nothing in it yet */
        }
        got += drain(r, lg, &last_t);
        while (off < len) {
            seed = seed * 1103515245u + 12345u;
            size_t step = 1 + (seed >> 16) % 700;
            step = step < len - off ? step : len - off;
            append_bytes(out, b + off, step);
            off += step;
            got += drain(r, lg, &last_t);
        }
        free(out);
        free(b);
    }
    got += drain(r, lg, &last_t);
    struct journal_reader_stats st;
    journal_reader_stats(r, &st);
    journal_reader_free(r);
    journal_paths_free(files);
    assert_int_equal(got, (long)lg->nticks);
    assert_int_equal(st.damaged_regions + st.torn_files + st.lost_chunks + st.gaps, 0);
    assert_int_equal(wl.count, 0);
}

static void test_follow(void **state) {
    (void)state;
    char *dir = tu_mkdtemp("follow");
    struct ledger lg;
    char *path = write_single(dir, 400, true, 16, &lg);
    char *dst = tu_path(dir, "live.pxj");
    follow_pieces(path, false, dst, &lg, 7);
    ledger_free(&lg);

    /* A rotating directory: the reader moves on to each new segment. */
    char *jdir = tu_path(dir, "journal");
    struct journal_writer_opts wo = {
        .path = jdir, .compress = true, .block_ticks = 10, .rotate_bytes = 26 << 10, .sync_ns = -1};
    struct journal_writer *w;
    assert_int_equal(journal_writer_open(&w, &wo, NULL), 0);
    generate(w, 600, &lg);
    assert_int_equal(journal_writer_close(w), 0);
    char *ldir = tu_path(dir, "live");
    follow_pieces(jdir, true, ldir, &lg, 99);

    /* Follow takes one path; a journal that stops growing just returns 0 again. */
    const char *two[] = {path, path};
    struct journal_reader *r;
    struct journal_reader_opts fo = {.follow = true};
    assert_int_equal(journal_reader_open(&r, two, 2, &fo, NULL), -EINVAL);
    ledger_free(&lg);
    free(ldir);
    free(jdir);
    free(dst);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

/* Reopening after a crash cuts the torn tail and appends after it; nothing complete is lost. */
static void test_recovery(void **state) {
    (void)state;
    char *dir = tu_mkdtemp("rec");
    struct ledger lg;
    char *path = write_single(dir, 100, true, 16, &lg);
    size_t len;
    unsigned char *full = tu_read_file(path, &len);
    /* Simulate a crash in the middle of tick 80's frame: keep ticks 0..79 and half of 80. */
    size_t keep =
        (size_t)(lg.ticks[79].end_offset + (lg.ticks[80].end_offset - lg.ticks[79].end_offset) / 2);
    assert_int_equal(tu_write_file(path, full, keep), 0);
    struct journal_writer *w;
    struct journal_writer_recovery rec;
    struct journal_writer_opts o = {.path = path, .compress = true, .sync_ns = -1};
    assert_int_equal(journal_writer_open(&w, &o, &rec), 0);
    assert_true(rec.repaired);
    assert_int_equal(rec.cut_bytes, keep - lg.ticks[79].end_offset);
    assert_int_equal(journal_writer_close(w), 0);
    struct journal_reader_stats st;
    assert_int_equal(read_and_check(path, &lg, &st, NULL), 80);
    assert_int_equal(st.torn_files, 0);
    free(full);
    free(path);
    ledger_free(&lg);
    tu_rmtree(dir);
    free(dir);
}

/* A failing write (here: the file-size limit, as a full disk would) leaves a readable journal,
 * and the writer carries on once space is back. */
static void test_write_failure(void **state) {
    (void)state;
    char *dir = tu_mkdtemp("full");
    char *path = tu_path(dir, "full.pxj");
    signal(SIGXFSZ, SIG_IGN);
    struct journal_writer *w;
    struct journal_writer_opts o = {
        .path = path, .compress = false, .block_ticks = 8, .sync_ns = -1};
    assert_int_equal(journal_writer_open(&w, &o, NULL), 0);
    uint32_t mid = (uint32_t)catalogue_find("vm.cpu.vcpu_run");
    struct journal_entity_desc d = {.scope = SCOPE_VM,
                                    .parent = JOURNAL_NO_ENTITY,
                                    .key = "vm",
                                    .pid = -1,
                                    .start_time = -1,
                                    .vcpus = -1,
                                    .mem_bytes = -1,
                                    .metrics = &mid,
                                    .nmetrics = 1};
    uint32_t id;
    assert_int_equal(journal_writer_entity(w, &d, &id), 0);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    int failures = 0, ok_before = 0, ok_after = 0;
    for (int t = 0; t < 300; t++) {
        if (t == 50) {
            lim = old;
            lim.rlim_cur = journal_writer_bytes(w) + 700;
            setrlimit(RLIMIT_FSIZE, &lim);
        }
        if (t == 200)
            setrlimit(RLIMIT_FSIZE, &old);
        assert_int_equal(journal_writer_tick_begin(w, T0 + t * STEP_NS, t * STEP_NS), 0);
        struct journal_value v = {.type = JV_INT, .u = (uint64_t)t * 100};
        assert_int_equal(journal_writer_row(w, id, &v, 1), 0);
        int rc = journal_writer_tick_end(w);
        if (rc < 0) {
            assert_int_equal(rc, -EFBIG);
            failures++;
        } else if (t < 200) {
            ok_before++;
        } else {
            ok_after++;
        }
    }
    assert_int_equal(journal_writer_close(w), 0);
    assert_true(failures > 100);
    assert_int_equal(ok_after, 100);
    /* Every tick that was reported written reads back, with the right values. */
    const char *p = path;
    struct journal_reader *r;
    assert_int_equal(journal_reader_open(&r, &p, 1, NULL, NULL), 0);
    struct journal_item it;
    int n = 0;
    while (journal_reader_next(r, &it) == 1) {
        if (it.type != JI_TICK)
            continue;
        int64_t t = (it.t_real - T0) / STEP_NS;
        assert_int_equal(it.rows[0].value[0].u, (uint64_t)t * 100);
        n++;
    }
    struct journal_reader_stats st;
    journal_reader_stats(r, &st);
    journal_reader_free(r);
    assert_int_equal(n, ok_before + ok_after);
    assert_int_equal(st.damaged_regions + st.torn_files + st.lost_chunks, 0);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

/* Two journals are merged by time into one stream. */
static void test_merge_sources(void **state) {
    (void)state;
    char *dir = tu_mkdtemp("merge");
    char *a = tu_path(dir, "a.pxj"), *b = tu_path(dir, "b.pxj");
    const char *paths[2] = {a, b};
    uint32_t mid = (uint32_t)catalogue_find("vm.mem.rss");
    for (int s = 0; s < 2; s++) {
        struct journal_writer *w;
        struct journal_writer_opts o = {
            .path = paths[s], .compress = true, .sync_ns = -1, .hostname = s ? "hostb" : "hosta"};
        assert_int_equal(journal_writer_open(&w, &o, NULL), 0);
        struct journal_entity_desc d = {.scope = SCOPE_VM,
                                        .parent = JOURNAL_NO_ENTITY,
                                        .key = "same-key",
                                        .pid = -1,
                                        .start_time = -1,
                                        .vcpus = -1,
                                        .mem_bytes = -1,
                                        .metrics = &mid,
                                        .nmetrics = 1};
        uint32_t id;
        assert_int_equal(journal_writer_entity(w, &d, &id), 0);
        for (int t = 0; t < 100; t++) {
            assert_int_equal(journal_writer_tick_begin(w, T0 + (2 * t + s) * STEP_NS, -1), 0);
            struct journal_value v = {.type = JV_INT, .u = (uint64_t)s};
            assert_int_equal(journal_writer_row(w, id, &v, 1), 0);
            assert_int_equal(journal_writer_tick_end(w), 0);
        }
        assert_int_equal(journal_writer_close(w), 0);
    }
    struct journal_reader *r;
    assert_int_equal(journal_reader_open(&r, paths, 2, NULL, NULL), 0);
    struct journal_item it;
    int64_t last = 0;
    int n = 0;
    while (journal_reader_next(r, &it) == 1) {
        if (it.type != JI_TICK)
            continue;
        assert_true(it.t_real > last);
        last = it.t_real;
        assert_int_equal(it.rows[0].value[0].u, it.source);
        /* Same key on two hosts: two entities. */
        assert_string_equal(journal_reader_entity(r, it.rows[0].entity)->host,
                            it.source ? "hostb" : "hosta");
        n++;
    }
    assert_int_equal(n, 200);
    assert_int_equal(journal_reader_entity_count(r), 2);
    journal_reader_free(r);
    free(a);
    free(b);
    tu_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_zstd),   cmocka_unit_test(test_round_trip_raw),
        cmocka_unit_test(test_round_trip_packed), cmocka_unit_test(test_cut_every_offset),
        cmocka_unit_test(test_bit_flips),         cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_segments),          cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_write_failure),     cmocka_unit_test(test_merge_sources),
        cmocka_unit_test(test_follow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
