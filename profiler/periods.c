/* periods.c: time-of-day / day-of-week slots and tsprofiler's step-count periods.
 * SPDX-License-Identifier: MIT */
#include "periods.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_error.h"

struct periods {
    struct period_config cfg;
    size_t nslots;
    struct mk_counts *slots;
    uint64_t *steps;
    uint64_t step_index; /* PERIOD_STEPS: steps seen so far */
    size_t level_off[PERIOD_MAX_LEVELS];
    uint64_t cycle; /* PERIOD_STEPS: steps per cycle */
};

int period_parse_steps(const char *text, struct period_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = PERIOD_STEPS;
    const char *p = text;
    while (*p) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v == 0 || v > UINT32_MAX || cfg->nsizes >= PERIOD_MAX_LEVELS) {
            return -CORE_EPARSE;
        }
        cfg->sizes[cfg->nsizes++] = (uint32_t)v;
        p = end;
        if (*p == ',') {
            p++;
            if (!*p) {
                return -CORE_EPARSE;
            }
        } else if (*p) {
            return -CORE_EPARSE;
        }
    }
    return cfg->nsizes ? 0 : -CORE_EPARSE;
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int period_slot_of_time(const struct period_config *cfg, int64_t t) {
    int64_t lt = t + cfg->utc_offset;
    int64_t day = floor_div(lt, 86400);
    int64_t sod = lt - day * 86400;
    if (cfg->kind == PERIOD_DAY) {
        if (cfg->slots == 0 || cfg->slots > 86400) {
            return -CORE_ERANGE;
        }
        return (int)(sod * (int64_t)cfg->slots / 86400);
    }
    if (cfg->kind == PERIOD_WEEK) {
        int64_t dow = ((day + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday: Monday = 0 */
        return (int)(dow * 24 + sod / 3600);
    }
    return -CORE_ERANGE;
}

int periods_new(struct periods **out, const struct period_config *cfg, uint32_t nstates,
                int order) {
    *out = NULL;
    struct periods *p = calloc(1, sizeof *p);
    if (!p) {
        return -ENOMEM;
    }
    p->cfg = *cfg;
    int rc = -CORE_ERANGE;
    switch (cfg->kind) {
    case PERIOD_DAY:
        if (cfg->slots == 0 || cfg->slots > 86400) {
            goto fail;
        }
        p->nslots = cfg->slots;
        break;
    case PERIOD_WEEK:
        p->nslots = 7 * 24;
        break;
    case PERIOD_STEPS: {
        if (cfg->nsizes < 1 || cfg->nsizes > PERIOD_MAX_LEVELS) {
            goto fail;
        }
        uint64_t nodes = 1, total = 0, cycle = 1;
        for (int l = 0; l < cfg->nsizes; l++) {
            if (cfg->sizes[l] == 0) {
                goto fail;
            }
            cycle *= cfg->sizes[l];
            if (cycle > (1ull << 40)) {
                goto fail;
            }
        }
        for (int l = 0; l + 1 < cfg->nsizes; l++) {
            nodes *= cfg->sizes[l];
            p->level_off[l] = (size_t)total;
            total += nodes;
            if (total > 100000) {
                goto fail;
            }
        }
        p->nslots = (size_t)total;
        p->cycle = cycle;
        break;
    }
    default:
        goto fail;
    }
    p->slots = calloc(p->nslots ? p->nslots : 1, sizeof *p->slots);
    p->steps = calloc(p->nslots ? p->nslots : 1, sizeof *p->steps);
    if (!p->slots || !p->steps) {
        rc = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < p->nslots; i++) {
        rc = mk_counts_init(&p->slots[i], nstates, order);
        if (rc < 0) {
            goto fail;
        }
    }
    *out = p;
    return 0;
fail:
    periods_free(p);
    return rc;
}

void periods_free(struct periods *p) {
    if (!p) {
        return;
    }
    for (size_t i = 0; p->slots && i < p->nslots; i++) {
        mk_counts_fini(&p->slots[i]);
    }
    free(p->slots);
    free(p->steps);
    free(p);
}

void periods_count(struct periods *p, int64_t t, const struct mk_hist *h, uint32_t s) {
    if (p->cfg.kind == PERIOD_STEPS) {
        int L = p->cfg.nsizes;
        uint64_t c = p->step_index++ % p->cycle;
        uint64_t j = c / p->cfg.sizes[L - 1]; /* leaf-slot position within the cycle */
        uint64_t below = 1;
        for (int l = L - 2; l >= 0; l--) {
            size_t idx = p->level_off[l] + (size_t)(j / below);
            mk_counts_add(&p->slots[idx], h, s);
            p->steps[idx]++;
            below *= p->cfg.sizes[l];
        }
        return;
    }
    int slot = period_slot_of_time(&p->cfg, t);
    if (slot < 0 || (size_t)slot >= p->nslots) {
        return;
    }
    mk_counts_add(&p->slots[slot], h, s);
    p->steps[slot]++;
}

void periods_hook(void *ctx, const struct mk_step_event *ev) {
    periods_count(ctx, ev->step->t, ev->hist, ev->state);
}

const struct period_config *periods_config(const struct periods *p) {
    return &p->cfg;
}

size_t periods_nslots(const struct periods *p) {
    return p->nslots;
}

const struct mk_counts *periods_slot(const struct periods *p, size_t i) {
    return i < p->nslots ? &p->slots[i] : NULL;
}

struct mk_counts *periods_slot_mut(struct periods *p, size_t i) {
    return i < p->nslots ? &p->slots[i] : NULL;
}

uint64_t periods_slot_steps(const struct periods *p, size_t i) {
    return i < p->nslots ? p->steps[i] : 0;
}

void periods_set_slot_steps(struct periods *p, size_t i, uint64_t steps) {
    if (i < p->nslots) {
        p->steps[i] = steps;
    }
}

int periods_slot_label(const struct periods *p, size_t i, char *buf, size_t len) {
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    if (i >= p->nslots) {
        return -CORE_ERANGE;
    }
    int n;
    if (p->cfg.kind == PERIOD_DAY) {
        uint64_t sec = (uint64_t)i * 86400 / p->cfg.slots;
        n = snprintf(buf, len, "%02u:%02u:%02u", (unsigned)(sec / 3600), (unsigned)(sec / 60 % 60),
                     (unsigned)(sec % 60));
    } else if (p->cfg.kind == PERIOD_WEEK) {
        n = snprintf(buf, len, "%s %02u:00", days[i / 24], (unsigned)(i % 24));
    } else {
        int level = 0;
        while (level + 2 < p->cfg.nsizes && i >= p->level_off[level + 1]) {
            level++;
        }
        uint64_t idx = i - p->level_off[level];
        uint32_t digits[PERIOD_MAX_LEVELS];
        for (int l = level; l >= 0; l--) {
            digits[l] = (uint32_t)(idx % p->cfg.sizes[l]);
            idx /= p->cfg.sizes[l];
        }
        n = 0;
        for (int l = 0; l <= level && (size_t)n < len; l++) {
            n += snprintf(buf + n, len - (size_t)n, l ? "/%u" : "%u", digits[l]);
        }
    }
    return n < 0 || (size_t)n >= len ? -CORE_ERANGE : 0;
}

int periods_merge(struct periods *dst, const struct periods *src) {
    const struct period_config *a = &dst->cfg, *b = &src->cfg;
    if (a->kind != b->kind || a->slots != b->slots || a->utc_offset != b->utc_offset ||
        a->nsizes != b->nsizes || memcmp(a->sizes, b->sizes, sizeof a->sizes) != 0 ||
        dst->nslots != src->nslots) {
        return -CORE_ERANGE;
    }
    for (size_t i = 0; i < dst->nslots; i++) {
        int rc = mk_counts_merge(&dst->slots[i], &src->slots[i]);
        if (rc < 0) {
            return rc;
        }
        dst->steps[i] += src->steps[i];
    }
    return 0;
}
