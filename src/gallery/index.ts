/**
 * The gallery: people, their enrolled faces and nearest-neighbour search, on SQLite (embedded,
 * default) or PostgreSQL + pgvector, behind one {@link GalleryStore} interface.
 */
export * from './codec.js';
export * from './errors.js';
export { ExactIndex, exactKnn, type Neighbours, TopK } from './index/exact.js';
export { DEFAULT_HNSW_PARAMS, HnswIndex, type HnswParams } from './index/hnsw.js';
export { DEFAULT_HNSW_THRESHOLD, type IndexEvent } from './index/manager.js';
export * from './names.js';
export * from './open.js';
export {
  PostgresStore,
  type PostgresStoreOptions,
  parseVector,
  redactUrl,
  vectorLiteral,
} from './postgres-store.js';
export * from './records.js';
export { LATEST_VERSION, MIGRATIONS, type Migration } from './schema.js';
export {
  EMBEDDING_KEY_ENV,
  EmbeddingSealer,
  parseEmbeddingKey,
  rowPurpose,
  SEAL_OVERHEAD,
  type Sealer,
} from './sealing.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export * from './types.js';
