import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { InvalidInputError, type RawImage } from '../../src/core/index.js';
import { decodeImage, decodeImageWithInfo, probeImage } from '../../src/image/index.js';
import { demoPhoto } from '../helpers.js';
import { displayedAt } from '../support/orient.js';
import {
  colorDistance,
  hugeGifHeader,
  hugePngHeader,
  makePng,
  meanAbsDiff,
  pixel,
  regionMean,
} from './fixtures.js';

/**
 * Four quadrant colours of moderate saturation. A round trip through the generic CMYK (print)
 * profile still moves them by up to ~33 levels (gamut and ink limits), hence the CMYK tolerance;
 * a wrong conversion (inverted Adobe CMYK, naive 1 − C) is off by 100 or more.
 */
const QUADRANTS = [
  [200, 80, 70],
  [70, 160, 90],
  [60, 90, 180],
  [210, 190, 90],
] as const;

const W = 64;
const H = 48;

/** A 64×48 RGB image: four flat quadrants (TL, TR, BL, BR). */
function quadrantImage(): RawImage {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const q = QUADRANTS[(y < H / 2 ? 0 : 2) + (x < W / 2 ? 0 : 1)]!;
      data.set(q, (y * W + x) * 3);
    }
  }
  return { data, width: W, height: H, channels: 3 };
}

function fromRaw(img: RawImage): Sharp {
  return sharp(Buffer.from(img.data), {
    raw: { width: img.width, height: img.height, channels: img.channels },
  });
}

/** The mean colour of the centre 8×8 of each quadrant, compared with QUADRANTS. */
function assertQuadrants(img: RawImage, tolerance: number, label: string): void {
  assert.equal(img.channels, 3, `${label}: channels`);
  assert.equal(img.width, W, `${label}: width`);
  assert.equal(img.height, H, `${label}: height`);
  const centres = [
    [W / 4, H / 4],
    [(3 * W) / 4, H / 4],
    [W / 4, (3 * H) / 4],
    [(3 * W) / 4, (3 * H) / 4],
  ];
  centres.forEach(([cx, cy], i) => {
    const mean = regionMean(img, cx! - 4, cy! - 4, 8, 8);
    const d = colorDistance(mean, QUADRANTS[i]!);
    assert.ok(
      d <= tolerance,
      `${label}: quadrant ${i} mean ${mean.map(Math.round)} vs ${QUADRANTS[i]} (Δ ${d})`,
    );
  });
}

/** The quadrant image as 16-bit samples for makePng (value × 257 maps 0–255 onto 0–65535). */
function quadrantSamples16(withAlpha: boolean): number[] {
  const rgb = quadrantImage().data;
  const out: number[] = [];
  for (let i = 0; i < W * H; i++) {
    out.push(rgb[i * 3]! * 257, rgb[i * 3 + 1]! * 257, rgb[i * 3 + 2]! * 257);
    if (withAlpha) out.push(65535);
  }
  return out;
}

describe('image/decode: formats normalized to 8-bit RGB', () => {
  const base = quadrantImage();
  const cases: { name: string; make: () => Promise<Buffer>; tolerance: number; space?: string }[] = [
    { name: 'JPEG', make: () => fromRaw(base).jpeg({ quality: 90 }).toBuffer(), tolerance: 6 },
    { name: 'PNG 8-bit RGB', make: () => fromRaw(base).png().toBuffer(), tolerance: 0 },
    {
      name: 'PNG 16-bit RGB',
      make: async () =>
        makePng({ width: W, height: H, bitDepth: 16, colorType: 2, samples: quadrantSamples16(false) }),
      tolerance: 1,
      space: 'rgb16',
    },
    {
      name: 'PNG 16-bit RGBA (opaque)',
      make: async () =>
        makePng({ width: W, height: H, bitDepth: 16, colorType: 6, samples: quadrantSamples16(true) }),
      tolerance: 1,
      space: 'rgb16',
    },
    {
      name: 'PNG palette',
      make: async () =>
        makePng({
          width: W,
          height: H,
          bitDepth: 8,
          colorType: 3,
          palette: QUADRANTS,
          samples: Array.from({ length: W * H }, (_, i) => {
            const x = i % W;
            const y = Math.floor(i / W);
            return (y < H / 2 ? 0 : 2) + (x < W / 2 ? 0 : 1);
          }),
        }),
      tolerance: 0,
    },
    {
      name: 'CMYK JPEG (no profile)',
      make: () => fromRaw(base).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(),
      tolerance: 35,
      space: 'cmyk',
    },
    {
      name: 'CMYK JPEG (embedded profile)',
      make: () => fromRaw(base).withIccProfile('cmyk').jpeg({ quality: 95 }).toBuffer(),
      tolerance: 35,
      space: 'cmyk',
    },
    { name: 'WebP lossy', make: () => fromRaw(base).webp({ quality: 90 }).toBuffer(), tolerance: 8 },
    { name: 'WebP lossless', make: () => fromRaw(base).webp({ lossless: true }).toBuffer(), tolerance: 0 },
    { name: 'TIFF (LZW)', make: () => fromRaw(base).tiff({ compression: 'lzw' }).toBuffer(), tolerance: 0 },
    {
      name: 'TIFF (JPEG)',
      make: () => fromRaw(base).tiff({ compression: 'jpeg', quality: 95 }).toBuffer(),
      tolerance: 6,
    },
    { name: 'AVIF', make: () => fromRaw(base).avif({ quality: 80 }).toBuffer(), tolerance: 12 },
    { name: 'GIF', make: () => fromRaw(base).gif().toBuffer(), tolerance: 6 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const bytes = await c.make();
      const { image, info } = await decodeImageWithInfo(bytes, { name: c.name });
      assertQuadrants(image, c.tolerance, c.name);
      if (c.space) assert.equal(info.space, c.space, `${c.name}: the test image is really ${c.space}`);
    });
  }

  it('gray PNG and gray JPEG: the gray level replicated into R, G, B', async () => {
    const samples = Array.from({ length: W * H }, (_, i) => (i % W < W / 2 ? 40 : 200));
    const png = makePng({ width: W, height: H, bitDepth: 8, colorType: 0, samples });
    const jpg = await sharp(png).toColourspace('b-w').jpeg({ quality: 95 }).toBuffer();
    assert.equal((await probeImage(jpg)).channels, 1, 'the JPEG is one-channel');
    for (const [name, bytes, tol] of [
      ['gray PNG', png, 0],
      ['gray JPEG', jpg, 3],
    ] as const) {
      const img = await decodeImage(bytes);
      assert.equal(img.channels, 3);
      assert.ok(colorDistance(regionMean(img, 4, 4, 8, 8), [40, 40, 40]) <= tol, name);
      assert.ok(colorDistance(regionMean(img, W - 12, 4, 8, 8), [200, 200, 200]) <= tol, name);
    }
  });

  it('gray 16-bit PNG scaled to 8 bits', async () => {
    const img = await decodeImage(
      makePng({ width: 4, height: 4, bitDepth: 16, colorType: 0, samples: new Array(16).fill(100 * 257) }),
    );
    assert.deepEqual(pixel(img, 1, 1), [100, 100, 100]);
  });

  it('alpha is flattened onto white: gray+alpha, RGBA, transparent palette entry', async () => {
    // 50% alpha (128/255) over white: c·a + 255·(1 − a).
    const over = (c: number, a: number) => (c * a + 255 * (255 - a)) / 255;
    const grayAlpha = makePng({
      width: 4,
      height: 4,
      bitDepth: 8,
      colorType: 4,
      samples: new Array(16).fill([100, 128]).flat(),
    });
    const rgba = makePng({
      width: 4,
      height: 4,
      bitDepth: 8,
      colorType: 6,
      samples: new Array(16).fill([200, 20, 60, 128]).flat(),
    });
    const rgbaClear = makePng({
      width: 4,
      height: 4,
      bitDepth: 8,
      colorType: 6,
      samples: new Array(16).fill([0, 0, 0, 0]).flat(),
    });
    const palette = makePng({
      width: 4,
      height: 4,
      bitDepth: 8,
      colorType: 3,
      palette: [
        [10, 20, 30],
        [0, 0, 255],
      ],
      paletteAlpha: [255, 0],
      samples: [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
    });
    const ga = await decodeImage(grayAlpha);
    assert.ok(colorDistance(pixel(ga, 2, 2), [over(100, 128), over(100, 128), over(100, 128)]) <= 1.5);
    const c = await decodeImage(rgba);
    assert.ok(
      colorDistance(pixel(c, 2, 2), [over(200, 128), over(20, 128), over(60, 128)]) <= 1.5,
      `${pixel(c, 2, 2)}`,
    );
    assert.deepEqual(pixel(await decodeImage(rgbaClear), 0, 0), [255, 255, 255]);
    const p = await decodeImage(palette);
    assert.deepEqual(pixel(p, 0, 0), [10, 20, 30]);
    assert.deepEqual(pixel(p, 1, 0), [255, 255, 255], 'the fully transparent palette entry becomes white');
  });

  it('animated GIF: the first frame only (documented policy)', async () => {
    const red = new Uint8Array(16 * 16 * 3).fill(0).map((_, i) => (i % 3 === 0 ? 255 : 0));
    const blue = new Uint8Array(16 * 16 * 3).fill(0).map((_, i) => (i % 3 === 2 ? 255 : 0));
    const gif = await sharp(Buffer.concat([red, blue]), {
      raw: { width: 16, height: 32, channels: 3, pageHeight: 16 },
    })
      .gif({ delay: [100, 100] })
      .toBuffer();
    const { image, info } = await decodeImageWithInfo(gif);
    assert.equal(info.pages, 2);
    assert.equal(image.width, 16);
    assert.equal(image.height, 16, 'one frame, not the strip of all frames');
    assert.ok(colorDistance(regionMean(image, 0, 0, 16, 16), [255, 0, 0]) <= 2);
  });

  it('ICC: ignored by default (pixels as stored), converted with ignoreIcc: false', async () => {
    // Stored in Display P3 with its profile embedded: the stored values differ from the sRGB ones.
    const p3 = await fromRaw(quadrantImage()).withIccProfile('p3').png().toBuffer();
    assert.equal((await probeImage(p3)).hasIcc, true);
    const asStored = await decodeImage(p3);
    const converted = await decodeImage(p3, { ignoreIcc: false });
    assertQuadrants(converted, 3, 'P3 converted to sRGB');
    assert.ok(meanAbsDiff(asStored, converted) > 3, 'the default leaves the stored P3 values alone');
  });
});

describe('image/decode: EXIF orientation', () => {
  // Upright 48×32, six 16×16 blocks of distinct colours: no symmetry maps it onto itself.
  const UW = 48;
  const UH = 32;
  const BLOCKS = [
    [230, 30, 30],
    [30, 200, 40],
    [40, 40, 220],
    [240, 220, 30],
    [30, 210, 220],
    [210, 40, 200],
  ];
  const upright = new Uint8Array(UW * UH * 3);
  for (let y = 0; y < UH; y++) {
    for (let x = 0; x < UW; x++)
      upright.set(BLOCKS[Math.floor(y / 16) * 3 + Math.floor(x / 16)]!, (y * UW + x) * 3);
  }
  const uprightImg: RawImage = { data: upright, width: UW, height: UH, channels: 3 };

  /** The stored pixels that orientation k displays as the upright image, tagged with k. */
  async function stored(k: number): Promise<Buffer> {
    const [sw, sh] = k >= 5 ? [UH, UW] : [UW, UH];
    const data = new Uint8Array(sw * sh * 3);
    for (let sy = 0; sy < sh; sy++) {
      for (let sx = 0; sx < sw; sx++) {
        const [dx, dy] = displayedAt(k, sx, sy, sw, sh);
        data.set(upright.subarray((dy * UW + dx) * 3, (dy * UW + dx) * 3 + 3), (sy * sw + sx) * 3);
      }
    }
    return sharp(Buffer.from(data), { raw: { width: sw, height: sh, channels: 3 } })
      .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
      .withMetadata({ orientation: k })
      .toBuffer();
  }

  for (let k = 1; k <= 8; k++) {
    it(`orientation ${k} decodes upright`, async () => {
      const bytes = await stored(k);
      const info = await probeImage(bytes);
      assert.equal(info.orientation, k);
      assert.deepEqual([info.width, info.height], [UW, UH], 'probe reports the upright size');
      const img = await decodeImage(bytes);
      assert.deepEqual([img.width, img.height], [UW, UH]);
      assert.ok(meanAbsDiff(img, uprightImg) < 3, `mean abs diff ${meanAbsDiff(img, uprightImg)}`);
      for (let b = 0; b < 6; b++) {
        const mean = regionMean(img, (b % 3) * 16 + 4, Math.floor(b / 3) * 16 + 4, 8, 8);
        assert.ok(
          colorDistance(mean, BLOCKS[b]!) <= 6,
          `block ${b}: ${mean.map(Math.round)} vs ${BLOCKS[b]}`,
        );
      }
    });
  }

  it('maxWidth applies to the upright width (orientation 6)', async () => {
    const img = await decodeImage(await stored(6), { maxWidth: 24 });
    assert.deepEqual([img.width, img.height], [24, 16]);
    assert.ok(colorDistance(regionMean(img, 2, 2, 4, 4), BLOCKS[0]!) <= 12);
  });
});

describe('image/decode: maxWidth fast path', () => {
  it('shrinks a 1920-wide photo to 640 while decoding, close to decode + resize', async () => {
    const { image, info } = await decodeImageWithInfo(demoPhoto(1), { maxWidth: 640 });
    assert.deepEqual([info.width, info.height], [1920, 1280]);
    assert.deepEqual([image.width, image.height], [640, 427]);
    const reference = await sharp(demoPhoto(1), { ignoreIcc: true })
      .resize(640, 427, { fit: 'fill' })
      .raw()
      .toBuffer();
    const d = meanAbsDiff(image, { data: reference, width: 640, height: 427, channels: 3 });
    assert.ok(d < 3, `mean abs diff to a full decode + resize: ${d}`);
  });

  it('leaves narrower images alone', async () => {
    const img = await decodeImage(await fromRaw(quadrantImage()).png().toBuffer(), { maxWidth: 640 });
    assert.deepEqual([img.width, img.height], [W, H]);
  });
});

describe('image/decode: bad input is rejected with the input and the cause named', () => {
  let dir = '';
  let jpeg: Buffer = Buffer.alloc(0);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'facerec-decode-'));
    jpeg = await sharp(demoPhoto(1)).resize(640).jpeg({ quality: 85 }).toBuffer();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Expect an InvalidInputError whose message names `name` and matches `cause`. */
  async function rejects(input: string | Uint8Array, name: string, cause: RegExp, opts = {}): Promise<void> {
    await assert.rejects(decodeImage(input, { ...opts }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError, `InvalidInputError expected, got ${String(err)}`);
      assert.equal(err.code, 'INVALID_INPUT');
      assert.ok(err.message.includes(name), `message names ${name}: ${err.message}`);
      assert.match(err.message, cause);
      return true;
    });
  }

  it('a zero-byte file and an empty buffer', async () => {
    const p = join(dir, 'empty.jpg');
    writeFileSync(p, '');
    await rejects(p, p, /empty file \(0 bytes\)/);
    await rejects(new Uint8Array(0), '<buffer>', /empty input \(0 bytes\)/);
    await rejects(new Uint8Array(0), 'upload.jpg', /empty input/, { name: 'upload.jpg' });
  });

  it('a missing path and a directory', async () => {
    await rejects(join(dir, 'nope.jpg'), join(dir, 'nope.jpg'), /file not found/);
    const sub = join(dir, 'photos.jpg');
    mkdirSync(sub);
    await rejects(sub, sub, /is a directory/);
  });

  it('a device (never read) and input over maxBytes', async () => {
    await rejects('/dev/zero', '/dev/zero', /not a regular file/);
    await rejects(jpeg, 'big.jpg', /too large \([\d.]+ KiB exceeds the 1000 bytes limit\)/, {
      name: 'big.jpg',
      maxBytes: 1000,
    });
  });

  it('random bytes', async () => {
    let x = 12345;
    const bytes = Uint8Array.from({ length: 4096 }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x >>> 24;
    });
    await rejects(
      bytes,
      'noise.bin',
      /unsupported format \(looks like unknown binary data; accepted: JPEG, PNG/,
      {
        name: 'noise.bin',
      },
    );
  });

  for (const fraction of [0.02, 0.3, 0.6, 0.95]) {
    it(`a JPEG truncated at ${fraction * 100}%`, async () => {
      const cut = jpeg.subarray(0, Math.floor(jpeg.length * fraction));
      await rejects(cut, 'cut.jpg', /truncated JPEG/, { name: 'cut.jpg' });
    });
  }

  it('a JPEG truncated just before its end-of-image marker', async () => {
    await rejects(jpeg.subarray(0, jpeg.length - 2), '<buffer>', /truncated JPEG/);
  });

  it('a JPEG scan with a bogus marker inside is rejected as corrupt', async () => {
    const bad = Buffer.from(jpeg);
    const mid = Math.floor(jpeg.length / 2);
    bad[mid] = 0xff;
    bad[mid + 1] = 0xd0; // an RST marker where the stream has none
    await rejects(bad, 'scan.jpg', /corrupt JPEG data \(.*Corrupt JPEG data/, { name: 'scan.jpg' });
    // Relaxed strictness accepts it (damaged pixels, right size) but still rejects truncation.
    const relaxed = await decodeImage(bad, { failOn: 'truncated' });
    assert.deepEqual([relaxed.width, relaxed.height], [640, 427]);
    await rejects(jpeg.subarray(0, 9000), '<buffer>', /truncated JPEG/, { failOn: 'truncated' });
  });

  it('bit flips inside a scan: rejected, or decoded to the right size (undetectable corruption)', async () => {
    const bad = Buffer.from(jpeg);
    for (let i = Math.floor(jpeg.length / 2); i < Math.floor(jpeg.length / 2) + 64; i++)
      bad[i] = bad[i]! ^ 0x55;
    try {
      const img = await decodeImage(bad);
      assert.deepEqual([img.width, img.height, img.channels], [640, 427, 3]);
    } catch (err) {
      assert.ok(err instanceof InvalidInputError);
      assert.match(err.message, /corrupt JPEG|truncated JPEG/);
    }
  });

  it('truncated PNG, GIF, WebP and TIFF', async () => {
    const small = sharp(demoPhoto(2)).resize(200);
    for (const [fmt, bytes] of [
      ['PNG', await small.clone().png().toBuffer()],
      ['GIF', await small.clone().gif().toBuffer()],
      ['WebP', await small.clone().webp().toBuffer()],
    ] as const) {
      await rejects(
        bytes.subarray(0, Math.floor(bytes.length * 0.6)),
        `cut.${fmt}`,
        new RegExp(`truncated ${fmt}`),
        {
          name: `cut.${fmt}`,
        },
      );
    }
    // TIFF offers no cheap evidence of truncation: the message says both.
    const tiff = await small.clone().tiff().toBuffer();
    await rejects(
      tiff.subarray(0, Math.floor(tiff.length * 0.6)),
      '<buffer>',
      /corrupt or truncated TIFF|truncated TIFF/,
    );
  });

  it('a PNG whose IHDR claims 30000×30000 is rejected from the header', async () => {
    const png = hugePngHeader(30000, 30000);
    assert.ok(png.length < 1e6, 'the file itself is small');
    const info = await probeImage(png);
    assert.deepEqual([info.width, info.height], [30000, 30000], 'probe reports what the header claims');
    await rejects(png, 'big.png', /30000×30000 = 900 MP exceeds the 40 MP limit/, { name: 'big.png' });
  });

  it('a GIF whose logical screen claims 40000×40000 is rejected from the header', async () => {
    await rejects(hugeGifHeader(40000, 40000), 'big.gif', /40000×40000 = 1600 MP exceeds the 40 MP limit/, {
      name: 'big.gif',
    });
    // The screen alone claiming it is enough (the decoder itself would report the 1×1 frame).
    await rejects(hugeGifHeader(40000, 40000, [1, 1]), 'screen.gif', /40000×40000 = 1600 MP exceeds/, {
      name: 'screen.gif',
    });
  });

  it('maxPixels is configurable', async () => {
    const png = await fromRaw(quadrantImage()).png().toBuffer();
    await rejects(png, '<buffer>', /64×48 = 0.00307 MP exceeds the 0.001 MP limit/, { maxPixels: 1000 });
    assert.equal((await decodeImage(png, { maxPixels: W * H })).width, W);
  });

  it('SVG with external references is rejected by content, with no network or file access', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const svg =
        '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' +
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">' +
        `<image xlink:href="http://127.0.0.1:${port}/x.png" width="64" height="64"/>` +
        `<use href="http://127.0.0.1:${port}/y.svg#a"/><text>&x;</text></svg>`;
      const p = join(dir, 'photo.jpg'); // the extension lies: content decides
      writeFileSync(p, svg);
      await rejects(p, p, /unsupported format \(looks like SVG/);
      await rejects(Buffer.from(svg), '<buffer>', /looks like SVG/);
      assert.equal(requests, 0, 'no request reached the server');
    } finally {
      server.close();
    }
  });

  it('SVG entity expansion, HTML, PDF, BMP', async () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&lol3;</text></svg>';
    await rejects(Buffer.from(laughs), '<buffer>', /looks like SVG/);
    await rejects(
      Buffer.from('<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>'),
      '<buffer>',
      /looks like HTML/,
    );
    await rejects(
      Buffer.from('%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n'),
      '<buffer>',
      /looks like PDF/,
    );
    const bmp = Buffer.alloc(70);
    bmp.write('BM', 0, 'latin1');
    await rejects(bmp, '<buffer>', /looks like BMP/);
  });

  it('a JPEG/HTML polyglot decodes as the JPEG it is (documented result)', async () => {
    const polyglot = Buffer.concat([jpeg, Buffer.from('<html><script>alert(1)</script></html>')]);
    const img = await decodeImage(polyglot);
    assert.deepEqual([img.width, img.height], [640, 427]);
  });

  it('bad options are argument errors', async () => {
    await assert.rejects(
      decodeImage(jpeg, { maxPixels: -1 }),
      /Expected a finite number ≥ 1 for maxPixels but received -1/,
    );
    await assert.rejects(decodeImage(jpeg, { maxWidth: 0 }), /for maxWidth/);
    await assert.rejects(decodeImage(jpeg, { failOn: 'none' as 'warning' }), /for failOn/);
    await assert.rejects(decodeImage('' as string), /for input/);
  });
});

describe('image/probe', () => {
  it('reads the header of the demo photo without decoding', async () => {
    const info = await probeImage(demoPhoto(1));
    assert.equal(info.format, 'jpeg');
    assert.deepEqual([info.width, info.height, info.orientation, info.channels], [1920, 1280, 1, 3]);
    assert.equal(info.hasIcc, true);
    assert.equal(info.hasAlpha, false);
    assert.equal(info.pages, 1);
    assert.equal(info.bitDepth, 8);
  });

  it('reports alpha and 16-bit depth', async () => {
    const info = await probeImage(
      makePng({ width: W, height: H, bitDepth: 16, colorType: 6, samples: quadrantSamples16(true) }),
    );
    assert.equal(info.format, 'png');
    assert.equal(info.hasAlpha, true);
    assert.equal(info.channels, 4);
    assert.equal(info.bitDepth, 16);
  });
});
