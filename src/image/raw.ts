/**
 * Shared plumbing between {@link RawImage} and sharp: argument checks and the conversions in
 * and out of sharp's raw pixel format. Internal to src/image (not re-exported).
 */
import sharp, { type Sharp } from 'sharp';
import { InvalidInputError, type RawImage } from '../core/index.js';

/**
 * Throw an {@link InvalidInputError} unless `img` is a well-formed RawImage: positive integer
 * dimensions, 1, 3 or 4 channels, and `data.length === width * height * channels`.
 *
 * @param img - the image to check.
 * @param name - the argument name used in the message.
 */
export function checkRawImage(img: RawImage, name = 'image'): void {
  const ok =
    img !== null &&
    typeof img === 'object' &&
    img.data instanceof Uint8Array &&
    Number.isInteger(img.width) &&
    Number.isInteger(img.height) &&
    img.width >= 1 &&
    img.height >= 1 &&
    (img.channels === 1 || img.channels === 3 || img.channels === 4) &&
    img.data.length === img.width * img.height * img.channels;
  if (!ok) {
    const shape =
      img && typeof img === 'object'
        ? `{ width: ${String(img.width)}, height: ${String(img.height)}, channels: ${String(img.channels)}, data.length: ${String(img.data?.length)} }`
        : String(img);
    throw new InvalidInputError(
      `Expected a RawImage with integer width, height ≥ 1, channels 1, 3 or 4 and data.length = width × height × channels for ${name} but received ${shape}`,
      { input: name },
    );
  }
}

/**
 * A sharp pipeline reading `img`'s pixels (no copy). Its output keeps the input's channels:
 * one-channel images stay gray (sharp would otherwise write them as sRGB).
 */
export function sharpFromRaw(img: RawImage): Sharp {
  const pipeline = sharp(asBuffer(img.data), {
    raw: { width: img.width, height: img.height, channels: img.channels },
  });
  return img.channels === 1 ? pipeline.toColourspace('b-w') : pipeline;
}

/** A Buffer view of `data` sharing its memory (sharp wants Buffers). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Run `pipeline` to raw 8-bit pixels and wrap them as a RawImage whose `data` is a plain
 * Uint8Array view of sharp's output buffer.
 */
export async function toRawImage(pipeline: Sharp): Promise<RawImage> {
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const channels = info.channels;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new Error(`sharp returned ${channels} channels; expected 1, 3 or 4`);
  }
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels,
  };
}
