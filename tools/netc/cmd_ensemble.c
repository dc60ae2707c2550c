/* netc ensemble — several frozen models, each with its own weights and
 * resolutions, compiled into one program that merges their answers (the
 * seed's inference: mean, median or vote of architectures, or weights).
 *
 *   netc ensemble a.nn:a.safetensors@448,512 b.nn:b.safetensors@448 \
 *       --merge mean|median|vote|weighted:0.5,0.5 [--on probs] -o ens
 *
 * Every member goes through the same path as `netc compile`; the members
 * become the programs of one bundle, tagged with their member index, their
 * weights side by side in its weights region. */
#include <string.h>

#include "passes/pass.h"
#include "tools/netc/cli.h"
#include "tools/netc/emit.h"

static const char *help =
    "usage: netc ensemble MODEL.nn:WEIGHTS[@R[,R...]]... --merge KIND -o OUT [options]\n\n"
    "Compiles several models into one program (commands as for netc compile: classify, features,\n"
    "eval, run, bench, info; OUT --help).  Each model: a description, its weights (a safetensors\n"
    "file with timm names, or 'det' for the deterministic initialiser) and its resolutions\n"
    "(default 224).  classify runs each image through every model at each of its resolutions;\n"
    "each model sums its resolutions' logits (--merge mean at run time to average), then the\n"
    "models merge by KIND:\n"
    "  mean       the average                 median   per class\n"
    "  vote       the most frequent argmax; no single one: the argmax with the highest score\n"
    "  weighted:W1,W2,...   a weighted average, one weight per model\n\n"
    "options:\n"
    "  --on logits|probs   merge logits (default) or softmax probabilities\n"
    "  --batch N        the largest batch each program takes (default 1)\n"
    "  --labels FILE    class names, one per line\n"
    "  --name NAME      the program's name (default: the models' names joined by '+')\n"
    "  --passes P, --cpu NAME, --winograd MODE, --im2col on|off, --layout MODE, --no-codegen, --verbose, --weights-external, --emit KIND\n"
    "                   as for netc compile\n";

typedef struct Member {
    char *path, *weights;
    char res[256];
} Member;

/* "a.nn:w.safetensors@448,512" -> path, weights, resolutions. */
static int parse_member(const char *spec, Member *m) {
    memset(m, 0, sizeof *m);
    const char *at = strrchr(spec, '@');
    size_t len = strlen(spec);
    if (at && strspn(at + 1, "0123456789x,") == strlen(at + 1) && at[1]) {
        snprintf(m->res, sizeof m->res, "%s", at + 1);
        len = (size_t)(at - spec);
    } else {
        snprintf(m->res, sizeof m->res, "224");
    }
    char *s = nc_strndup(spec, len);
    char *colon = strstr(s, ".nn:");
    if (!colon || !colon[4]) {
        cli_error("ensemble: '%s': expected MODEL.nn:WEIGHTS[@RES,...] (WEIGHTS: a .safetensors file or 'det')", spec);
        free(s);
        return -1;
    }
    colon[3] = 0;
    m->path = s, m->weights = colon + 4;
    return 0;
}

static int parse_weights(const char *s, float *w, int n) {
    int k = 0;
    char *buf = nc_strdup(s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        double v = strtod(tok, &end);
        if (*end || !(v >= 0 && v < 1e6) || k == n) {
            free(buf);
            return -1;
        }
        w[k++] = (float)v;
    }
    free(buf);
    double sum = 0;
    for (int i = 0; i < k; i++) sum += w[i];
    return k == n && sum > 0 ? 0 : -1;
}

int cmd_ensemble(int argc, char **argv) {
    if (cli_help_requested(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    Member members[NC_BUNDLE_MAX_MEMBERS];
    int nm = 0, batch = 1, rc = 0;
    const char *out = NULL, *merge = NULL, *on = "logits", *labels_path = NULL, *name = NULL, *passes = "default";
    EmitJob job = {NULL, "exe", 0, 1, {0}};
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (more && !strcmp(a, "-o")) out = argv[++i];
        else if (more && !strcmp(a, "--merge")) merge = argv[++i];
        else if (more && !strcmp(a, "--on")) on = argv[++i];
        else if (more && !strcmp(a, "--labels")) labels_path = argv[++i];
        else if (more && !strcmp(a, "--name")) name = argv[++i];
        else if (more && !strcmp(a, "--passes")) passes = argv[++i];
        else if (more && !strcmp(a, "--emit")) job.emit = argv[++i];
        else if (more && !strcmp(a, "--cpu")) job.cgo.cpu = argv[++i];
        else if (!strcmp(a, "--winograd")) {
            if (!more || netc_parse_winograd(argv[++i], &job.cgo.winograd)) {
                cli_error("--winograd needs auto, on, f2 or off");
                rc = NC_EXIT_BADINPUT;
            }
        } else if (!strcmp(a, "--im2col")) {
            if (!more || netc_parse_onoff(argv[++i], &job.cgo.im2col)) {
                cli_error("--im2col needs on or off");
                rc = NC_EXIT_BADINPUT;
            }
        } else if (!strcmp(a, "--layout")) {
            if (!more || netc_parse_layout(argv[++i], &job.cgo.layout)) {
                cli_error("--layout needs auto or nhwc (the NCHW generated kernels were retired)");
                return NC_EXIT_BADINPUT;
            }
        } else if (!strcmp(a, "--no-codegen")) job.codegen = 0;
        else if (!strcmp(a, "--verbose")) job.cgo.verbose = 1;
        else if (!strcmp(a, "--weights-external")) job.external = 1;
        else if (more && !strcmp(a, "--batch")) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 65536) {
                cli_error("--batch '%s': expected a positive integer", argv[i]);
                rc = NC_EXIT_BADINPUT;
            }
            batch = (int)v;
        } else if (a[0] == '-') {
            cli_error("ensemble: unknown or incomplete option '%s' (see netc ensemble --help)", a);
            rc = NC_EXIT_BADINPUT;
        } else if (nm == NC_BUNDLE_MAX_MEMBERS) {
            cli_error("ensemble: at most %d models", NC_BUNDLE_MAX_MEMBERS);
            rc = NC_EXIT_BADINPUT;
        } else if (parse_member(a, &members[nm])) {
            rc = NC_EXIT_BADINPUT;
        } else {
            nm++;
        }
    }
    NcBundleSpec spec;
    memset(&spec, 0, sizeof spec);
    if (!rc && (!out || nm < 1 || !merge)) {
        cli_error("ensemble: give the models, --merge KIND and -o OUT (see netc ensemble --help)");
        rc = NC_EXIT_BADINPUT;
    }
    if (!rc) {
        for (int i = 0; i < nm; i++) spec.weight[i] = 1;
        if (!strcmp(merge, "mean")) spec.merge = NC_MERGE_MEAN;
        else if (!strcmp(merge, "median")) spec.merge = NC_MERGE_MEDIAN;
        else if (!strcmp(merge, "vote")) spec.merge = NC_MERGE_VOTE;
        else if (!strncmp(merge, "weighted:", 9) && !parse_weights(merge + 9, spec.weight, nm)) spec.merge = NC_MERGE_WEIGHTED;
        else {
            cli_error("--merge '%s': expected mean, median, vote or weighted:W1,...,W%d (%d non-negative weights, "
                      "not all zero)", merge, nm, nm);
            rc = NC_EXIT_BADINPUT;
        }
        if (strcmp(on, "logits") && strcmp(on, "probs")) {
            cli_error("--on '%s': expected logits or probs", on);
            rc = NC_EXIT_BADINPUT;
        }
        spec.on_probs = !strcmp(on, "probs");
        if (strcmp(job.emit, "exe") && strcmp(job.emit, "obj") && strcmp(job.emit, "bundle")) {
            cli_error("--emit '%s': expected exe, obj or bundle", job.emit);
            rc = NC_EXIT_BADINPUT;
        }
    }
    /* every member at every one of its resolutions */
    NcGraph *graphs[NC_BUNDLE_MAX_PROGRAMS] = {0};
    NcPlan plans[NC_BUNDLE_MAX_PROGRAMS];
    int member_of[NC_BUNDLE_MAX_PROGRAMS];
    memset(plans, 0, sizeof plans);
    int n = 0;
    char *names[NC_BUNDLE_MAX_MEMBERS] = {0};
    for (int k = 0; k < nm && !rc; k++) {
        Member *mb = &members[k];
        char *list = nc_strdup(mb->res);
        const int first = n;
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
            CliModel m;
            memset(&m, 0, sizeof m);
            m.path = mb->path, m.opt.batch = batch, m.passes = passes;
            if (!strcmp(mb->weights, "det")) m.init_det = 1;
            else m.weights = mb->weights;
            if (n == NC_BUNDLE_MAX_PROGRAMS) {
                cli_error("ensemble: at most %d model x resolution programs in all", NC_BUNDLE_MAX_PROGRAMS);
                rc = NC_EXIT_BADINPUT;
            } else if (cli_parse_res(tok, &m.opt.height, &m.opt.width)) {
                cli_error("ensemble: resolution '%s' of %s: expected sizes such as 448,512 or 256x192", tok, mb->path);
                rc = NC_EXIT_BADINPUT;
            } else if (!(graphs[n] = cli_load(&m, 1))) {
                rc = NC_EXIT_BADINPUT;
            } else {
                member_of[n++] = k;
            }
        }
        free(list);
        if (!rc) rc = netc_layout(graphs + first, n - first, &job.cgo, job.codegen, NULL, 0);
        for (int i = first; i < n && !rc; i++) {
            NcError e;
            if (nc_plan_memory(graphs[i], &plans[i], NULL, &e)) {
                fprintf(stderr, "netc: %s\n", e.msg);
                rc = NC_EXIT_FAIL;
            }
        }
        if (!rc && n == first) {
            cli_error("ensemble: %s has no resolution", mb->path);
            rc = NC_EXIT_BADINPUT;
        }
        if (rc) break;
        /* a member's name: its model's, made unique */
        const char *base = graphs[n - 1]->name;
        int dup = 0;
        for (int j = 0; j < k; j++) dup += !strncmp(names[j], base, strlen(base));
        names[k] = dup ? nc_sprintf("%s-%d", base, dup + 1) : nc_strdup(base);
        spec.member_name[k] = names[k];
    }
    char *labels = NULL;
    if (!rc && netc_read_labels(labels_path, &labels)) rc = NC_EXIT_BADINPUT;
    char *joined = NULL;
    if (!rc) {
        joined = nc_strdup(nm > 1 ? "" : names[0]);
        for (int k = 0; k < nm && nm > 1; k++) {
            char *more = nc_sprintf("%s%s%s", joined, k ? "+" : "", names[k]);
            free(joined);
            joined = more;
        }
        spec.name = name ? name : joined;
        spec.nmembers = nm, spec.member_of = member_of;
        spec.labels = labels, spec.labels_path = labels_path;
        job.out = out;
        rc = netc_emit(&job, &spec, graphs, plans, n);
        if (!rc)
            fprintf(stderr, "netc: compiled %d models (%d programs), merged by %s on %s, into %s\n", nm, n, merge, on, out);
    }
    free(joined);
    free(labels);
    for (int k = 0; k < nm; k++) {
        free(members[k].path);
        free(names[k]);
    }
    for (int i = 0; i < n; i++) {
        nc_plan_free(&plans[i]);
        nc_graph_free(graphs[i]);
    }
    return rc;
}
