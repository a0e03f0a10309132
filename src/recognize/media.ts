/**
 * Images that arrive from outside (uploads, browser-camera frames), checked in the order that
 * costs least: the format by content (magic bytes, never the name or a Content-Type), then the
 * pixel count from the header, then the decode. Each refusal says which of the three failed, so
 * that a server can answer 415, 413 or 400 without looking at messages.
 */
import { errorMessage, InvalidInputError, type RawImage } from '../core/index.js';
import {
  ACCEPTED_FORMATS,
  DEFAULT_MAX_PIXELS,
  decodeImageWithInfo,
  type ImageFormat,
  probeImage,
  sniffImage,
} from '../image/index.js';

/** Why an incoming image was refused. */
export type ImageRefusal =
  /** Not an accepted raster format by its content (SVG, HTML, PDF, text, BMP …). */
  | 'unsupported'
  /** The header claims more pixels than the limit (decided before decoding). */
  | 'too_large'
  /** An accepted format that cannot be decoded (empty, truncated, corrupt). */
  | 'invalid';

/** The outcome of {@link readIncomingImage}. */
export type IncomingImage =
  | {
      readonly ok: true;
      /** 8-bit RGB, upright (EXIF orientation applied), alpha flattened, first frame. */
      readonly image: RawImage;
      /** The format sniffed from the content. */
      readonly format: ImageFormat;
    }
  | {
      readonly ok: false;
      readonly reason: ImageRefusal;
      /** A sentence for the user, naming the input. */
      readonly message: string;
    };

/** Options of {@link readIncomingImage}. */
export interface IncomingImageOptions {
  /** The input's name in messages (a file name, `upload`, `frame 12`). Default `image`. */
  readonly name?: string;
  /** Largest accepted frame, width × height; default 40 MP. */
  readonly maxPixels?: number;
  /** When the image is wider, shrink it to this width while decoding (live frames). */
  readonly maxWidth?: number;
}

/**
 * Check and decode an image received from a client. Never throws for bad bytes: the refusal is
 * returned with its reason.
 *
 * @example
 * const r = await readIncomingImage(body, { name: 'photo.jpg', maxPixels: 40e6 });
 * if (!r.ok) reply.code(r.reason === 'unsupported' ? 415 : r.reason === 'too_large' ? 413 : 400);
 */
export async function readIncomingImage(
  bytes: Uint8Array,
  options: IncomingImageOptions = {},
): Promise<IncomingImage> {
  const name = options.name ?? 'image';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  // Content and header first (cheap), then the decode.
  const checked = await inspectIncomingImage(bytes, { name, maxPixels });
  if (!checked.ok) return checked;
  try {
    const { image } = await decodeImageWithInfo(bytes, {
      name,
      maxPixels,
      ...(options.maxWidth !== undefined ? { maxWidth: options.maxWidth } : {}),
    });
    return { ok: true, image, format: checked.format };
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    const message = errorMessage(err);
    return { ok: false, reason: /pixel limit/i.test(message) ? 'too_large' : 'invalid', message };
  }
}

/**
 * {@link readIncomingImage} without the decode: the format by content and the pixel count from
 * the header. For frames that may be dropped before anyone decodes them.
 */
export async function inspectIncomingImage(
  bytes: Uint8Array,
  options: Pick<IncomingImageOptions, 'name' | 'maxPixels'> = {},
): Promise<{ readonly ok: true; readonly format: ImageFormat } | Extract<IncomingImage, { ok: false }>> {
  const name = options.name ?? 'image';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
    return { ok: false, reason: 'invalid', message: `${name} is empty (0 bytes)` };
  }
  const sniff = sniffImage(bytes);
  if (!sniff.ok) {
    return {
      ok: false,
      reason: 'unsupported',
      message: `${name} is not a supported image (its content looks like ${sniff.looksLike}; accepted: ${ACCEPTED_FORMATS})`,
    };
  }
  const tooLarge = (w: number, h: number) =>
    ({
      ok: false,
      reason: 'too_large',
      message: `${name} is ${w}×${h} pixels (${mp(w * h)} MP), more than the ${mp(maxPixels)} MP limit`,
    }) as const;
  if (sniff.claimed && sniff.claimed[0] * sniff.claimed[1] > maxPixels) {
    return tooLarge(sniff.claimed[0], sniff.claimed[1]);
  }
  // The sniffed size is the first header's (a GIF's logical screen); a frame inside may claim
  // more, which the decoder's header reader sees: probe as readIncomingImage does.
  try {
    const info = await probeImage(bytes, { name });
    if (info.width * info.height > maxPixels) return tooLarge(info.width, info.height);
  } catch (err) {
    return { ok: false, reason: 'invalid', message: errorMessage(err) };
  }
  return { ok: true, format: sniff.format };
}

function mp(px: number): string {
  const v = px / 1e6;
  return String(v >= 100 ? Math.round(v) : Number(v.toPrecision(3)));
}
