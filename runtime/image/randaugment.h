/* randaugment.h — timm's RandAugment (timm.data.auto_augment.rand_augment_transform)
 * on the uint8 RGB picture, as the `rand-...` item of an --aug spec.
 *
 * Config as timm writes it: rand-m9-mstd0.5-inc1 = magnitude 9 of 10, noise
 * std 0.5, the "increasing" op set; n (layers, 2), mmax (magnitude cap, 10),
 * p (each op's probability, 0.5). Per sample: n ops chosen uniformly with
 * replacement from timm's 15 (AutoContrast, Equalize, Invert, Rotate,
 * Posterize, Solarize, SolarizeAdd, Color, Contrast, Brightness, Sharpness,
 * ShearX, ShearY, TranslateXRel, TranslateYRel; the Increasing variants with
 * inc1); each applied when its coin (random() <= p) says so, with magnitude
 * gauss(m, mstd) clipped to [0, mmax] (uniform(0, m) for mstd=inf), mapped
 * by timm's level functions (half of the signed ones negated); geometric ops
 * resample with bilinear or bicubic (picked per op when interp=random, as
 * timm's default) and fill with the mean colour (timm's img_mean:
 * round(255 mean)). The ops are PIL's (ImageOps, ImageEnhance,
 * Image.transform), byte for byte.
 *
 * One departure: Posterize to 0 bits (timm's level at magnitude < 2.5, or 10
 * with inc1) blacks the picture out (a 0-bit mask); Pillow 13 refuses 0 bits
 * with ValueError, so timm raises there.
 */
#ifndef NETC_IMAGE_RANDAUGMENT_H
#define NETC_IMAGE_RANDAUGMENT_H

#include "runtime/image/augment.h"

typedef struct {
    int on, n, inc;
    double m, mstd, mmax, p;
} NcRandAug;

#define NC_RA_NOPS 15

/* Parse one "rand-..." item; -1 with a message naming it. */
int nc_randaug_parse(const char *item, NcRandAug *ra, NcError *e);

/* timm's name of op i (NC_RA_NOPS of them) in the set chosen by inc. */
const char *nc_randaug_op_name(int op, int inc);

/* Draw the ops of one sample into d->ra_*. interp: NcInterp, or 2 for random. */
void nc_randaug_draw(const NcRandAug *ra, int interp, NcAugRng *r, NcAugDraws *d);

/* One op with its argument (tests drive the ops one at a time with it). */
void nc_randaug_op(int op, int inc, double arg, int filter, const uint8_t fill[3], uint8_t *hwc, int w, int h);

/* The drawn ops, in order, on an HWC picture. */
void nc_randaug_apply(const NcRandAug *ra, const NcAugDraws *d, const uint8_t fill[3], uint8_t *hwc, int w, int h);

#endif
