/**
 * API keys: 32 random bytes (base64url, prefixed `fr_`), stored as their SHA-256 and compared in
 * constant time; where a request's key is read from; whether keys are required (any address but
 * loopback); and a limiter that locks out an address after repeated wrong keys.
 *
 * Why SHA-256 and not a password hash: bcrypt or scrypt slow down guessing of low-entropy
 * secrets that people choose. A key of 256 random bits cannot be guessed, so one fast hash is as
 * strong and keeps every request cheap; the hash only protects the keys if the database leaks.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { ApiKeyRecord, GalleryStore } from '../gallery/index.js';

/** The prefix of every key (lets people and secret scanners recognize one). */
export const KEY_PREFIX = 'fr_';

/** A new random key: `fr_` + 43 base64url characters (32 bytes). */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** SHA-256 of a key, 64 lowercase hex digits. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** True for a loopback host name or address (`localhost`, `127.x.y.z`, `::1`). */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * The key a request carries: `Authorization: Bearer <key>`, else `x-api-key`, else (only when
 * `allowQuery`) the `key` query parameter. Undefined when there is none.
 */
export function requestKey(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  url: string,
  allowQuery: boolean,
): string | undefined {
  const auth = first(headers.authorization);
  if (auth !== undefined) {
    const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
    return auth.trim() === '' ? undefined : auth.trim();
  }
  const x = first(headers['x-api-key']);
  if (x !== undefined && x.trim() !== '') return x.trim();
  if (allowQuery) {
    const q = url.indexOf('?');
    if (q >= 0) {
      const v = new URLSearchParams(url.slice(q + 1)).get('key');
      if (v) return v;
    }
  }
  return undefined;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Who a request is. */
export type Principal =
  /** No key was needed and none was sent (loopback). */
  | { readonly kind: 'anonymous' }
  /** A valid key. */
  | { readonly kind: 'key'; readonly key: ApiKeyRecord };

/** The outcome of {@link KeyRing.check}. */
export type KeyCheck =
  | { readonly ok: true; readonly key: ApiKeyRecord }
  | { readonly ok: false; readonly reason: 'unknown' | 'revoked' };

/**
 * The active keys, cached briefly (so that a key revoked by `facerec keys revoke` in another
 * process stops working within `ttlMs`), each compared with the presented key's digest in
 * constant time — every cached digest is compared, with no early exit.
 */
export class KeyRing {
  readonly #store: GalleryStore;
  readonly #ttl: number;
  readonly #now: () => number;
  #keys: ApiKeyRecord[] = [];
  #hashes: Buffer[] = [];
  #loadedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;
  readonly #touched = new Map<number, number>();

  constructor(store: GalleryStore, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#store = store;
    this.#ttl = options.ttlMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Forget the cache (after a key was created or revoked here). */
  invalidate(): void {
    this.#loadedAt = Number.NEGATIVE_INFINITY;
  }

  /** Number of active (not revoked) keys. */
  async activeCount(): Promise<number> {
    await this.#fresh();
    return this.#keys.filter((k) => k.revokedAt === null).length;
  }

  /** Check a presented key. */
  async check(key: string): Promise<KeyCheck> {
    await this.#fresh();
    const digest = Buffer.from(hashApiKey(key), 'hex');
    let match = -1;
    for (let i = 0; i < this.#hashes.length; i++) {
      if (timingSafeEqual(this.#hashes[i]!, digest) && match < 0) match = i;
    }
    if (match < 0) return { ok: false, reason: 'unknown' };
    const k = this.#keys[match]!;
    if (k.revokedAt !== null) return { ok: false, reason: 'revoked' };
    const now = this.#now();
    if (now - (this.#touched.get(k.id) ?? 0) > 60_000) {
      this.#touched.set(k.id, now);
      this.#store.touchApiKey(k.id, now).catch(() => {});
    }
    return { ok: true, key: k };
  }

  /** Is this key (by id) still active? */
  async isActive(id: number): Promise<boolean> {
    await this.#fresh();
    return this.#keys.some((k) => k.id === id && k.revokedAt === null);
  }

  async #fresh(): Promise<void> {
    if (this.#now() - this.#loadedAt < this.#ttl) return;
    this.#loading ??= (async () => {
      try {
        const keys = await this.#store.listApiKeys();
        this.#keys = keys;
        this.#hashes = keys.map((k) =>
          Buffer.from(/^[0-9a-f]{64}$/.test(k.hash) ? k.hash : '0'.repeat(64), 'hex'),
        );
        this.#loadedAt = this.#now();
      } finally {
        this.#loading = undefined;
      }
    })();
    await this.#loading;
  }
}

/**
 * Counts failed key attempts per client address; after `maxFailures` within `windowMs`, the
 * address is blocked for `blockMs` (requests get 429, even with a good key).
 */
export class FailureLimiter {
  readonly #max: number;
  readonly #window: number;
  readonly #block: number;
  readonly #now: () => number;
  readonly #by = new Map<string, { count: number; start: number; blockedUntil: number }>();

  constructor(
    options: { maxFailures?: number; windowMs?: number; blockMs?: number; now?: () => number } = {},
  ) {
    this.#max = options.maxFailures ?? 10;
    this.#window = options.windowMs ?? 60_000;
    this.#block = options.blockMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Milliseconds the address stays blocked, or 0. */
  blockedFor(address: string): number {
    const e = this.#by.get(address);
    if (!e) return 0;
    return Math.max(0, e.blockedUntil - this.#now());
  }

  /** Record a failure; returns true when the address is now blocked. */
  fail(address: string): boolean {
    const now = this.#now();
    if (this.#by.size > 10_000) {
      for (const [a, e] of this.#by)
        if (e.blockedUntil < now && now - e.start > this.#window) this.#by.delete(a);
    }
    let e = this.#by.get(address);
    if (!e || now - e.start > this.#window) {
      e = { count: 0, start: now, blockedUntil: e?.blockedUntil ?? 0 };
      this.#by.set(address, e);
    }
    e.count++;
    if (e.count >= this.#max) e.blockedUntil = now + this.#block;
    return e.blockedUntil > now;
  }
}
