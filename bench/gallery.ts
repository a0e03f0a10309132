/**
 * Gallery benchmarks: search latency and recall at 10k / 100k (/ 1M) enrolled faces, insert
 * rates into SQLite and into Postgres (PGlite), memory at the largest size.
 *
 * Embeddings are synthetic but shaped like real ones: 3000 identity centres uniform on the unit
 * sphere in 128-d, each face = centre + Gaussian noise (σ = 0.04 per coordinate), renormalized,
 * so that faces of one identity are ≈ 0.6 apart and identities ≈ 1.4 apart. Queries are fresh
 * members of random identities. Recall@1 compares HNSW's nearest face with exact search's.
 *
 * Sizes: `FACEREC_BENCH_GALLERY_SIZES` (comma-separated, default `10000,100000`); add `1000000`
 * for the 1M figures (building that index takes minutes on two cores).
 * Targets (reported, not asserted): HNSW at 1M p50 ≤ 1 ms and recall@1 ≥ 0.99; exact at 100k
 * p50 ≤ 10 ms.
 *
 * `sealing`: the cost of encrypting embeddings at rest (`FACEREC_EMBEDDING_KEY`), plaintext and
 * encrypted SQLite galleries side by side in the same run (`FACEREC_BENCH_SEALING_SIZE` faces,
 * default 100000): insert rate, store search p50 (exact and HNSW), open time (open + first search,
 * which loads or builds the index), encrypting an existing gallery in place, file size. The HNSW
 * part uses a cheaper graph (connectivity 8, expansionAdd 40) so that the two builds stay short; the
 * load cost it measures depends on the file size, not on the graph's quality.
 *
 * Parts: `FACEREC_BENCH_GALLERY_PARTS` (comma-separated among `search,insert,sealing`; default all).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import {
  DEFAULT_HNSW_PARAMS,
  exactKnn,
  type GalleryStore,
  HnswIndex,
  type IndexEvent,
  type NewFace,
  PostgresStore,
  SqliteStore,
  type SqliteStoreOptions,
} from '../src/gallery/index.js';
import {
  clusteredVectors,
  embedding,
  fakeSha,
  randomUnitVectors,
  rng,
  row,
} from '../test/gallery/fixtures.js';
import { median, round, type Suite } from './harness.js';

const DIMS = 128;
const CENTRES = 3000;
const SIGMA = 0.04;

/** p-th percentile (0–100) of a list, nearest rank. */
function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

function latency(times: readonly number[]): { p50_ms: number; p99_ms: number; n: number } {
  return {
    p50_ms: round(percentile(times, 50), 4),
    p99_ms: round(percentile(times, 99), 4),
    n: times.length,
  };
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

function faces(m: Float32Array, from: number, count: number): NewFace[] {
  return Array.from({ length: count }, (_, i) => ({
    embedding: embedding(row(m, from + i, DIMS)),
    box: [0, 0, 100, 100] as const,
    score: 0.99,
    sourceName: `synthetic-${from + i}.jpg`,
    sourceSha256: fakeSha(from + i + 1),
  }));
}

/** Search `queries` (first `n` of them) on an index; latency and recall against `truth`. */
function measureHnsw(
  h: HnswIndex,
  queries: Float32Array,
  truth: readonly number[],
): { p50_ms: number; p99_ms: number; n: number; recall_at_1: number; identity_recall_at_1: number } {
  const times: number[] = [];
  let hits = 0;
  let sameIdentity = 0;
  const nq = queries.length / DIMS;
  for (let pass = 0; pass < 2; pass++) {
    for (let q = 0; q < nq; q++) {
      const query = row(queries, q, DIMS);
      const s = performance.now();
      const nn = h.search(query, 1);
      if (pass === 0) continue;
      times.push(performance.now() - s);
      if (q >= truth.length) continue;
      const got = nn.ids[0] ?? 0;
      if (got === truth[q]) hits++;
      // Faces are generated round-robin over the centres: face id i belongs to identity (i − 1) mod CENTRES.
      if ((got - 1) % CENTRES === (truth[q]! - 1) % CENTRES) sameIdentity++;
    }
  }
  return {
    ...latency(times),
    recall_at_1: round(hits / truth.length, 4),
    identity_recall_at_1: round(sameIdentity / truth.length, 4),
  };
}

async function searchBench(sizes: number[], log: (l: string) => void): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const rand = rng(2024);
  const centres = randomUnitVectors(CENTRES, DIMS, rand);
  const queries = clusteredVectors(1000, centres, DIMS, SIGMA, rng(7));
  const max = Math.max(...sizes);
  log(`generating ${max} synthetic embeddings`);
  const all = clusteredVectors(max, centres, DIMS, SIGMA, rand);
  const ids = Float64Array.from({ length: max }, (_, i) => i + 1);
  const dir = mkdtempSync(join(tmpdir(), 'facerec-bench-hnsw-'));
  try {
    for (const n of sizes) {
      const m = all.subarray(0, n * DIMS);
      const res: Record<string, unknown> = {};
      // Exact: ground truth for recall, and its latency.
      const exactQueries = n >= 1_000_000 ? 500 : 1000;
      const truth: number[] = [];
      const exactTimes: number[] = [];
      for (let q = 0; q < exactQueries; q++) {
        const query = row(queries, q, DIMS);
        const t0 = performance.now();
        const nn = exactKnn(m, ids, n, DIMS, query, 1);
        exactTimes.push(performance.now() - t0);
        truth.push(nn.ids[0]!);
      }
      res.exact = latency(exactTimes);
      log(`${n}: exact p50 ${percentile(exactTimes, 50).toFixed(3)} ms`);

      const t0 = performance.now();
      const h = HnswIndex.create(DIMS);
      h.add(ids, m, n);
      const build = (performance.now() - t0) / 1000;
      log(`${n}: HNSW built in ${build.toFixed(1)} s`);
      const measured = measureHnsw(h, queries, truth);
      res.hnsw = { ...measured, build_s: round(build, 1), params: DEFAULT_HNSW_PARAMS };
      log(`${n}: HNSW p50 ${measured.p50_ms} ms, recall@1 ${measured.recall_at_1}`);
      if (n === max) {
        res.rss_mb = mb(process.memoryUsage().rss);
        // The search expansion is a runtime setting: reload the same graph with other values.
        const file = join(dir, 'bench.usearch');
        let t = performance.now();
        h.save(file);
        res.save_s = round((performance.now() - t) / 1000, 2);
        const sweep: Record<string, unknown> = {};
        for (const ef of [32, 64, 128, 256]) {
          t = performance.now();
          const loaded = HnswIndex.load(
            file,
            DIMS,
            { ...DEFAULT_HNSW_PARAMS, expansionSearch: ef },
            h.placeholderState(),
          );
          const load = (performance.now() - t) / 1000;
          const r = measureHnsw(loaded, queries, truth);
          sweep[`ef${ef}`] = { ...r, load_s: round(load, 2) };
          log(`${n}: ef ${ef}: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, recall@1 ${r.recall_at_1}`);
        }
        res.expansion_search_sweep = sweep;
      }
      out[String(n)] = res;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function insertBench(log: (l: string) => void): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const m = clusteredVectors(20000, randomUnitVectors(500, DIMS, rng(5)), DIMS, SIGMA, rng(6));
  const dir = mkdtempSync(join(tmpdir(), 'facerec-bench-gallery-'));
  try {
    // SQLite: 20k faces in batches of 500 (one transaction each, synchronous=FULL), exact index kept in step.
    const s = await SqliteStore.open({ path: join(dir, 'gallery.sqlite'), hnswThreshold: 1_000_000 });
    let t0 = performance.now();
    for (let b = 0; b < 40; b++) {
      const { person } = await s.ensurePerson(`Person ${b}`);
      await s.addFaces(person.id, faces(m, b * 500, 500));
    }
    const sqliteRate = 20000 / ((performance.now() - t0) / 1000);
    log(`SQLite insert: ${sqliteRate.toFixed(0)} faces/s`);
    // Store-level search (exact, 20k faces, names from the database).
    const times: number[] = [];
    for (let q = 0; q < 500; q++) {
      const t = performance.now();
      await s.search(embedding(row(m, (q * 37) % 20000, DIMS)), 5);
      times.push(performance.now() - t);
    }
    out.sqlite_store_search_20k_k5 = latency(times);
    t0 = performance.now();
    for (let b = 0; b < 20; b++) await s.removeFace(b * 500 + 1);
    out.sqlite_remove_face_ms = round((performance.now() - t0) / 20, 2);
    await s.close();
    out.sqlite_insert_faces_per_s = Math.round(sqliteRate);

    // Postgres: PGlite (Postgres in WASM, single-threaded, in this process) over the wire via pg.
    const db = await PGlite.create({ extensions: { vector } });
    const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 8 });
    await server.start();
    try {
      const pgs = await PostgresStore.open({
        connectionString: `postgres://postgres@${server.getServerConn()}/postgres`,
      });
      t0 = performance.now();
      for (let b = 0; b < 10; b++) {
        const { person } = await pgs.ensurePerson(`Person ${b}`);
        await pgs.addFaces(person.id, faces(m, b * 500, 500));
      }
      const pgRate = 5000 / ((performance.now() - t0) / 1000);
      log(`Postgres (PGlite) insert: ${pgRate.toFixed(0)} faces/s`);
      const pt: number[] = [];
      for (let q = 0; q < 200; q++) {
        const t = performance.now();
        await pgs.search(embedding(row(m, (q * 37) % 5000, DIMS)), 5);
        pt.push(performance.now() - t);
      }
      out.postgres_pglite_search_5k_k5 = latency(pt);
      out.postgres_pglite_insert_faces_per_s = Math.round(pgRate);
      await pgs.close();
    } finally {
      await server.stop();
      await db.close();
    }
    out.note =
      'Postgres figures are PGlite (Postgres compiled to WASM, single-threaded, in the benchmark process, HNSW maintained on insert); a native server is much faster.';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** A fixed test key (64 hex digits); the figures do not depend on its value. */
const BENCH_KEY = 'a3'.repeat(16) + '5c'.repeat(16);

/** Store search latency (k = 5) over `count` queries. */
async function storeSearch(
  s: GalleryStore,
  queries: Float32Array,
  count: number,
): Promise<{ p50_ms: number; p99_ms: number; n: number }> {
  const times: number[] = [];
  for (let q = 0; q < count; q++) {
    const query = embedding(row(queries, q % (queries.length / DIMS), DIMS));
    const t = performance.now();
    await s.search(query, 5);
    times.push(performance.now() - t);
  }
  return latency(times);
}

/** Open a store and run one search (which loads or builds its index); ms, with the index events. */
async function timedOpen(
  options: SqliteStoreOptions,
  query: Float32Array,
): Promise<{ ms: number; store: SqliteStore; events: IndexEvent[] }> {
  const events: IndexEvent[] = [];
  const t = performance.now();
  const store = await SqliteStore.open({ ...options, onIndexEvent: (e) => events.push(e) });
  await store.search(embedding(query), 5);
  return { ms: performance.now() - t, store, events };
}

/** Bytes of a gallery file with its WAL. */
function fileBytes(path: string): number {
  let n = 0;
  for (const p of [path, `${path}-wal`]) {
    try {
      n += statSync(p).size;
    } catch {
      // No WAL.
    }
  }
  return n;
}

async function sealingBench(n: number, log: (l: string) => void): Promise<Record<string, unknown>> {
  const centres = randomUnitVectors(CENTRES, DIMS, rng(2024));
  const m = clusteredVectors(n, centres, DIMS, SIGMA, rng(11));
  const queries = clusteredVectors(500, centres, DIMS, SIGMA, rng(12));
  const dir = mkdtempSync(join(tmpdir(), 'facerec-bench-sealing-'));
  const variants = [
    { name: 'plain', dir: join(dir, 'plain'), key: undefined },
    { name: 'sealed', dir: join(dir, 'sealed'), key: BENCH_KEY },
  ] as const;
  const cheap = { connectivity: 8, expansionAdd: 40 };
  const opts = (
    v: (typeof variants)[number],
    extra: Partial<SqliteStoreOptions> = {},
  ): SqliteStoreOptions => ({
    path: join(v.dir, 'gallery.sqlite'),
    hnswThreshold: 10 * n,
    hnsw: cheap,
    ...(v.key ? { embeddingKey: v.key } : {}),
    ...extra,
  });
  const out: Record<string, Record<string, unknown>> = { plain: {}, sealed: {} };
  const ratio = (a: number, b: number) => round(b / a, 2);
  try {
    for (const v of variants) mkdirSync(v.dir);
    // Inserts: batches of 1000 faces (one transaction each), the two stores alternating.
    const stores = await Promise.all(variants.map((v) => SqliteStore.open(opts(v))));
    const spent = [0, 0];
    const batch = 1000;
    for (let b = 0; b * batch < n; b++) {
      const count = Math.min(batch, n - b * batch);
      for (let i = 0; i < 2; i++) {
        const s = stores[i]!;
        const t = performance.now();
        const { person } = await s.ensurePerson(`Person ${b % 500}`);
        await s.addFaces(person.id, faces(m, b * batch, count));
        spent[i]! += performance.now() - t;
      }
    }
    variants.forEach((v, i) => {
      out[v.name]!.insert_faces_per_s = Math.round(n / (spent[i]! / 1000));
    });
    log(
      `sealing ${n}: insert plain ${out.plain!.insert_faces_per_s}/s, sealed ${out.sealed!.insert_faces_per_s}/s`,
    );
    // Store search, exact index.
    for (let i = 0; i < 2; i++) await storeSearch(stores[i]!, queries, 50);
    for (let i = 0; i < 2; i++)
      out[variants[i]!.name]!.exact_search_k5 = await storeSearch(stores[i]!, queries, 300);
    for (const s of stores) await s.close();
    variants.forEach((v) => {
      out[v.name]!.file_mb = round(fileBytes(join(v.dir, 'gallery.sqlite')) / 2 ** 20, 1);
    });
    // Open + first search with the exact index (reads, and for sealed opens, every row).
    const exactOpen: number[][] = [[], []];
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < 2; i++) {
        const o = await timedOpen(opts(variants[i]!), row(queries, 0, DIMS));
        exactOpen[i]!.push(o.ms);
        await o.store.close();
      }
    }
    variants.forEach((v, i) => {
      out[v.name]!.open_exact_ms = round(median(exactOpen[i]!), 1);
    });
    log(
      `sealing ${n}: open (exact) plain ${out.plain!.open_exact_ms} ms, sealed ${out.sealed!.open_exact_ms} ms`,
    );
    // Encrypting an existing plaintext gallery in place (a copy of the plaintext one).
    const copy = join(dir, 'upgrade');
    mkdirSync(copy);
    copyFileSync(join(variants[0].dir, 'gallery.sqlite'), join(copy, 'gallery.sqlite'));
    const t = performance.now();
    await (await SqliteStore.open({ path: join(copy, 'gallery.sqlite'), embeddingKey: BENCH_KEY })).close();
    const upgradeS = round((performance.now() - t) / 1000, 2);
    log(`sealing ${n}: encrypting an existing gallery in place took ${upgradeS} s`);
    // HNSW: build once per store (saved plaintext / sealed through the RAM folder), then reopen.
    const hnswBuild: number[] = [];
    for (let i = 0; i < 2; i++) {
      const o = await timedOpen(opts(variants[i]!, { hnswThreshold: 20000 }), row(queries, 0, DIMS));
      hnswBuild.push(o.ms);
      await o.store.close();
      log(`sealing ${n}: ${variants[i]!.name} HNSW built and saved in ${(o.ms / 1000).toFixed(1)} s`);
    }
    const hnswOpen: number[][] = [[], []];
    const hnswSearch: Record<string, unknown>[] = [];
    const loaded: boolean[] = [true, true];
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < 2; i++) {
        const o = await timedOpen(opts(variants[i]!, { hnswThreshold: 20000 }), row(queries, 0, DIMS));
        hnswOpen[i]!.push(o.ms);
        loaded[i] = loaded[i]! && o.events.some((e) => e.action === 'loaded');
        if (r === 2) {
          await storeSearch(o.store, queries, 50);
          hnswSearch[i] = await storeSearch(o.store, queries, 500);
        }
        await o.store.close();
      }
    }
    variants.forEach((v, i) => {
      out[v.name]!.open_hnsw_ms = round(median(hnswOpen[i]!), 1);
      out[v.name]!.open_hnsw_loaded_from_file = loaded[i];
      out[v.name]!.hnsw_search_k5 = hnswSearch[i];
      out[v.name]!.hnsw_first_build_s = round(hnswBuild[i]! / 1000, 1);
    });
    log(
      `sealing ${n}: open (HNSW) plain ${out.plain!.open_hnsw_ms} ms, sealed ${out.sealed!.open_hnsw_ms} ms`,
    );
    // Sealed without a RAM folder: the HNSW index is rebuilt at every open.
    const noRam = await timedOpen(
      opts(variants[1], { hnswThreshold: 20000, ramDir: null }),
      row(queries, 0, DIMS),
    );
    await noRam.store.close();
    const noRamS = round(noRam.ms / 1000, 1);
    log(`sealing ${n}: sealed without a RAM folder, open (HNSW rebuilt) ${noRamS} s`);
    const p50 = (v: string, k: string) => (out[v]![k] as { p50_ms: number }).p50_ms;
    return {
      faces: n,
      ...out,
      encrypt_existing_gallery_s: upgradeS,
      sealed_without_ram_dir_open_hnsw_s: noRamS,
      ratios_sealed_over_plain: {
        insert_rate: ratio(out.plain!.insert_faces_per_s as number, out.sealed!.insert_faces_per_s as number),
        exact_search_p50: ratio(p50('plain', 'exact_search_k5'), p50('sealed', 'exact_search_k5')),
        hnsw_search_p50: ratio(p50('plain', 'hnsw_search_k5'), p50('sealed', 'hnsw_search_k5')),
        open_exact: ratio(out.plain!.open_exact_ms as number, out.sealed!.open_exact_ms as number),
        open_hnsw: ratio(out.plain!.open_hnsw_ms as number, out.sealed!.open_hnsw_ms as number),
        file_size: ratio(out.plain!.file_mb as number, out.sealed!.file_mb as number),
      },
      note: `HNSW graph: connectivity ${cheap.connectivity}, expansionAdd ${cheap.expansionAdd} (cheaper than the defaults, to keep the two builds short). Open = open + first search (index loaded from its file, or built from the rows).`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const suite: Suite = {
  name: 'gallery',
  async run(log) {
    const sizes = (process.env.FACEREC_BENCH_GALLERY_SIZES ?? '10000,100000')
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
    const parts = (process.env.FACEREC_BENCH_GALLERY_PARTS ?? 'search,insert,sealing')
      .split(',')
      .map((s) => s.trim());
    const sealingSize = Number(process.env.FACEREC_BENCH_SEALING_SIZE ?? 100000);
    const report: Record<string, unknown> = {
      data: `${CENTRES} identity centres on the 128-d unit sphere, members σ=${SIGMA}, normalized`,
    };
    if (parts.includes('search')) report.search = await searchBench(sizes, log);
    if (parts.includes('insert')) report.insert = await insertBench(log);
    if (parts.includes('sealing')) {
      report.sealing = await sealingBench(
        Number.isInteger(sealingSize) && sealingSize > 0 ? sealingSize : 100000,
        log,
      );
    }
    report.targets = { hnsw_1m_p50_ms: 1, hnsw_1m_recall_at_1: 0.99, exact_100k_p50_ms: 10 };
    return report;
  },
};
