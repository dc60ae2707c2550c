/* bundle_writer.h — the compiler's side of runtime/bundle.h: serialise
 * planned graphs (one per resolution) and their shared weights. */
#ifndef NETC_BUNDLE_WRITER_H
#define NETC_BUNDLE_WRITER_H

#include "passes/autodiff.h"
#include "passes/pass.h"

#include "runtime/bundle.h"

/* What goes around the graphs: one member per model (a single model is an
 * ensemble of one), how members merge, and optional class names. */
typedef struct NcBundleSpec {
    const char *name; /* the program's name */
    int nmembers;
    const char *member_name[NC_BUNDLE_MAX_MEMBERS]; /* default: the graph's name */
    float weight[NC_BUNDLE_MAX_MEMBERS];            /* NC_MERGE_WEIGHTED */
    NcMergeKind merge;
    int on_probs;
    const char *labels;      /* nclasses names, one per line; NULL: none */
    const char *labels_path; /* for messages */
    const int *member_of;    /* per graph: its member (NULL: all member 0) */
    /* a training step: the spec its graphs were made with, and per graph what
     * nc_autodiff said of it (NULL: an inference bundle) */
    const NcTrainSpec *train_spec;
    const NcTrainInfo *train;
} NcBundleSpec;

/* The pooled penultimate features of a classifier: the input of the linear
 * layer producing its output, or -1. */
int nc_graph_features(const NcGraph *g);

/* Writes the bundle to `path` and, with weights_path non-NULL, the weights to
 * that separate file instead of inside the bundle (both atomically).
 * Parameters are shared between the graphs of one member by name. */
int nc_bundle_write(const char *path, const char *weights_path, const NcBundleSpec *spec, NcGraph *const *graphs,
                    const NcPlan *plans, int n, NcError *e);

#endif
