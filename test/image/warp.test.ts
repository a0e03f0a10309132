import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError, type RawImage } from '../../src/core/index.js';
import {
  type AffineMatrix,
  applyAffine,
  composeAffine,
  IDENTITY_AFFINE,
  invertAffine,
  mirrorHorizontally,
  warpAffine,
  warpAffineToCHW,
} from '../../src/image/warp.js';

/** Deterministic pseudo-random bytes (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomImage(width: number, height: number, channels: 1 | 3 | 4, seed = 1): RawImage {
  const r = rng(seed);
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * 256);
  return { data, width, height, channels };
}

/** Pixel value of `img` at integer (x, y), channel k, or 0 outside. */
function px(img: RawImage, x: number, y: number, k: number): number {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return 0;
  return img.data[(y * img.width + x) * img.channels + k]!;
}

describe('image/warp: warpAffine', () => {
  for (const channels of [1, 3, 4] as const) {
    it(`identity copies exactly (${channels} channel${channels > 1 ? 's' : ''})`, () => {
      const img = randomImage(7, 5, channels, channels);
      const out = warpAffine(img, IDENTITY_AFFINE, 7, 5);
      assert.equal(out.channels, channels);
      assert.deepEqual(out.data, img.data);
    });
  }

  const translations: { name: string; dx: number; dy: number }[] = [
    { name: 'right 2, down 1', dx: 2, dy: 1 },
    { name: 'left 3', dx: -3, dy: 0 },
    { name: 'up 2', dx: 0, dy: -2 },
  ];
  for (const t of translations) {
    it(`translation by whole pixels: ${t.name}`, () => {
      const img = randomImage(9, 6, 3, 7);
      // destination (x, y) samples source (x + dx, y + dy)
      const out = warpAffine(img, [1, 0, t.dx, 0, 1, t.dy], 9, 6);
      for (let y = 0; y < 6; y++) {
        for (let x = 0; x < 9; x++) {
          for (let k = 0; k < 3; k++) {
            assert.equal(px(out, x, y, k), px(img, x + t.dx, y + t.dy, k), `pixel ${x},${y},${k}`);
          }
        }
      }
    });
  }

  it('90° rotation (clockwise) matches a pixel-by-pixel rotation', () => {
    const img = randomImage(6, 4, 3, 3);
    // destination is 4 wide, 6 high; dst(x, y) = src(y, H − 1 − x)
    const m: AffineMatrix = [0, 1, 0, -1, 0, img.height - 1];
    const out = warpAffine(img, m, img.height, img.width);
    for (let y = 0; y < img.width; y++) {
      for (let x = 0; x < img.height; x++) {
        for (let k = 0; k < 3; k++) {
          assert.equal(px(out, x, y, k), px(img, y, img.height - 1 - x, k));
        }
      }
    }
    // the top-left source pixel ends at the top-right
    assert.equal(px(out, img.height - 1, 0, 0), px(img, 0, 0, 0));
  });

  it('a half-pixel shift averages horizontal neighbours', () => {
    const img = randomImage(8, 3, 3, 11);
    const out = warpAffine(img, [1, 0, 0.5, 0, 1, 0], 7, 3);
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 7; x++) {
        for (let k = 0; k < 3; k++) {
          const expected = Math.round((px(img, x, y, k) + px(img, x + 1, y, k)) / 2);
          assert.equal(px(out, x, y, k), expected);
        }
      }
    }
  });

  it('a half-pixel shift in both axes averages four neighbours', () => {
    const img: RawImage = { data: Uint8Array.from([0, 100, 40, 200]), width: 2, height: 2, channels: 1 };
    const out = warpAffine(img, [1, 0, 0.5, 0, 1, 0.5], 1, 1);
    assert.equal(out.data[0], 85);
  });

  it('samples outside the image are 0; the border blends with 0', () => {
    const img: RawImage = { data: new Uint8Array(4 * 4 * 3).fill(200), width: 4, height: 4, channels: 3 };
    const far = warpAffine(img, [1, 0, 100, 0, 1, -50], 5, 5);
    assert.ok(far.data.every((v) => v === 0));
    // destination column 0 samples x = −0.5: half the weight is outside
    const edge = warpAffine(img, [1, 0, -0.5, 0, 1, 0], 2, 1);
    assert.equal(edge.data[0], 100);
    assert.equal(edge.data[3], 200);
    // exactly one pixel outside is 0
    const one = warpAffine(img, [1, 0, -1, 0, 1, 0], 1, 1);
    assert.equal(one.data[0], 0);
  });

  it('writes into a caller buffer and rejects a wrong-sized one', () => {
    const img = randomImage(4, 4, 3);
    const buf = new Uint8Array(4 * 4 * 3);
    const out = warpAffine(img, IDENTITY_AFFINE, 4, 4, buf);
    assert.equal(out.data, buf);
    assert.throws(() => warpAffine(img, IDENTITY_AFFINE, 4, 4, new Uint8Array(10)), InvalidInputError);
  });

  const bad: { name: string; run: () => unknown }[] = [
    {
      name: 'NaN in the matrix',
      run: () => warpAffine(randomImage(2, 2, 3), [1, 0, Number.NaN, 0, 1, 0], 2, 2),
    },
    { name: 'zero width', run: () => warpAffine(randomImage(2, 2, 3), IDENTITY_AFFINE, 0, 2) },
    { name: 'fractional height', run: () => warpAffine(randomImage(2, 2, 3), IDENTITY_AFFINE, 2, 1.5) },
    {
      name: 'data length not width × height × channels',
      run: () =>
        warpAffine({ data: new Uint8Array(5), width: 2, height: 2, channels: 3 }, IDENTITY_AFFINE, 2, 2),
    },
  ];
  for (const b of bad) {
    it(`rejects ${b.name}`, () => {
      assert.throws(
        b.run,
        (err: unknown) => err instanceof InvalidInputError && err.code === 'INVALID_INPUT',
      );
    });
  }
});

describe('image/warp: matrices', () => {
  it('invertAffine and composeAffine round-trip', () => {
    const m: AffineMatrix = [1.2, -0.4, 13, 0.3, 0.9, -7];
    const id = composeAffine(invertAffine(m), m);
    const expected = [1, 0, 0, 0, 1, 0];
    id.forEach((v, i) => {
      assert.ok(Math.abs(v - expected[i]!) < 1e-12, `entry ${i}: ${v}`);
    });
    const [x, y] = applyAffine(m, 5, -2);
    const [bx, by] = applyAffine(invertAffine(m), x, y);
    assert.ok(Math.abs(bx - 5) < 1e-12 && Math.abs(by + 2) < 1e-12);
  });

  it('composeAffine applies the inner matrix first', () => {
    const shift: AffineMatrix = [1, 0, 10, 0, 1, 0];
    const double: AffineMatrix = [2, 0, 0, 0, 2, 0];
    assert.deepEqual(applyAffine(composeAffine(double, shift), 1, 1), [22, 2]);
    assert.deepEqual(applyAffine(composeAffine(shift, double), 1, 1), [12, 2]);
  });

  it('invertAffine rejects a singular matrix', () => {
    assert.throws(() => invertAffine([1, 2, 0, 2, 4, 0]), InvalidInputError);
  });

  it('mirrorHorizontally flips the warped result left–right', () => {
    const img = randomImage(10, 8, 3, 5);
    const m: AffineMatrix = [0.8, 0.3, 1.5, -0.3, 0.8, 2.25];
    const a = warpAffine(img, m, 6, 5);
    const b = warpAffine(img, mirrorHorizontally(m, 6), 6, 5);
    for (let y = 0; y < 5; y++) {
      for (let x = 0; x < 6; x++) {
        for (let k = 0; k < 3; k++) assert.equal(px(b, x, y, k), px(a, 5 - x, y, k));
      }
    }
  });
});

describe('image/warp: warpAffineToCHW', () => {
  it('writes planar RGB floats into its batch slot and leaves the rest alone', () => {
    const img = randomImage(6, 6, 3, 9);
    const size = 4;
    const plane = size * size;
    const batch = new Float32Array(2 * 3 * plane).fill(-1);
    const m: AffineMatrix = [1, 0, 1, 0, 1, 2];
    warpAffineToCHW(img, m, size, batch, 3 * plane);
    for (let i = 0; i < 3 * plane; i++) assert.equal(batch[i], -1);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          assert.equal(batch[3 * plane + c * plane + y * size + x], px(img, x + 1, y + 2, c));
        }
      }
    }
  });

  it('keeps fractions (no rounding) and agrees with warpAffine within ½', () => {
    const img = randomImage(12, 12, 3, 21);
    const m: AffineMatrix = [0.7, -0.2, 2.3, 0.2, 0.7, 1.1];
    const chip = warpAffine(img, m, 8, 8);
    const buf = new Float32Array(3 * 64);
    warpAffineToCHW(img, m, 8, buf, 0);
    let fractional = 0;
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        for (let c = 0; c < 3; c++) {
          const f = buf[c * 64 + y * 8 + x]!;
          if (f !== Math.round(f)) fractional++;
          assert.ok(
            Math.abs(f - px(chip, x, y, c)) <= 0.5 + 1e-4,
            `${x},${y},${c}: ${f} vs ${px(chip, x, y, c)}`,
          );
        }
      }
    }
    assert.ok(fractional > 0);
  });

  it('mirror: true writes the left–right flip', () => {
    const img = randomImage(9, 9, 3, 4);
    const m: AffineMatrix = [0.9, 0.1, 0.4, -0.1, 0.9, 0.7];
    const a = new Float32Array(3 * 49);
    const b = new Float32Array(3 * 49);
    warpAffineToCHW(img, m, 7, a, 0);
    warpAffineToCHW(img, m, 7, b, 0, { mirror: true });
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 7; y++) {
        for (let x = 0; x < 7; x++)
          assert.ok(Math.abs(b[c * 49 + y * 7 + x]! - a[c * 49 + y * 7 + (6 - x)]!) < 1e-4);
      }
    }
  });

  it('a gray image fills all three planes; RGBA drops alpha', () => {
    const gray = randomImage(3, 3, 1, 2);
    const buf = new Float32Array(27);
    warpAffineToCHW(gray, IDENTITY_AFFINE, 3, buf, 0);
    for (let i = 0; i < 9; i++) {
      assert.equal(buf[i], gray.data[i]);
      assert.equal(buf[9 + i], gray.data[i]);
      assert.equal(buf[18 + i], gray.data[i]);
    }
    const rgba = randomImage(3, 3, 4, 3);
    warpAffineToCHW(rgba, IDENTITY_AFFINE, 3, buf, 0);
    for (let i = 0; i < 9; i++) assert.equal(buf[18 + i], rgba.data[i * 4 + 2]);
  });

  it('rejects a slot that does not fit', () => {
    const img = randomImage(3, 3, 3);
    assert.throws(() => warpAffineToCHW(img, IDENTITY_AFFINE, 3, new Float32Array(27), 1), InvalidInputError);
    assert.throws(() => warpAffineToCHW(img, IDENTITY_AFFINE, 3, new Float32Array(26), 0), InvalidInputError);
  });
});
