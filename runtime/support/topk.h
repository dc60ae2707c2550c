/* topk.h — the k best classes of each row of logits, printed the one way
 * netc and the programs it compiles print them. */
#ifndef NETC_TOPK_H
#define NETC_TOPK_H

#include <stdint.h>
#include <stdio.h>

/* The classes of one row of n scores ranked best first into order[0..k):
 * higher scores first, equal scores in class order — the one ranking that
 * classify, eval, the server and the printed top-k share.  k <= n. */
void nc_rank_classes(const float *scores, int n, int k, int *order);

/* "image I top-K:  class:score ..." for each of n rows of `per` values. */
void nc_print_topk(FILE *out, const float *logits, int64_t n, int64_t per, int k);

#endif
