/**
 * The search indexes of an embedded (SQLite) gallery: one per embedding provenance ("model"),
 * kept in step with the database, which is always the source of truth.
 *
 * How they stay in step. The database keeps, per model, a state row — face count, a checksum
 * (sum of {@link faceHash} over the faces), the largest face id and the last tombstone sequence
 * number — updated in the same transaction as every insertion and deletion, and a tombstone row
 * (face id, hash; no embedding) per deleted face. Face ids only grow, so an index that covered the
 * database up to (max face id, last tombstone) catches up by removing the newer tombstones' ids
 * and adding the faces with larger ids. Before every search the state row is read (one indexed
 * lookup); when it differs from the index's own, the index catches up — also with changes other
 * processes made to the same file. When the checksums still differ afterwards, or anything about
 * a saved index is off, the index is rebuilt from the rows.
 *
 * Below `hnswThreshold` faces a model uses an {@link ExactIndex} built from the database at open
 * (milliseconds for 20k faces), never saved. At or above it, an {@link HnswIndex} is saved beside
 * the database as `gallery-m<model>-<generation>.usearch` with a `gallery-m<model>.usearch.json`
 * record (dims, parameters, count, checksum, watermarks, placeholders, the file's SHA-256), written
 * atomically (temporary file, fsync, rename; the record last). At open the record, the file's
 * SHA-256 and the count/checksum are checked; on any mismatch the index is rebuilt. Removals
 * are saved at once and the previous file is overwritten with zeros before it is unlinked, so no
 * index file keeps a removed embedding; additions are saved when many are pending and at close.
 *
 * In an encrypted gallery (a {@link Sealer} is given) no plaintext vector is written to the
 * database's folder. usearch reads and writes only named files, so the index passes through a
 * private folder in RAM (`ramDir`, a tmpfs such as /dev/shm): usearch saves it there, the bytes
 * are read back, the RAM file is unlinked, and the sealed bytes are saved beside the
 * database as above (the record says `sealed: true`); loading runs the other way. Without a RAM
 * folder the HNSW index is never saved and is rebuilt from the database at open (slow for large
 * galleries: see bench/gallery.ts). Plaintext index files from before the gallery was encrypted are
 * zeroed and removed ({@link IndexManager.scrubPlaintextFiles}).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { checksumAdd, checksumSub, decodeVectorInto, faceHash } from '../codec.js';
import { indexPurpose, SEAL_VERSION, type Sealer } from '../sealing.js';
import { ExactIndex, type Neighbours } from './exact.js';
import { DEFAULT_HNSW_PARAMS, HnswIndex, type HnswParams } from './hnsw.js';

/** The database's record of one model's faces (see the module comment). */
export interface VectorState {
  readonly count: number;
  readonly checksum: number;
  readonly maxFaceId: number;
  readonly lastTombstone: number;
}

/** A face row as the index reads it. */
export interface VectorRow {
  readonly id: number;
  /** Little-endian float32 bytes. */
  readonly embedding: Uint8Array;
}

/** A deleted face as recorded in the database. */
export interface Tombstone {
  readonly seq: number;
  readonly faceId: number;
  readonly hash: number;
}

/** What the index manager needs from the database (implemented by the SQLite store). */
export interface VectorSource {
  /** Run `fn` in one read snapshot (a read transaction). */
  snapshot<T>(fn: () => T): T;
  /** The state row of a model, or null when it never had a face. */
  state(modelId: number): VectorState | null;
  /** Tombstones of a model with `seq > afterSeq`, in order. */
  tombstonesAfter(modelId: number, afterSeq: number): Tombstone[];
  /** Up to `limit` faces of a model with `id > afterId`, in id order. */
  facesAfter(modelId: number, afterId: number, limit: number): VectorRow[];
  /**
   * Read every face of a model in one read transaction, calling `onRow` for each in id order, and
   * compute the state of the rows `onRow` accepted (returned true for); when the state row
   * disagrees, repair it in the same transaction if the database lets it (best effort).
   * @returns The state of the rows read.
   */
  readAll(modelId: number, onRow: (row: VectorRow) => boolean): VectorState;
  /**
   * False when index files must not be written now (the gallery's encryption changed since this
   * process opened it). Optional: absent means true.
   */
  persistable?(): boolean;
}

/** Something the index manager did, for logs and tests. */
export interface IndexEvent {
  readonly modelId: number;
  /**
   * `built`: from the database; `loaded`: from a saved file; `caught-up`: applied newer changes;
   * `saved`; `save-failed` (the index stays usable; the next save or open repairs the file).
   */
  readonly action: 'built' | 'loaded' | 'caught-up' | 'saved' | 'save-failed';
  /** `exact` or `hnsw`. */
  readonly kind: 'exact' | 'hnsw';
  /** Faces indexed after the action. */
  readonly size: number;
  /** Why a rebuild happened (`no saved index`, `index file checksum mismatch`, ...) or a save failed. */
  readonly reason?: string;
}

/** Options of {@link IndexManager}. */
export interface IndexManagerOptions {
  /** Folder for saved indexes (the database's folder). */
  readonly dir: string;
  /** Faces at which a model switches from exact search to HNSW (and back below half). Default 20000. */
  readonly hnswThreshold?: number;
  /** HNSW parameters. */
  readonly hnsw?: Partial<HnswParams>;
  /** Called on every {@link IndexEvent}. */
  readonly onEvent?: (event: IndexEvent) => void;
  /** Clock, ms since the epoch. */
  readonly now?: () => number;
  /** An encrypted gallery's sealer: saved indexes are sealed with it. Absent: saved in plaintext. */
  readonly sealer?: Sealer | null;
  /**
   * With a sealer: a folder in RAM (tmpfs) where usearch writes and reads the plaintext index
   * for a moment. Null or absent: a sealed gallery's HNSW index is never saved (rebuilt at open).
   */
  readonly ramDir?: string | null;
}

/** The default exact → HNSW switch point, in faces. */
export const DEFAULT_HNSW_THRESHOLD = 20000;

const FORMAT = 1;
const BATCH = 5000;

interface SavedRecord {
  readonly format: number;
  readonly modelId: number;
  readonly dims: number;
  readonly metric: 'l2sq';
  readonly params: { connectivity: number; expansionAdd: number; expansionSearch: number };
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly count: number;
  readonly checksum: number;
  readonly maxFaceId: number;
  readonly lastTombstone: number;
  readonly placeholders: { live: number[]; next: number };
  readonly savedAt: number;
  /** True when the file is sealed (an encrypted gallery); absent in plaintext records. */
  readonly sealed?: boolean;
}

class ModelIndex {
  exact: ExactIndex | null = null;
  hnsw: HnswIndex | null = null;
  count = 0;
  checksum = 0;
  maxFaceId = 0;
  lastTombstone = 0;
  /** Additions since the HNSW file was saved. */
  pending = 0;
  /** Removals since the HNSW file was saved: its older copies must be overwritten, not just unlinked. */
  removedSinceSave = false;
  /** The saved file in use, if any. */
  file: string | null = null;

  constructor(
    readonly modelId: number,
    readonly dims: number,
  ) {}

  get kind(): 'exact' | 'hnsw' {
    return this.hnsw ? 'hnsw' : 'exact';
  }

  get size(): number {
    return this.hnsw ? this.hnsw.size : (this.exact?.size ?? 0);
  }

  has(id: number): boolean {
    return this.hnsw ? this.hnsw.has(id) : (this.exact?.has(id) ?? false);
  }
}

/** The indexes of one SQLite gallery. Synchronous: it runs inside the store's synchronous calls. */
export class IndexManager {
  private readonly models = new Map<number, ModelIndex>();
  private readonly threshold: number;
  private readonly params: HnswParams;
  private readonly onEvent: (event: IndexEvent) => void;
  private readonly now: () => number;
  private readonly sealer: Sealer | null;
  private readonly ramDir: string | null;
  /** False for a sealed gallery without a RAM folder: HNSW indexes live in memory only. */
  private readonly persists: boolean;

  /**
   * @param source - The database side.
   * @param options - Folder, threshold, HNSW parameters, event hook.
   */
  constructor(
    private readonly source: VectorSource,
    private readonly options: IndexManagerOptions,
  ) {
    this.threshold = options.hnswThreshold ?? DEFAULT_HNSW_THRESHOLD;
    this.params = { ...DEFAULT_HNSW_PARAMS, ...options.hnsw };
    this.onEvent = options.onEvent ?? (() => {});
    this.now = options.now ?? Date.now;
    this.sealer = options.sealer ?? null;
    this.ramDir = this.sealer ? (options.ramDir ?? null) : null;
    this.persists = this.sealer === null || this.ramDir !== null;
  }

  /**
   * Bring a model's index in step with the database (loading or building it on first use).
   * @param removed - Embedding bytes the caller just deleted: after saving, the new index file is
   *   checked not to contain them (and rebuilt from the database if it did).
   */
  sync(modelId: number, dims: number, removed: readonly Uint8Array[] = []): void {
    let m = this.models.get(modelId);
    if (!m) {
      m = this.open(modelId, dims);
      this.models.set(modelId, m);
    }
    const result = this.catchUp(m);
    if (result === 'mismatch') {
      this.build(m, 'count or checksum differs from the database after catching up');
    } else if (result.removed > 0 || result.added > 0) {
      this.onEvent({ modelId, action: 'caught-up', kind: m.kind, size: m.size });
    }
    this.maybeConvert(m);
    if (m.hnsw && (m.removedSinceSave || removed.length > 0 || m.pending >= Math.max(10000, m.size * 0.05))) {
      this.trySave(m, removed);
    }
  }

  /** Search one model's index (call {@link sync} first). Squared distances. */
  search(modelId: number, query: Float32Array, k: number, maxDistanceSq: number): Neighbours {
    const m = this.models.get(modelId);
    if (!m || m.size === 0) return { ids: [], distancesSq: [] };
    return m.hnsw ? m.hnsw.search(query, k, maxDistanceSq) : m.exact!.search(query, k, maxDistanceSq);
  }

  /** Vectors indexed for a model (after {@link sync}), and the index kind. */
  describe(modelId: number): { size: number; kind: 'exact' | 'hnsw' } | null {
    const m = this.models.get(modelId);
    return m ? { size: m.size, kind: m.kind } : null;
  }

  /** Save every HNSW index with unsaved changes. */
  flush(): void {
    for (const m of this.models.values()) {
      if (m.hnsw && (m.pending > 0 || m.removedSinceSave)) this.trySave(m, []);
    }
  }

  /** Flush, then drop the in-memory indexes (zeroing the exact ones). */
  close(): void {
    this.flush();
    for (const m of this.models.values()) m.exact?.clear();
    this.models.clear();
  }

  /**
   * For an encrypted gallery: zero and remove every index file of the folder that is not sealed
   * (plaintext files from before the gallery was encrypted, or of a plaintext process) and the
   * temporary files of processes that died. Cheap: a directory listing and 4 bytes per file.
   */
  scrubPlaintextFiles(): void {
    if (!this.sealer) return;
    let names: string[];
    try {
      names = readdirSync(this.options.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!/^gallery-m\d+[-.]/.test(name)) continue;
      const path = join(this.options.dir, name);
      const tmp = /\.usearch\.(\d+)\.tmp$/.exec(name);
      if (tmp) {
        if (!processAlive(Number(tmp[1]))) shred(path);
      } else if (name.endsWith('.usearch')) {
        if (!startsSealed(path)) shred(path);
      } else if (name.endsWith('.usearch.json') && !recordSealed(path)) {
        unlinkQuietly(path);
      }
    }
  }

  private recordPath(modelId: number): string {
    return join(this.options.dir, `gallery-m${modelId}.usearch.json`);
  }

  private open(modelId: number, dims: number): ModelIndex {
    const m = new ModelIndex(modelId, dims);
    const state = this.source.snapshot(() => this.source.state(modelId));
    if (!state || state.count < this.threshold) {
      this.build(m, undefined, 'exact');
      return m;
    }
    if (!this.persists) {
      this.build(m, 'encrypted gallery without a RAM folder: the index is not saved');
      return m;
    }
    const reason = this.tryLoad(m);
    if (reason) this.build(m, reason);
    else this.onEvent({ modelId, action: 'loaded', kind: 'hnsw', size: m.size });
    return m;
  }

  /** Load the saved HNSW index; returns why it could not be used, or null on success. */
  private tryLoad(m: ModelIndex): string | null {
    const recordPath = this.recordPath(m.modelId);
    if (!existsSync(recordPath)) return 'no saved index';
    let rec: SavedRecord;
    try {
      rec = JSON.parse(readFileSync(recordPath, 'utf8')) as SavedRecord;
    } catch {
      return 'unreadable index record';
    }
    if (rec.format !== FORMAT || rec.modelId !== m.modelId || rec.dims !== m.dims || rec.metric !== 'l2sq') {
      return 'index record of another format or model';
    }
    if ((rec.sealed === true) !== (this.sealer !== null)) {
      return this.sealer ? 'index saved unsealed' : 'index saved sealed';
    }
    // The search expansion is a runtime setting; the other two shape the saved graph.
    if (
      rec.params?.connectivity !== this.params.connectivity ||
      rec.params.expansionAdd !== this.params.expansionAdd
    ) {
      return 'index built with other parameters';
    }
    if (typeof rec.file !== 'string' || !/^gallery-m\d+-[0-9a-z-]+\.usearch$/.test(rec.file)) {
      return 'bad file name in index record';
    }
    const file = join(this.options.dir, rec.file);
    if (!existsSync(file)) return 'index file missing';
    // A sealed file is authenticated by its GCM tag when it is opened (bound to its name, which
    // the record holds), so the SHA-256 pass over it is skipped.
    if (statSync(file).size !== rec.bytes || (!this.sealer && fileDigest(file, []).sha256 !== rec.sha256)) {
      return 'index file checksum mismatch';
    }
    try {
      const h = this.sealer
        ? this.loadSealed(file, indexPurpose(m.modelId, rec.file), m.dims, rec.placeholders)
        : HnswIndex.load(file, m.dims, this.params, rec.placeholders);
      if (h.size !== rec.count) return 'index size differs from its record';
      m.hnsw = h;
    } catch (err) {
      return `index file unreadable (${err instanceof Error ? err.message : String(err)})`;
    }
    m.count = rec.count;
    m.checksum = rec.checksum;
    m.maxFaceId = rec.maxFaceId;
    m.lastTombstone = rec.lastTombstone;
    m.file = rec.file;
    m.pending = 0;
    return null;
  }

  /**
   * Apply newer tombstones and faces. Returns 'mismatch' when the result does not agree with the
   * state row.
   */
  private catchUp(m: ModelIndex): { removed: number; added: number } | 'mismatch' {
    return this.source.snapshot(() => {
      const st = this.source.state(m.modelId);
      if (!st) return m.count === 0 ? { removed: 0, added: 0 } : 'mismatch';
      if (
        st.count === m.count &&
        st.checksum === m.checksum &&
        st.maxFaceId === m.maxFaceId &&
        st.lastTombstone === m.lastTombstone
      ) {
        return { removed: 0, added: 0 };
      }
      let removed = 0;
      const tombs = this.source.tombstonesAfter(m.modelId, m.lastTombstone);
      const gone: number[] = [];
      for (const t of tombs) {
        if (m.has(t.faceId)) {
          gone.push(t.faceId);
          m.count--;
          m.checksum = checksumSub(m.checksum, t.hash);
        }
        m.lastTombstone = t.seq;
      }
      if (gone.length > 0) {
        if (m.hnsw) {
          removed = m.hnsw.remove(gone);
          m.removedSinceSave = true;
        } else {
          for (const id of gone) if (m.exact!.remove(id)) removed++;
        }
      }
      m.lastTombstone = Math.max(m.lastTombstone, st.lastTombstone);
      let added = 0;
      for (;;) {
        const rows = this.source.facesAfter(m.modelId, m.maxFaceId, BATCH);
        if (rows.length === 0) break;
        const ids = new Float64Array(rows.length);
        const matrix = new Float32Array(rows.length * m.dims);
        let n = 0;
        for (const row of rows) {
          m.maxFaceId = row.id;
          if (m.has(row.id) || row.embedding.length !== m.dims * 4) continue;
          decodeVectorInto(row.embedding, m.dims, matrix, n * m.dims);
          ids[n++] = row.id;
          m.count++;
          m.checksum = checksumAdd(m.checksum, faceHash(row.id, row.embedding));
        }
        if (m.hnsw) m.hnsw.add(ids, matrix, n);
        else m.exact!.addMany(ids, matrix, n);
        matrix.fill(0);
        added += n;
        if (rows.length < BATCH) break;
      }
      m.pending += added;
      m.maxFaceId = Math.max(m.maxFaceId, st.maxFaceId);
      if (m.count !== st.count || m.checksum !== st.checksum || m.size !== st.count) return 'mismatch';
      return { removed, added };
    });
  }

  /** (Re)build from the database: exact below the threshold (or when forced), else HNSW (saved). */
  private build(m: ModelIndex, reason: string | undefined, force?: 'exact'): void {
    const exact = new ExactIndex(m.dims, 1024);
    const state = this.source.readAll(
      m.modelId,
      (row) => row.embedding.length === m.dims * 4 && exact.addEncoded(row.id, row.embedding),
    );
    const hadHnsw = m.hnsw !== null;
    m.exact?.clear();
    m.exact = null;
    m.hnsw = null;
    m.count = state.count;
    m.checksum = state.checksum;
    m.maxFaceId = state.maxFaceId;
    m.lastTombstone = state.lastTombstone;
    m.pending = 0;
    m.removedSinceSave = m.removedSinceSave || hadHnsw;
    if (force === 'exact' || exact.size < this.threshold) {
      m.exact = exact;
      this.removeFiles(m.modelId, null);
      m.file = null;
      m.removedSinceSave = false;
    } else {
      m.hnsw = this.hnswFrom(exact);
      this.trySave(m, []);
    }
    this.onEvent({
      modelId: m.modelId,
      action: 'built',
      kind: m.kind,
      size: m.size,
      ...(reason ? { reason } : {}),
    });
  }

  /** An HNSW index holding the exact index's vectors; the exact index is cleared. */
  private hnswFrom(exact: ExactIndex): HnswIndex {
    const view = exact.view();
    const h = HnswIndex.create(exact.dims, this.params);
    h.add(view.ids, view.matrix, view.ids.length);
    exact.clear();
    return h;
  }

  private maybeConvert(m: ModelIndex): void {
    if (m.exact && m.exact.size >= this.threshold) {
      m.hnsw = this.hnswFrom(m.exact);
      m.exact = null;
      this.trySave(m, []);
      this.onEvent({
        modelId: m.modelId,
        action: 'built',
        kind: 'hnsw',
        size: m.size,
        reason: 'grew past the threshold',
      });
    } else if (m.hnsw && m.hnsw.size < this.threshold / 2) {
      this.build(m, 'shrank below half the threshold', 'exact');
    }
  }

  /** {@link save}, reporting a failure as an event instead of failing the caller's operation. */
  private trySave(m: ModelIndex, removed: readonly Uint8Array[]): void {
    if (!this.persists) {
      m.pending = 0;
      m.removedSinceSave = false;
      return;
    }
    try {
      if (this.source.persistable && !this.source.persistable()) {
        throw new Error("the gallery's encryption changed since it was opened: reopen it");
      }
      this.save(m, removed, 0);
    } catch (err) {
      this.onEvent({
        modelId: m.modelId,
        action: 'save-failed',
        kind: m.kind,
        size: m.size,
        reason: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /**
   * Save an HNSW index under a new generation name, check it holds none of `removed`, record it,
   * and erase the previous files.
   */
  private save(m: ModelIndex, removed: readonly Uint8Array[], attempt: number): void {
    const h = m.hnsw!;
    const gen = `${this.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const file = `gallery-m${m.modelId}-${gen}.usearch`;
    const path = join(this.options.dir, file);
    const tmp = `${path}.${process.pid}.tmp`;
    let digest: { sha256: string; bytes: number; found: boolean };
    if (this.sealer) {
      digest = this.writeSealed(h, tmp, indexPurpose(m.modelId, file), removed);
    } else {
      h.save(tmp);
      chmodSync(tmp, 0o600);
      fsyncPath(tmp);
      digest = fileDigest(tmp, removed);
    }
    if (digest.found) {
      shred(tmp);
      if (attempt > 0) throw new Error('a removed embedding is still in the rebuilt index file');
      this.build(m, 'a removed embedding was still in the saved index');
      if (m.hnsw) this.save(m, removed, attempt + 1);
      return;
    }
    renameSync(tmp, path);
    const rec: SavedRecord = {
      format: FORMAT,
      modelId: m.modelId,
      dims: m.dims,
      metric: 'l2sq',
      params: {
        connectivity: this.params.connectivity,
        expansionAdd: this.params.expansionAdd,
        expansionSearch: this.params.expansionSearch,
      },
      file,
      sha256: digest.sha256,
      bytes: digest.bytes,
      count: m.count,
      checksum: m.checksum,
      maxFaceId: m.maxFaceId,
      lastTombstone: m.lastTombstone,
      placeholders: h.placeholderState(),
      savedAt: this.now(),
      ...(this.sealer ? { sealed: true } : {}),
    };
    const recordPath = this.recordPath(m.modelId);
    writeFileSync(`${recordPath}.tmp`, JSON.stringify(rec), { mode: 0o600 });
    fsyncPath(`${recordPath}.tmp`);
    renameSync(`${recordPath}.tmp`, recordPath);
    m.file = file;
    m.pending = 0;
    this.removeFiles(m.modelId, file, m.removedSinceSave);
    m.removedSinceSave = false;
    this.onEvent({ modelId: m.modelId, action: 'saved', kind: 'hnsw', size: m.size });
  }

  /**
   * Seal an index into `tmp` (fsynced) by way of the RAM folder; `found` when any of `removed`
   * occurs in its plaintext (then nothing is written).
   */
  private writeSealed(
    h: HnswIndex,
    tmp: string,
    purpose: string,
    removed: readonly Uint8Array[],
  ): { sha256: string; bytes: number; found: boolean } {
    const plain = this.throughRam((scratch) => {
      h.save(scratch);
      return readFileSync(scratch);
    });
    try {
      if (removed.some((p) => p.length > 0 && plain.indexOf(p) >= 0))
        return { sha256: '', bytes: 0, found: true };
      const sealed = this.sealer!.seal(plain, purpose);
      writeFileSync(tmp, sealed, { mode: 0o600 });
      fsyncPath(tmp);
      return {
        sha256: createHash('sha256').update(sealed).digest('hex'),
        bytes: sealed.length,
        found: false,
      };
    } finally {
      plain.fill(0);
    }
  }

  /** Load a sealed index file by way of the RAM folder. */
  private loadSealed(
    file: string,
    purpose: string,
    dims: number,
    placeholders: { readonly live: readonly number[]; readonly next: number },
  ): HnswIndex {
    const plain = this.sealer!.open(readFileSync(file), purpose);
    try {
      return this.throughRam((scratch) => {
        writeFileSync(scratch, plain, { mode: 0o600 });
        return HnswIndex.load(scratch, dims, this.params, placeholders);
      });
    } finally {
      plain.fill(0);
    }
  }

  /**
   * Run `fn` with the path of a file in a private (0700) folder of the RAM folder; afterwards both
   * are removed (not zeroed first: tmpfs pages go back to the kernel, which zeroes them before any
   * reuse, and never reach a disk but through swap, which zeroing afterwards would not undo).
   * Folders left by processes that died are removed first.
   */
  private throughRam<T>(fn: (scratch: string) => T): T {
    const ram = this.ramDir!;
    for (const name of safeList(ram)) {
      const dead = /^facerec-index-(\d+)-[0-9a-f]+$/.exec(name);
      if (dead && !processAlive(Number(dead[1]))) removeScratch(join(ram, name));
    }
    const dir = join(ram, `facerec-index-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { mode: 0o700 });
    const scratch = join(dir, 'index.usearch');
    try {
      closeSync(openSync(scratch, 'wx', 0o600));
      return fn(scratch);
    } finally {
      removeScratch(dir);
    }
  }

  /**
   * Delete every saved index file of a model but `keep` — overwriting it with zeros first when
   * `shredOld` (it may hold removed embeddings) — and temporary files of processes no longer
   * running (always overwritten). With `keep` null, the record goes too.
   */
  private removeFiles(modelId: number, keep: string | null, shredOld = true): void {
    const prefix = `gallery-m${modelId}-`;
    let names: string[];
    try {
      names = readdirSync(this.options.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.startsWith(prefix) || name === keep) continue;
      const path = join(this.options.dir, name);
      if (name.endsWith('.usearch')) {
        if (shredOld) shred(path);
        else unlinkQuietly(path);
        continue;
      }
      const tmp = /\.usearch\.(\d+)\.tmp$/.exec(name);
      if (tmp && !processAlive(Number(tmp[1]))) shred(path);
    }
    if (keep === null) unlinkQuietly(this.recordPath(modelId));
  }
}

/** The names in a folder, or none when it cannot be read. */
function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Remove a scratch folder of the RAM folder and its files (best effort). */
function removeScratch(dir: string): void {
  for (const name of safeList(dir)) unlinkQuietly(join(dir, name));
  try {
    rmdirSync(dir);
  } catch {
    // Already gone.
  }
}

/** True when a file starts with the sealed format's header. */
function startsSealed(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(4);
      return readSync(fd, head, 0, 4, 0) === 4 && head[0] === SEAL_VERSION && head.readUIntBE(1, 3) === 0;
    } finally {
      closeSync(fd);
    }
  } catch {
    return true; // vanished: nothing to scrub
  }
}

/** True when an index record says its file is sealed; false too when it cannot be read (it is of no use then). */
function recordSealed(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { sealed?: unknown }).sealed === true;
  } catch {
    return false;
  }
}

/** True when a process with this pid runs (ours included). */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** fsync a file by path. */
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** SHA-256 and size of a file, and whether any of `patterns` occurs in it (read in 8 MiB chunks). */
function fileDigest(
  path: string,
  patterns: readonly Uint8Array[],
): { sha256: string; bytes: number; found: boolean } {
  const hash = createHash('sha256');
  const overlap = patterns.reduce((m, p) => Math.max(m, p.length), 0);
  const chunk = Buffer.allocUnsafe(8 << 20);
  const fd = openSync(path, 'r');
  let carry = Buffer.alloc(0);
  let bytes = 0;
  let found = false;
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const data = chunk.subarray(0, n);
      hash.update(data);
      bytes += n;
      if (overlap > 0 && !found) {
        const window = carry.length > 0 ? Buffer.concat([carry, data]) : data;
        found = patterns.some((p) => p.length > 0 && window.indexOf(p) >= 0);
        carry = Buffer.from(window.subarray(Math.max(0, window.length - (overlap - 1))));
      }
    }
  } finally {
    closeSync(fd);
  }
  return { sha256: hash.digest('hex'), bytes, found };
}

/** Overwrite a file with zeros, fsync, unlink (best effort: a vanished file is fine). */
function shred(path: string): void {
  try {
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    try {
      const zeros = Buffer.alloc(Math.min(size, 8 << 20));
      for (let off = 0; off < size; off += zeros.length) {
        writeSync(fd, zeros, 0, Math.min(zeros.length, size - off), off);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(path);
  } catch {
    // Already gone (another process cleaned it up).
  }
}
