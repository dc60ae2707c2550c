/* mixup.h — CutMix and Mixup as timm.data.Mixup does them, on a float32 NCHW
 * batch, with the soft targets the soft-target cross-entropy consumes.
 *
 * timm.data.Mixup(mixup_alpha, cutmix_alpha, cutmix_minmax, prob, switch_prob,
 * mode, correct_lam, label_smoothing, num_classes):
 *   each image i is mixed with image n-1-i (timm's x.flip(0) pairing);
 *   with probability `prob` a lam is drawn from Beta(mixup_alpha, mixup_alpha)
 *   or, for CutMix (chosen with `switch_prob` when both alphas are positive),
 *   Beta(cutmix_alpha, cutmix_alpha); otherwise lam = 1 and nothing changes;
 *   Mixup: x = lam x + (1 - lam) x_pair;
 *   CutMix: the box of rand_bbox (cut sides int(H sqrt(1 - lam)),
 *   int(W sqrt(1 - lam)), rows [cy - cut // 2, cy + cut - cut // 2) about a
 *   centre drawn uniformly, clipped; columns alike) or, with
 *   cutmix_minmax, rand_bbox_minmax (sides uniform in [int(H min), int(H max)),
 *   corner uniform), is copied from the pair, and with correct_lam (always with
 *   minmax) lam becomes 1 - box area / image area;
 *   targets: (1 - s + s/K) on the label, s/K elsewhere (s = label_smoothing),
 *   mixed as lam t + (1 - lam) t_pair.
 * mode 'batch': one draw for the whole batch; 'pair': one per pair (i, n-1-i),
 * both mixed; 'elem': one per image, each mixed with the unmixed pair. The
 * batch must be even, as timm asserts. timm's arithmetic widths are kept:
 * float64 lam in 'batch' mode, float32 (numpy's) per element otherwise.
 *
 * Randomness: splitmix64 from the caller's seed (one per batch and epoch), so
 * the same seed gives the same batch on any thread count; numpy's draws are
 * not reproduced, their distributions are: rand() < p, randint(lo, hi) =
 * lo + floor(u (hi - lo)), Beta from two Gamma draws (Marsaglia-Tsang).
 */
#ifndef NETC_TRAIN_MIXUP_H
#define NETC_TRAIN_MIXUP_H

#include <stdint.h>

#include "runtime/support/base.h"

typedef enum { NC_MIX_BATCH, NC_MIX_PAIR, NC_MIX_ELEM } NcMixMode;

typedef struct {
    double mixup_alpha, cutmix_alpha; /* 0: off */
    int has_minmax;                   /* cutmix_minmax given (then cutmix_alpha is taken as 1, as timm does) */
    double cutmix_minmax[2];
    double prob, switch_prob;
    NcMixMode mode;
    int correct_lam;
    double label_smoothing;
    int num_classes;
} NcMixup;

/* timm's defaults: mixup_alpha 1, cutmix_alpha 0, prob 1, switch_prob 0.5,
 * 'batch', correct_lam, label_smoothing 0.1. */
NcMixup nc_mixup_default(int num_classes);

/* Check the parameters (alphas >= 0 and one positive, probabilities in
 * [0, 1], 0 <= min < max <= 1, smoothing in [0, 1), classes >= 1). */
int nc_mixup_check(const NcMixup *m, NcError *e);

/* Parse "mixup=0.8,cutmix=1.0,cutmix_minmax=0.2:0.8,prob=1,switch_prob=0.5,
 * mode=batch,correct_lam=1,smoothing=0.1" (any subset; the rest timm's
 * defaults) for num_classes classes. Errors name the item. */
int nc_mixup_parse(const char *spec, int num_classes, NcMixup *out, NcError *e);

/* One line for logs: timm's Mixup(...) arguments (malloc'd). */
char *nc_mixup_describe(const NcMixup *m);

/* Mix images (n x c x h x w, in place) and write soft_targets (n x
 * num_classes) and each image's lam (lam_out, n values; NULL to skip).
 * Labels must be in [0, num_classes). */
int nc_mixup_apply(const NcMixup *m, float *images, const int *labels, int n, int c, int h, int w, uint64_t seed,
                   float *soft_targets, float *lam_out, NcError *e);

/* ---- for tests ------------------------------------------------------- */

typedef struct {
    uint64_t state;
} NcMixRng;
double nc_mix_uniform(NcMixRng *r);
double nc_mix_beta(NcMixRng *r, double a, double b);

/* One draw: lam before any correction, CutMix or not, and np.random.randint's
 * values for the box: rand_bbox's (cy, cx), or rand_bbox_minmax's (cut_h,
 * cut_w, yl, xl). */
typedef struct {
    double lam;
    int cutmix;
    int ints[4];
} NcMixDraw;

/* The draws nc_mixup_apply makes: 1 for 'batch', n/2 for 'pair', n for 'elem'
 * (returns how many), their box integers included. -1 with a message when
 * a box cannot be drawn (cutmix_minmax too narrow for the image, as numpy's
 * randint refuses). */
int nc_mixup_draw(const NcMixup *m, int n, int h, int w, NcMixRng *r, NcMixDraw *draws, NcError *e);

/* Apply given draws (as many as nc_mixup_draw makes). */
int nc_mixup_apply_draws(const NcMixup *m, float *images, const int *labels, int n, int c, int h, int w,
                         const NcMixDraw *draws, float *soft_targets, float *lam_out, NcError *e);

#endif
