import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alignFace, chipTransform, mirrorCHW, writeAlignedCHW } from '../../src/align/chip.js';
import { boxTemplate, dlibTemplate } from '../../src/align/templates.js';
import { InvalidInputError, type Landmarks5, type RawImage } from '../../src/core/index.js';
import { type AffineMatrix, applyAffine, invertAffine } from '../../src/image/warp.js';

const COLORS = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [255, 255, 0],
  [0, 255, 255],
] as const;

/**
 * A synthetic photo: a gray background with a coloured disc (radius `r` chip pixels) around
 * each template point, seen through the chip → image similarity `chipToImage`. Returns the
 * photo and the landmarks (the template points mapped into it).
 */
function syntheticFace(
  chipToImage: AffineMatrix,
  points: Landmarks5,
  width: number,
  height: number,
  r = 5,
): { img: RawImage; landmarks: Landmarks5 } {
  const toChip = invertAffine(chipToImage);
  const data = new Uint8Array(width * height * 3).fill(90);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [u, v] = applyAffine(toChip, x, y);
      points.forEach((p, i) => {
        if (Math.hypot(u - p[0], v - p[1]) <= r) data.set(COLORS[i]!, (y * width + x) * 3);
      });
    }
  }
  const landmarks = points.map(([u, v]) => applyAffine(chipToImage, u, v)) as unknown as Landmarks5;
  return { img: { data, width, height, channels: 3 }, landmarks };
}

/** Centroid of the chip pixels close to `color`. */
function centroid(chip: RawImage, color: readonly number[]): [number, number, number] {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < chip.height; y++) {
    for (let x = 0; x < chip.width; x++) {
      const o = (y * chip.width + x) * 3;
      const d =
        Math.abs(chip.data[o]! - color[0]!) +
        Math.abs(chip.data[o + 1]! - color[1]!) +
        Math.abs(chip.data[o + 2]! - color[2]!);
      if (d < 60) {
        sx += x;
        sy += y;
        n++;
      }
    }
  }
  return [sx / n, sy / n, n];
}

describe('align/chip: alignFace', () => {
  const poses: { name: string; s: number; deg: number; tx: number; ty: number }[] = [
    { name: 'upright, smaller than the chip', s: 0.6, deg: 0, tx: 120, ty: 80 },
    { name: 'tilted 25°, larger than the chip', s: 1.8, deg: 25, tx: 140, ty: 20 },
    { name: 'tilted −40°', s: 1.2, deg: -40, tx: 60, ty: 150 },
  ];
  const template = dlibTemplate();
  for (const pose of poses) {
    it(`puts each landmark on its template point (${pose.name})`, () => {
      const t = (pose.deg * Math.PI) / 180;
      const c = Math.cos(t) * pose.s;
      const s = Math.sin(t) * pose.s;
      const chipToImage: AffineMatrix = [c, -s, pose.tx, s, c, pose.ty];
      const { img, landmarks } = syntheticFace(chipToImage, template.points, 400, 400);
      const aligned = alignFace(img, { landmarks }, template);
      assert.equal(aligned.template, 'dlib5-150-p0.25');
      assert.equal(aligned.chip.width, 150);
      assert.equal(aligned.chip.height, 150);
      aligned.chipToImage.forEach((v, i) => {
        assert.ok(Math.abs(v - chipToImage[i]!) < 1e-9, `entry ${i}`);
      });
      template.points.forEach((p, i) => {
        const [cx, cy, count] = centroid(aligned.chip, COLORS[i]!);
        assert.ok(count > 10, `disc ${i} visible`);
        // the discs are drawn without anti-aliasing: allow for the photo's pixel grid (1 / scale chip pixels)
        const tolerance = 0.2 + 0.35 / pose.s;
        assert.ok(
          Math.hypot(cx - p[0], cy - p[1]) < tolerance,
          `disc ${i} at ${cx},${cy}, template ${p[0]},${p[1]}`,
        );
        const [u, v] = applyAffine(aligned.imageToChip, landmarks[i]![0], landmarks[i]![1]);
        assert.ok(Math.hypot(u - p[0], v - p[1]) < 1e-9);
      });
    });
  }

  it('accepts bare landmarks and rejects degenerate ones', () => {
    const { img, landmarks } = syntheticFace([1, 0, 10, 0, 1, 10], template.points, 200, 200);
    assert.equal(alignFace(img, landmarks, template).chip.width, 150);
    const same = [
      landmarks[0],
      landmarks[0],
      landmarks[0],
      landmarks[0],
      landmarks[0],
    ] as unknown as Landmarks5;
    assert.throws(
      () => alignFace(img, same, template),
      (err: unknown) =>
        err instanceof InvalidInputError &&
        /Cannot align the face to dlib5-150-p0\.25 .*coincide/.test(err.message),
    );
  });
});

describe('align/chip: box crops', () => {
  it('squares the box around its centre with the margin, no rotation', () => {
    const t = chipTransform(
      { landmarks: dlibTemplate().points, box: [10, 20, 50, 80] },
      boxTemplate(150, 0.2),
    );
    // side = max(40, 60) · 1.2 = 72, centre (30, 50): chip edges −½ and 149.5 map to 30 ∓ 36, 50 ∓ 36
    const [x0, y0] = applyAffine(t.chipToImage, -0.5, -0.5);
    const [x1, y1] = applyAffine(t.chipToImage, 149.5, 149.5);
    assert.ok(Math.abs(x0 + 6) < 1e-9 && Math.abs(y0 - 14) < 1e-9);
    assert.ok(Math.abs(x1 - 66) < 1e-9 && Math.abs(y1 - 86) < 1e-9);
    assert.equal(t.chipToImage[1], 0);
    assert.equal(t.chipToImage[3], 0);
    assert.equal(t.template, 'box-150-m0.20');
  });

  it('needs a valid box', () => {
    const lm = dlibTemplate().points;
    assert.throws(() => chipTransform(lm, boxTemplate()), InvalidInputError);
    assert.throws(
      () => chipTransform({ landmarks: lm, box: [10, 10, 5, 20] }, boxTemplate()),
      InvalidInputError,
    );
  });
});

describe('align/chip: writeAlignedCHW', () => {
  it('writes the same chip as alignFace into its batch slot, mirrored on request', () => {
    const template = dlibTemplate();
    const { img, landmarks } = syntheticFace([0.9, -0.2, 40, 0.2, 0.9, 30], template.points, 260, 260);
    const plane = 150 * 150;
    const batch = new Float32Array(3 * 3 * plane).fill(-1);
    const aligned = alignFace(img, landmarks, template);
    writeAlignedCHW(img, { landmarks }, template, batch, 1);
    writeAlignedCHW(img, { landmarks }, template, batch, 2, { mirror: true });
    for (let i = 0; i < 3 * plane; i++) assert.equal(batch[i], -1, 'slot 0 untouched');
    let maxDiff = 0;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 150; y++) {
        for (let x = 0; x < 150; x++) {
          const v = aligned.chip.data[(y * 150 + x) * 3 + c]!;
          maxDiff = Math.max(maxDiff, Math.abs(batch[3 * plane + c * plane + y * 150 + x]! - v));
          const mirrored = batch[6 * plane + c * plane + y * 150 + (149 - x)]!;
          assert.ok(Math.abs(mirrored - batch[3 * plane + c * plane + y * 150 + x]!) < 1e-4);
        }
      }
    }
    assert.ok(maxDiff <= 0.5 + 1e-4, `max difference ${maxDiff}`);
  });

  it('mirrorCHW copies a slot flipped left–right, equal to the mirrored warp within float rounding', () => {
    const template = dlibTemplate();
    const { img, landmarks } = syntheticFace([0.9, -0.2, 40, 0.2, 0.9, 30], template.points, 260, 260);
    const plane = 150 * 150;
    const batch = new Float32Array(3 * 3 * plane).fill(-1);
    writeAlignedCHW(img, { landmarks }, template, batch, 0);
    writeAlignedCHW(img, { landmarks }, template, batch, 1, { mirror: true });
    mirrorCHW(batch, 0, 2, 150);
    let maxDiff = 0;
    for (let i = 0; i < 3 * plane; i++) {
      const row = Math.floor(i / 150);
      const x = i % 150;
      // Exactly the reversed row of slot 0.
      assert.equal(batch[2 * 3 * plane + i], batch[row * 150 + 149 - x]);
      maxDiff = Math.max(maxDiff, Math.abs(batch[2 * 3 * plane + i]! - batch[3 * plane + i]!));
    }
    assert.ok(maxDiff < 1e-4, `against the mirrored warp: ${maxDiff}`);
    // A 2×2 chip, by hand: rows [1, 2], [3, 4] in each plane.
    const tiny = new Float32Array([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    mirrorCHW(tiny, 0, 1, 2);
    assert.deepEqual([...tiny.subarray(12)], [2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11]);
    for (const [from, to] of [
      [0, 0],
      [-1, 1],
      [0, 2],
      [0.5, 1],
    ] as const) {
      assert.throws(() => mirrorCHW(tiny, from, to, 2), InvalidInputError, `${from} → ${to}`);
    }
  });

  it('rejects a negative or fractional index', () => {
    const template = dlibTemplate();
    const img: RawImage = { data: new Uint8Array(10 * 10 * 3), width: 10, height: 10, channels: 3 };
    const batch = new Float32Array(3 * 150 * 150);
    assert.throws(() => writeAlignedCHW(img, template.points, template, batch, -1), InvalidInputError);
    assert.throws(() => writeAlignedCHW(img, template.points, template, batch, 0.5), InvalidInputError);
    assert.throws(() => writeAlignedCHW(img, template.points, template, batch, 1), InvalidInputError);
  });
});
