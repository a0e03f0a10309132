/**
 * The one error format of the API, `{"error": {"code", "message"}}`, and the mapping from
 * everything that can be thrown (facerec's FaceErrors, fastify's and its plugins' errors) to an
 * HTTP status. User input never maps to 500; no stack trace is ever sent.
 */
import { FaceError } from '../core/index.js';

/** The error codes of the API (see docs/api.md). */
export type ApiErrorCode =
  | 'bad_request'
  | 'invalid_input'
  | 'invalid_image'
  | 'unauthorized'
  | 'forbidden'
  | 'origin_denied'
  | 'not_found'
  | 'request_timeout'
  | 'conflict'
  | 'payload_too_large'
  | 'image_too_large'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'internal'
  | 'unavailable'
  | 'insufficient_storage';

/** The status of each code. */
export const STATUS: Readonly<Record<ApiErrorCode, number>> = Object.freeze({
  bad_request: 400,
  invalid_input: 400,
  invalid_image: 400,
  unauthorized: 401,
  forbidden: 403,
  origin_denied: 403,
  not_found: 404,
  request_timeout: 408,
  conflict: 409,
  payload_too_large: 413,
  image_too_large: 413,
  unsupported_media_type: 415,
  too_many_requests: 429,
  internal: 500,
  unavailable: 503,
  insufficient_storage: 507,
});

/** The JSON body of an error response. */
export interface ErrorBody {
  readonly error: { readonly code: ApiErrorCode; readonly message: string };
}

/** An error with its API code (and so its status); thrown by route handlers. */
export class HttpError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ApiErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.status = STATUS[code];
    this.headers = headers;
  }
}

/** The body of an error. */
export function errorBody(code: ApiErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** What {@link classifyError} decided. */
export interface ClassifiedError {
  readonly status: number;
  readonly code: ApiErrorCode;
  /** Safe to send: never a stack, never internal paths for 500s. */
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
  /** True when the server should log it as a fault (500s and store failures). */
  readonly fault: boolean;
}

const FASTIFY_CODES: Readonly<Record<string, ApiErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_PARTS_LIMIT: 'payload_too_large',
  FST_FILES_LIMIT: 'payload_too_large',
  FST_FIELDS_LIMIT: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_PROTO_VIOLATION: 'bad_request',
  FST_ERR_VALIDATION: 'bad_request',
  FST_ERR_BAD_URL: 'bad_request',
  FST_ERR_ASYNC_CONSTRAINT: 'bad_request',
  FST_ERR_NOT_FOUND: 'not_found',
};

const MESSAGES: Partial<Record<ApiErrorCode, string>> = {
  payload_too_large: 'The request body is larger than the server accepts',
  unsupported_media_type: 'This route does not take that Content-Type',
};

/**
 * Map anything thrown while handling a request to a status, code and message.
 *
 * @param maxBodyBytes - the body limit, for the 413 message.
 */
export function classifyError(err: unknown, maxBodyBytes?: number): ClassifiedError {
  if (err instanceof HttpError) {
    return { status: err.status, code: err.code, message: err.message, headers: err.headers, fault: false };
  }
  if (err instanceof FaceError) {
    switch (err.code) {
      case 'INVALID_INPUT':
        return plain('invalid_input', err.message);
      case 'NOT_FOUND':
        return plain('not_found', err.message);
      case 'CONFLICT':
        return plain('conflict', err.message);
      case 'STORE':
        if (/SQLITE_FULL|ENOSPC|disk is full|No space left/i.test(err.message)) {
          return { ...plain('insufficient_storage', 'The disk holding the gallery is full'), fault: true };
        }
        return {
          ...plain('unavailable', 'The gallery database is unavailable; try again'),
          headers: { 'retry-after': '5' },
          fault: true,
        };
      default:
        return { ...plain('internal', 'An internal error occurred (see the server log)'), fault: true };
    }
  }
  const e = err as { code?: unknown; statusCode?: unknown; validation?: unknown; message?: unknown };
  const fcode = typeof e?.code === 'string' ? e.code : undefined;
  if (fcode === 'ENOSPC' || fcode === 'EDQUOT') {
    // A file the service writes beside the gallery (settings, TLS files) on a full disk.
    return { ...plain('insufficient_storage', 'The disk holding the data directory is full'), fault: true };
  }
  const message = typeof e?.message === 'string' ? e.message : 'Bad request';
  if (e?.validation !== undefined) return plain('bad_request', message);
  if (fcode !== undefined && fcode in FASTIFY_CODES) {
    const code = FASTIFY_CODES[fcode]!;
    let text = MESSAGES[code] ?? message;
    if (code === 'payload_too_large' && maxBodyBytes !== undefined) {
      text =
        fcode === 'FST_PARTS_LIMIT' || fcode === 'FST_FILES_LIMIT' || fcode === 'FST_FIELDS_LIMIT'
          ? `The multipart body has more parts than the server accepts (${message})`
          : `The request body is larger than the ${formatMb(maxBodyBytes)} limit`;
    }
    return plain(code, text);
  }
  if (err instanceof SyntaxError) return plain('bad_request', `Malformed request body: ${message}`);
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413) return plain('payload_too_large', message);
  if (status === 415) return plain('unsupported_media_type', message);
  if (status === 408) return plain('request_timeout', message);
  if (status === 404) return plain('not_found', message);
  if (status >= 400 && status < 500) return plain('bad_request', message);
  return { ...plain('internal', 'An internal error occurred (see the server log)'), fault: true };
}

function plain(code: ApiErrorCode, message: string): ClassifiedError {
  return { status: STATUS[code], code, message, headers: {}, fault: false };
}

/** `20 MB` for 20 000 000 bytes. */
export function formatMb(bytes: number): string {
  const mb = bytes / 1e6;
  return `${Number(mb >= 10 ? mb.toFixed(0) : mb.toPrecision(2))} MB`;
}
