import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { looksTruncated, sniffImage } from '../../src/image/index.js';
import { hugeGifHeader, hugePngHeader } from './fixtures.js';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('image/sniff: format by content', () => {
  const accepted: [string, Uint8Array, string][] = [
    ['JPEG', bytes([0xff, 0xd8, 0xff, 0xe0]), 'jpeg'],
    ['PNG', hugePngHeader(3, 2), 'png'],
    ['GIF87a', bytes('GIF87a', [1, 0, 1, 0]), 'gif'],
    ['GIF89a', hugeGifHeader(5, 6), 'gif'],
    ['WebP', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 '), 'webp'],
    ['TIFF little-endian', bytes([0x49, 0x49, 0x2a, 0]), 'tiff'],
    ['TIFF big-endian', bytes([0x4d, 0x4d, 0, 0x2a]), 'tiff'],
    ['BigTIFF', bytes([0x49, 0x49, 0x2b, 0]), 'tiff'],
    ['AVIF', bytes([0, 0, 0, 0x1c], 'ftypavif', [0, 0, 0, 0], 'avifmif1miaf'), 'avif'],
  ];
  for (const [name, b, format] of accepted) {
    it(`accepts ${name}`, () =>
      assert.deepEqual(sniffImage(b).ok && sniffImage(b), { ...sniffImage(b), ok: true, format }));
  }

  it('reads the size claimed by PNG and GIF headers', () => {
    assert.deepEqual(sniffImage(hugePngHeader(30000, 20000)), {
      ok: true,
      format: 'png',
      claimed: [30000, 20000],
    });
    assert.deepEqual(sniffImage(hugeGifHeader(40000, 300)), {
      ok: true,
      format: 'gif',
      claimed: [40000, 300],
    });
  });

  const rejected: [string, Uint8Array, string][] = [
    ['SVG', bytes('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'SVG'],
    [
      'SVG after an XML prolog and BOM',
      bytes([0xef, 0xbb, 0xbf], '\n <?xml version="1.0"?>\n<!-- c -->\n<svg>'),
      'SVG',
    ],
    ['HTML', bytes('<!DOCTYPE html><html></html>'), 'HTML'],
    ['HTML fragment', bytes('<div><script>x</script></div>'), 'HTML'],
    ['XML', bytes('<?xml version="1.0"?><root/>'), 'XML'],
    ['PDF', bytes('%PDF-1.4'), 'PDF'],
    ['BMP', bytes('BM', [0, 0, 0, 0]), 'BMP'],
    ['PSD', bytes('8BPS'), 'Photoshop PSD'],
    ['ZIP', bytes('PK', [3, 4]), 'a ZIP archive'],
    ['gzip / SVGZ', bytes([0x1f, 0x8b, 8, 0]), 'gzip data (or SVGZ)'],
    ['HEIC', bytes([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0], 'mif1heic'), 'HEIC'],
    ['MP4', bytes([0, 0, 0, 0x18], 'ftypisom', [0, 0, 0, 0], 'isomiso2'), 'an ISO media file (MP4/MOV/3GP)'],
    ['RIFF AVI', bytes('RIFF', [0, 0, 0, 0], 'AVI LIST'), 'RIFF (not WebP)'],
    ['JPEG 2000', bytes([0, 0, 0, 0x0c], 'jP  \r\n\u0087\n'), 'JPEG 2000'],
    ['PPM', bytes('P6\n2 2\n255\n'), 'PNM (PBM/PGM/PPM)'],
    ['text', bytes('hello, world'), 'text'],
    ['binary noise', bytes([0, 1, 2, 3, 250, 251, 252, 0, 7]), 'unknown binary data'],
    ['one byte', bytes([0xff]), 'unknown binary data'],
  ];
  for (const [name, b, looksLike] of rejected) {
    it(`rejects ${name}`, () => assert.deepEqual(sniffImage(b), { ok: false, looksLike }));
  }
});

describe('image/sniff: truncation evidence', () => {
  const jpeg = bytes([0xff, 0xd8, 0xff, 0xdb, 0, 4, 1, 2, 0xff, 0xda, 0, 2, 5, 6, 0xff, 0, 7, 0xff, 0xd9]);
  const cases: [string, Uint8Array, 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff', boolean][] = [
    ['complete JPEG', jpeg, 'jpeg', false],
    ['JPEG with trailing data', Buffer.concat([jpeg, bytes('<html>')]), 'jpeg', false],
    ['JPEG cut in the scan', jpeg.subarray(0, 15), 'jpeg', true],
    ['JPEG cut before the scan', jpeg.subarray(0, 8), 'jpeg', true],
    ['complete PNG', hugePngHeader(2, 2), 'png', false],
    ['PNG without IEND', hugePngHeader(2, 2).subarray(0, 40), 'png', true],
    ['complete GIF', hugeGifHeader(1, 1), 'gif', false],
    ['GIF without trailer', hugeGifHeader(1, 1).subarray(0, 20), 'gif', true],
    ['WebP shorter than its RIFF size', bytes('RIFF', [100, 0, 0, 0], 'WEBPVP8 '), 'webp', true],
    ['complete WebP', bytes('RIFF', [8, 0, 0, 0], 'WEBPVP8 '), 'webp', false],
    ['TIFF: no evidence either way', bytes([0x49, 0x49, 0x2a, 0]), 'tiff', false],
  ];
  for (const [name, b, format, expected] of cases) {
    it(name, () => assert.equal(looksTruncated(b, format), expected));
  }
});
