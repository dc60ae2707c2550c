/* train_options.c — the options that make `netc compile` build a training
 * step (passes/autodiff.h) instead of an inference program. */
#include <stdlib.h>
#include <string.h>

#include "tools/netc/cli.h"

static int number(const char *opt, const char *val, double lo, double hi, double *out) {
    char *end;
    double v = strtod(val, &end);
    if (end == val || *end || !(v >= lo && v <= hi)) {
        cli_error("%s '%s': expected a number in [%g, %g]", opt, val, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_train_option(CliTrain *t, CliModel *m, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (!strcmp(a, "--train")) return t->on = 1;
    if (!strcmp(a, "--freeze-features")) return t->spec.freeze_features = 1, t->on = 1;
    static const char *const with_value[] = {"--loss",      "--focal-gamma",    "--label-smoothing",
                                             "--drop-rate", "--drop-path-rate", NULL};
    int known = 0;
    for (int k = 0; with_value[k] && !known; k++) known = !strcmp(a, with_value[k]);
    if (!known) return 0;
    if (*i + 1 >= argc) {
        cli_error("%s needs a value", a);
        return -1;
    }
    const char *val = argv[++*i];
    double v = 0;
    t->on = 1;
    if (!strcmp(a, "--loss")) {
        if (!strcmp(val, "soft") || !strcmp(val, "ce"))
            t->spec.loss = NC_LOSS_SOFT;
        else if (!strcmp(val, "weighted"))
            t->spec.loss = NC_LOSS_WEIGHTED;
        else if (!strcmp(val, "focal"))
            t->spec.loss = NC_LOSS_FOCAL;
        else {
            cli_error("--loss '%s': expected ce, weighted or focal", val);
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--focal-gamma")) {
        if (number(a, val, 0, 100, &v)) return -1;
        t->spec.gamma = (float)v;
        return 1;
    }
    if (!strcmp(a, "--label-smoothing")) {
        if (number(a, val, 0, 1, &v)) return -1;
        t->spec.smoothing = (float)v;
        return 1;
    }
    /* drop rates are the model's keyword parameters, as timm.create_model takes them */
    if (number(a, val, 0, 0.99, &v)) return -1;
    if (m->opt.nset >= 62) {
        cli_error("too many --set options");
        return -1;
    }
    snprintf(t->sets[t->nsets], sizeof t->sets[0], "%s=%.9g",
             !strcmp(a, "--drop-rate") ? "drop_rate" : "drop_path_rate", v);
    m->sets[m->opt.nset++] = t->sets[t->nsets++];
    m->opt.set = m->sets;
    return 1;
}
