/* test_proxjournal.c: runs the built proxjournal on journals written here with journal_writer
 * (values known exactly) and on a synthetic one, and checks exit codes, stdout and stderr: bad
 * command lines, verify/repair on intact, torn and corrupt journals, dump in every format with
 * field, entity and time selection and rates, cat, info.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../support/testutil.h"
#include "catalogue.h"
#include "journal_file.h"
#include "journal_format.h"
#include "journal_writer.h"
#include "synth.h"

extern char **environ;

#define S      1000000000ll
#define T0     (1795255200ll * S) /* 2026-11-21T10:00:00Z */
#define DT     (2 * S)            /* between ticks, on both clocks */
#define M0     (1000 * S)
#define NTICKS 10
#define B_GONE 8 /* VM B leaves before this tick */

/* Entity B's name needs escaping in every format: a space, a comma, quotes and '='. */
#define B_NAME     "db one,\"q\"=x"
#define B_NAME_CSV "\"db one,\"\"q\"\"=x\""
#define B_NAME_LP  "db\\ one\\,\"q\"\\=x"

static char *dir;                  /* everything the tests write */
static char *main_pxj, *other_pxj; /* written once by the group setup */
static char *text_file, *empty_file, *newer_file, *missing_file;
static uint64_t tick_end[NTICKS]; /* main.pxj's size once each tick was written */

/* ------------------------------------------------------------ the known values */

static uint64_t a_run(int i) { /* VM A's vcpu_run: +3000 per tick, reset to 10 at tick 6 */
    return i < 6 ? 1000000u + 3000u * (uint64_t)i : 10u + 3000u * (uint64_t)(i - 6);
}
static uint64_t a_wait(int i) {
    return 50u * (uint64_t)i * (uint64_t)i;
}
static int64_t a_rss(int i) {
    return 1000000 + i;
}
static uint64_t cpu0_run(int i) {
    return 500000000ull * (uint64_t)i;
}
static uint64_t disk_wr(int i) { /* 1234567.5 bytes/s over 2 s */
    return 2469135ull * (uint64_t)i;
}
static uint64_t b_run(int i) { /* near 2^64 */
    return UINT64_MAX - 1000000u + 1000u * (uint64_t)i;
}

static uint32_t mid(const char *name) {
    int id = catalogue_find(name);
    assert_true(id >= 0);
    return (uint32_t)id;
}

static struct journal_entity_desc desc(enum metric_scope scope, uint32_t parent, const char *key,
                                       const char *name, const char *vmid, const uint32_t *m,
                                       uint32_t nm) {
    return (struct journal_entity_desc){.scope = scope,
                                        .parent = parent,
                                        .key = key,
                                        .name = name,
                                        .vmid = vmid,
                                        .uuid = scope == SCOPE_VM && vmid && !strcmp(vmid, "100")
                                                    ? "aaaaaaaa-1111-2222-3333-444455556666"
                                                    : NULL,
                                        .pid = -1,
                                        .start_time = -1,
                                        .vcpus = -1,
                                        .mem_bytes = -1,
                                        .metrics = m,
                                        .nmetrics = nm};
}

/* main.pxj: a host, VM A "web" (vmid 100) with a vCPU and a disk, VM B (vmid 101) that leaves
 * before tick B_GONE, and an event; NTICKS ticks DT apart. */
static void write_main(const char *path) {
    struct journal_writer_opts o = {
        .path = path, .compress = true, .sync_ns = -1, .hostname = "h1", .machine_id = "m1"};
    struct journal_writer *w;
    assert_int_equal(journal_writer_open(&w, &o, NULL), 0);
    uint32_t hm[1] = {mid("host.load.avg1")};
    uint32_t am[4] = {mid("vm.cpu.vcpu_run"), mid("vm.cpu.vcpu_wait"), mid("vm.mem.rss"),
                      mid("vm.psi.cpu.some_avg10")};
    uint32_t cm[1] = {mid("vcpu.cpu.run")};
    uint32_t dm[1] = {mid("vm_disk.wr_bytes")};
    uint32_t bm[2] = {mid("vm.cpu.vcpu_run"), mid("vm.mem.rss")};
    uint32_t h, a, c, d, b;
    struct journal_entity_desc e;
    e = desc(SCOPE_HOST, JOURNAL_NO_ENTITY, "host", "h1", NULL, hm, 1);
    assert_int_equal(journal_writer_entity(w, &e, &h), 0);
    e = desc(SCOPE_VM, JOURNAL_NO_ENTITY, "vm:100", "web", "100", am, 4);
    assert_int_equal(journal_writer_entity(w, &e, &a), 0);
    e = desc(SCOPE_VCPU, a, "vm:100/cpu0", "CPU 0", NULL, cm, 1);
    assert_int_equal(journal_writer_entity(w, &e, &c), 0);
    e = desc(SCOPE_VM_DISK, a, "vm:100/virtio0", "virtio0", NULL, dm, 1);
    assert_int_equal(journal_writer_entity(w, &e, &d), 0);
    e = desc(SCOPE_VM, JOURNAL_NO_ENTITY, "vm:101", B_NAME, "101", bm, 2);
    assert_int_equal(journal_writer_entity(w, &e, &b), 0);
    for (int i = 0; i < NTICKS; i++) {
        if (i == B_GONE)
            assert_int_equal(journal_writer_gone(w, b), 0);
        if (i == 5)
            assert_int_equal(journal_writer_event(w, T0 + i * DT, "note", "hello"), 0);
        assert_int_equal(journal_writer_tick_begin(w, T0 + i * DT, M0 + i * DT), 0);
        struct journal_value hv = {.type = JV_REAL, .d = 1.5 + i};
        assert_int_equal(journal_writer_row(w, h, &hv, 1), 0);
        struct journal_value av[4] = {{.type = JV_INT, .u = a_run(i)},
                                      {.type = JV_INT, .u = a_wait(i)},
                                      {.type = JV_INT, .i = a_rss(i)},
                                      {.type = JV_REAL, .d = 0.25 * i}};
        assert_int_equal(journal_writer_row(w, a, av, 4), 0);
        struct journal_value cv = {.type = JV_INT, .u = cpu0_run(i)};
        assert_int_equal(journal_writer_row(w, c, &cv, 1), 0);
        struct journal_value dv = {.type = JV_INT, .u = disk_wr(i)};
        assert_int_equal(journal_writer_row(w, d, &dv, 1), 0);
        if (i < B_GONE) {
            struct journal_value bv[2] = {{.type = JV_INT, .u = b_run(i)},
                                          {.type = JV_INT, .i = 2000 + i}};
            if (i == 3)
                bv[1].type = JV_MISSING;
            assert_int_equal(journal_writer_row(w, b, bv, 2), 0);
        }
        assert_int_equal(journal_writer_tick_end(w), 0);
        tick_end[i] = journal_writer_bytes(w);
    }
    assert_int_equal(journal_writer_close(w), 0);
}

/* other.pxj: another host's VM, ticking between main.pxj's ticks. */
static void write_other(const char *path) {
    struct journal_writer_opts o = {.path = path, .sync_ns = -1, .hostname = "h2"};
    struct journal_writer *w;
    assert_int_equal(journal_writer_open(&w, &o, NULL), 0);
    uint32_t m[1] = {mid("vm.mem.rss")}, id;
    struct journal_entity_desc e =
        desc(SCOPE_VM, JOURNAL_NO_ENTITY, "vm:200", "other", "200", m, 1);
    assert_int_equal(journal_writer_entity(w, &e, &id), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(journal_writer_tick_begin(w, T0 + i * DT + S, -1), 0);
        struct journal_value v = {.type = JV_INT, .i = 7000 + i};
        assert_int_equal(journal_writer_row(w, id, &v, 1), 0);
        assert_int_equal(journal_writer_tick_end(w), 0);
    }
    assert_int_equal(journal_writer_close(w), 0);
}

static int group_setup(void **state) {
    (void)state;
    dir = tu_mkdtemp("proxjournal");
    main_pxj = tu_path(dir, "main.pxj");
    other_pxj = tu_path(dir, "other.pxj");
    text_file = tu_path(dir, "notes.txt");
    empty_file = tu_path(dir, "empty.pxj");
    newer_file = tu_path(dir, "newer.pxj");
    missing_file = tu_path(dir, "no-such.pxj");
    write_main(main_pxj);
    write_other(other_pxj);
    const char *junk = "not a journal\n";
    assert_int_equal(tu_write_file(text_file, junk, strlen(junk)), 0);
    assert_int_equal(tu_write_file(empty_file, "", 0), 0);
    unsigned char newer[64] = {0};
    memcpy(newer, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN);
    journal_put_u16(newer + 8, JOURNAL_FORMAT_MAJOR + 1);
    assert_int_equal(tu_write_file(newer_file, newer, sizeof(newer)), 0);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    tu_rmtree(dir);
    free(dir);
    free(main_pxj);
    free(other_pxj);
    free(text_file);
    free(empty_file);
    free(newer_file);
    free(missing_file);
    return 0;
}

/* ------------------------------------------------------------ running proxjournal */

struct run {
    int status; /* exit status; 128 + signal when killed */
    char *out, *err;
    size_t outlen, errlen;
};

static char *slurp(const char *path, size_t *len) {
    unsigned char *b = tu_read_file(path, len);
    assert_non_null(b);
    b[*len] = 0;
    return (char *)b;
}

/* Runs proxjournal with args (NULL-terminated), stdin from /dev/null, capturing everything. */
static void run_args(struct run *r, const char *const *args) {
    char *outp = tu_path(dir, "stdout"), *errp = tu_path(dir, "stderr");
    char *argv[64] = {strdup(PROXJOURNAL_BIN)};
    size_t n = 1;
    for (; args[n - 1]; n++) {
        assert_true(n < 63);
        argv[n] = strdup(args[n - 1]); /* posix_spawn wants char *const[] */
    }
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, PROXJOURNAL_BIN, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    for (size_t i = 0; i < n; i++)
        free(argv[i]);
    assert_int_equal(rc, 0);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = slurp(outp, &r->outlen);
    r->err = slurp(errp, &r->errlen);
    free(outp);
    free(errp);
}

/* pj(&r, "dump", path, NULL) */
static void pj(struct run *r, ...) {
    const char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, r);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        assert_true(n < 63);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    run_args(r, args);
}

static void run_free(struct run *r) {
    free(r->out);
    free(r->err);
}

/* Does needle occur in the n bytes at hay? (memmem is a GNU extension.) */
static const char *mem_find(const char *hay, size_t n, const char *needle, size_t nlen) {
    for (size_t i = 0; i + nlen <= n; i++)
        if (!memcmp(hay + i, needle, nlen))
            return hay + i;
    return NULL;
}

static size_t count_lines(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Expects a failure with status want: nothing on stdout, one line on stderr containing needle. */
static void expect_error(const struct run *r, int want, const char *needle, const char *what) {
    if (r->status != want || r->outlen != 0 || count_lines(r->err) != 1 ||
        r->err[r->errlen - 1] != '\n' || !strstr(r->err, needle))
        fail_msg("%s: status %d (want %d), stdout %zu bytes, stderr '%s' (want one line naming "
                 "'%s')",
                 what, r->status, want, r->outlen, r->err, needle);
}

/* Expects success: status want and an empty stderr. */
static void expect_ok(const struct run *r, int want, const char *what) {
    if (r->status != want || r->errlen != 0)
        fail_msg("%s: status %d (want %d), stderr '%s'", what, r->status, want, r->err);
}

/* ------------------------------------------------------------ a small CSV reader */

struct table {
    size_t ncols, nrows;
    char **head;
    char ***rows;
};

/* Splits one RFC 4180 line (no embedded line breaks) into malloc'd fields. */
static char **csv_split(const char *line, size_t len, size_t *nf) {
    char **f = NULL;
    size_t n = 0;
    const char *p = line, *end = line + len;
    for (;;) {
        char *buf = malloc(len + 1);
        size_t k = 0;
        if (p < end && *p == '"') {
            for (p++; p < end; p++) {
                if (*p == '"' && p + 1 < end && p[1] == '"')
                    buf[k++] = *p++;
                else if (*p == '"')
                    break;
                else
                    buf[k++] = *p;
            }
            assert_true(p < end && *p == '"'); /* a closed quote */
            p++;
        } else {
            while (p < end && *p != ',')
                buf[k++] = *p++;
        }
        buf[k] = 0;
        f = realloc(f, (n + 1) * sizeof(*f));
        f[n++] = buf;
        if (p >= end)
            break;
        assert_true(*p == ',');
        p++;
    }
    *nf = n;
    return f;
}

static struct table *csv_parse(const char *text) {
    struct table *t = calloc(1, sizeof(*t));
    const char *p = text;
    bool head = true;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        size_t nf;
        char **f = csv_split(p, (size_t)(nl - p), &nf);
        if (head) {
            t->head = f;
            t->ncols = nf;
            head = false;
        } else {
            if (nf != t->ncols)
                fail_msg("CSV row %zu has %zu fields, header %zu", t->nrows, nf, t->ncols);
            t->rows = realloc(t->rows, (t->nrows + 1) * sizeof(*t->rows));
            t->rows[t->nrows++] = f;
        }
        p = nl + 1;
    }
    assert_false(head);
    return t;
}

static void table_free(struct table *t) {
    for (size_t i = 0; i < t->ncols; i++)
        free(t->head[i]);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t i = 0; i < t->ncols; i++)
            free(t->rows[r][i]);
        free(t->rows[r]);
    }
    free(t->head);
    free(t->rows);
    free(t);
}

static int col(const struct table *t, const char *name) {
    for (size_t i = 0; i < t->ncols; i++)
        if (!strcmp(t->head[i], name))
            return (int)i;
    return -1;
}

/* The cell of metric name for entity key at time (ISO); fails when the row is absent. */
static const char *cell(const struct table *t, const char *key, const char *time,
                        const char *name) {
    int c = col(t, name), ct = col(t, "time"), ce = col(t, "entity");
    assert_true(c >= 0 && ct >= 0 && ce >= 0);
    for (size_t r = 0; r < t->nrows; r++)
        if (!strcmp(t->rows[r][ce], key) && !strcmp(t->rows[r][ct], time))
            return t->rows[r][c];
    fail_msg("no row for %s at %s", key, time);
    return NULL;
}

static size_t rows_of(const struct table *t, const char *key) {
    int ce = col(t, "entity");
    size_t n = 0;
    for (size_t r = 0; r < t->nrows; r++)
        n += !strcmp(t->rows[r][ce], key);
    return n;
}

/* ISO time of tick i of main.pxj. */
static const char *tick_iso(int i) {
    static char buf[8][40];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 40, "2026-11-21T10:00:%02d.000Z", (int)(i * DT / S));
    return b;
}

/* Dumps (CSV) with extra args and parses the output; expects success. */
static struct table *dump_csv(const char *const *args) {
    const char *all[64] = {"dump"};
    size_t n = 1;
    for (; args[n - 1]; n++)
        all[n] = args[n - 1];
    all[n] = NULL;
    struct run r;
    run_args(&r, all);
    expect_ok(&r, 0, "dump");
    struct table *t = csv_parse(r.out);
    run_free(&r);
    return t;
}

/* Rows per tick of main.pxj: host, A, its vCPU and disk, and B before it leaves. */
static size_t main_rows(int nticks) {
    size_t n = 0;
    for (int i = 0; i < nticks; i++)
        n += i < B_GONE ? 5 : 4;
    return n;
}

/* ------------------------------------------------------------ tests: command lines */

static void test_usage_errors(void **state) {
    (void)state;
    struct run r;
    const char *p = main_pxj;
    struct {
        const char *args[8];
        const char *needle;
    } cases[] = {
        {{NULL}, "missing command"},
        {{"frobnicate", p, NULL}, "frobnicate"},
        {{"dump", "--nope", p, NULL}, "--nope"},
        {{"--nope", "dump", p, NULL}, "--nope"},
        {{"dump", "-x", p, NULL}, "-x"},
        {{"verify", "--format", "csv", p, NULL}, "--format"},
        {{"info", "--rate", p, NULL}, "--rate"},
        {{"info", "--vm", "web", p, NULL}, "--vm"},
        {{"verify", "--fields", "vm.*", p, NULL}, "--fields"},
        {{"info", "--begin", "now", p, NULL}, "--begin"},
        {{"dump", "--repair", p, NULL}, "--repair"},
        {{"dump", "-o", "x.pxj", p, NULL}, "-o"},
        {{"info", "--no-compress", p, NULL}, "--no-compress"},
        {{"dump", p, "--fields", NULL}, "--fields"}, /* missing argument */
        {{"dump", "--format", "xml", p, NULL}, "xml"},
        {{"dump", "--scope", "bogus", p, NULL}, "bogus"},
        {{"dump", "--scope", "vm,bogus", p, NULL}, "bogus"},
        {{"dump", "--begin", "half past ten", p, NULL}, "half past ten"},
        {{"dump", "--end", "2026-13-01", p, NULL}, "2026-13-01"},
        {{"dump", "--begin", "@1795255300", "--end", "@1795255200", p, NULL}, "--end"},
        {{"dump", "--begin", "@1795255300", "--end", "@1795255300", p, NULL}, "--end"},
        {{"dump", NULL}, "PATH"},
        {{"info", NULL}, "PATH"},
        {{"verify", "--repair", NULL}, "PATH"},
        {{"cat", p, NULL}, "-o"},
        {{"dump", "--fields", "no.such.*", p, NULL}, "no.such.*"},
        /* Options given before the command are not silently dropped. */
        {{"--rate", "dump", p, NULL}, "--rate"},
        {{"--format", "json", "dump", p, NULL}, "--format"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_args(&r, cases[i].args);
        char what[160];
        snprintf(what, sizeof(what), "usage case %zu (%s %s %s)", i,
                 cases[i].args[0] ? cases[i].args[0] : "",
                 cases[i].args[0] && cases[i].args[1] ? cases[i].args[1] : "",
                 cases[i].args[0] && cases[i].args[1] && cases[i].args[2] ? cases[i].args[2] : "");
        expect_error(&r, 2, cases[i].needle, what);
        run_free(&r);
    }
}

static void test_runtime_errors(void **state) {
    (void)state;
    struct run r;
    const char *bad[] = {missing_file, text_file, empty_file, newer_file, dir};
    const char *cmds[] = {"info", "verify", "dump"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (size_t c = 0; c < 3; c++) {
            if (bad[i] == dir && c) /* a directory without segments: once is enough */
                continue;
            pj(&r, cmds[c], bad[i], NULL);
            char what[600];
            snprintf(what, sizeof(what), "%s %s", cmds[c], bad[i]);
            expect_error(&r, 1, bad[i], what);
            run_free(&r);
        }
    }
    /* A bad path among good ones is still named. */
    pj(&r, "dump", main_pxj, text_file, NULL);
    expect_error(&r, 1, text_file, "dump good bad");
    run_free(&r);
    /* cat into a path that cannot be created. */
    char *out = tu_path(text_file, "sub.pxj");
    pj(&r, "cat", "-o", out, main_pxj, NULL);
    expect_error(&r, 1, out, "cat into a file's child");
    run_free(&r);
    free(out);
}

static void test_help_version(void **state) {
    (void)state;
    struct run r;
    pj(&r, "--help", NULL);
    expect_ok(&r, 0, "--help");
    assert_non_null(strstr(r.out, "Usage: proxjournal"));
    assert_non_null(strstr(r.out, "verify"));
    run_free(&r);
    pj(&r, "-h", NULL);
    expect_ok(&r, 0, "-h");
    run_free(&r);
    pj(&r, "--version", NULL);
    expect_ok(&r, 0, "--version");
    assert_non_null(strstr(r.out, "proxjournal " PROXTOP_VERSION));
    assert_int_equal(count_lines(r.out), 1);
    run_free(&r);
    pj(&r, "--list-metrics", "--tsv", NULL);
    expect_ok(&r, 0, "--list-metrics");
    size_t n;
    catalogue_all(&n);
    assert_int_equal(count_lines(r.out), n + 1);
    assert_non_null(strstr(r.out, "\nvm.mem.rss\t"));
    run_free(&r);
}

/* ------------------------------------------------------------ tests: verify */

/* Copies main.pxj to name; returns the new path and the frames of the file. */
static char *copy_main(const char *name, unsigned char **data, size_t *len) {
    *data = tu_read_file(main_pxj, len);
    char *p = tu_path(dir, name);
    assert_int_equal(tu_write_file(p, *data, *len), 0);
    return p;
}

/* Offsets and lengths of the chunk frames of a file, in order. */
static size_t chunk_frames(const char *path, uint64_t *off, uint32_t *len, size_t max) {
    struct journal_file *f;
    assert_int_equal(journal_file_open(&f, path), 0);
    struct journal_frame fr;
    struct journal_damage dmg;
    size_t n = 0;
    while (journal_file_next(f, &fr, &dmg) == JOURNAL_STEP_FRAME)
        if (fr.type == JF_CHUNK && n < max) {
            off[n] = fr.offset;
            len[n++] = fr.len;
        }
    journal_file_close(f);
    return n;
}

static void test_verify(void **state) {
    (void)state;
    struct run r;
    pj(&r, "verify", main_pxj, NULL);
    expect_ok(&r, 0, "verify intact");
    assert_non_null(strstr(r.out, "intact"));
    assert_non_null(strstr(r.out, "10 ticks"));
    run_free(&r);

    uint64_t off[64];
    uint32_t flen[64];
    size_t nchunks = chunk_frames(main_pxj, off, flen, 64);
    assert_true(nchunks >= 1);

    /* Torn: cut in the middle of the last chunk frame (index and footer gone too). The ticks
     * written completely before the cut are the ones that must survive. */
    unsigned char *data;
    size_t len;
    char *torn = copy_main("torn.pxj", &data, &len);
    uint64_t cut = off[nchunks - 1] + JOURNAL_FRAME_HDR_LEN + flen[nchunks - 1] / 2;
    int kept = 0;
    while (kept < NTICKS && tick_end[kept] <= cut)
        kept++;
    assert_true(kept < NTICKS);
    assert_int_equal(tu_write_file(torn, data, cut), 0);
    pj(&r, "verify", torn, NULL);
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.out, "TORN"));
    run_free(&r);
    pj(&r, "-q", "verify", torn, NULL);
    assert_int_equal(r.status, 3);
    assert_int_equal(r.errlen, 0); /* -q: no warnings */
    run_free(&r);
    struct table *before = dump_csv((const char *[]){"-q", torn, NULL});
    assert_int_equal(before->nrows, main_rows(kept));

    pj(&r, "verify", "--repair", torn, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "repaired"));
    run_free(&r);
    pj(&r, "verify", torn, NULL);
    expect_ok(&r, 0, "verify after repair");
    assert_non_null(strstr(r.out, "intact"));
    char want[32];
    snprintf(want, sizeof(want), " %d ticks", kept);
    assert_non_null(strstr(r.out, want));
    run_free(&r);
    /* Every complete tick is still there, with its values. */
    struct table *after = dump_csv((const char *[]){torn, NULL});
    assert_int_equal(after->nrows, before->nrows);
    for (size_t i = 0; i < after->nrows; i++)
        for (size_t c = 0; c < after->ncols; c++)
            assert_string_equal(after->rows[i][c], before->rows[i][c]);
    if (kept > 0) {
        snprintf(want, sizeof(want), "%" PRIu64, a_run(kept - 1));
        assert_string_equal(cell(after, "vm:100", tick_iso(kept - 1), "vm.cpu.vcpu_run"), want);
    }
    table_free(before);
    table_free(after);

    /* Corrupt: a flipped bit in the body of a chunk frame in the middle. */
    char *flip = tu_path(dir, "flip.pxj");
    size_t k = nchunks / 2;
    data[off[k] + JOURNAL_FRAME_HDR_LEN + flen[k] / 2] ^= 0x10;
    assert_int_equal(tu_write_file(flip, data, len), 0);
    pj(&r, "-q", "verify", flip, NULL);
    assert_int_equal(r.status, 4);
    assert_non_null(strstr(r.out, "CORRUPT"));
    run_free(&r);
    pj(&r, "verify", flip, NULL);
    assert_int_equal(r.status, 4);
    assert_true(r.errlen > 0); /* the damage is described */
    run_free(&r);

    free(data);
    free(torn);
    free(flip);
}

/* ------------------------------------------------------------ tests: dump */

static void test_dump_csv(void **state) {
    (void)state;
    struct table *t = dump_csv((const char *[]){main_pxj, NULL});
    const char *fixed[] = {"time", "host", "scope", "entity", "name", "vmid", "uuid"};
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(t->head[i], fixed[i]);
    size_t nm;
    catalogue_all(&nm);
    assert_int_equal(t->ncols, 7 + nm); /* every metric of the catalogue in the header */
    assert_int_equal(t->nrows, main_rows(NTICKS));
    assert_int_equal(rows_of(t, "vm:100"), NTICKS);
    assert_int_equal(rows_of(t, "vm:101"), B_GONE);
    assert_int_equal(rows_of(t, "host"), NTICKS);

    /* Exact values, as written. */
    char want[64];
    for (int i = 0; i < NTICKS; i++) {
        snprintf(want, sizeof(want), "%" PRIu64, a_run(i));
        assert_string_equal(cell(t, "vm:100", tick_iso(i), "vm.cpu.vcpu_run"), want);
        snprintf(want, sizeof(want), "%" PRId64, a_rss(i));
        assert_string_equal(cell(t, "vm:100", tick_iso(i), "vm.mem.rss"), want);
        assert_true(strtod(cell(t, "vm:100", tick_iso(i), "vm.psi.cpu.some_avg10"), NULL) ==
                    0.25 * i);
        snprintf(want, sizeof(want), "%" PRIu64, disk_wr(i));
        assert_string_equal(cell(t, "vm:100/virtio0", tick_iso(i), "vm_disk.wr_bytes"), want);
        assert_true(strtod(cell(t, "host", tick_iso(i), "host.load.avg1"), NULL) == 1.5 + i);
        /* Cells of metrics an entity does not have are empty. */
        assert_string_equal(cell(t, "vm:100/cpu0", tick_iso(i), "vm.mem.rss"), "");
    }
    snprintf(want, sizeof(want), "%" PRIu64, b_run(2));
    assert_string_equal(cell(t, "vm:101", tick_iso(2), "vm.cpu.vcpu_run"), want);
    assert_string_equal(cell(t, "vm:101", tick_iso(2), "vm.mem.rss"), "2002");
    assert_string_equal(cell(t, "vm:101", tick_iso(3), "vm.mem.rss"), ""); /* missing */
    /* Identity columns. */
    int ce = col(t, "entity");
    for (size_t r = 0; r < t->nrows; r++) {
        char **row = t->rows[r];
        assert_string_equal(row[1], "h1");
        if (!strcmp(row[ce], "vm:100")) {
            assert_string_equal(row[2], "vm");
            assert_string_equal(row[4], "web");
            assert_string_equal(row[5], "100");
            assert_string_equal(row[6], "aaaaaaaa-1111-2222-3333-444455556666");
        } else if (!strcmp(row[ce], "vm:101")) {
            assert_string_equal(row[4], B_NAME); /* the quoting round-trips */
            assert_string_equal(row[5], "101");
            assert_string_equal(row[6], "");
        } else if (!strcmp(row[ce], "vm:100/cpu0")) {
            assert_string_equal(row[2], "vcpu");
            assert_string_equal(row[4], "CPU 0");
        }
    }
    table_free(t);

    /* The raw text: B's name quoted per RFC 4180. */
    struct run r;
    pj(&r, "dump", main_pxj, NULL);
    assert_non_null(strstr(r.out, ",vm,vm:101," B_NAME_CSV ",101,,"));
    run_free(&r);

    /* --epoch: times as integers. */
    t = dump_csv((const char *[]){"--epoch", main_pxj, NULL});
    snprintf(want, sizeof(want), "%lld", (long long)(T0 + 3 * DT));
    assert_string_equal(cell(t, "vm:100", want, "vm.mem.rss"), "1000003");
    table_free(t);
}

static void test_dump_fields(void **state) {
    (void)state;
    struct table *t =
        dump_csv((const char *[]){"--fields", "vm.cpu.*,vm_disk.wr_bytes", main_pxj, NULL});
    assert_true(t->ncols > 9);
    for (size_t c = 7; c < t->ncols; c++)
        if (strncmp(t->head[c], "vm.cpu.", 7) != 0 && strcmp(t->head[c], "vm_disk.wr_bytes") != 0)
            fail_msg("--fields selected column '%s'", t->head[c]);
    assert_true(col(t, "vm.cpu.vcpu_run") >= 0);
    assert_true(col(t, "vm.cpu.vcpu_wait") >= 0);
    assert_int_equal(col(t, "vm.mem.rss"), -1);
    assert_int_equal(col(t, "vcpu.cpu.run"), -1);
    assert_string_equal(cell(t, "vm:100", tick_iso(4), "vm.cpu.vcpu_wait"), "800");
    assert_string_equal(cell(t, "vm:100/virtio0", tick_iso(4), "vm_disk.wr_bytes"), "9876540");
    table_free(t);

    /* An exact name, a '?' glob and a class: two columns. */
    t = dump_csv((const char *[]){"--fields", "vm.mem.rss,vcpu.cpu.ru?", main_pxj, NULL});
    assert_int_equal(t->ncols, 9);
    assert_string_equal(t->head[7], "vcpu.cpu.run");
    assert_string_equal(t->head[8], "vm.mem.rss");
    table_free(t);

    /* --scope: only vCPU rows, only vCPU columns. */
    t = dump_csv((const char *[]){"--scope", "vcpu", main_pxj, NULL});
    assert_int_equal(t->nrows, NTICKS);
    assert_int_equal(rows_of(t, "vm:100/cpu0"), NTICKS);
    for (size_t c = 7; c < t->ncols; c++)
        assert_int_equal(strncmp(t->head[c], "vcpu.", 5), 0);
    table_free(t);
}

static void test_dump_vm(void **state) {
    (void)state;
    const char *ids[] = {"web", "100", "AAAAAAAA-1111-2222-3333-444455556666", "vm:100"};
    for (size_t i = 0; i < 4; i++) {
        struct table *t = dump_csv((const char *[]){"--vm", ids[i], main_pxj, NULL});
        assert_int_equal(t->nrows, 3 * NTICKS);
        assert_int_equal(rows_of(t, "vm:100"), NTICKS);
        assert_int_equal(rows_of(t, "vm:100/cpu0"), NTICKS);
        assert_int_equal(rows_of(t, "vm:100/virtio0"), NTICKS);
        table_free(t);
    }
    struct table *t = dump_csv((const char *[]){"--vm", B_NAME, main_pxj, NULL});
    assert_int_equal(t->nrows, B_GONE);
    assert_int_equal(rows_of(t, "vm:101"), B_GONE);
    table_free(t);
    /* Options may also follow the paths. */
    t = dump_csv((const char *[]){main_pxj, "--vm", "web", NULL});
    assert_int_equal(t->nrows, 3 * NTICKS);
    table_free(t);
    /* No such VM: just the header. */
    t = dump_csv((const char *[]){"--vm", "nope", main_pxj, NULL});
    assert_int_equal(t->nrows, 0);
    table_free(t);
}

static void test_dump_time_range(void **state) {
    (void)state;
    /* [tick 3, tick 6): ticks 3, 4 and 5 exactly. */
    char b[32], e[32];
    snprintf(b, sizeof(b), "@%lld", (long long)((T0 + 3 * DT) / S));
    snprintf(e, sizeof(e), "@%lld", (long long)((T0 + 6 * DT) / S));
    struct table *t = dump_csv((const char *[]){"--begin", b, "--end", e, main_pxj, NULL});
    assert_int_equal(t->nrows, 15);
    int ct = col(t, "time");
    for (size_t r = 0; r < t->nrows; r++)
        assert_string_equal(t->rows[r][ct], tick_iso(3 + (int)(r / 5)));
    table_free(t);
    /* The same bounds as calendar times; a begin between ticks starts at the next one. */
    t = dump_csv((const char *[]){"--begin", "2026-11-21T10:00:05Z", "--end", "2026-11-21 10:00:10",
                                  main_pxj, NULL});
    assert_int_equal(t->nrows, 10); /* ticks 3 (06 s) and 4 (08 s) */
    assert_string_equal(t->rows[0][ct], tick_iso(3));
    assert_string_equal(t->rows[9][ct], tick_iso(4));
    table_free(t);
    /* Only a begin: to the end. Only an end: from the start. */
    t = dump_csv((const char *[]){"--begin", "2026-11-21T10:00:16Z", main_pxj, NULL});
    assert_int_equal(t->nrows, 8); /* ticks 8 and 9, B gone */
    table_free(t);
    t = dump_csv((const char *[]){"--end", "2026-11-21T10:00:02Z", main_pxj, NULL});
    assert_int_equal(t->nrows, 5);
    assert_string_equal(t->rows[0][ct], tick_iso(0));
    table_free(t);
    /* A range with no data: just the header. */
    t = dump_csv((const char *[]){"--begin", "2030-01-01", main_pxj, NULL});
    assert_int_equal(t->nrows, 0);
    table_free(t);
}

static double num(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end)
        fail_msg("'%s' is not a number", s);
    return v;
}

static void test_dump_rate(void **state) {
    (void)state;
    struct table *t = dump_csv((const char *[]){"--rate", main_pxj, NULL});
    assert_int_equal(t->nrows, main_rows(NTICKS));
    /* First sample: empty. */
    assert_string_equal(cell(t, "vm:100", tick_iso(0), "vm.cpu.vcpu_run"), "");
    assert_string_equal(cell(t, "vm:100", tick_iso(0), "vm.cpu.vcpu_wait"), "");
    assert_string_equal(cell(t, "vm:100/virtio0", tick_iso(0), "vm_disk.wr_bytes"), "");
    for (int i = 1; i < NTICKS; i++) {
        const char *run = cell(t, "vm:100", tick_iso(i), "vm.cpu.vcpu_run");
        if (i == 6)
            assert_string_equal(run, ""); /* the reset: a gap, not a spike */
        else
            assert_true(num(run) == 1500.0);
        assert_true(num(cell(t, "vm:100", tick_iso(i), "vm.cpu.vcpu_wait")) == 25.0 * (2 * i - 1));
        assert_true(num(cell(t, "vm:100/cpu0", tick_iso(i), "vcpu.cpu.run")) == 2.5e8);
        /* Not rounded to a few digits: 1234567.5 exactly. */
        assert_true(num(cell(t, "vm:100/virtio0", tick_iso(i), "vm_disk.wr_bytes")) == 1234567.5);
        /* Gauges stay levels. */
        assert_true(num(cell(t, "vm:100", tick_iso(i), "vm.mem.rss")) == (double)a_rss(i));
        assert_true(num(cell(t, "host", tick_iso(i), "host.load.avg1")) == 1.5 + i);
    }
    /* Counters near 2^64 give their small rate. */
    for (int i = 1; i < B_GONE; i++)
        assert_true(num(cell(t, "vm:101", tick_iso(i), "vm.cpu.vcpu_run")) == 500.0);
    table_free(t);
}

/* A counter read only every 3rd tick (nil between, as with --daemon-interval) and a disk whose
 * row is absent on those ticks: each reading is derived over the span since the last one. */
static void test_dump_rate_gap(void **state) {
    (void)state;
    char *path = tu_path(dir, "gap.pxj");
    struct journal_writer_opts o = {.path = path, .sync_ns = -1, .hostname = "h1"};
    struct journal_writer *w;
    assert_int_equal(journal_writer_open(&w, &o, NULL), 0);
    uint32_t vm[2] = {mid("vm.cpu.vcpu_run"), mid("vm.mem.guest_major_faults")};
    uint32_t dm[1] = {mid("vm_disk.rd_bytes")};
    uint32_t v, d;
    struct journal_entity_desc e = desc(SCOPE_VM, JOURNAL_NO_ENTITY, "vm:7", "g", "7", vm, 2);
    assert_int_equal(journal_writer_entity(w, &e, &v), 0);
    e = desc(SCOPE_VM_DISK, v, "vm:7/scsi0", "scsi0", NULL, dm, 1);
    assert_int_equal(journal_writer_entity(w, &e, &d), 0);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(journal_writer_tick_begin(w, T0 + i * DT, M0 + i * DT), 0);
        struct journal_value vv[2] = {{.type = JV_INT, .u = 100u * (uint64_t)i},
                                      {.type = JV_INT, .u = 60u * (uint64_t)i * (uint64_t)i}};
        if (i % 3)
            vv[1].type = JV_MISSING;
        assert_int_equal(journal_writer_row(w, v, vv, 2), 0);
        if (i % 3 == 0) {
            struct journal_value dv = {.type = JV_INT, .u = 600u * (uint64_t)i};
            assert_int_equal(journal_writer_row(w, d, &dv, 1), 0);
        }
        assert_int_equal(journal_writer_tick_end(w), 0);
    }
    assert_int_equal(journal_writer_close(w), 0);
    struct table *t = dump_csv((const char *[]){"--rate", path, NULL});
    for (int i = 1; i < 7; i++) {
        assert_true(num(cell(t, "vm:7", tick_iso(i), "vm.cpu.vcpu_run")) == 50.0);
        const char *mj = cell(t, "vm:7", tick_iso(i), "vm.mem.guest_major_faults");
        if (i % 3)
            assert_string_equal(mj, "");
        else /* 60 (i^2 - (i-3)^2) over 3 ticks of 2 s */
            assert_true(num(mj) == 60.0 * (double)(i * i - (i - 3) * (i - 3)) / 6.0);
    }
    assert_true(num(cell(t, "vm:7/scsi0", tick_iso(3), "vm_disk.rd_bytes")) == 300.0);
    assert_true(num(cell(t, "vm:7/scsi0", tick_iso(6), "vm_disk.rd_bytes")) == 300.0);
    table_free(t);
    free(path);
}

static void test_dump_json(void **state) {
    (void)state;
    struct run r;
    pj(&r, "dump", "--format", "json", main_pxj, NULL);
    expect_ok(&r, 0, "dump json");
    assert_int_equal(count_lines(r.out), main_rows(NTICKS));
    size_t seen_a = 0, seen_b = 0;
    for (char *line = r.out, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)(nl - line), 0, &jerr);
        if (!o)
            fail_msg("bad JSON line: %s: %.*s", jerr.text, (int)(nl - line), line);
        const char *key = json_string_value(json_object_get(o, "entity"));
        const char *time = json_string_value(json_object_get(o, "time"));
        json_t *vals = json_object_get(o, "values");
        assert_non_null(key);
        assert_non_null(time);
        assert_true(json_is_object(vals));
        assert_string_equal(json_string_value(json_object_get(o, "host")), "h1");
        int i = -1;
        for (int k = 0; k < NTICKS; k++)
            if (!strcmp(time, tick_iso(k)))
                i = k;
        assert_true(i >= 0);
        if (!strcmp(key, "vm:100")) {
            assert_string_equal(json_string_value(json_object_get(o, "name")), "web");
            assert_string_equal(json_string_value(json_object_get(o, "scope")), "vm");
            json_t *v = json_object_get(vals, "vm.cpu.vcpu_run");
            assert_true(json_is_integer(v));
            assert_int_equal(json_integer_value(v), (json_int_t)a_run(i));
            assert_int_equal(json_integer_value(json_object_get(vals, "vm.mem.rss")), a_rss(i));
            v = json_object_get(vals, "vm.psi.cpu.some_avg10");
            assert_true(json_is_number(v) && json_number_value(v) == 0.25 * i);
            seen_a++;
        } else if (!strcmp(key, "vm:101")) {
            assert_string_equal(json_string_value(json_object_get(o, "name")), B_NAME);
            json_t *rss = json_object_get(vals, "vm.mem.rss");
            if (i == 3)
                assert_true(json_is_null(rss)); /* missing */
            else
                assert_int_equal(json_integer_value(rss), 2000 + i);
            /* Above 2^63 jansson has no integer: a real, but never a negative number. */
            json_t *run = json_object_get(vals, "vm.cpu.vcpu_run");
            assert_true(json_is_number(run));
            assert_true(json_number_value(run) > 1.8e19);
            seen_b++;
        }
        json_decref(o);
    }
    assert_int_equal(seen_a, NTICKS);
    assert_int_equal(seen_b, B_GONE);
    run_free(&r);

    /* --epoch and --rate in JSON. */
    pj(&r, "dump", "--format", "json", "--epoch", "--rate", "--vm", "web", "--fields",
       "vm.cpu.vcpu_run", main_pxj, NULL);
    expect_ok(&r, 0, "dump json rate");
    assert_int_equal(count_lines(r.out), 3 * NTICKS);
    char *line = r.out;
    for (int k = 0; k < 3 * NTICKS; k++) {
        char *nl = strchr(line, '\n');
        json_t *o = json_loadb(line, (size_t)(nl - line), 0, NULL);
        assert_non_null(o);
        json_int_t t = json_integer_value(json_object_get(o, "time"));
        int i = (int)((t - T0) / DT);
        assert_int_equal(t, T0 + i * DT);
        if (!strcmp(json_string_value(json_object_get(o, "entity")), "vm:100")) {
            json_t *v = json_object_get(json_object_get(o, "values"), "vm.cpu.vcpu_run");
            if (i == 0 || i == 6)
                assert_true(json_is_null(v));
            else
                assert_true(json_number_value(v) == 1500.0);
        }
        json_decref(o);
        line = nl + 1;
    }
    run_free(&r);
}

static void test_dump_influx(void **state) {
    (void)state;
    struct run r;
    pj(&r, "dump", "--format", "influx", main_pxj, NULL);
    expect_ok(&r, 0, "dump influx");
    assert_int_equal(count_lines(r.out), main_rows(NTICKS));
    /* B's tags, escaped: spaces, commas and '=' get a backslash. */
    char want[256];
    snprintf(want, sizeof(want), "\nvm,host=h1,entity=vm:101,name=" B_NAME_LP ",vmid=101 ");
    assert_non_null(strstr(r.out, want));
    /* A's line at tick 2: integer fields with 'i', reals bare, the time in ns. */
    snprintf(want, sizeof(want),
             "\nvm,host=h1,entity=vm:100,name=web,vmid=100 vm.cpu.vcpu_run=%" PRIu64
             "i,vm.cpu.vcpu_wait=%" PRIu64 "i,vm.mem.rss=%" PRId64
             "i,vm.psi.cpu.some_avg10=0.5 %lld\n",
             a_run(2), a_wait(2), a_rss(2), (long long)(T0 + 2 * DT));
    assert_non_null(strstr(r.out, want));
    /* The vCPU's name has a space. */
    assert_non_null(strstr(r.out, "vcpu,host=h1,entity=vm:100/cpu0,name=CPU\\ 0 vcpu.cpu.run="));
    /* A missing value is left out of the line, not written as 0. */
    snprintf(want, sizeof(want), " %lld\n", (long long)(T0 + 3 * DT));
    char *p = strstr(r.out, "entity=vm:101");
    for (int i = 0; i < 3; i++)
        p = strstr(p + 1, "entity=vm:101");
    assert_non_null(p);
    char *eol = strchr(p, '\n');
    assert_null(mem_find(p, (size_t)(eol - p), "vm.mem.rss", 10));
    run_free(&r);
}

/* ------------------------------------------------------------ tests: cat, info, synth */

static void test_cat(void **state) {
    (void)state;
    char *out = tu_path(dir, "merged.pxj");
    struct run r;
    pj(&r, "cat", "-o", out, main_pxj, other_pxj, NULL);
    expect_ok(&r, 0, "cat");
    run_free(&r);
    pj(&r, "verify", out, NULL);
    expect_ok(&r, 0, "verify merged");
    run_free(&r);
    struct table *m = dump_csv((const char *[]){"--epoch", main_pxj, other_pxj, NULL});
    struct table *c = dump_csv((const char *[]){"--epoch", out, NULL});
    assert_int_equal(m->nrows, main_rows(NTICKS) + 5);
    assert_int_equal(c->nrows, m->nrows);
    assert_int_equal(c->ncols, m->ncols);
    int ct = col(m, "time");
    for (size_t c2 = 0; c2 < m->ncols; c2++)
        assert_string_equal(c->head[c2], m->head[c2]);
    int64_t last = 0;
    for (size_t i = 0; i < m->nrows; i++) {
        char **a = m->rows[i], **b = c->rows[i];
        int64_t t = strtoll(a[ct], NULL, 10);
        assert_true(t >= last); /* merged by time */
        last = t;
        for (size_t k = 0; k < m->ncols; k++) {
            if (k == 1) /* host: the merged file has one writer host */
                continue;
            if (k == 3) { /* entity keys are qualified with their host when hosts merge */
                char q[256];
                snprintf(q, sizeof(q), "%s/%s", a[1], a[3]);
                assert_string_equal(b[3], q);
                continue;
            }
            assert_string_equal(b[k], a[k]);
        }
    }
    assert_string_equal(cell(m, "vm:200", "1795255203000000000", "vm.mem.rss"), "7001");
    table_free(m);
    table_free(c);
    /* --begin/--end bound what cat copies. */
    char *part = tu_path(dir, "part.pxj");
    pj(&r, "cat", "-o", part, "--no-compress", "--begin", "2026-11-21T10:00:04Z", "--end",
       "2026-11-21T10:00:08Z", main_pxj, NULL);
    expect_ok(&r, 0, "cat range");
    run_free(&r);
    struct table *p = dump_csv((const char *[]){part, NULL});
    assert_int_equal(p->nrows, 10); /* ticks 2 and 3 */
    assert_string_equal(cell(p, "vm:100", tick_iso(3), "vm.cpu.vcpu_run"), "1009000");
    table_free(p);
    free(part);
    free(out);
}

static void test_info(void **state) {
    (void)state;
    struct run r;
    pj(&r, "info", main_pxj, NULL);
    expect_ok(&r, 0, "info");
    assert_non_null(
        strstr(r.out, "time range: 2026-11-21T10:00:00.000Z .. 2026-11-21T10:00:18.000Z (18 s)"));
    assert_non_null(strstr(r.out, "host h1 (machine-id m1)"));
    assert_non_null(strstr(r.out, "compression zstd"));
    assert_non_null(strstr(r.out, "ticks: 10, rows: 48, values: "));
    assert_non_null(strstr(r.out, "entities: 5"));
    const char *keys[] = {"host", "vm:100", "vm:100/cpu0", "vm:100/virtio0", "vm:101"};
    const char *names[] = {"h1", "web", "CPU 0", "virtio0", B_NAME};
    for (size_t i = 0; i < 5; i++) {
        /* One line per entity, with its name and ending with its key. */
        char *p = strstr(r.out, "\nentities:\n");
        assert_non_null(p);
        char want[128];
        snprintf(want, sizeof(want), " %s\n", keys[i]);
        char *line_end = strstr(p, want);
        assert_non_null(line_end);
        char *line = line_end;
        while (line[-1] != '\n')
            line--;
        assert_non_null(mem_find(line, (size_t)(line_end - line), names[i], strlen(names[i])));
    }
    assert_null(strstr(r.out, "damage"));
    run_free(&r);
    /* Two sources. */
    pj(&r, "info", main_pxj, other_pxj, NULL);
    expect_ok(&r, 0, "info two");
    assert_non_null(strstr(r.out, "source 1: "));
    assert_non_null(strstr(r.out, "host h2"));
    assert_non_null(strstr(r.out, "entities: 6"));
    run_free(&r);
}

/* A realistic synthetic journal (20 VMs, 30 ticks): every row exported, nothing damaged. */
static void test_synth(void **state) {
    (void)state;
    char *path = tu_path(dir, "synth.pxj");
    struct journal_writer_opts o = {.path = path, .compress = true, .sync_ns = -1};
    struct journal_writer *w;
    assert_int_equal(journal_writer_open(&w, &o, NULL), 0);
    struct synth *s = synth_new(w, 20, 7);
    assert_non_null(s);
    for (int i = 0; i < 30; i++)
        assert_int_equal(synth_tick(s, w, T0 + i * S), 0);
    synth_free(s);
    assert_int_equal(journal_writer_close(w), 0);

    struct run r;
    pj(&r, "info", path, NULL);
    expect_ok(&r, 0, "info synth");
    unsigned long ticks = 0, rows = 0, ents = 0;
    char *p = strstr(r.out, "ticks: ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "ticks: %lu, rows: %lu", &ticks, &rows), 2);
    p = strstr(r.out, "entities: ");
    assert_int_equal(sscanf(p, "entities: %lu", &ents), 1);
    assert_int_equal(ticks, 30);
    assert_int_equal(rows, 30 * ents);
    run_free(&r);
    pj(&r, "verify", path, NULL);
    expect_ok(&r, 0, "verify synth");
    run_free(&r);

    struct table *t = dump_csv((const char *[]){path, NULL});
    assert_int_equal(t->nrows, rows);
    table_free(t);
    /* Rates: the first tick has none; after that every counter's rate is a number >= 0. */
    t = dump_csv(
        (const char *[]){"--rate", "--fields", "vm.cpu.vcpu_run,vm_nic.rx_bytes", path, NULL});
    assert_int_equal(t->nrows, rows);
    int cv = col(t, "vm.cpu.vcpu_run"), ct = col(t, "time"), cs = col(t, "scope");
    assert_true(cv > 0);
    size_t rated = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        if (strcmp(t->rows[i][cs], "vm") != 0)
            continue;
        if (!strcmp(t->rows[i][ct], "2026-11-21T10:00:00.000Z")) {
            assert_string_equal(t->rows[i][cv], "");
        } else {
            assert_true(num(t->rows[i][cv]) >= 0);
            rated++;
        }
    }
    assert_int_equal(rated, 29 * 20);
    table_free(t);
    /* JSON: one parsable line per row. */
    pj(&r, "dump", "--format", "json", path, NULL);
    expect_ok(&r, 0, "json synth");
    assert_int_equal(count_lines(r.out), rows);
    run_free(&r);
    free(path);
}

/* dump --follow: main.pxj grows from its first tick to its end in three appends while one dump
 * follows it; after SIGTERM it exits 0 having printed exactly the plain dump of the whole file. */
static void test_dump_follow(void **state) {
    (void)state;
    unsigned char *data;
    size_t len;
    char *live = copy_main("follow.pxj", &data, &len);
    assert_int_equal(tu_write_file(live, data, (size_t)tick_end[0]), 0);
    char *outp = tu_path(dir, "follow.out"), *errp = tu_path(dir, "follow.err");
    char a0[] = PROXJOURNAL_BIN, a1[] = "dump", a2[] = "--follow";
    char *argv[] = {a0, a1, a2, live, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, PROXJOURNAL_BIN, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    /* Appends cut mid-frame on purpose: the follower must wait, not report damage. */
    size_t cuts[] = {(size_t)tick_end[2] + 5, (size_t)tick_end[NTICKS / 2] + 17, len};
    size_t done = (size_t)tick_end[0];
    for (size_t i = 0; i < 3; i++) {
        struct timespec nap = {0, 300000000};
        nanosleep(&nap, NULL);
        FILE *f = fopen(live, "ab");
        assert_non_null(f);
        assert_int_equal(fwrite(data + done, 1, cuts[i] - done, f), cuts[i] - done);
        assert_int_equal(fclose(f), 0);
        done = cuts[i];
    }
    struct run whole;
    pj(&whole, "dump", live, NULL);
    expect_ok(&whole, 0, "plain dump");
    /* Wait (up to 20 s) until the follower has printed everything, then stop it. */
    size_t n = 0;
    for (int i = 0; i < 200; i++) {
        struct timespec nap = {0, 100000000};
        nanosleep(&nap, NULL);
        unsigned char *b = tu_read_file(outp, &n);
        free(b);
        if (n >= whole.outlen)
            break;
    }
    assert_int_equal(kill(pid, SIGTERM), 0);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    size_t olen, elen;
    char *out = slurp(outp, &olen), *err = slurp(errp, &elen);
    assert_int_equal(elen, 0);
    assert_int_equal(olen, whole.outlen);
    assert_memory_equal(out, whole.out, olen);
    /* --follow takes one journal. */
    struct run r;
    pj(&r, "dump", "--follow", live, live, NULL);
    expect_error(&r, 2, "exactly one", "--follow with two paths");
    run_free(&r);
    run_free(&whole);
    free(out);
    free(err);
    free(outp);
    free(errp);
    free(live);
    free(data);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_errors), cmocka_unit_test(test_runtime_errors),
        cmocka_unit_test(test_help_version), cmocka_unit_test(test_verify),
        cmocka_unit_test(test_dump_csv),     cmocka_unit_test(test_dump_fields),
        cmocka_unit_test(test_dump_vm),      cmocka_unit_test(test_dump_time_range),
        cmocka_unit_test(test_dump_rate),    cmocka_unit_test(test_dump_rate_gap),
        cmocka_unit_test(test_dump_json),    cmocka_unit_test(test_dump_influx),
        cmocka_unit_test(test_cat),          cmocka_unit_test(test_info),
        cmocka_unit_test(test_synth),        cmocka_unit_test(test_dump_follow),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
