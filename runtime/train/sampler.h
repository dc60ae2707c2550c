/* sampler.h — which images an epoch trains on, in which order.
 *
 *   shuffle        a permutation of 0..n-1 (Fisher-Yates), torch's
 *                  RandomSampler: every image once an epoch
 *   sequential     0..n-1 in list order (SequentialSampler; evaluation)
 *   balanced-sqrt  n draws with replacement, image i with probability
 *                  proportional to count(label i)^-1/2: each class drawn in
 *                  proportion to the square root of its size
 *   balanced-inv   the same with count^-1: every class equally often (torch's
 *                  WeightedRandomSampler with 1 / class frequency) — the
 *                  class-balanced re-sampling of the decoupled classifier
 *                  re-training (Kang et al., ICLR 2020), square-root and
 *                  inverse as its two variants.
 *
 * Every order is drawn from (seed, epoch) alone (splitmix64), so a resumed run
 * sees the order an uninterrupted one saw.
 */
#ifndef NETC_TRAIN_SAMPLER_H
#define NETC_TRAIN_SAMPLER_H

#include <stdint.h>

#include "runtime/support/base.h"

typedef enum { NC_SAMPLER_SHUFFLE, NC_SAMPLER_SEQUENTIAL, NC_SAMPLER_BALANCED_SQRT, NC_SAMPLER_BALANCED_INV } NcSampler;

/* "shuffle", "sequential", "balanced-sqrt", "balanced-inv"; -1 with a message otherwise. */
int nc_sampler_parse(const char *s, NcSampler *out, NcError *e);
const char *nc_sampler_name(NcSampler k);

/* order[0..n) for epoch `epoch`; labels (n values in [0, K)) are read by the
 * balanced samplers only. */
void nc_sampler_order(NcSampler k, int64_t *order, int64_t n, const int *labels, int K, uint64_t seed, int64_t epoch);

/* The probability that one draw picks class c (K values), as the sampler
 * defines it: for shuffle and sequential, each class's share of the set. */
void nc_sampler_class_probs(NcSampler k, const int *labels, int64_t n, int K, double *p);

#endif
