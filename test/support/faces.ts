/**
 * Real face crops and photo regions for model tests, cut with sharp from the demo photos shipped
 * in @vladmandic/face-api (always installed).
 */
import sharp from 'sharp';
import { demoPhoto } from '../helpers.js';

/** An 8-bit RGB image, pixels interleaved (NHWC for one image). */
export interface Rgb {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * Approximate face boxes `[x1, y1, x2, y2]` in the demo photos (rounded from the seed detector's
 * output in ../shared/reference/seed-mtcnn/demo-photos.jsonl). They only choose where to cut real
 * faces; no test compares against them.
 */
export const FACE_BOXES: readonly {
  photo: 1 | 2 | 3 | 4 | 5 | 6;
  box: readonly [number, number, number, number];
}[] = [
  { photo: 1, box: [404, 354, 597, 598] },
  { photo: 1, box: [827, 422, 1038, 660] },
  { photo: 1, box: [1477, 212, 1684, 443] },
  { photo: 2, box: [1441, 169, 1634, 394] },
  { photo: 2, box: [300, 136, 533, 447] },
  { photo: 3, box: [584, 325, 795, 598] },
  { photo: 4, box: [979, 188, 1157, 414] },
  { photo: 5, box: [595, 422, 769, 662] },
];

/** Decode a demo photo to raw RGB (no colour-profile conversion). */
export async function decodePhoto(n: 1 | 2 | 3 | 4 | 5 | 6): Promise<Rgb> {
  const { data, info } = await sharp(demoPhoto(n), { failOn: 'none' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}

/** Cut `left, top, width, height` from an RGB image and resize it to `outW`×`outH` (bilinear). */
export async function cut(
  img: Rgb,
  region: { left: number; top: number; width: number; height: number },
  outW: number,
  outH: number,
): Promise<Rgb> {
  const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract(region)
    .resize(outW, outH, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return { data: new Uint8Array(buf.buffer, buf.byteOffset, buf.length), width: outW, height: outH };
}

/**
 * The first `count` faces of {@link FACE_BOXES}, each cut as the square around its box (side =
 * the longer box side, clipped to the photo) and resized to `size`×`size`, concatenated NHWC.
 */
export async function faceCrops(size: number, count: number = FACE_BOXES.length): Promise<Uint8Array> {
  const photos = new Map<number, Rgb>();
  const out = new Uint8Array(count * size * size * 3);
  for (let i = 0; i < count; i++) {
    const { photo, box } = FACE_BOXES[i % FACE_BOXES.length]!;
    let img = photos.get(photo);
    if (!img) {
      img = await decodePhoto(photo);
      photos.set(photo, img);
    }
    const side = Math.min(Math.max(box[2] - box[0], box[3] - box[1]), img.width, img.height);
    const left = clamp(Math.round((box[0] + box[2] - side) / 2), 0, img.width - side);
    const top = clamp(Math.round((box[1] + box[3] - side) / 2), 0, img.height - side);
    const crop = await cut(img, { left, top, width: side, height: side }, size, size);
    out.set(crop.data, i * size * size * 3);
  }
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
