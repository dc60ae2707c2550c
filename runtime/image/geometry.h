/* geometry.h — PIL's Image.rotate and Image.transform(AFFINE) on an RGB
 * picture (HWC, 3 bytes a pixel), output the size of the input, pixels that
 * map outside it taking the fill colour (PIL's fillcolor).
 *
 * Each output pixel's centre (x + 0.5, y + 0.5) is mapped through the
 * inverse matrix m (PIL's `data`: x_in = m0 x + m1 y + m2, y_in = m3 x + m4 y
 * + m5). Nearest: Pillow's 16.16 fixed-point walk, the source pixel by
 * flooring. Bilinear: the 2x2 neighbours about (x_in - 0.5, y_in - 0.5), edges
 * clamped, truncated to 8 bits. Bicubic: the 4x4 neighbours with PIL's cubic
 * (a = -1), edges clamped, clipped and truncated. A centre outside the input
 * takes the fill. Rotation: angle % 360; 0 a copy, 180 and (square pictures)
 * 90 / 270 exact transposes, otherwise the inverse rotation about (w/2, h/2)
 * with its coefficients rounded to 15 decimals, as Image.rotate does.
 */
#ifndef NETC_IMAGE_GEOMETRY_H
#define NETC_IMAGE_GEOMETRY_H

#include <stdint.h>

enum { NC_PIL_NEAREST, NC_PIL_BILINEAR, NC_PIL_BICUBIC };

void nc_pil_rotate(const uint8_t *src, int w, int h, double angle, int filter, const uint8_t fill[3], uint8_t *dst);
void nc_pil_affine(const uint8_t *src, int w, int h, const double m[6], int filter, const uint8_t fill[3],
                   uint8_t *dst);

#endif
