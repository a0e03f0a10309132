/**
 * Photos of distinct people for enrollment and identification tests, cut from the demo photos
 * shipped in @vladmandic/face-api (always installed): LFW-style crops around each face, a little
 * shifted and scaled per variant, so that two variants are two "photos" of one person.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RawImage } from '../../src/core/index.js';
import { crop, decodeImage, resize, saveImage } from '../../src/image/index.js';
import { demoPhoto } from '../helpers.js';
import { FACE_BOXES } from '../support/faces.js';

/** Decoded demo photos, shared by the helpers of one test file. */
export class DemoPhotos {
  readonly #photos = new Map<number, Promise<RawImage>>();

  /** The whole demo photo `n` (a group photo). */
  photo(n: 1 | 2 | 3 | 4 | 5 | 6): Promise<RawImage> {
    let p = this.#photos.get(n);
    if (!p) {
      p = decodeImage(demoPhoto(n));
      this.#photos.set(n, p);
    }
    return p;
  }

  /**
   * Variant `v` (0, 1, 2, …) of person `i`'s face (`FACE_BOXES[i]`, one person each): a square
   * crop of 2.2–2.6 × the face box, shifted a few pixels per variant, resized to `size` px. The
   * detector finds the face in the crops of faces 0–3 and 5–7 (face 4's are too tight).
   */
  async face(i: number, v: number, size = 160): Promise<RawImage> {
    const { photo, box } = FACE_BOXES[i]!;
    const img = await this.photo(photo);
    const [x1, y1, x2, y2] = box;
    const side = Math.max(x2 - x1, y2 - y1) * (2.2 + 0.1 * (v % 5));
    const cx = (x1 + x2) / 2 + ((v % 3) - 1) * 5;
    const cy = (y1 + y2) / 2 - ((v % 4) - 1.5) * 3;
    return resize(crop(img, [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]), size, size);
  }

  /** Write variant `v` of person `i` as a JPEG at `path` (folders created). */
  async writeFace(path: string, i: number, v: number): Promise<string> {
    await mkdir(join(path, '..'), { recursive: true });
    await saveImage(await this.face(i, v), path);
    return path;
  }
}

/** A plain grey picture with no face. */
export function blankImage(width = 120, height = 90): RawImage {
  return { data: new Uint8Array(width * height * 3).fill(128), width, height, channels: 3 };
}
