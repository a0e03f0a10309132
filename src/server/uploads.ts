/**
 * Reading uploaded images: a raw `image/*` body (parsed by fastify with the body limit), or the
 * file parts of a `multipart/form-data` body, streamed with per-file and total limits so that an
 * oversized upload is refused while it arrives, never buffered whole.
 */
import type {} from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { RawImage } from '../core/index.js';
import { readIncomingImage } from '../recognize/index.js';
import { formatMb, HttpError } from './errors.js';

/** One uploaded file. */
export interface UploadedFile {
  /** The form field name (`null` for a raw body). */
  readonly field: string | null;
  /** The file name the client gave (base name only), or null. */
  readonly filename: string | null;
  readonly bytes: Buffer;
}

/** Limits of {@link readUploads}. */
export interface UploadLimits {
  /** Total body bytes. */
  readonly maxBytes: number;
  /** File parts accepted. */
  readonly maxFiles: number;
}

/** True when the request's Content-Type is multipart/form-data. */
export function isMultipart(req: FastifyRequest): boolean {
  return /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '');
}

/** True when the request's Content-Type announces raw image bytes. */
export function isRawImage(req: FastifyRequest): boolean {
  return /^(image\/[\w.+-]+|application\/octet-stream)\b/i.test(req.headers['content-type'] ?? '');
}

/**
 * The files of an upload: the raw body as one file, or every file part of a multipart body
 * (non-file fields are collected in `fields`, at most 1000 characters each).
 *
 * @throws HttpError 415 for another Content-Type, 413 over the limits, 400 for a malformed body
 *   or no file at all.
 */
export async function readUploads(
  req: FastifyRequest,
  limits: UploadLimits,
): Promise<{ files: UploadedFile[]; fields: Record<string, string> }> {
  if (isRawImage(req)) {
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new HttpError('invalid_image', 'The request body is empty: send the image bytes');
    }
    return { files: [{ field: null, filename: null, bytes: body }], fields: {} };
  }
  if (!isMultipart(req)) {
    throw new HttpError(
      'unsupported_media_type',
      `Send the image as multipart/form-data or as a raw image/* body, not ${req.headers['content-type'] ?? 'no Content-Type'}`,
    );
  }
  const files: UploadedFile[] = [];
  const fields: Record<string, string> = {};
  let total = 0;
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (files.length >= limits.maxFiles) {
        part.file.resume();
        throw new HttpError('payload_too_large', `At most ${limits.maxFiles} files per request`);
      }
      const chunks: Buffer[] = [];
      for await (const chunk of part.file as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > limits.maxBytes) {
          throw new HttpError(
            'payload_too_large',
            `The upload is larger than the ${formatMb(limits.maxBytes)} limit`,
          );
        }
        chunks.push(chunk);
      }
      if (part.file.truncated) {
        throw new HttpError(
          'payload_too_large',
          `The upload is larger than the ${formatMb(limits.maxBytes)} limit`,
        );
      }
      files.push({ field: part.fieldname, filename: baseName(part.filename), bytes: Buffer.concat(chunks) });
    } else {
      const v = typeof part.value === 'string' ? part.value : String(part.value);
      fields[part.fieldname] = v.length > 1000 ? v.slice(0, 1000) : v;
    }
  }
  if (files.length === 0) throw new HttpError('bad_request', 'The multipart body has no file part');
  return { files, fields };
}

/** The last path segment of a client-given file name (never used as a path), ≤ 255 characters. */
export function baseName(name: string | undefined): string | null {
  if (!name) return null;
  const b = name.split(/[\\/]/).pop() ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const clean = b.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 255);
  return clean === '' ? null : clean;
}

/**
 * Decode an uploaded file, mapping refusals to API errors: not an image by content → 415,
 * too many pixels → 413, undecodable → 400.
 */
export async function decodeUpload(file: UploadedFile, maxPixels: number): Promise<RawImage> {
  const r = await readIncomingImage(file.bytes, { name: file.filename ?? 'The upload', maxPixels });
  if (r.ok) return r.image;
  throw new HttpError(
    r.reason === 'unsupported'
      ? 'unsupported_media_type'
      : r.reason === 'too_large'
        ? 'image_too_large'
        : 'invalid_image',
    r.message,
  );
}
