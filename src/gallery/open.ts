/**
 * Choosing the gallery backend: SQLite in the data directory by default, PostgreSQL when a
 * `postgres://` URL is given (the caller reads it from `FACEREC_DB` or `--db`).
 */
import { join } from 'node:path';
import { invalidParameter } from '../core/index.js';
import type { HnswParams } from './index/hnsw.js';
import type { IndexEvent } from './index/manager.js';
import { PostgresStore } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { GalleryStore } from './types.js';

/** The SQLite gallery's file name inside the data directory. */
export const GALLERY_FILE = 'gallery.sqlite';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** The data directory (`resolvePaths().dataDir`); the SQLite gallery is `<dataDir>/gallery.sqlite`. */
  readonly dataDir: string;
  /** A `postgres://` or `postgresql://` URL to use PostgreSQL instead; empty or absent for SQLite. */
  readonly db?: string | undefined;
  /** SQLite only: faces per provenance at which search switches from exact to HNSW. Default 20000. */
  readonly hnswThreshold?: number;
  /** SQLite only: HNSW parameters. */
  readonly hnsw?: Partial<HnswParams>;
  /** SQLite only: index events (built, loaded, saved …) for logs. */
  readonly onIndexEvent?: (event: IndexEvent) => void;
  /**
   * Encrypt embeddings at rest with this key (the text of `FACEREC_EMBEDDING_KEY`: 64 hex digits
   * or base64/base64url of 32 bytes); empty or absent: off. SQLite only: a Postgres gallery refuses
   * to open with a key (pgvector needs plaintext vectors).
   */
  readonly embeddingKey?: string | undefined;
  /** Postgres only: pool size. Default 10. */
  readonly poolSize?: number;
  /** Clock, ms since the epoch. */
  readonly now?: () => number;
}

/**
 * Open the gallery: PostgreSQL when `db` is a Postgres URL, else the SQLite file in `dataDir`.
 *
 * @throws InvalidInputError for a `db` that is not a Postgres URL; StoreError when the database
 *   cannot be opened; ConfigError for a malformed or wrong `embeddingKey`, a missing one for an
 *   encrypted gallery, or any key with Postgres.
 *
 * @example
 * const store = await openStore({ dataDir: resolvePaths().dataDir, db: process.env.FACEREC_DB });
 * try { … } finally { await store.close(); }
 */
export async function openStore(options: OpenStoreOptions): Promise<GalleryStore> {
  const db = options.db?.trim();
  const now = options.now ? { now: options.now } : {};
  if (db) {
    if (!/^postgres(ql)?:\/\//i.test(db)) {
      throw invalidParameter('db', 'a postgres:// or postgresql:// URL', db.replace(/\/\/[^@/]*@/, '//***@'));
    }
    return PostgresStore.open({
      connectionString: db,
      ...(options.poolSize !== undefined ? { poolSize: options.poolSize } : {}),
      ...(options.embeddingKey !== undefined ? { embeddingKey: options.embeddingKey } : {}),
      ...now,
    });
  }
  if (typeof options.dataDir !== 'string' || options.dataDir === '') {
    throw invalidParameter('dataDir', 'a data directory', options.dataDir);
  }
  return SqliteStore.open({
    path: join(options.dataDir, GALLERY_FILE),
    ...(options.hnswThreshold !== undefined ? { hnswThreshold: options.hnswThreshold } : {}),
    ...(options.hnsw ? { hnsw: options.hnsw } : {}),
    ...(options.onIndexEvent ? { onIndexEvent: options.onIndexEvent } : {}),
    ...(options.embeddingKey !== undefined ? { embeddingKey: options.embeddingKey } : {}),
    ...now,
  });
}
