/**
 * Encryption of embeddings at rest ("sealing"): AES-256-GCM from node:crypto under a 32-byte key
 * the operator supplies in `FACEREC_EMBEDDING_KEY`.
 *
 * A sealed value is `header (4) ‖ IV (12) ‖ ciphertext (same length as the plaintext) ‖ tag (16)`:
 * 32 bytes more than the plaintext, so a sealed float32 embedding is still a multiple of 4 bytes
 * long. The header is the format version (1) and three zero bytes. The IV is random per value
 * (96 bits: keep a key below 2^32 sealed values, far beyond any gallery). The associated data is
 * the header plus a *purpose* string naming where the value lives (`face/123`, `unknown_face/7`,
 * `index/m1/<file>`), so a sealed value copied to another row or file fails to open.
 *
 * The key is never used directly: HKDF-SHA256 derives the AES key and, separately, a *check value*
 * that a gallery stores so that opening it with a wrong key is reported at once instead of as a
 * failure of every row. Nothing here keeps or prints the key text.
 */
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto';
import { ConfigError, StoreError } from '../core/index.js';

/** The environment variable that holds the key (read by the CLI, passed as `embeddingKey`). */
export const EMBEDDING_KEY_ENV = 'FACEREC_EMBEDDING_KEY';

/** The sealed format's version (first header byte). */
export const SEAL_VERSION = 1;

/** Bytes a sealed value adds to its plaintext: header 4 + IV 12 + tag 16. */
export const SEAL_OVERHEAD = 32;

const HEADER = 4;
const IV = 12;
const TAG = 16;
const KEY_BYTES = 32;
const AAD_PREFIX = 'facerec sealed v1:';
/** IVs drawn from the CSPRNG at a time (one call per 512 values instead of one per value). */
const IV_POOL = IV * 512;

/** Seals and opens byte strings bound to a purpose (implemented by {@link EmbeddingSealer}). */
export interface Sealer {
  /** Encrypt `plain` for `purpose`; a fresh buffer of `plain.length + SEAL_OVERHEAD` bytes. */
  seal(plain: Uint8Array, purpose: string): Buffer;
  /**
   * Decrypt and authenticate a sealed value for `purpose`.
   * @throws StoreError when it was altered, belongs to another purpose, or was sealed under another key.
   */
  open(sealed: Uint8Array, purpose: string): Buffer;
}

/** The purpose string of an embedding stored in a table row (the associated data binds it to that row). */
export function rowPurpose(table: 'face' | 'unknown_face', id: number): string {
  return `${table}/${id}`;
}

/** The purpose string of a saved HNSW index file of one provenance ("model"). */
export function indexPurpose(modelId: number, file: string): string {
  return `index/m${modelId}/${file}`;
}

/**
 * Parse the text of `FACEREC_EMBEDDING_KEY`: 64 hexadecimal digits, or the base64 / base64url form
 * of exactly 32 bytes (43 characters, optionally one `=`). Surrounding white space is ignored.
 *
 * @returns The 32 key bytes, or null when the text is absent or blank (encryption off).
 * @throws ConfigError naming FACEREC_EMBEDDING_KEY and the expected forms, for anything else (the
 *   message never includes the value).
 *
 * @example
 * parseEmbeddingKey('00'.repeat(31) + '01') // → <Buffer 00 … 01> (32 bytes)
 * parseEmbeddingKey('') // → null
 */
export function parseEmbeddingKey(text: string | null | undefined): Buffer | null {
  if (text === undefined || text === null) return null;
  if (typeof text !== 'string') throw keyError(`it is a ${typeof text}, not text`);
  const t = text.trim();
  if (t === '') return null;
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t))
    key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!key || key.length !== KEY_BYTES) {
    throw keyError(`the value given (${t.length} characters) is neither`);
  }
  if (key.every((b) => b === key![0])) {
    key.fill(0);
    throw keyError('the value given repeats one byte 32 times, which is a placeholder, not a key');
  }
  return key;
}

function keyError(what: string): ConfigError {
  return new ConfigError(
    `${EMBEDDING_KEY_ENV} must be 32 random bytes written as 64 hexadecimal digits or as base64/base64url (43 characters, optionally followed by "="); ${what}. Generate one with: openssl rand -hex 32`,
  );
}

/** AES-256-GCM sealing under a key from `FACEREC_EMBEDDING_KEY`. */
export class EmbeddingSealer implements Sealer {
  /**
   * A value derived from the key (HKDF, 32 bytes, hex) that reveals nothing about it: a gallery
   * stores it to recognize the key it was encrypted with.
   */
  readonly checkValue: string;
  private readonly key: KeyObject;
  /** Random bytes for the next IVs (public values; drawn in bulk because one call costs ~3 µs). */
  private readonly ivPool = Buffer.alloc(IV_POOL);
  private ivOffset = IV_POOL;

  /**
   * @param key - 32 bytes ({@link parseEmbeddingKey}). The caller may zero its copy afterwards.
   * @throws ConfigError when the key is not 32 bytes.
   */
  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
      throw keyError(`the key given has ${key instanceof Uint8Array ? key.length : 0} bytes`);
    }
    const aes = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'facerec aes-256-gcm v1', KEY_BYTES));
    this.key = createSecretKey(aes);
    aes.fill(0);
    this.checkValue = Buffer.from(
      hkdfSync('sha256', key, Buffer.alloc(0), 'facerec key check v1', KEY_BYTES),
    ).toString('hex');
  }

  /**
   * The sealer of a key's text, or null when the text is absent or blank.
   * @throws ConfigError for a malformed key (see {@link parseEmbeddingKey}).
   */
  static fromText(text: string | null | undefined): EmbeddingSealer | null {
    const key = parseEmbeddingKey(text);
    if (!key) return null;
    try {
      return new EmbeddingSealer(key);
    } finally {
      key.fill(0);
    }
  }

  /** True when `checkValue` (hex, from a gallery) was derived from this sealer's key. */
  matches(checkValue: string): boolean {
    const a = Buffer.from(this.checkValue, 'hex');
    const b = Buffer.from(typeof checkValue === 'string' ? checkValue : '', 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  seal(plain: Uint8Array, purpose: string): Buffer {
    const out = Buffer.allocUnsafe(plain.length + SEAL_OVERHEAD);
    out.fill(0, 0, HEADER);
    out[0] = SEAL_VERSION;
    if (this.ivOffset + IV > IV_POOL) {
      randomFillSync(this.ivPool);
      this.ivOffset = 0;
    }
    const iv = out.subarray(HEADER, HEADER + IV);
    this.ivPool.copy(iv, 0, this.ivOffset, this.ivOffset + IV);
    this.ivOffset += IV;
    const c = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG });
    c.setAAD(aad(out.subarray(0, HEADER), purpose));
    const n = c.update(plain).copy(out, HEADER + IV);
    c.final();
    if (n !== plain.length) throw new StoreError('AES-GCM produced an unexpected length');
    c.getAuthTag().copy(out, HEADER + IV + plain.length);
    return out;
  }

  open(sealed: Uint8Array, purpose: string): Buffer {
    const s = Buffer.isBuffer(sealed) ? sealed : Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
    if (s.length < SEAL_OVERHEAD || s[0] !== SEAL_VERSION || s[1] !== 0 || s[2] !== 0 || s[3] !== 0) {
      throw new StoreError(
        `The stored value ${purpose} is not sealed in a format this facerec knows (${s.length} bytes): the database was altered or corrupted`,
      );
    }
    const end = s.length - TAG;
    let plain: Buffer | undefined;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, s.subarray(HEADER, HEADER + IV), {
        authTagLength: TAG,
      });
      d.setAAD(aad(s.subarray(0, HEADER), purpose));
      d.setAuthTag(s.subarray(end));
      plain = d.update(s.subarray(HEADER + IV, end));
      d.final();
      return plain;
    } catch (err) {
      // GCM decrypts before it authenticates: drop the unauthenticated bytes.
      plain?.fill(0);
      throw new StoreError(
        `The stored value ${purpose} failed its integrity check: it was altered, copied from another row or file, or sealed under another ${EMBEDDING_KEY_ENV}`,
        { cause: err },
      );
    }
  }
}

/** The associated data: the header, then `facerec sealed v1:<purpose>` in UTF-8. */
function aad(header: Buffer, purpose: string): Buffer {
  const text = AAD_PREFIX + purpose;
  const out = Buffer.allocUnsafe(HEADER + Buffer.byteLength(text, 'utf8'));
  header.copy(out, 0, 0, HEADER);
  out.write(text, HEADER, 'utf8');
  return out;
}
