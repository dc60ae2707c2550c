/* merge.h — how the outputs of several views of an image (resolutions,
 * flips) and of several models (an ensemble) become one answer.  Pure
 * functions on float vectors; the same code serves every compiled program. */
#ifndef NETC_MERGE_H
#define NETC_MERGE_H

#include "runtime/bundle.h"

/* Numerically stable softmax of n values, in place. */
void nc_softmax(float *x, int n);

/* Merge m member vectors of n classes into out[n]:
 *   mean      the average;
 *   weighted  sum_i w_i x_i / sum_i w_i;
 *   median    per class (the mean of the middle two for even m);
 *   vote      out[c] = share of members whose argmax is c; when several
 *             classes share the most votes, the one holding the single
 *             highest score of a member that voted for it gets half a vote
 *             more (the seed's rule: no unique mode -> the argmax with the
 *             highest score).
 * weights may be NULL except for weighted; scratch holds m floats. */
void nc_merge(NcMergeKind kind, const float *const *x, const float *weights, int m, int n, float *out, float *scratch);

/* "mean", "median", "vote" or "weighted" (weights are parsed by the caller). */
const char *nc_merge_name(NcMergeKind k);

/* Index of the largest of n values (the first, on ties). */
int nc_argmax(const float *x, int n);

#endif
