/* augment.h — training augmentations as torchvision and timm define them,
 * on the PIL pictures they see, from a spec string (`--aug`).
 *
 * The spec is a comma-separated list of items, applied in a fixed order
 * whatever the order written (timm's transforms_imagenet_train order):
 *   size:   rrc | rrc=S0:S1[:R0:R1]        RandomResizedCrop to the output size
 *                                          (scale 0.08:1, ratio 3/4:4/3 by default)
 *           scale=S0:S1, ratio=R0:R1       the same, item by item (imply rrc)
 *           resize=N                       torchvision Resize(N): shorter side N
 *           crop[=N]                       RandomCrop to the output size (N must be
 *                                          it), padding with zeros where too small
 *           pad=P | LR:TB | L:T:R:B        RandomCrop's padding= (zeros) before the
 *                                          crop, as torchvision's: with crop only
 *           (neither rrc nor crop: CenterCrop to the output size, after resize=
 *           if given)
 *           interp=bilinear|bicubic|random (torchvision's default bilinear; random
 *                                          is timm's pick of the two per sample)
 *   flips:  hflip[=P], vflip[=P]           RandomHorizontalFlip / RandomVerticalFlip
 *                                          (P 0.5 when not given)
 *   rotate: rotate=D or MIN:MAX, fill=V or R:G:B, rotate_interp=nearest|bilinear|bicubic
 *                                          RandomRotation: angle uniform in [-D, D] or
 *                                          [MIN, MAX], PIL's rotate (nearest, fill 0 by
 *                                          default)
 *   colour: jitter=X or B:C:S[:H]          ColorJitter(B, C, S, H); X alone is timm's
 *                                          color_jitter=X: (X, X, X), no hue
 *   tensor: mean=M:M:M, std=S:S:S          Normalize (ImageNet's by default)
 *   erase:  erase=P[:const|rand|pixel]     timm's RandomErasing(probability=P, mode)
 *           (timm's argument names work too: reprob=P, remode=M, color_jitter=X,
 *           train_interpolation=..., aa=rand-...)
 * A malformed item, a value out of torchvision's range or a repeated item is
 * an error naming the item.
 *   rand:   rand-mM[-mstdS][-inc1][-nN][-mmaxX][-pP]  timm's RandAugment
 *                                          (randaugment.h), before any jitter
 *
 * Randomness: nc_augment_apply draws every parameter from a generator seeded
 * by its `seed` alone (splitmix64), so the same seed gives the same bytes on
 * any thread. Each draw is a uniform u in [0, 1) mapped as torch / random do:
 * uniform(a, b) = a + u (b - a); randint(lo, hi) (hi exclusive) =
 * lo + floor(u (hi - lo)); rand() < p for a coin; randperm by Fisher-Yates.
 * Tests feed the uniforms explicitly (NcAugRng.fixed) and get the parameters
 * (NcAugDraws) to check them against torchvision's and timm's own code.
 */
#ifndef NETC_IMAGE_AUGMENT_H
#define NETC_IMAGE_AUGMENT_H

#include <stdint.h>

#include "runtime/image/decode.h"
#include "runtime/image/transform.h"
#include "runtime/support/base.h"

typedef struct NcAugment NcAugment;

/* Parse a spec for an output of out_h x out_w. Returns 0, or -1 with a message
 * naming the item ("--aug: 'jitter=0.4:x': ..."); the caller exits 2. */
int nc_augment_parse(const char *spec, int out_h, int out_w, NcAugment **out, NcError *e);

/* Augment one image to 3 x out_h x out_w float32 (CHW, normalised). */
int nc_augment_apply(const NcAugment *a, const NcImage *img, uint64_t seed, float *out_chw, NcError *e);

void nc_augment_free(NcAugment *a);

/* One line saying what the spec does, for --help and logs (malloc'd). */
char *nc_augment_describe(const NcAugment *a);

/* The items a spec may hold, a few lines for --help. */
const char *nc_augment_help(void);

/* ---- the parts, for tests ------------------------------------------- */

/* The uniform source: splitmix64 from `state`, or, when `fixed` is set, its n
 * values in order (running out is a fatal error: a test's mistake). */
typedef struct {
    uint64_t state;
    const double *fixed;
    int n, used;
} NcAugRng;

NcAugRng nc_aug_rng(uint64_t seed);
double nc_aug_uniform(NcAugRng *r);
/* A standard normal (Box-Muller on two uniforms). */
double nc_aug_normal(NcAugRng *r);

enum { NC_JIT_BRIGHTNESS, NC_JIT_CONTRAST, NC_JIT_SATURATION, NC_JIT_HUE };

#define NC_RA_MAX_LAYERS 8

/* The parameters one sample was augmented with. */
typedef struct {
    int box_x, box_y, box_w, box_h; /* rrc: the box of the input resized to the output;
                                       crop: the crop's top-left in the resized, padded image */
    NcInterp interp;
    int hflip, vflip;
    double angle;                           /* degrees, counter-clockwise as PIL's rotate */
    int njitter;                            /* how many of order[] apply */
    int order[4];                           /* NC_JIT_* in the order applied */
    double factor[4];                       /* per NC_JIT_*: brightness, contrast, saturation factors, hue shift */
    int erase_x, erase_y, erase_w, erase_h; /* erase_w == 0: nothing erased */
    uint64_t erase_seed;                    /* the normal values of rand / pixel erasing */
    int ra_n;                               /* RandAugment: how many ops were chosen */
    int ra_op[NC_RA_MAX_LAYERS];            /* each one's index in timm's list */
    int ra_on[NC_RA_MAX_LAYERS];            /* 0: its probability coin skipped it */
    double ra_arg[NC_RA_MAX_LAYERS];        /* the op's argument (degrees, bits, threshold, factor, ...) */
    int ra_filter[NC_RA_MAX_LAYERS];        /* NC_PIL_BILINEAR or NC_PIL_BICUBIC for geometric ops */
} NcAugDraws;

/* Draw a sample's parameters for an input of in_w x in_h. */
void nc_augment_draw(const NcAugment *a, int in_w, int in_h, NcAugRng *r, NcAugDraws *d);

/* torchvision RandomResizedCrop.get_params (its 10 tries, then the centre
 * crop) and timm RandomErasing's box (10 tries; w == 0 when none fitted) —
 * the draws before any probability coin. */
void nc_aug_rrc_box(int W, int H, const double scale[2], const double ratio[2], NcAugRng *r, int *x, int *y, int *w,
                    int *h);
void nc_aug_erase_box(int W, int H, NcAugRng *r, int *x, int *y, int *w, int *h);

/* Everything up to the uint8 picture (size, flips, rotation, colour) into
 * out_hwc (out_h x out_w x 3). */
int nc_augment_apply_u8(const NcAugment *a, const NcImage *img, const NcAugDraws *d, uint8_t *out_hwc, NcError *e);
/* Then ToTensor + Normalize + RandomErasing. */
void nc_augment_finish(const NcAugment *a, const uint8_t *hwc, const NcAugDraws *d, float *out_chw);

/* The single operations, on an HWC RGB picture (PIL's arithmetic). */
void nc_aug_rotate(const uint8_t *src, int w, int h, double angle, const uint8_t fill[3], uint8_t *dst);
void nc_aug_jitter(uint8_t *hwc, int w, int h, int op, double factor);

#endif
