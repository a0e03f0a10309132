/**
 * Test images made in the tests (never committed): hand-built PNG and GIF byte strings whose
 * every byte is known, and small pixel statistics used to compare decoded images.
 */
import { deflateSync } from 'node:zlib';
import type { RawImage } from '../../src/core/index.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (the PNG/zlib polynomial). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** PNG colour types: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
export interface PngSpec {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  readonly colorType: 0 | 2 | 3 | 4 | 6;
  /** One sample per channel per pixel, row-major (values 0–255 or 0–65535; palette indices for type 3). */
  readonly samples: ArrayLike<number>;
  /** Palette entries [r, g, b] for colour type 3. */
  readonly palette?: readonly (readonly [number, number, number])[];
  /** Alpha per palette entry (tRNS) for colour type 3. */
  readonly paletteAlpha?: readonly number[];
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

/** A complete, valid PNG (filter 0 on every row) built byte by byte. */
export function makePng(spec: PngSpec): Buffer {
  const ch = CHANNELS[spec.colorType];
  const bps = spec.bitDepth / 8;
  const rowBytes = spec.width * ch * bps;
  const raw = Buffer.alloc((rowBytes + 1) * spec.height);
  for (let y = 0; y < spec.height; y++) {
    raw[y * (rowBytes + 1)] = 0;
    for (let i = 0; i < spec.width * ch; i++) {
      const v = spec.samples[y * spec.width * ch + i]!;
      const o = y * (rowBytes + 1) + 1 + i * bps;
      if (bps === 2) raw.writeUInt16BE(v, o);
      else raw[o] = v;
    }
  }
  const chunks = [pngChunk('IHDR', ihdr(spec.width, spec.height, spec.bitDepth, spec.colorType))];
  if (spec.palette) chunks.push(pngChunk('PLTE', Uint8Array.from(spec.palette.flat())));
  if (spec.paletteAlpha) chunks.push(pngChunk('tRNS', Uint8Array.from(spec.paletteAlpha)));
  chunks.push(pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', new Uint8Array(0)));
  return Buffer.concat([PNG_SIGNATURE, ...chunks]);
}

function ihdr(width: number, height: number, bitDepth: number, colorType: number): Uint8Array {
  const h = Buffer.alloc(13);
  h.writeUInt32BE(width, 0);
  h.writeUInt32BE(height, 4);
  h[8] = bitDepth;
  h[9] = colorType;
  return h;
}

/**
 * A PNG whose IHDR claims `width × height` RGB pixels (correct CRC) followed by a small IDAT of
 * zeros and IEND: decoding it for real would need width × height × 3 bytes.
 */
export function hugePngHeader(width: number, height: number): Buffer {
  const idat = deflateSync(Buffer.alloc(width * 3 + 1));
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr(width, height, 8, 2)),
    pngChunk('IDAT', idat),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * A GIF89a whose logical screen claims `width × height` (16-bit little-endian fields) and whose
 * single image claims `frame` (default: the same), with a 2-colour palette and a tiny LZW stream.
 */
export function hugeGifHeader(
  width: number,
  height: number,
  frame: readonly [number, number] = [width, height],
): Buffer {
  const le = (v: number) => [v & 0xff, (v >> 8) & 0xff];
  return Buffer.from([
    ...Buffer.from('GIF89a', 'latin1'),
    ...le(width),
    ...le(height),
    0x80, // global colour table, 2 entries
    0,
    0,
    ...[0, 0, 0, 255, 255, 255],
    0x2c, // image descriptor
    0,
    0,
    0,
    0,
    ...le(frame[0]),
    ...le(frame[1]),
    0,
    2, // LZW minimum code size
    2,
    0x4c,
    0x01,
    0, // end of image data
    0x3b, // trailer
  ]);
}

/** Mean of each channel over the `w × h` region at (x, y). */
export function regionMean(img: RawImage, x: number, y: number, w: number, h: number): number[] {
  const sums = new Array<number>(img.channels).fill(0);
  for (let yy = y; yy < y + h; yy++) {
    for (let xx = x; xx < x + w; xx++) {
      const o = (yy * img.width + xx) * img.channels;
      for (let c = 0; c < img.channels; c++) sums[c]! += img.data[o + c]!;
    }
  }
  return sums.map((s) => s / (w * h));
}

/** Mean absolute difference of two same-shaped images (all channels). */
export function meanAbsDiff(a: RawImage, b: RawImage): number {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new Error(
      `shapes differ: ${a.width}x${a.height}x${a.channels} vs ${b.width}x${b.height}x${b.channels}`,
    );
  }
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i]! - b.data[i]!);
  return s / a.data.length;
}

/** Assert-friendly: the largest per-channel distance between two colours. */
export function colorDistance(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? 0))));
}

/** Pixel `[r, g, b]` (or the channels there are) at (x, y). */
export function pixel(img: RawImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * img.channels;
  return Array.from(img.data.subarray(o, o + img.channels));
}
