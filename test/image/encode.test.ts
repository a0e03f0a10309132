import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvalidInputError, type RawImage } from '../../src/core/index.js';
import {
  decodeImage,
  encodeJpeg,
  encodePng,
  encodeWebp,
  probeImage,
  saveImage,
} from '../../src/image/index.js';
import { meanAbsDiff, pixel } from './fixtures.js';

/** A smooth 48×32 gradient with a flat block: easy on lossy codecs, every pixel known. */
function gradient(): RawImage {
  const width = 48;
  const height = 32;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = x * 5;
      data[o + 1] = y * 7;
      data[o + 2] = x < 16 && y < 16 ? 220 : 60;
    }
  }
  return { data, width, height, channels: 3 };
}

describe('image/encode: round trips', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facerec-encode-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const img = gradient();

  it('PNG is lossless', async () => {
    const back = await decodeImage(await encodePng(img));
    assert.deepEqual([back.width, back.height], [48, 32]);
    assert.deepEqual(back.data, img.data);
  });

  it('JPEG keeps size and approximate pixels; lower quality is smaller', async () => {
    const q90 = await encodeJpeg(img);
    const q30 = await encodeJpeg(img, 30);
    assert.equal((await probeImage(q90)).format, 'jpeg');
    assert.ok(q30.length < q90.length);
    const back = await decodeImage(q90);
    assert.deepEqual([back.width, back.height], [48, 32]);
    assert.ok(meanAbsDiff(back, img) < 4, `mean abs diff ${meanAbsDiff(back, img)}`);
  });

  it('WebP keeps size and approximate pixels', async () => {
    const back = await decodeImage(await encodeWebp(img, 95));
    assert.ok(meanAbsDiff(back, img) < 5);
  });

  it('gray and RGBA: PNG keeps the channels, JPEG flattens alpha onto white', async () => {
    const rgba: RawImage = {
      data: Uint8Array.from([10, 20, 30, 0, 10, 20, 30, 255]),
      width: 2,
      height: 1,
      channels: 4,
    };
    const info = await probeImage(await encodePng(rgba));
    assert.deepEqual([info.channels, info.hasAlpha], [4, true]);
    const jpg = await decodeImage(await encodeJpeg(rgba, 100));
    assert.ok(
      pixel(jpg, 0, 0).every((v) => v > 200),
      `transparent pixel becomes white: ${pixel(jpg, 0, 0)}`,
    );
    const gray: RawImage = { data: new Uint8Array(16).fill(90), width: 4, height: 4, channels: 1 };
    assert.equal((await probeImage(await encodePng(gray))).channels, 1);
  });

  it('saveImage picks the format from the extension', async () => {
    for (const [name, format] of [
      ['a.jpg', 'jpeg'],
      ['b.JPEG', 'jpeg'],
      ['c.png', 'png'],
      ['d.webp', 'webp'],
    ] as const) {
      const p = join(dir, name);
      await saveImage(img, p, { quality: 80 });
      const info = await probeImage(readFileSync(p));
      assert.deepEqual([info.format, info.width, info.height], [format, 48, 32], name);
    }
  });

  it('saveImage rejects unknown extensions before writing', async () => {
    for (const name of ['x.bmp', 'x.gif', 'noext']) {
      const p = join(dir, name);
      await assert.rejects(saveImage(img, p), (err: unknown) => {
        assert.ok(err instanceof InvalidInputError);
        assert.match(err.message, /unknown extension .* \(expected \.jpg, \.jpeg, \.png, \.webp\)/);
        assert.ok(err.message.includes(p));
        return true;
      });
    }
  });

  it('rejects bad quality and malformed images', async () => {
    await assert.rejects(encodeJpeg(img, 0), /Expected an integer from 1 to 100 for quality but received 0/);
    await assert.rejects(encodeJpeg(img, 101), /for quality/);
    await assert.rejects(
      encodePng({ data: new Uint8Array(3), width: 2, height: 1, channels: 3 }),
      /Expected a RawImage/,
    );
  });
});
