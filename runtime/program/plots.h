/* plots.h — a run's pictures as SVG files (plots.c): the training curves
 * from metrics.jsonl, a confusion matrix, and the per-class accuracy table
 * beside it as JSON. Each is written atomically; -1 with a message on failure. */
#ifndef NETC_APP_PLOTS_H
#define NETC_APP_PLOTS_H

#include <stdint.h>

#include "runtime/support/base.h"

/* Three panels over the update count: the loss (per update, and per epoch:
 * train mean and validation; log scale when it spans more than a decade), the
 * learning rate, and the validation top-1 / top-5 after each epoch. */
int plot_training_curves(const char *metrics_jsonl, const char *svg, NcError *e);

/* cm[true * K + predicted] counts; names: K class names or NULL (indices).
 * Cells coloured by their share of the row; counts written when K <= 30, class
 * names always.  Over 100 classes, the 50 most often confused (off-diagonal
 * counts in their row and column) are drawn, in class order. */
int plot_confusion(const int64_t *cm, int K, const char *const *names, const char *title, const char *svg, NcError *e);

/* {"images", "top1", "per_class": [{"class", "label", "n", "top1", "precision",
 * "most_confused_with"}...], "mean_class_top1"} over the classes present. */
int write_per_class_json(const int64_t *cm, int K, const char *const *names, const char *path, NcError *e);

#endif
