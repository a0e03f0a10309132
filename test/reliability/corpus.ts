/**
 * The bad-input corpus of the reliability tests, generated at run time (nothing is committed):
 * broken and hostile files that must be refused with a clear error, and the same face photo in
 * every format and layout a camera or phone produces, which must be normalized and analysed.
 */
import sharp from 'sharp';
import type { RawImage } from '../../src/core/index.js';
import { decodeImage, encodeJpeg } from '../../src/image/index.js';
import { hugeGifHeader, hugePngHeader, makePng } from '../image/fixtures.js';
import { facePhoto, groupPhoto } from '../server/harness.js';
import { storedFor } from '../support/orient.js';

/** One corpus entry. */
export interface CorpusCase {
  readonly name: string;
  readonly bytes: Buffer;
  /** The Content-Type a client would claim. */
  readonly type: string;
  /** A file name with the extension a client would give. */
  readonly filename: string;
  /** The refusal every route must answer with, or null when the image is analysed. */
  readonly refused: { readonly status: number; readonly code: string } | null;
  /** Faces in the image when analysed (a lower bound for group photos). */
  readonly faces?: number;
  /** True when `faces` is a lower bound. */
  readonly atLeast?: boolean;
  /**
   * Live frames (the WebSocket) are decoded leniently, as camera streams are: a frame with a
   * damaged scan is still analysed there (documented), while uploads refuse it.
   */
  readonly lenientInStreams?: boolean;
}

const invalid = { status: 400, code: 'invalid_image' } as const;
const tooLarge = { status: 413, code: 'image_too_large' } as const;
const unsupported = { status: 415, code: 'unsupported_media_type' } as const;

/** Offset of the Adobe APP14 segment of a JPEG (before the first scan), or -1. */
export function adobeSegment(jpeg: Uint8Array): number {
  for (let i = 2; i + 4 < jpeg.length; ) {
    if (jpeg[i] !== 0xff) return -1;
    const marker = jpeg[i + 1]!;
    const len = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    if (marker === 0xee) return i;
    if (marker === 0xda) return -1;
    i += 2 + len;
  }
  return -1;
}

/** The colour transform byte of a JPEG's Adobe segment (0 CMYK/RGB, 1 YCbCr, 2 YCCK), or -1. */
export function adobeTransform(jpeg: Uint8Array): number {
  const at = adobeSegment(jpeg);
  return at < 0 ? -1 : jpeg[at + 15]!;
}

/** A minimal uncompressed CMYK TIFF (PhotometricInterpretation 5) of 8-bit samples. */
function cmykTiff(samples: Uint8Array, width: number, height: number): Buffer {
  const entries: [number, number, number][] = [
    [256, 3, width],
    [257, 3, height],
    [258, 3, 0], // bits per sample: 4 values at an offset
    [259, 3, 1], // no compression
    [262, 3, 5], // separated (CMYK)
    [273, 4, 0], // strip offset
    [277, 3, 4],
    [278, 3, height],
    [279, 4, samples.length],
    [284, 3, 1],
  ];
  const ifd = 8;
  const bps = ifd + 2 + entries.length * 12 + 4;
  const data = bps + 8;
  const b = Buffer.alloc(data + samples.length);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(ifd, 4);
  b.writeUInt16LE(entries.length, ifd);
  entries.forEach(([tag, type, value], i) => {
    const o = ifd + 2 + i * 12;
    b.writeUInt16LE(tag, o);
    b.writeUInt16LE(type, o + 2);
    b.writeUInt32LE(tag === 258 ? 4 : 1, o + 4);
    const v = tag === 258 ? bps : tag === 273 ? data : value;
    if (type === 3 && tag !== 258) b.writeUInt16LE(v, o + 8);
    else b.writeUInt32LE(v, o + 8);
  });
  for (let i = 0; i < 4; i++) b.writeUInt16LE(8, bps + i * 2);
  b.set(samples, data);
  return b;
}

/**
 * A true YCCK JPEG (Adobe transform 2) of an RGB image: its CMYK separation (through the generic
 * CMYK profile, as for a CMYK JPEG), with C, M, Y turned into YCbCr the way Adobe encoders do, K
 * kept. libvips stores CMYK JPEGs inverted (Adobe style) and libjpeg applies the YCC transform
 * when the Adobe segment says 2, so the stored planes are prepared accordingly; decoding gives
 * back the same CMYK as the plain CMYK JPEG of the image.
 */
export async function ycckJpeg(img: RawImage, quality = 95): Promise<Buffer> {
  const cmyk = await sharp(Buffer.from(img.data), {
    raw: { width: img.width, height: img.height, channels: img.channels },
  })
    .toColourspace('cmyk')
    .raw()
    .toBuffer();
  const planes = new Uint8Array(cmyk.length);
  const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let i = 0; i < cmyk.length; i += 4) {
    const c = cmyk[i]!;
    const m = cmyk[i + 1]!;
    const y = cmyk[i + 2]!;
    const k = cmyk[i + 3]!;
    // What libjpeg's YCCK decoder must see: YCbCr of (C, M, Y) and K inverted, all stored inverted.
    planes[i] = 255 - clamp(0.299 * c + 0.587 * m + 0.114 * y);
    planes[i + 1] = 255 - clamp(-0.168736 * c - 0.331264 * m + 0.5 * y + 128);
    planes[i + 2] = 255 - clamp(0.5 * c - 0.418688 * m - 0.081312 * y + 128);
    planes[i + 3] = k;
  }
  const jpeg = await sharp(cmykTiff(planes, img.width, img.height))
    .pipelineColourspace('cmyk')
    .toColourspace('cmyk')
    .jpeg({ quality, chromaSubsampling: '4:4:4' })
    .toBuffer();
  const at = adobeSegment(jpeg);
  if (at < 0) throw new Error('libvips wrote a CMYK JPEG without an Adobe segment');
  jpeg[at + 15] = 2;
  return jpeg;
}

/** A PNG of `img` with an extra alpha channel (`alpha` everywhere), or gray (+alpha), or 16-bit. */
function pngOf(img: RawImage, kind: 'gray' | 'gray+alpha' | 'rgba' | 'rgb16'): Buffer {
  const n = img.width * img.height;
  const px = (i: number) => [img.data[i * 3]!, img.data[i * 3 + 1]!, img.data[i * 3 + 2]!] as const;
  const gray = (i: number) => {
    const [r, g, b] = px(i);
    return Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  };
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (kind === 'gray') out.push(gray(i));
    else if (kind === 'gray+alpha') out.push(gray(i), 255);
    else if (kind === 'rgba') out.push(...px(i), 255);
    else out.push(...px(i).map((v) => v * 256 + ((i * 7) % 256)));
  }
  const colorType = kind === 'gray' ? 0 : kind === 'gray+alpha' ? 4 : kind === 'rgba' ? 6 : 2;
  return makePng({
    width: img.width,
    height: img.height,
    bitDepth: kind === 'rgb16' ? 16 : 8,
    colorType,
    samples: out,
  });
}

/** The portrait used throughout: one face, as JPEG and decoded. */
export async function portrait(): Promise<{ jpeg: Buffer; image: RawImage }> {
  const jpeg = await facePhoto(1, 0);
  return { jpeg, image: await decodeImage(jpeg) };
}

/** JPEGs of the portrait stored for EXIF orientations 1–8 (each displays upright). */
export async function orientedPortraits(): Promise<{ orientation: number; bytes: Buffer }[]> {
  const { image } = await portrait();
  const out: { orientation: number; bytes: Buffer }[] = [];
  for (let k = 1; k <= 8; k++) {
    const s = storedFor(image, k);
    const bytes = await sharp(Buffer.from(s.data), { raw: { width: s.width, height: s.height, channels: 3 } })
      .jpeg({ quality: 92 })
      .withMetadata({ orientation: k })
      .toBuffer();
    out.push({ orientation: k, bytes });
  }
  return out;
}

/**
 * The whole corpus. `svgProbeUrl` is put in the SVG's external references (a server the test
 * watches for requests).
 */
export async function buildCorpus(svgProbeUrl: string): Promise<CorpusCase[]> {
  const { jpeg, image } = await portrait();
  const jpegCase = (name: string, bytes: Buffer, refused: CorpusCase['refused'], faces?: number) =>
    ({
      name,
      bytes,
      type: 'image/jpeg',
      filename: `${name.replace(/\W+/g, '-')}.jpg`,
      refused,
      ...(faces !== undefined ? { faces } : {}),
    }) satisfies CorpusCase;
  const other = (
    name: string,
    bytes: Buffer,
    type: string,
    ext: string,
    refused: CorpusCase['refused'],
    faces?: number,
  ) =>
    ({
      name,
      bytes,
      type,
      filename: `${name.replace(/\W+/g, '-')}.${ext}`,
      refused,
      ...(faces !== undefined ? { faces } : {}),
    }) satisfies CorpusCase;

  const corrupt = Buffer.from(jpeg);
  const mid = Math.floor(corrupt.length / 2);
  corrupt[mid] = 0xff;
  corrupt[mid + 1] = 0xd0; // an RST marker where the scan has none

  const rgb = sharp(Buffer.from(image.data), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  const blank = Buffer.alloc(image.width * image.height * 3, 0);
  const animated = await sharp(Buffer.concat([Buffer.from(image.data), blank]), {
    raw: { width: image.width, height: image.height * 2, channels: 3, pageHeight: image.height },
  })
    .gif({ delay: [500, 500] })
    .toBuffer();

  const svgExternal =
    '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' +
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="640" height="480">' +
    `<image xlink:href="${svgProbeUrl}/x.png" width="640" height="480"/><use href="${svgProbeUrl}/y.svg#a"/><text>&x;</text></svg>`;
  const laughs =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">' +
    '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&lol5;</text></svg>';
  let seed = 7;
  const noise = Buffer.alloc(4096);
  for (let i = 0; i < noise.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    noise[i] = seed & 0xff;
  }

  return [
    // Refused.
    other('zero bytes', Buffer.alloc(0), 'image/jpeg', 'jpg', invalid),
    jpegCase('JPEG truncated at 10%', jpeg.subarray(0, Math.floor(jpeg.length * 0.1)), invalid),
    jpegCase('JPEG truncated at 55%', jpeg.subarray(0, Math.floor(jpeg.length * 0.55)), invalid),
    jpegCase('JPEG truncated before its end marker', jpeg.subarray(0, jpeg.length - 2), invalid),
    { ...jpegCase('JPEG with a corrupted scan', corrupt, invalid), lenientInStreams: true },
    other('PNG claiming 30000x30000', hugePngHeader(30000, 30000), 'image/png', 'png', tooLarge),
    other('PNG claiming 100000x100000', hugePngHeader(100000, 100000), 'image/png', 'png', tooLarge),
    other('GIF claiming 40000x40000', hugeGifHeader(40000, 40000), 'image/gif', 'gif', tooLarge),
    other(
      'GIF with a 65535x65535 frame',
      hugeGifHeader(100, 100, [65535, 65535]),
      'image/gif',
      'gif',
      tooLarge,
    ),
    jpegCase('SVG with external references sent as JPEG', Buffer.from(svgExternal), unsupported),
    other('SVG entity expansion', Buffer.from(laughs), 'image/svg+xml', 'svg', unsupported),
    jpegCase(
      'HTML sent as JPEG',
      Buffer.from('<!doctype html><html><body><img src=x onerror=alert(1)></body></html>'),
      unsupported,
    ),
    other(
      'PDF',
      Buffer.from('%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n'),
      'image/jpeg',
      'jpg',
      unsupported,
    ),
    jpegCase(
      'HTML/JPEG polyglot, HTML first',
      Buffer.concat([Buffer.from('<html><!--'), jpeg, Buffer.from('--><script>alert(1)</script></html>')]),
      unsupported,
    ),
    other('random bytes', noise, 'image/jpeg', 'jpg', unsupported),
    // Analysed: the same face whatever the encoding.
    jpegCase('JPEG', jpeg, null, 1),
    jpegCase(
      'JPEG/HTML polyglot, JPEG first (decoded as the JPEG it is)',
      Buffer.concat([jpeg, Buffer.from('<html><script>alert(1)</script></html>')]),
      null,
      1,
    ),
    jpegCase('CMYK JPEG', await rgb.clone().toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(), null, 1),
    jpegCase('YCCK JPEG', await ycckJpeg(image), null, 1),
    jpegCase(
      'grayscale JPEG',
      await rgb.clone().toColourspace('b-w').jpeg({ quality: 92 }).toBuffer(),
      null,
      1,
    ),
    other('grayscale PNG', pngOf(image, 'gray'), 'image/png', 'png', null, 1),
    other('gray+alpha PNG', pngOf(image, 'gray+alpha'), 'image/png', 'png', null, 1),
    other('RGBA PNG', pngOf(image, 'rgba'), 'image/png', 'png', null, 1),
    other('16-bit RGB PNG', pngOf(image, 'rgb16'), 'image/png', 'png', null, 1),
    other('animated GIF (first frame analysed)', animated, 'image/gif', 'gif', null, 1),
    jpegCase(
      'no face',
      Buffer.from(
        await encodeJpeg(
          { data: new Uint8Array(320 * 240 * 3).fill(128), width: 320, height: 240, channels: 3 },
          90,
        ),
      ),
      null,
      0,
    ),
    { ...jpegCase('several faces', await groupPhoto(1, 640), null, 3), atLeast: true },
  ];
}
