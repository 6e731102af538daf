/* proxprofiler: Markov workload profiles from journals, live journals and CSV traces.
 *
 *   proxprofiler [profile] [OPTIONS] INPUT...     per-VM profiles (JSON lines by default)
 *   proxprofiler summary [OPTIONS] INPUT...       the same, as a readable text summary
 *   proxprofiler import [OPTIONS] -O OUT CSV...   Bitbrains / generic CSV -> journal
 *   proxprofiler predict|simulate|score|evaluate|merge|diff ...
 * Run `proxprofiler --help` for everything. Exit codes: 0 ok, 1 runtime failure, 2 bad usage.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>
#include <jansson.h>

#include "attrs.h"
#include "cli.h"
#include "core_error.h"
#include "output.h"
#include "predict.h"
#include "profile.h"
#include "run.h"
#include "source.h"
#include "summary.h"
#include "timeparse.h"

#define EXIT_USAGE 2
#define MAX_BOUNDS 64

static const char *prog = "proxprofiler";
static const char *cmd = "profile";

static void print_help(void) {
    printf(
        "Usage: proxprofiler [COMMAND] [OPTIONS] INPUT...\n"
        "Statistical workload profiles (discretised states, Markov transition counts) per VM.\n"
        "INPUT is a journal (file or segment directory; several are merged by time), or CSV\n"
        "files read directly (Bitbrains GWA-T-12 per-VM files or a generic CSV, one VM each).\n"
        "\n"
        "Commands:\n"
        "  profile INPUT...       (default) write one profile per VM, sorted by VM name\n"
        "  summary INPUT...       profile and print a readable summary; or summary -p PROFILE\n"
        "  import -O OUT CSV...   write a journal from CSV files (each file one VM)\n"
        "  predict -p PROFILE --metric M (--state S | --value V) [--steps K]\n"
        "                         k-step state distributions (matrix power), k = 1..K;\n"
        "                         S or V may be a recent history, oldest first (--state 0,0,2):\n"
        "                         a profile with --history H > 1 then predicts from it\n"
        "  simulate -p PROFILE --metric M [--steps N] [--seed S] [--state S[,S...]]\n"
        "                         a synthetic series (CSV: step,state,value), seeded\n"
        "  score -p PROFILE INPUT...\n"
        "                         log-likelihood of the input under the profile, per VM/metric\n"
        "  evaluate [--split F] [--horizons H] INPUT...\n"
        "                         train on the first share F (0.7) of each VM's rows, forecast\n"
        "                         the rest: MAE, RMSE, SMAPE per horizon vs persistence\n"
        "  merge PROFILE...       sum the counts of profiles of the same VM name (--as NAME:\n"
        "                         merge everything into one profile called NAME)\n"
        "  diff A B               per VM and metric: total variation and JS divergence of rows\n"
        "\n"
        "Profiling options:\n"
        "  --metrics LIST         comma list; default: cpu,cpu_pct,mem,disk_rd,disk_wr,\n"
        "                         disk_rd_iops,disk_wr_iops,net_rx,net_tx (those with data);\n"
        "                         any VM-level catalogue or journal metric by name works too\n"
        "  --states N             states per metric (4), 2..65536\n"
        "  --history H            Markov order, tables for 1..H are kept (1), 1..8\n"
        "  --buffersize B         the mean of B samples makes one step (1)\n"
        "  --filterstddevs K      outlier filter: |v - mean| > K sd (running) (off)\n"
        "  --filteraction A       drop (default) or clamp outliers; both are counted\n"
        "  --fixedbound           fixed bounds: --fixedmin/--fixedmax, else the metric's default\n"
        "                         (cpu 0..vCPUs, cpu_pct 0..100, mem 0..configured memory)\n"
        "  --fixedmin X, --fixedmax X   bounds for every metric\n"
        "  --bound NAME=MIN:MAX   bounds of one metric (repeatable)\n"
        "  --binning MODE         minmax (global data min/max, default), fixed, quantile\n"
        "  --compat tsprofiler    tsprofiler's centred bins (with --fixedbound: fixed 0..100)\n"
        "  --periodsize P         day[:SLOTS] (24), week, or tsprofiler's steps form a,b,c\n"
        "  --utc-offset SECONDS   shift timestamps before slotting periods\n"
        "  --phases               phase (regime) detection per metric\n"
        "  --joint                also a joint chain over all metrics (product state)\n"
        "  --vm GLOBS             only VMs whose name, key, UUID or VMID matches (comma list)\n"
        "  --begin TIME, --end TIME   time range of the input (e.g. '2h ago', 2026-11-21)\n"
        "  --seed N               seed of everything random (simulate) (1)\n"
        "Live mode:\n"
        "  --follow               keep reading the journal as it is written (new segments\n"
        "                         included) and emit the profiles every --outputFreq\n"
        "  --outputFreq D         emission period, a duration (60s, 5m; bare number = s) (60s)\n"
        "  --iterations N         stop after N emissions (default: until SIGINT/SIGTERM)\n"
        "Output:\n"
        "  --format F             json (default; one profile per line), tsprofiler, msgpack, text\n"
        "  -o, --output KIND      stdout (default), file, tcp, udp (one record per datagram)\n"
        "  --target T             file path, or IPv4:PORT for tcp/udp\n"
        "  -q, --quiet            no progress on stderr (shown only when it is a terminal)\n"
        "CSV input (profile, import):\n"
        "  --input-format F       auto (default), journal, csv, bitbrains\n"
        "  --sep C                generic CSV separator (,)\n"
        "  --no-header            no header line: columns are metric_0, metric_1, ...\n"
        "  --time-column N        1-based timestamp column (1); 0 = none (rows are --interval\n"
        "                         apart)\n"
        "  --time-unit U          s (default), ms, us, ns\n"
        "  --interval D           row spacing when there is no timestamp column (1s)\n"
        "  --units NAME=U,...     units of generic columns\n"
        "  --vm-name NAME         VM name of a single CSV file (default: the file's stem)\n"
        "  --skip-bad             skip malformed rows (counted) instead of failing\n"
        "Import:\n"
        "  -O, --out PATH         journal to write (a directory, or one file if it ends .pxj)\n"
        "  --host NAME            host name recorded in the journal\n"
        "Other:\n"
        "  -p, --profile FILE     profile file (JSON lines or msgpack) for predict, simulate,\n"
        "                         score, summary\n"
        "  --metric M, --state S, --value V, --steps K, --split F, --horizons H, --as NAME\n"
        "  -h, --help, -v, --version\n"
        "Exit status: 0 ok, 1 runtime failure, 2 bad usage.\n");
}

/* ---- option parsing ----------------------------------------------------------------------- */

enum fmt { F_JSON, F_TSP, F_MSGPACK, F_TEXT };

struct cli {
    struct run_config rc;
    struct run_bound bounds[MAX_BOUNDS];
    char *bound_names[MAX_BOUNDS];
    enum fmt format;
    int format_set;
    const char *output, *target;
    bool follow;
    int64_t output_freq_ns;
    long iterations;
    bool quiet;
    unsigned long seed;
    const char *profile;
    const char *metric;
    long state;
    double value;
    bool have_value;
    /* --state / --value as a comma list: the recent history, oldest first (the last = state) */
    long hist_state[MK_MAX_ORDER];
    double hist_value[MK_MAX_ORDER];
    size_t nhist;
    long steps;
    const char *out_path, *host, *merge_as;
    const char *const *inputs;
    size_t ninputs;
};

enum {
    O_STATES = 256,
    O_HISTORY,
    O_BUFFERSIZE,
    O_FILTERSD,
    O_FILTERACT,
    O_FIXEDBOUND,
    O_FIXEDMIN,
    O_FIXEDMAX,
    O_BOUND,
    O_BINNING,
    O_COMPAT,
    O_PERIOD,
    O_UTCOFF,
    O_PHASES,
    O_JOINT,
    O_METRICS,
    O_VM,
    O_BEGIN,
    O_END,
    O_SEED,
    O_FOLLOW,
    O_FREQ,
    O_ITER,
    O_FORMAT,
    O_TARGET,
    O_INFMT,
    O_SEP,
    O_NOHEADER,
    O_TIMECOL,
    O_TIMEUNIT,
    O_INTERVAL,
    O_UNITS,
    O_VMNAME,
    O_SKIPBAD,
    O_HOST,
    O_METRIC,
    O_STATE,
    O_VALUE,
    O_STEPS,
    O_SPLIT,
    O_HORIZONS,
    O_AS,
};

static const struct option long_opts[] = {
    {"states", required_argument, NULL, O_STATES},
    {"history", required_argument, NULL, O_HISTORY},
    {"buffersize", required_argument, NULL, O_BUFFERSIZE},
    {"filterstddevs", required_argument, NULL, O_FILTERSD},
    {"filteraction", required_argument, NULL, O_FILTERACT},
    {"fixedbound", no_argument, NULL, O_FIXEDBOUND},
    {"fixedmin", required_argument, NULL, O_FIXEDMIN},
    {"fixedmax", required_argument, NULL, O_FIXEDMAX},
    {"bound", required_argument, NULL, O_BOUND},
    {"binning", required_argument, NULL, O_BINNING},
    {"compat", required_argument, NULL, O_COMPAT},
    {"periodsize", required_argument, NULL, O_PERIOD},
    {"utc-offset", required_argument, NULL, O_UTCOFF},
    {"phases", no_argument, NULL, O_PHASES},
    {"joint", no_argument, NULL, O_JOINT},
    {"metrics", required_argument, NULL, O_METRICS},
    {"vm", required_argument, NULL, O_VM},
    {"begin", required_argument, NULL, O_BEGIN},
    {"end", required_argument, NULL, O_END},
    {"seed", required_argument, NULL, O_SEED},
    {"follow", no_argument, NULL, O_FOLLOW},
    {"outputFreq", required_argument, NULL, O_FREQ},
    {"outputfreq", required_argument, NULL, O_FREQ},
    {"iterations", required_argument, NULL, O_ITER},
    {"format", required_argument, NULL, O_FORMAT},
    {"output", required_argument, NULL, 'o'},
    {"target", required_argument, NULL, O_TARGET},
    {"quiet", no_argument, NULL, 'q'},
    {"input-format", required_argument, NULL, O_INFMT},
    {"sep", required_argument, NULL, O_SEP},
    {"no-header", no_argument, NULL, O_NOHEADER},
    {"time-column", required_argument, NULL, O_TIMECOL},
    {"time-unit", required_argument, NULL, O_TIMEUNIT},
    {"interval", required_argument, NULL, O_INTERVAL},
    {"units", required_argument, NULL, O_UNITS},
    {"vm-name", required_argument, NULL, O_VMNAME},
    {"skip-bad", no_argument, NULL, O_SKIPBAD},
    {"out", required_argument, NULL, 'O'},
    {"host", required_argument, NULL, O_HOST},
    {"profile", required_argument, NULL, 'p'},
    {"metric", required_argument, NULL, O_METRIC},
    {"state", required_argument, NULL, O_STATE},
    {"value", required_argument, NULL, O_VALUE},
    {"steps", required_argument, NULL, O_STEPS},
    {"split", required_argument, NULL, O_SPLIT},
    {"horizons", required_argument, NULL, O_HORIZONS},
    {"as", required_argument, NULL, O_AS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

static long parse_long(const char *opt, const char *s, long lo, long hi) {
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || e == s || *e || v < lo || v > hi) {
        cli_usage_error("%s: '%s' is not an integer in %ld..%ld", opt, s, lo, hi);
    }
    return v;
}

static double parse_double(const char *opt, const char *s) {
    char *e;
    double v = strtod(s, &e);
    if (e == s || *e || !isfinite(v)) {
        cli_usage_error("%s: '%s' is not a number", opt, s);
    }
    return v;
}

static int64_t parse_point(const char *opt, const char *s) {
    int64_t ns;
    if (time_parse_point(s, time_now_ns(), &ns) < 0) {
        cli_usage_error("%s: '%s' is not a time", opt, s);
    }
    return ns;
}

static void parse_period(struct cli *c, const char *s) {
    struct period_config *pc = &c->rc.set.period;
    int64_t off = pc->utc_offset;
    memset(pc, 0, sizeof *pc);
    pc->utc_offset = off;
    if (strcmp(s, "day") == 0) {
        pc->kind = PERIOD_DAY;
        pc->slots = 24;
    } else if (strncmp(s, "day:", 4) == 0) {
        pc->kind = PERIOD_DAY;
        pc->slots = (uint32_t)parse_long("--periodsize", s + 4, 1, 86400);
    } else if (strcmp(s, "week") == 0) {
        pc->kind = PERIOD_WEEK;
        pc->slots = 168;
    } else if (period_parse_steps(s, pc) < 0) {
        cli_usage_error("--periodsize: '%s' is not day[:SLOTS], week or a,b,c", s);
    }
    pc->utc_offset = off;
}

static void add_bound(struct cli *c, const char *s) {
    const char *eq = strchr(s, '=');
    const char *colon = eq ? strchr(eq, ':') : NULL;
    if (!eq || !colon || eq == s || c->rc.nbounds == MAX_BOUNDS) {
        cli_usage_error("--bound: '%s' is not NAME=MIN:MAX", s);
    }
    char num[64];
    snprintf(num, sizeof num, "%.*s", (int)(colon - eq - 1), eq + 1);
    double lo = parse_double("--bound", num), hi = parse_double("--bound", colon + 1);
    if (hi < lo) {
        cli_usage_error("--bound: '%s': MAX is below MIN", s);
    }
    size_t i = c->rc.nbounds++;
    c->bound_names[i] = strndup(s, (size_t)(eq - s));
    c->bounds[i] = (struct run_bound){c->bound_names[i], lo, hi};
    c->rc.bounds = c->bounds;
}

static void parse_args(struct cli *c, int argc, char **argv) {
    memset(c, 0, sizeof *c);
    profile_settings_default(&c->rc.set);
    c->rc.set.binning = PROFILE_BIN_MINMAX;
    c->rc.set.filter_action = DISC_FILTER_DROP;
    c->rc.src.csv.sep = ',';
    c->rc.src.csv.time_col = 0;
    c->rc.src.csv.time_unit = 1000000000;
    c->rc.src.csv.interval = 1000000000;
    c->rc.split = 0.7;
    c->rc.horizons = 6;
    c->output_freq_ns = 60000000000ll;
    c->seed = 1;
    c->state = -1;
    c->steps = -1;
    int binning_set = 0, compat = 0, opt;
    while ((opt = getopt_long(argc, argv, "ho:O:p:qv", long_opts, NULL)) != -1) {
        switch (opt) {
        case O_STATES:
            c->rc.set.states = (uint32_t)parse_long("--states", optarg, 2, DISC_MAX_STATES);
            break;
        case O_HISTORY:
            c->rc.set.history = (int)parse_long("--history", optarg, 1, MK_MAX_ORDER);
            break;
        case O_BUFFERSIZE:
            c->rc.set.buffersize = (uint32_t)parse_long("--buffersize", optarg, 1, 100000000);
            break;
        case O_FILTERSD:
            c->rc.set.filterk = parse_double("--filterstddevs", optarg);
            break;
        case O_FILTERACT:
            if (strcmp(optarg, "drop") == 0) {
                c->rc.set.filter_action = DISC_FILTER_DROP;
            } else if (strcmp(optarg, "clamp") == 0) {
                c->rc.set.filter_action = DISC_FILTER_CLAMP;
            } else {
                cli_usage_error("--filteraction: '%s' is not drop or clamp", optarg);
            }
            break;
        case O_FIXEDBOUND:
            c->rc.fixedbound = true;
            break;
        case O_FIXEDMIN:
            c->rc.fixedmin = parse_double("--fixedmin", optarg);
            c->rc.have_fixedmin = true;
            break;
        case O_FIXEDMAX:
            c->rc.fixedmax = parse_double("--fixedmax", optarg);
            c->rc.have_fixedmax = true;
            break;
        case O_BOUND:
            add_bound(c, optarg);
            break;
        case O_BINNING:
            binning_set = 1;
            if (strcmp(optarg, "minmax") == 0) {
                c->rc.set.binning = PROFILE_BIN_MINMAX;
            } else if (strcmp(optarg, "fixed") == 0) {
                c->rc.set.binning = PROFILE_BIN_FIXED;
                c->rc.fixedbound = true;
            } else if (strcmp(optarg, "quantile") == 0) {
                c->rc.set.binning = PROFILE_BIN_QUANTILE;
            } else {
                cli_usage_error("--binning: '%s' is not minmax, fixed or quantile", optarg);
            }
            break;
        case O_COMPAT:
            if (strcmp(optarg, "tsprofiler") != 0) {
                cli_usage_error("--compat: '%s' is not tsprofiler", optarg);
            }
            compat = 1;
            break;
        case O_PERIOD:
            parse_period(c, optarg);
            break;
        case O_UTCOFF:
            c->rc.set.period.utc_offset = parse_long("--utc-offset", optarg, -86400 * 7, 86400 * 7);
            break;
        case O_PHASES:
            c->rc.set.phases = 1;
            break;
        case O_JOINT:
            c->rc.set.joint = 1;
            break;
        case O_METRICS:
            c->rc.metrics = optarg;
            break;
        case O_VM:
            c->rc.src.vm_filter = optarg;
            break;
        case O_BEGIN:
            c->rc.src.begin_ns = parse_point("--begin", optarg);
            break;
        case O_END:
            c->rc.src.end_ns = parse_point("--end", optarg);
            break;
        case O_SEED:
            c->seed = (unsigned long)parse_long("--seed", optarg, 0, 2147483647L);
            break;
        case O_FOLLOW:
            c->follow = true;
            break;
        case O_FREQ:
            if (time_parse_duration(optarg, &c->output_freq_ns) < 0 || c->output_freq_ns <= 0) {
                cli_usage_error("--outputFreq: '%s' is not a duration (60s, 5m, 1h; bare = s)",
                                optarg);
            }
            break;
        case O_ITER:
            c->iterations = parse_long("--iterations", optarg, 1, 1000000000L);
            break;
        case O_FORMAT:
            c->format_set = 1;
            if (strcmp(optarg, "json") == 0) {
                c->format = F_JSON;
            } else if (strcmp(optarg, "tsprofiler") == 0) {
                c->format = F_TSP;
            } else if (strcmp(optarg, "msgpack") == 0) {
                c->format = F_MSGPACK;
            } else if (strcmp(optarg, "text") == 0) {
                c->format = F_TEXT;
            } else {
                cli_usage_error("--format: '%s' is not json, tsprofiler, msgpack or text", optarg);
            }
            break;
        case 'o':
            if (strcmp(optarg, "stdout") && strcmp(optarg, "file") && strcmp(optarg, "tcp") &&
                strcmp(optarg, "udp")) {
                cli_usage_error("--output: '%s' is not stdout, file, tcp or udp", optarg);
            }
            c->output = optarg;
            break;
        case O_TARGET:
            c->target = optarg;
            break;
        case 'q':
            c->quiet = true;
            break;
        case O_INFMT:
            if (strcmp(optarg, "auto") == 0) {
                c->rc.src.format = SRC_AUTO;
            } else if (strcmp(optarg, "journal") == 0) {
                c->rc.src.format = SRC_JOURNAL;
            } else if (strcmp(optarg, "csv") == 0) {
                c->rc.src.format = SRC_CSV;
            } else if (strcmp(optarg, "bitbrains") == 0) {
                c->rc.src.format = SRC_BITBRAINS;
            } else {
                cli_usage_error("--input-format: '%s' is not auto, journal, csv or bitbrains",
                                optarg);
            }
            break;
        case O_SEP:
            if (strlen(optarg) != 1 && strcmp(optarg, "\\t") != 0 && strcmp(optarg, "tab") != 0) {
                cli_usage_error("--sep: '%s' is not one character", optarg);
            }
            c->rc.src.csv.sep = strlen(optarg) == 1 ? optarg[0] : '\t';
            break;
        case O_NOHEADER:
            c->rc.src.csv.no_header = true;
            break;
        case O_TIMECOL:
            c->rc.src.csv.time_col = (int)parse_long("--time-column", optarg, 0, 256) - 1;
            break;
        case O_TIMEUNIT:
            if (strcmp(optarg, "s") == 0) {
                c->rc.src.csv.time_unit = 1000000000;
            } else if (strcmp(optarg, "ms") == 0) {
                c->rc.src.csv.time_unit = 1000000;
            } else if (strcmp(optarg, "us") == 0) {
                c->rc.src.csv.time_unit = 1000;
            } else if (strcmp(optarg, "ns") == 0) {
                c->rc.src.csv.time_unit = 1;
            } else {
                cli_usage_error("--time-unit: '%s' is not s, ms, us or ns", optarg);
            }
            break;
        case O_INTERVAL:
            if (time_parse_duration(optarg, &c->rc.src.csv.interval) < 0 ||
                c->rc.src.csv.interval <= 0) {
                cli_usage_error("--interval: '%s' is not a duration", optarg);
            }
            break;
        case O_UNITS:
            c->rc.src.csv.units = optarg;
            break;
        case O_VMNAME:
            c->rc.src.csv.vm = optarg;
            break;
        case O_SKIPBAD:
            c->rc.src.csv.skip_bad = true;
            break;
        case 'O':
            c->out_path = optarg;
            break;
        case O_HOST:
            c->host = optarg;
            break;
        case 'p':
            c->profile = optarg;
            break;
        case O_METRIC:
            c->metric = optarg;
            break;
        case O_STATE:
        case O_VALUE: {
            const char *name = opt == O_STATE ? "--state" : "--value";
            char *list = strdup(optarg), *save = NULL;
            c->nhist = 0;
            for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (c->nhist == MK_MAX_ORDER) {
                    cli_usage_error("%s: at most %d states of history", name, MK_MAX_ORDER);
                }
                if (opt == O_STATE) {
                    c->hist_state[c->nhist++] = parse_long(name, t, 0, DISC_MAX_STATES - 1);
                } else {
                    c->hist_value[c->nhist++] = parse_double(name, t);
                }
            }
            free(list);
            if (c->nhist == 0) {
                cli_usage_error("%s: empty list", name);
            }
            if (opt == O_STATE) {
                c->state = c->hist_state[c->nhist - 1];
                c->have_value = false;
            } else {
                c->value = c->hist_value[c->nhist - 1];
                c->have_value = true;
                c->state = -1;
            }
            break;
        }
        case O_STEPS:
            c->steps = parse_long("--steps", optarg, 1, 100000000L);
            break;
        case O_SPLIT:
            c->rc.split = parse_double("--split", optarg);
            if (!(c->rc.split > 0 && c->rc.split < 1)) {
                cli_usage_error("--split: '%s' is not a share strictly between 0 and 1", optarg);
            }
            break;
        case O_HORIZONS:
            c->rc.horizons = (unsigned)parse_long("--horizons", optarg, 1, EVAL_MAX_HORIZON);
            break;
        case O_AS:
            c->merge_as = optarg;
            break;
        case 'h':
            print_help();
            exit(0);
        case 'v':
            printf("proxprofiler %s\n", PROXTOP_VERSION);
            exit(0);
        default:
            /* getopt printed the option; keep to one line of our own. */
            cli_usage_error("bad option '%s'",
                            optind > 0 && optind <= argc ? argv[optind - 1] : "?");
        }
    }
    if (compat) {
        c->rc.set.binning = PROFILE_BIN_COMPAT_TSP;
        c->rc.set.compat_fixed = c->rc.fixedbound;
    } else if (c->rc.fixedbound && !binning_set) {
        c->rc.set.binning = PROFILE_BIN_FIXED;
    } else if (c->rc.fixedbound && c->rc.set.binning == PROFILE_BIN_QUANTILE) {
        cli_usage_error("--fixedbound: cannot be combined with --binning quantile");
    }
    if (c->rc.have_fixedmin && c->rc.have_fixedmax && c->rc.fixedmax < c->rc.fixedmin) {
        cli_usage_error("--fixedmax: %g is below --fixedmin %g", c->rc.fixedmax, c->rc.fixedmin);
    }
    c->inputs = (const char *const *)(argv + optind);
    c->ninputs = (size_t)(argc - optind);
    c->rc.src.paths = c->inputs;
    c->rc.src.npaths = c->ninputs;
    c->rc.src.progress = !c->quiet && isatty(2);
}

/* ---- emitting profiles ------------------------------------------------------------------- */

static int emit_one(struct output *o, const struct profile *p, enum fmt f, char *err,
                    size_t errlen) {
    char *buf = NULL;
    size_t len = 0;
    int rc = 0;
    if (f == F_JSON) {
        rc = profile_dump(p, &buf);
        len = buf ? strlen(buf) : 0;
    } else if (f == F_TSP) {
        char *t = NULL;
        rc = profile_dump_tsprofiler(p, &t);
        if (rc == 0) {
            len = strlen(t);
            buf = malloc(len + 2);
            if (buf) {
                memcpy(buf, t, len);
                buf[len++] = '\n';
            }
            free(t);
            rc = buf ? 0 : -ENOMEM;
        }
    } else if (f == F_MSGPACK) {
        json_t *j = NULL;
        rc = profile_to_json(p, &j);
        if (rc == 0) {
            rc = json_to_msgpack(j, &buf, &len);
            json_decref(j);
        }
    } else {
        FILE *m = open_memstream(&buf, &len);
        if (!m) {
            return -ENOMEM;
        }
        summary_print(m, p, 0);
        fputc('\n', m);
        fclose(m);
    }
    if (rc < 0 || !buf) {
        free(buf);
        snprintf(err, errlen, "cannot encode the profile: %s", core_strerror(rc ? rc : -ENOMEM));
        return rc ? rc : -ENOMEM;
    }
    rc = output_record(o, buf, len, err, errlen);
    free(buf);
    return rc;
}

static int emit_all(struct output *o, struct run *r, enum fmt f, char *err, size_t errlen) {
    int rc = output_begin(o, err, errlen);
    for (size_t i = 0; rc == 0 && i < run_count(r); i++) {
        struct profile *p = run_profile_at(r, i);
        if (p) {
            rc = emit_one(o, p, f, err, errlen);
        }
    }
    if (rc == 0) {
        rc = output_end(o, err, errlen);
    }
    return rc;
}

static struct output *open_output(const struct cli *c) {
    char err[512];
    struct output *o;
    int rc = output_open(&o, c->output, c->target, err, sizeof err);
    if (rc == -CORE_ERANGE) {
        cli_usage_error("%s", err);
    } else if (rc < 0) {
        cli_fail("%s", err);
    }
    return o;
}

static struct run *make_run(struct cli *c) {
    char err[1024];
    struct run *r;
    if (c->ninputs == 0) {
        cli_usage_error("%s: no INPUT given", cmd);
    }
    int rc = run_new(&r, &c->rc, err, sizeof err);
    if (rc == -CORE_ENOENTITY) {
        cli_usage_error("%s", err);
    } else if (rc < 0) {
        cli_fail("%s", err);
    }
    return r;
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

static void sleep_ns(int64_t ns) {
    while (ns > 0 && !stop_flag) {
        int64_t step = ns > 100000000 ? 100000000 : ns;
        struct timespec ts = {(time_t)(step / 1000000000), (long)(step % 1000000000)};
        nanosleep(&ts, NULL);
        ns -= step;
    }
}

static int cmd_profile(struct cli *c) {
    char err[1024];
    if (c->follow && c->ninputs != 1) {
        cli_usage_error("--follow: give exactly one journal");
    }
    c->rc.split = 0;
    struct run *r = make_run(c);
    struct output *o = open_output(c);
    int rc = run_profiles(r, err, sizeof err);
    if (rc == 0) {
        rc = emit_all(o, r, c->format, err, sizeof err);
    }
    if (rc == 0 && c->follow) {
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        int64_t last = run_last_ns(r);
        for (long n = 1; rc == 0 && !stop_flag && (c->iterations == 0 || n < c->iterations); n++) {
            sleep_ns(c->output_freq_ns);
            if (stop_flag) {
                break;
            }
            rc = run_feed_more(r, last, last, &last, err, sizeof err);
            if (rc == 0) {
                rc = emit_all(o, r, c->format, err, sizeof err);
            }
        }
    }
    output_close(o);
    run_free(r);
    if (rc < 0) {
        cli_fail("%s", err);
    }
    return 0;
}

static int cmd_evaluate(struct cli *c) {
    char err[1024];
    struct run *r = make_run(c);
    int rc = run_profiles(r, err, sizeof err);
    if (rc < 0) {
        run_free(r);
        cli_fail("%s", err);
    }
    bool json = c->format_set && c->format == F_JSON;
    json_t *root = json ? json_array() : NULL;
    if (!json) {
        printf("# train share %.2f; forecasts are expected values (bin centres) of the k-step\n"
               "# distribution; persistence repeats the origin's value; SMAPE in %%\n",
               c->rc.split);
        printf("%-12s %-14s %3s %8s %12s %12s %8s %12s %12s %8s\n", "vm", "metric", "h", "n", "mae",
               "rmse", "smape", "mae_pers", "rmse_pers", "smape_p");
    }
    for (size_t i = 0; i < run_count(r); i++) {
        struct profile *p = run_profile_at(r, i);
        json_t *jd = NULL;
        profile_to_json(p, &jd);
        const char *vm =
            json_string_value(json_object_get(json_object_get(jd, "identity"), "name"));
        for (size_t m = 0; m < profile_nmetrics(p); m++) {
            const struct eval_result *er = run_eval_at(r, i, m);
            if (!er) {
                continue;
            }
            for (unsigned h = 1; h <= er->horizons; h++) {
                const struct eval_acc *a = &er->model[h], *b = &er->persist[h];
                if (json) {
                    json_t *o = json_object();
                    json_object_set_new(o, "vm", json_string(vm ? vm : "?"));
                    json_object_set_new(o, "metric", json_string(profile_metric_name(p, m)));
                    json_object_set_new(o, "horizon", json_integer(h));
                    json_object_set_new(o, "n", json_integer((json_int_t)a->n));
                    json_object_set_new(o, "mae", json_real(eval_acc_mae(a)));
                    json_object_set_new(o, "rmse", json_real(eval_acc_rmse(a)));
                    json_object_set_new(o, "smape", json_real(eval_acc_smape(a)));
                    json_object_set_new(o, "mae_persistence", json_real(eval_acc_mae(b)));
                    json_object_set_new(o, "rmse_persistence", json_real(eval_acc_rmse(b)));
                    json_object_set_new(o, "smape_persistence", json_real(eval_acc_smape(b)));
                    json_array_append_new(root, o);
                } else {
                    printf("%-12s %-14s %3u %8" PRIu64 " %12.6g %12.6g %8.2f %12.6g %12.6g %8.2f\n",
                           vm ? vm : "?", profile_metric_name(p, m), h, a->n, eval_acc_mae(a),
                           eval_acc_rmse(a), eval_acc_smape(a), eval_acc_mae(b), eval_acc_rmse(b),
                           eval_acc_smape(b));
                }
            }
        }
        json_decref(jd);
    }
    if (json) {
        char *t = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
        printf("%s\n", t ? t : "[]");
        free(t);
        json_decref(root);
    }
    run_free(r);
    return 0;
}

/* ---- profiles from files ----------------------------------------------------------------- */

struct loaded {
    struct profile *p;
    char *name;
};

static char *read_all(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        cli_fail("%s: %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    size_t k;
    while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap + 1);
        }
    }
    if (f != stdin) {
        fclose(f);
    }
    if (!b) {
        cli_fail("out of memory");
    }
    b[n] = '\0';
    *len = n;
    return b;
}

static char *identity_name(const struct profile *p) {
    json_t *j = NULL;
    if (profile_to_json(p, &j) < 0) {
        return strdup("?");
    }
    const char *n = json_string_value(json_object_get(json_object_get(j, "identity"), "name"));
    char *s = strdup(n ? n : "?");
    json_decref(j);
    return s;
}

/* Loads every profile of a file (JSON lines or a msgpack stream). Failures exit 1. */
static struct loaded *load_profiles(const char *path, size_t *n) {
    size_t len;
    char *b = read_all(path, &len);
    struct loaded *v = NULL;
    *n = 0;
    size_t i = 0;
    while (i < len && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) {
        i++;
    }
    bool is_json = i < len && b[i] == '{';
    size_t rec = 0;
    while (i < len) {
        char err[512];
        char *text = NULL;
        char *line_end = NULL;
        if (is_json) {
            line_end = memchr(b + i, '\n', len - i);
            if (line_end) {
                *line_end = '\0';
            }
            text = b + i;
            i = line_end ? (size_t)(line_end - b) + 1 : len;
            if (!*text) {
                continue;
            }
        } else {
            json_t *j;
            if (msgpack_to_json(b, len, &i, &j) < 0) {
                cli_fail("%s: record %zu: not a profile (neither JSON nor msgpack)", path, rec + 1);
            }
            text = json_is_object(j) ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
            json_decref(j);
            if (!text) {
                cli_fail("%s: record %zu: not a profile (neither JSON nor msgpack)", path, rec + 1);
            }
        }
        rec++;
        struct profile *p;
        int rc = profile_load(text, &p, err, sizeof err);
        if (!is_json) {
            free(text);
        }
        if (rc < 0) {
            cli_fail("%s: record %zu: %s", path, rec, err);
        }
        v = realloc(v, (*n + 1) * sizeof *v);
        if (!v) {
            cli_fail("out of memory");
        }
        v[*n].p = p;
        v[*n].name = identity_name(p);
        (*n)++;
        while (i < len && (b[i] == '\n' || b[i] == '\r' || b[i] == ' ')) {
            i++;
        }
    }
    free(b);
    if (*n == 0) {
        cli_fail("%s: no profile in the file", path);
    }
    return v;
}

static void free_loaded(struct loaded *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        profile_free(v[i].p);
        free(v[i].name);
    }
    free(v);
}

static bool vm_selected(const struct cli *c, const char *name) {
    struct source_vm sv = {.name = name, .key = name};
    return source_vm_match(c->rc.src.vm_filter, &sv);
}

static int metric_index(const struct profile *p, const char *metric, const char *vm) {
    int m = profile_find_metric(p, metric);
    if (m < 0) {
        cli_usage_error("--metric: profile of %s has no metric '%s'", vm, metric);
    }
    return m;
}

static int cmd_predict(struct cli *c) {
    if (!c->profile) {
        cli_usage_error("predict: needs -p PROFILE");
    }
    if (!c->metric) {
        cli_usage_error("predict: needs --metric M");
    }
    if (c->state < 0 && !c->have_value) {
        cli_usage_error("predict: needs --state S or --value V");
    }
    size_t n;
    struct loaded *v = load_profiles(c->profile, &n);
    long K = c->steps > 0 ? c->steps : 6;
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (!vm_selected(c, v[i].name)) {
            continue;
        }
        int m = metric_index(v[i].p, c->metric, v[i].name);
        const struct markov_series *s = profile_metric(v[i].p, (size_t)m);
        const struct disc *d = markov_series_disc(s);
        uint32_t ns = markov_series_config(s)->nstates;
        uint32_t hist[MK_MAX_ORDER];
        for (size_t k = 0; k < c->nhist; k++) {
            hist[k] = c->have_value ? (uint32_t)disc_bin(d, c->hist_value[k])
                                    : (uint32_t)c->hist_state[k];
            if (hist[k] >= ns) {
                cli_usage_error("--state: %u is not below the profile's %u states", hist[k], ns);
            }
        }
        uint32_t st = hist[c->nhist - 1];
        const struct mk_counts *counts = &markov_series_chain(s)->counts;
        int used = predict_history_order(counts, c->nhist);
        double *pk = calloc(ns, sizeof *pk);
        printf("VM %s  metric %s  from state %u [%g, %g)", v[i].name, c->metric, st, d->edges[st],
               d->edges[st + 1]);
        if (used > 1) {
            printf("  after");
            for (size_t k = c->nhist - (size_t)used; k + 1 < c->nhist; k++) {
                printf(" %u", hist[k]);
            }
            printf(" (order %d)", used);
        }
        printf("\n");
        printf("%5s", "step");
        for (uint32_t k = 0; k < ns && ns <= 16; k++) {
            printf("  p(%u)%*s", k, k < 10 ? 1 : 0, "");
        }
        printf("  %12s\n", "expected");
        for (long k = 1; k <= K; k++) {
            if (predict_from_history(counts, hist, c->nhist, (unsigned)k, pk) < 0) {
                cli_fail("predict: cannot compute the distribution (too many states)");
            }
            printf("%5ld", k);
            for (uint32_t j = 0; j < ns && ns <= 16; j++) {
                printf("  %.4f", pk[j]);
            }
            printf("  %12.6g\n", predict_expected_value(d, pk));
        }
        free(pk);
        shown++;
    }
    free_loaded(v, n);
    if (!shown) {
        cli_fail("predict: no profile matches --vm");
    }
    return 0;
}

static int cmd_simulate(struct cli *c) {
    if (!c->profile) {
        cli_usage_error("simulate: needs -p PROFILE");
    }
    if (!c->metric) {
        cli_usage_error("simulate: needs --metric M");
    }
    size_t n;
    struct loaded *v = load_profiles(c->profile, &n);
    long N = c->steps > 0 ? c->steps : 100;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    printf("vm,metric,step,state,value\n");
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (!vm_selected(c, v[i].name)) {
            continue;
        }
        gsl_rng_set(rng, c->seed);
        int m = metric_index(v[i].p, c->metric, v[i].name);
        const struct markov_series *s = profile_metric(v[i].p, (size_t)m);
        const struct markov_chain *ch = markov_series_chain(s);
        uint32_t ns = markov_series_config(s)->nstates;
        uint32_t start[MK_MAX_ORDER] = {0};
        size_t nstart = 1;
        if (c->nhist > 0) {
            nstart = c->nhist;
            for (size_t k = 0; k < nstart; k++) {
                start[k] = c->have_value
                               ? (uint32_t)disc_bin(markov_series_disc(s), c->hist_value[k])
                               : (uint32_t)c->hist_state[k];
                if (start[k] >= ns) {
                    cli_usage_error("--state: %u is not below the profile's %u states", start[k],
                                    ns);
                }
            }
        } else {
            for (uint32_t k = 1; k < ns; k++) { /* most occupied state */
                start[0] = ch->occ[k] > ch->occ[start[0]] ? k : start[0];
            }
        }
        uint32_t *states = malloc((size_t)N * sizeof *states);
        double *vals = malloc((size_t)N * sizeof *vals);
        if (!states || !vals ||
            predict_simulate(&ch->counts, markov_series_disc(s), start, nstart, (size_t)N, rng,
                             states, vals) < 0) {
            cli_fail("simulate: failed");
        }
        for (long k = 0; k < N; k++) {
            printf("%s,%s,%ld,%u,%.17g\n", v[i].name, c->metric, k + 1, states[k], vals[k]);
        }
        free(states);
        free(vals);
        shown++;
    }
    gsl_rng_free(rng);
    free_loaded(v, n);
    if (!shown) {
        cli_fail("simulate: no profile matches --vm");
    }
    return 0;
}

/* ---- score ------------------------------------------------------------------------------- */

struct scorer {
    struct loaded *prof; /* borrowed */
    size_t nprof;
    struct derive *d;
    int32_t *map; /* source idx -> profile index */
    size_t nmap;
    /* per (profile, metric): buffer, history and sums */
    struct sm {
        struct disc_buffer buf;
        uint32_t hist[MK_MAX_ORDER];
        uint64_t nh, steps, unseen;
        double ll;
    } * sm; /* nprof x nm */
    size_t nm;
    int32_t *pm; /* nprof x nm: profile metric index or -1 */
};

static double step_prob(const struct mk_counts *c, const uint32_t *hist, uint64_t nh, uint32_t s,
                        uint64_t *row) {
    int H = c->order;
    for (int h = (int)(nh < (uint64_t)H ? nh : (uint64_t)H); h >= 1; h--) {
        uint64_t key = 0;
        for (int k = h; k >= 1; k--) {
            key = key * c->nstates + hist[(nh - (uint64_t)k) % MK_MAX_ORDER];
        }
        uint64_t tot = mk_counts_row(c, h, key, row);
        if (tot) {
            return (double)row[s] / (double)tot;
        }
    }
    return 0;
}

static void score_step(struct scorer *sc, size_t pi, size_t m, const struct disc_step *st) {
    struct sm *x = &sc->sm[pi * sc->nm + m];
    const struct markov_series *s = profile_metric(sc->prof[pi].p, (size_t)sc->pm[pi * sc->nm + m]);
    uint32_t state = (uint32_t)disc_step_bin(markov_series_disc(s), st);
    if (x->nh > 0) {
        uint64_t row[256];
        const struct mk_counts *c = &markov_series_chain(s)->counts;
        double p = c->nstates <= 256 ? step_prob(c, x->hist, x->nh, state, row) : 0;
        if (p <= 0) {
            p = 1e-6;
            x->unseen++;
        }
        x->ll += log(p);
        x->steps++;
    }
    x->hist[x->nh % MK_MAX_ORDER] = state;
    x->nh++;
}

static int sc_vm(void *ctx, uint32_t idx, const struct source_vm *sv) {
    struct scorer *sc = ctx;
    if (idx >= sc->nmap) {
        sc->map = realloc(sc->map, ((size_t)idx + 1) * sizeof *sc->map);
        for (size_t i = sc->nmap; i <= idx; i++) {
            sc->map[i] = -1;
        }
        sc->nmap = (size_t)idx + 1;
    }
    for (size_t i = 0; i < sc->nprof; i++) {
        if (sv->name && strcmp(sc->prof[i].name, sv->name) == 0) {
            sc->map[idx] = (int32_t)i;
        }
    }
    return 0;
}

static void sc_row(void *ctx, uint32_t idx, int64_t t, const double *values, double vc,
                   double mem) {
    struct scorer *sc = ctx;
    (void)vc;
    (void)mem;
    if (idx >= sc->nmap || sc->map[idx] < 0) {
        return;
    }
    size_t pi = (size_t)sc->map[idx];
    for (size_t m = 0; m < sc->nm; m++) {
        struct disc_step st;
        if (sc->pm[pi * sc->nm + m] < 0 || isnan(values[m])) {
            continue;
        }
        if (disc_buffer_add(&sc->sm[pi * sc->nm + m].buf, t, values[m], &st)) {
            score_step(sc, pi, m, &st);
        }
    }
}

static void sc_gap(void *ctx, uint32_t idx) {
    struct scorer *sc = ctx;
    if (idx < sc->nmap && sc->map[idx] >= 0) {
        for (size_t m = 0; m < sc->nm; m++) {
            sc->sm[(size_t)sc->map[idx] * sc->nm + m].nh = 0;
        }
    }
}

static int cmd_score(struct cli *c) {
    char err[1024];
    if (!c->profile) {
        cli_usage_error("score: needs -p PROFILE");
    }
    if (c->ninputs == 0) {
        cli_usage_error("score: no INPUT given");
    }
    struct scorer sc = {0};
    sc.prof = load_profiles(c->profile, &sc.nprof);
    /* The metrics to derive: the union of the profiles' metrics, sorted. */
    char list[4096] = "";
    for (size_t i = 0; i < sc.nprof; i++) {
        for (size_t m = 0; m < profile_nmetrics(sc.prof[i].p); m++) {
            const char *nm = profile_metric_name(sc.prof[i].p, m);
            char pat[160];
            snprintf(pat, sizeof pat, ",%s,", nm);
            char probe[4100];
            snprintf(probe, sizeof probe, ",%s,", list);
            if (!strstr(probe, pat) && strlen(list) + strlen(nm) + 2 < sizeof list) {
                if (*list) {
                    strcat(list, ",");
                }
                strcat(list, nm);
            }
        }
    }
    struct source_metrics smt;
    int rc = source_metrics(&c->rc.src, &smt, err, sizeof err);
    if (rc < 0) {
        cli_fail("%s", err);
    }
    const char *bad;
    rc = derive_new(&sc.d, list, smt.defs, smt.n, &bad);
    source_metrics_free(&smt);
    if (rc < 0) {
        cli_fail("score: the input cannot give metric '%s' of the profile", bad);
    }
    sc.nm = derive_count(sc.d);
    sc.sm = calloc(sc.nprof * sc.nm, sizeof *sc.sm);
    sc.pm = malloc(sc.nprof * sc.nm * sizeof *sc.pm);
    for (size_t i = 0; i < sc.nprof; i++) {
        for (size_t m = 0; m < sc.nm; m++) {
            sc.pm[i * sc.nm + m] = profile_find_metric(sc.prof[i].p, derive_name(sc.d, m));
            if (sc.pm[i * sc.nm + m] < 0) {
                sc.pm[i * sc.nm + m] = -1;
            }
            disc_buffer_init(&sc.sm[i * sc.nm + m].buf,
                             profile_get_settings(sc.prof[i].p)->buffersize);
        }
    }
    struct source_cb cb = {.ctx = &sc, .vm = sc_vm, .row = sc_row, .gap = sc_gap};
    rc = source_run(&c->rc.src, sc.d, &cb, err, sizeof err);
    if (rc < 0) {
        cli_fail("%s", err);
    }
    printf("%-12s %-14s %10s %16s %12s %10s\n", "vm", "metric", "steps", "loglik", "per_step",
           "unseen");
    for (size_t i = 0; i < sc.nprof; i++) {
        if (!vm_selected(c, sc.prof[i].name)) {
            continue;
        }
        for (size_t m = 0; m < sc.nm; m++) {
            struct sm *x = &sc.sm[i * sc.nm + m];
            struct disc_step st;
            if (sc.pm[i * sc.nm + m] < 0) {
                continue;
            }
            if (disc_buffer_flush(&x->buf, &st)) {
                score_step(&sc, i, m, &st);
            }
            printf("%-12s %-14s %10" PRIu64 " %16.6f %12.6f %10" PRIu64 "\n", sc.prof[i].name,
                   derive_name(sc.d, m), x->steps, x->ll, x->steps ? x->ll / (double)x->steps : 0.0,
                   x->unseen);
        }
    }
    free(sc.sm);
    free(sc.pm);
    free(sc.map);
    derive_free(sc.d);
    free_loaded(sc.prof, sc.nprof);
    return 0;
}

/* ---- merge / diff / summary / import ------------------------------------------------------ */

static int cmp_loaded(const void *a, const void *b) {
    return run_natural_cmp(((const struct loaded *)a)->name, ((const struct loaded *)b)->name);
}

static int cmd_merge(struct cli *c) {
    char err[512];
    if (c->ninputs < 1) {
        cli_usage_error("merge: give PROFILE files");
    }
    struct loaded *all = NULL;
    size_t n = 0;
    for (size_t f = 0; f < c->ninputs; f++) {
        size_t k;
        struct loaded *v = load_profiles(c->inputs[f], &k);
        all = realloc(all, (n + k) * sizeof *all);
        memcpy(all + n, v, k * sizeof *v);
        free(v);
        n += k;
    }
    if (c->merge_as) {
        for (size_t i = 0; i < n; i++) {
            free(all[i].name);
            all[i].name = strdup(c->merge_as);
        }
    }
    /* Stable grouping: the first profile of each name receives the others, in input order. */
    struct output *o = open_output(c);
    int rc = output_begin(o, err, sizeof err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!all[i].p) {
            continue;
        }
        for (size_t j = i + 1; j < n; j++) {
            if (all[j].p && strcmp(all[i].name, all[j].name) == 0) {
                if (profile_merge(all[i].p, all[j].p) < 0) {
                    cli_fail("merge: %s: profiles %zu and %zu have different settings or metrics",
                             all[i].name, i + 1, j + 1);
                }
                profile_free(all[j].p);
                all[j].p = NULL;
            }
        }
    }
    qsort(all, n, sizeof *all, cmp_loaded);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (all[i].p) {
            rc = emit_one(o, all[i].p, c->format, err, sizeof err);
        }
    }
    if (rc == 0) {
        rc = output_end(o, err, sizeof err);
    }
    output_close(o);
    free_loaded(all, n);
    if (rc < 0) {
        cli_fail("%s", err);
    }
    return 0;
}

static int cmd_diff(struct cli *c) {
    if (c->ninputs != 2) {
        cli_usage_error("diff: give exactly two PROFILE files");
    }
    size_t na, nb;
    struct loaded *a = load_profiles(c->inputs[0], &na);
    struct loaded *b = load_profiles(c->inputs[1], &nb);
    printf("%-12s %-14s %5s %8s %8s %8s %6s %6s\n", "vm", "metric", "order", "tv_mean", "tv_max",
           "js_mean", "rows", "only");
    for (size_t i = 0; i < na; i++) {
        if (!vm_selected(c, a[i].name)) {
            continue;
        }
        for (size_t j = 0; j < nb; j++) {
            if (strcmp(a[i].name, b[j].name) != 0) {
                continue;
            }
            for (size_t m = 0; m < profile_nmetrics(a[i].p); m++) {
                int mb = profile_find_metric(b[j].p, profile_metric_name(a[i].p, m));
                if (mb < 0) {
                    printf("%-12s %-14s only in %s\n", a[i].name, profile_metric_name(a[i].p, m),
                           c->inputs[0]);
                    continue;
                }
                const struct mk_counts *ca =
                    &markov_series_chain(profile_metric(a[i].p, m))->counts;
                const struct mk_counts *cb =
                    &markov_series_chain(profile_metric(b[j].p, (size_t)mb))->counts;
                double tv, js, tvmax;
                size_t rows, only;
                if (predict_diff(ca, cb, 1, &tv, &js, &tvmax, &rows, &only) < 0) {
                    printf("%-12s %-14s not comparable (states or history differ)\n", a[i].name,
                           profile_metric_name(a[i].p, m));
                    continue;
                }
                printf("%-12s %-14s %5d %8.4f %8.4f %8.4f %6zu %6zu\n", a[i].name,
                       profile_metric_name(a[i].p, m), 1, tv, tvmax, js, rows, only);
            }
        }
    }
    free_loaded(a, na);
    free_loaded(b, nb);
    return 0;
}

static int cmd_summary(struct cli *c) {
    if (c->profile) {
        size_t n;
        struct loaded *v = load_profiles(c->profile, &n);
        for (size_t i = 0; i < n; i++) {
            if (vm_selected(c, v[i].name)) {
                summary_print(stdout, v[i].p, 0);
                printf("\n");
            }
        }
        free_loaded(v, n);
        return 0;
    }
    c->format = F_TEXT;
    return cmd_profile(c);
}

static int cmd_import(struct cli *c) {
    char err[1024];
    if (!c->out_path) {
        cli_usage_error("import: needs -O OUT (journal directory, or a file ending in .pxj)");
    }
    if (c->ninputs == 0) {
        cli_usage_error("import: no CSV file given");
    }
    if (c->rc.src.format == SRC_JOURNAL) {
        cli_usage_error("--input-format: import reads CSV, not journals");
    }
    for (size_t i = 0; i < c->ninputs; i++) {
        if (source_is_journal(c->inputs[i])) {
            cli_usage_error("import: '%s' is a journal, not a CSV file", c->inputs[i]);
        }
    }
    struct stat st;
    if (stat(c->out_path, &st) == 0) {
        cli_fail("%s: already exists (import writes a new journal; remove it or choose another -O)",
                 c->out_path);
    }
    uint64_t rows, skipped;
    int rc = import_csv(&c->rc.src, c->out_path, c->host, &rows, &skipped, err, sizeof err);
    if (rc < 0) {
        cli_fail("%s", err);
    }
    fprintf(stderr, "proxprofiler: imported %" PRIu64 " rows from %zu file%s into %s%s\n", rows,
            c->ninputs, c->ninputs == 1 ? "" : "s", c->out_path,
            skipped ? " (malformed rows skipped, see above)" : "");
    return 0;
}

int main(int argc, char **argv) {
    cli_set_program(prog);
    static const char *const cmds[] = {"profile", "summary",  "import", "predict", "simulate",
                                       "score",   "evaluate", "merge",  "diff"};
    int which = 0;
    if (argc > 1 && argv[1][0] != '-') {
        for (int i = 0; i < (int)(sizeof cmds / sizeof cmds[0]); i++) {
            if (strcmp(argv[1], cmds[i]) == 0) {
                which = i;
                cmd = cmds[i];
                argv[1] = argv[0];
                argv++;
                argc--;
                break;
            }
        }
    }
    struct cli c;
    parse_args(&c, argc, argv);
    if (c.follow && which != 0) {
        cli_usage_error("--follow: only for profiling");
    }
    int rc;
    switch (which) {
    case 1:
        rc = cmd_summary(&c);
        break;
    case 2:
        rc = cmd_import(&c);
        break;
    case 3:
        rc = cmd_predict(&c);
        break;
    case 4:
        rc = cmd_simulate(&c);
        break;
    case 5:
        rc = cmd_score(&c);
        break;
    case 6:
        rc = cmd_evaluate(&c);
        break;
    case 7:
        rc = cmd_merge(&c);
        break;
    case 8:
        rc = cmd_diff(&c);
        break;
    default:
        rc = cmd_profile(&c);
    }
    for (size_t i = 0; i < c.rc.nbounds; i++) {
        free(c.bound_names[i]);
    }
    return rc;
}
