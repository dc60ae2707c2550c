/* transform.h — timm's eval transform, pixel-exact to PIL + torchvision.
 *
 * timm.data.create_transform(input_size=(3, H, W), crop_pct, interpolation,
 * mean, std) at eval (crop_mode "center") does:
 *   scale = (floor(H / crop_pct), floor(W / crop_pct))
 *   if scale[0] == scale[1]: torchvision Resize(scale[0]): the shorter side
 *       becomes scale[0], the longer int(scale[0] * long / short);
 *   else: timm's ResizeKeepRatio(scale): ratio = min(h / scale[0], w / scale[1]),
 *       size = (round(h / ratio), round(w / ratio)) (round half to even);
 *   (no resize when the size already matches)
 *   PIL Image.resize with BICUBIC or BILINEAR: separable, antialiased (the
 *       filter support grows with the downscale factor), coefficients in 22-bit
 *       fixed point, 8-bit rounding and clipping after each pass, the
 *       horizontal pass first unless the height shrinks more than twice as
 *       much as the width (Pillow 13's rule), exactly as Resample.c does;
 *   torchvision CenterCrop(H, W): top = int(round((h - H) / 2.0)), same for
 *       left (half to even); zero padding where the image is smaller;
 *   ToTensor (v / 255 in float32) and Normalize ((x - mean) / std in float32).
 * Only the pixels inside the crop are computed.
 */
#ifndef NETC_IMAGE_TRANSFORM_H
#define NETC_IMAGE_TRANSFORM_H

#include <stdint.h>

#include "runtime/support/base.h"
#include "runtime/image/decode.h"

typedef enum { NC_INTERP_BICUBIC = 0, NC_INTERP_BILINEAR = 1 } NcInterp;

typedef struct {
    int height, width; /* the model's input size (after the crop) */
    double crop_pct;   /* timm: 0 or less means 0.875 */
    NcInterp interp;   /* timm: "bicubic" or "bilinear" */
    float mean[3];     /* per channel, applied as (x/255 - mean) / std */
    float std[3];
} NcTransform;

/* timm's defaults at a given size: crop_pct 0.875, bicubic, ImageNet
 * mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225). */
NcTransform nc_transform_default(int height, int width);

/* Parse "bicubic" / "bilinear" (timm's names). Returns 0, or -1 with a message. */
int nc_interp_parse(const char *s, NcInterp *out, NcError *e);
const char *nc_interp_name(NcInterp i);

/* Check the parameters (sizes 1..65535, crop_pct in [0.05, 4] or 0 and less
 * for timm's 0.875, mean finite, std finite and at least 0.001 in magnitude). */
int nc_transform_check(const NcTransform *t, NcError *e);

/* The size an image of in_w x in_h is resized to before the crop. Fails
 * (as PIL does, with a MemoryError) when the resampling coefficients of a
 * dimension would exceed 2 GB: images of absurd aspect ratio. */
int nc_transform_resize_size(const NcTransform *t, int in_w, int in_h, int *out_w, int *out_h, NcError *e);

/* Resize + center crop of an RGB image to t->height x t->width x 3 bytes
 * (HWC), the uint8 picture torchvision's ToTensor would see. */
int nc_image_transform_u8(const NcImage *img, const NcTransform *t, uint8_t *out, NcError *e);

/* The whole transform: out is 3 x t->height x t->width float32 (CHW, one
 * image of an NCHW batch). */
int nc_image_transform(const NcImage *img, const NcTransform *t, float *out, NcError *e);

/* Just the last step: HWC uint8 (t->height x t->width x 3) to normalised CHW
 * float32, bit-exact to torchvision's ToTensor + Normalize. */
void nc_image_normalize(const uint8_t *hwc, const NcTransform *t, float *out);

/* PIL's Image.resize((RW, RH)) of img, but only the columns [x0, x1) and rows
 * [y0, y1) of the result, written to dst (HWC, dst_stride bytes a row): the
 * training augmentations (augment.h) resize crops with it. The sizes must have
 * passed nc_image_resize_check. */
void nc_image_resample_region(const NcImage *img, int RW, int RH, NcInterp interp, int x0, int x1, int y0, int y1,
                              uint8_t *dst, size_t dst_stride);

/* Whether PIL could resize in_w x in_h to w x h (sizes positive, coefficient
 * tables under 2 GB); -1 with a message otherwise. */
int nc_image_resize_check(int in_w, int in_h, int64_t w, int64_t h, NcInterp interp, NcError *e);

/* Tests only: 0 forces the portable resampling code instead of the AVX2 one
 * (the results are identical; this lets a test prove it). Not thread-safe. */
void nc_image_set_simd(int enabled);

#endif
