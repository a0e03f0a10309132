/**
 * EXIF-oriented variants of an upright image, for orientation tests: for each tag k in 1–8 the
 * stored pixels are arranged so that a viewer applying tag k shows the upright image.
 */
import sharp from 'sharp';
import type { RawImage } from '../../src/core/index.js';

/** Where stored pixel (sx, sy) of a `sw × sh` image is displayed under EXIF orientation k. */
export function displayedAt(k: number, sx: number, sy: number, sw: number, sh: number): [number, number] {
  switch (k) {
    case 1:
      return [sx, sy];
    case 2:
      return [sw - 1 - sx, sy];
    case 3:
      return [sw - 1 - sx, sh - 1 - sy];
    case 4:
      return [sx, sh - 1 - sy];
    case 5:
      return [sy, sx];
    case 6:
      return [sh - 1 - sy, sx];
    case 7:
      return [sh - 1 - sy, sw - 1 - sx];
    default:
      return [sy, sw - 1 - sx];
  }
}

/** The stored RGB pixels that orientation `k` displays as `upright`. */
export function storedFor(upright: RawImage, k: number): RawImage {
  const swap = k >= 5;
  const sw = swap ? upright.height : upright.width;
  const sh = swap ? upright.width : upright.height;
  const data = new Uint8Array(sw * sh * 3);
  for (let sy = 0; sy < sh; sy++) {
    for (let sx = 0; sx < sw; sx++) {
      const [ux, uy] = displayedAt(k, sx, sy, sw, sh);
      const src = (uy * upright.width + ux) * 3;
      data.set(upright.data.subarray(src, src + 3), (sy * sw + sx) * 3);
    }
  }
  return { data, width: sw, height: sh, channels: 3 };
}

/** A JPEG tagged with EXIF orientation `k` that displays as `upright`. */
export async function orientedJpeg(upright: RawImage, k: number, quality = 95): Promise<Buffer> {
  const s = storedFor(upright, k);
  return sharp(s.data, { raw: { width: s.width, height: s.height, channels: 3 } })
    .jpeg({ quality })
    .withMetadata({ orientation: k })
    .toBuffer();
}
