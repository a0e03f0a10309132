import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Box, InvalidInputError, type RawImage } from '../../src/core/index.js';
import { crop, flipHorizontal, resize, toRgb } from '../../src/image/index.js';
import { pixel, regionMean } from './fixtures.js';

/** A 6×4 image whose pixel (x, y) is [x + 1, y + 1, 100] (never zero, so padding shows). */
function coordImage(channels: 3 | 4 = 3): RawImage {
  const width = 6;
  const height = 4;
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      data[o] = x + 1;
      data[o + 1] = y + 1;
      data[o + 2] = 100;
      if (channels === 4) data[o + 3] = 255;
    }
  }
  return { data, width, height, channels };
}

/** The expected pixel of a crop at output (ox, oy): source pixel or zero padding. */
function expectedPixel(box: readonly number[], ox: number, oy: number): number[] {
  const sx = Math.round(box[0]!) + ox;
  const sy = Math.round(box[1]!) + oy;
  return sx >= 0 && sx < 6 && sy >= 0 && sy < 4 ? [sx + 1, sy + 1, 100] : [0, 0, 0];
}

describe('image/ops: crop with zero padding', () => {
  const cases: { name: string; box: Box; size: [number, number] }[] = [
    { name: 'inside', box: [1, 1, 4, 3], size: [3, 2] },
    { name: 'the whole image', box: [0, 0, 6, 4], size: [6, 4] },
    { name: 'partly outside left', box: [-2, 1, 2, 3], size: [4, 2] },
    { name: 'partly outside right', box: [4, 0, 9, 2], size: [5, 2] },
    { name: 'partly outside top', box: [1, -3, 3, 2], size: [2, 5] },
    { name: 'partly outside bottom', box: [2, 2, 5, 7], size: [3, 5] },
    { name: 'larger than the image on all sides', box: [-1, -1, 7, 5], size: [8, 6] },
    { name: 'fully outside', box: [10, 10, 13, 12], size: [3, 2] },
    { name: 'fully outside, negative', box: [-5, -5, -2, -1], size: [3, 4] },
    { name: 'one pixel', box: [5, 3, 6, 4], size: [1, 1] },
    { name: 'fractional coordinates round', box: [0.6, 0.4, 3.4, 2.5], size: [2, 3] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = crop(coordImage(), c.box);
      assert.deepEqual([out.width, out.height, out.channels], [...c.size, 3]);
      for (let y = 0; y < out.height; y++) {
        for (let x = 0; x < out.width; x++) {
          assert.deepEqual(pixel(out, x, y), expectedPixel(c.box, x, y), `output (${x}, ${y})`);
        }
      }
    });
  }

  it('keeps 4 channels, padding transparent', () => {
    const out = crop(coordImage(4), [-1, 0, 1, 1]);
    assert.deepEqual(pixel(out, 0, 0), [0, 0, 0, 0]);
    assert.deepEqual(pixel(out, 1, 0), [1, 1, 100, 255]);
  });

  const bad: { name: string; box: Box }[] = [
    { name: 'empty', box: [2, 2, 2, 3] },
    { name: 'inverted', box: [3, 1, 1, 2] },
    { name: 'empty after rounding', box: [1.1, 1, 1.4, 2] },
    { name: 'NaN', box: [0, 0, Number.NaN, 2] },
    { name: 'infinite', box: [0, 0, Number.POSITIVE_INFINITY, 2] },
  ];
  for (const c of bad) {
    it(`rejects a box that is ${c.name}`, () => {
      assert.throws(
        () => crop(coordImage(), c.box),
        (err: unknown) => {
          assert.ok(err instanceof InvalidInputError);
          assert.match(err.message, /^Expected a box \[x1, y1, x2, y2\].* for box but received \[/);
          return true;
        },
      );
    });
  }

  it('rejects a malformed image', () => {
    assert.throws(
      () => crop({ data: new Uint8Array(5), width: 2, height: 2, channels: 3 }, [0, 0, 1, 1]),
      /Expected a RawImage .* for image but received \{ width: 2, height: 2, channels: 3, data.length: 5 \}/,
    );
  });
});

describe('image/ops: toRgb', () => {
  it('replicates gray', () => {
    const out = toRgb({ data: Uint8Array.from([0, 90, 255, 7]), width: 2, height: 2, channels: 1 });
    assert.deepEqual(Array.from(out.data), [0, 0, 0, 90, 90, 90, 255, 255, 255, 7, 7, 7]);
  });

  it('flattens RGBA onto white', () => {
    const out = toRgb({
      data: Uint8Array.from([200, 10, 0, 255, 200, 10, 0, 0, 100, 100, 100, 128]),
      width: 3,
      height: 1,
      channels: 4,
    });
    const half = (c: number) => Math.round((c * 128 + 255 * 127) / 255);
    assert.deepEqual(Array.from(out.data), [200, 10, 0, 255, 255, 255, half(100), half(100), half(100)]);
  });

  it('returns RGB input as is', () => {
    const img = coordImage();
    assert.equal(toRgb(img), img);
  });
});

describe('image/ops: flipHorizontal', () => {
  for (const channels of [3, 4] as const) {
    it(`mirrors columns (${channels} channels) and twice is the identity`, () => {
      const img = coordImage(channels);
      const out = flipHorizontal(img);
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 6; x++) assert.deepEqual(pixel(out, x, y), pixel(img, 5 - x, y));
      }
      assert.deepEqual(flipHorizontal(out).data, img.data);
    });
  }
});

describe('image/ops: resize', () => {
  it('resizes to the exact size, keeping flat colours', async () => {
    const data = new Uint8Array(40 * 20 * 3);
    for (let i = 0; i < 40 * 20; i++) data.set(i % 40 < 20 ? [250, 0, 0] : [0, 0, 250], i * 3);
    const img: RawImage = { data, width: 40, height: 20, channels: 3 };
    for (const kernel of ['nearest', 'linear', 'cubic', 'lanczos3'] as const) {
      const out = await resize(img, 10, 7, { kernel });
      assert.deepEqual([out.width, out.height, out.channels], [10, 7, 3], kernel);
      assert.deepEqual(regionMean(out, 0, 0, 3, 7).map(Math.round), [250, 0, 0], `${kernel}: left stays red`);
      assert.deepEqual(
        regionMean(out, 7, 0, 3, 7).map(Math.round),
        [0, 0, 250],
        `${kernel}: right stays blue`,
      );
    }
  });

  it('enlarges gray images and rejects bad sizes', async () => {
    const out = await resize({ data: new Uint8Array(4).fill(77), width: 2, height: 2, channels: 1 }, 5, 3);
    assert.deepEqual([out.width, out.height, out.channels], [5, 3, 1]);
    assert.ok(out.data.every((v) => v === 77));
    await assert.rejects(resize(coordImage(), 0, 3), /Expected an integer ≥ 1 for width but received 0/);
    await assert.rejects(resize(coordImage(), 3, 2.5), /for height/);
  });
});
