/**
 * Enrollment and identification through the services (src/recognize/enroll.ts, identify.ts).
 *
 * - Enrollment throughput (photos/s) on LFW dev photos (150×150, one face each, a few hundred):
 *   read + SHA-256 + decode + MTCNN + flip-averaged embedding + SQLite insert, with the default
 *   batching (16 photos per embedding run and per transaction) and with batches of one photo, so
 *   that the gain of batching is visible (best of two alternated runs each, page cache warm). Needs `../shared/data/faces/lfw` (skipped otherwise).
 *   `FACEREC_BENCH_ENROLL_PHOTOS` sets the count (default 300).
 * - Identification latency per face through {@link identifyEmbeddings} (search 30 nearest +
 *   k-NN vote) at a few gallery sizes of synthetic embeddings (identity clusters as in the gallery
 *   bench), p50/p99; exact search below the HNSW threshold, HNSW above.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePaths, resolveRuntimeOptions } from '../src/core/index.js';
import { type NewFace, SqliteStore } from '../src/gallery/index.js';
import {
  type EnrollPhoto,
  type EnrollReport,
  enrollPhotos,
  FaceRecognizer,
  identifyEmbeddings,
} from '../src/recognize/index.js';
import {
  clusteredVectors,
  embedding,
  fakeSha,
  randomUnitVectors,
  rng,
  row,
} from '../test/gallery/fixtures.js';
import { sharedPath, sharedSkip } from '../test/helpers.js';
import { round, type Suite } from './harness.js';

const DIMS = 128;

/** p-th percentile (0–100), nearest rank. */
function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** The first `n` LFW dev photos, one folder (person) after another. */
function lfwPhotos(n: number): EnrollPhoto[] {
  const root = sharedPath('data', 'faces', 'lfw');
  const out: EnrollPhoto[] = [];
  for (const person of readdirSync(root).sort()) {
    if (out.length >= n) break;
    if (person.includes('.')) continue;
    for (const f of readdirSync(join(root, person)).sort()) {
      if (out.length < n) out.push({ person, file: join(root, person, f) });
    }
  }
  return out;
}

async function enrollBench(fr: FaceRecognizer, log: (l: string) => void): Promise<Record<string, unknown>> {
  const skip = sharedSkip('data/faces/lfw');
  if (skip) {
    log(`enrollment throughput skipped: ${skip}`);
    return { skipped: skip };
  }
  const n = Number(process.env.FACEREC_BENCH_ENROLL_PHOTOS ?? 300);
  const photos = lfwPhotos(n);
  const out: Record<string, unknown> = { photos: photos.length };
  const dir = mkdtempSync(join(tmpdir(), 'facerec-bench-enroll-'));
  try {
    // Warm-up (not measured): the sessions, and every photo read once into the page cache.
    for (const p of photos) readFileSync(p.file);
    const warm = await SqliteStore.open({ path: join(dir, 'warm.sqlite') });
    await enrollPhotos(fr, warm, photos.slice(0, 16));
    await warm.close();
    // Alternate the two settings, twice each, and keep the faster run of each (shared machine).
    const best = new Map<string, EnrollReport>();
    for (let round = 0; round < 2; round++) {
      for (const [label, batchSize] of [
        ['batch16', 16],
        ['batch1', 1],
      ] as const) {
        const path = join(dir, `${label}-${round}.sqlite`);
        const store = await SqliteStore.open({ path });
        const r = await enrollPhotos(fr, store, photos, { batchSize });
        await store.close();
        log(`enroll ${photos.length} LFW photos, ${label}: ${r.photosPerSecond.toFixed(1)} photos/s`);
        const prev = best.get(label);
        if (!prev || r.photosPerSecond > prev.photosPerSecond) best.set(label, r);
      }
    }
    for (const [label, r] of best) {
      out[label] = {
        photos_per_s: round(r.photosPerSecond, 1),
        ms_per_photo: round((r.seconds * 1000) / photos.length, 2),
        added: r.added,
        no_face: r.noFace,
        errors: r.errors,
      };
    }
    // Re-enrolling the same photos: duplicates are known by their hash, no decoding or inference.
    const store = await SqliteStore.open({ path: join(dir, 'batch16-0.sqlite') });
    const again = await enrollPhotos(fr, store, photos);
    await store.close();
    out.reenroll_photos_per_s = round(again.photosPerSecond, 1);
    log(`re-enroll (all duplicates): ${again.photosPerSecond.toFixed(0)} photos/s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function identifyBench(fr: FaceRecognizer, log: (l: string) => void): Promise<Record<string, unknown>> {
  const sizes = (process.env.FACEREC_BENCH_IDENTIFY_SIZES ?? '1000,10000,50000').split(',').map(Number);
  const max = Math.max(...sizes);
  const rand = rng(99);
  const centres = randomUnitVectors(Math.max(50, Math.round(max / 10)), DIMS, rand);
  const all = clusteredVectors(max, centres, DIMS, 0.04, rand);
  const queries = clusteredVectors(300, centres, DIMS, 0.04, rng(100));
  const provenance = fr.provenance;
  const out: Record<string, unknown> = {};
  const dir = mkdtempSync(join(tmpdir(), 'facerec-bench-identify-'));
  try {
    const store = await SqliteStore.open({ path: join(dir, 'gallery.sqlite') });
    let enrolled = 0;
    const people = centres.length / DIMS;
    for (const n of sizes.sort((a, b) => a - b)) {
      // Grow the gallery to n faces, 1000 per transaction, faces spread over the identities.
      for (; enrolled < n; enrolled += 1000) {
        const count = Math.min(1000, n - enrolled);
        const { person } = await store.ensurePerson(`Person ${(enrolled / 1000) % people}`);
        const faces: NewFace[] = Array.from({ length: count }, (_, i) => ({
          embedding: embedding(row(all, enrolled + i, DIMS), provenance),
          box: [0, 0, 100, 100],
          score: 0.99,
          sourceSha256: fakeSha(enrolled + i + 1),
        }));
        await store.addFaces(person.id, faces);
      }
      const times: number[] = [];
      for (let pass = 0; pass < 2; pass++) {
        for (let q = 0; q < 300; q++) {
          const t = performance.now();
          await identifyEmbeddings(store, [embedding(row(queries, q, DIMS), provenance)], { threshold: 0.5 });
          if (pass === 1) times.push(performance.now() - t);
        }
      }
      out[String(n)] = {
        p50_ms: round(percentile(times, 50), 3),
        p99_ms: round(percentile(times, 99), 3),
        index: n >= 20000 ? 'hnsw' : 'exact',
      };
      log(`identify one face in ${n} faces: p50 ${percentile(times, 50).toFixed(3)} ms`);
    }
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export const suite: Suite = {
  name: 'enroll',
  async run(log) {
    const fr = await FaceRecognizer.load({ paths: resolvePaths(), runtime: resolveRuntimeOptions() });
    try {
      return {
        enrollment: await enrollBench(fr, log),
        identify_latency: await identifyBench(fr, log),
        threads: resolveRuntimeOptions().threads,
      };
    } finally {
      await fr.dispose();
    }
  },
};
