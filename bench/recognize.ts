/**
 * Suite `recognize`: the recognition core against face-api in the same run.
 * - embedding with alignment, ms per face at batch 1 and 8 (our embedder with and without the
 *   flip average, face-api's computeFaceDescriptor on the same aligned chips);
 * - the full per-photo path (decode, detect, align, embed every face) on the six demo photos at
 *   width 640, against face-api's detectAllFaces(SSD).withFaceLandmarks().withFaceDescriptors(),
 *   as shipped (flip average) and without the flip average (`oursNoFlip`);
 * - both again with the int8 descriptor (`int8`, `int8NoFlip`), in a phase of their own against
 *   face-api (the ratios of each phase use that phase's face-api times);
 * - LFW evaluation throughput (pairs/s) on the first two dev folds, when ../shared is present.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { DetectedFace, RawImage } from '../src/core/index.js';
import { resolvePaths, resolveRuntimeOptions } from '../src/core/index.js';
import { decodeImage, encodeJpeg } from '../src/image/index.js';
import {
  evaluateLfw,
  FaceEmbedder,
  FaceRecognizer,
  type LfwPairs,
  loadLfwPairs,
} from '../src/recognize/index.js';
import { demoPhoto, sharedPath, sharedSkip } from '../test/helpers.js';
import { median, round, type Suite } from './harness.js';

const WIDTH = 640;
const ROUNDS = 5;

interface TensorLike {
  dispose(): void;
}
interface FaceApiLike {
  tf: {
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    getBackend(): string;
    tensor3d(values: Int32Array | Float32Array, shape: [number, number, number], dtype: string): TensorLike;
  };
  nets: {
    ssdMobilenetv1: { loadFromDisk(dir: string): Promise<void> };
    faceLandmark68Net: { loadFromDisk(dir: string): Promise<void> };
    faceRecognitionNet: {
      loadFromDisk(dir: string): Promise<void>;
      computeFaceDescriptor(input: TensorLike | TensorLike[]): Promise<Float32Array | Float32Array[]>;
    };
  };
  SsdMobilenetv1Options: new (o: { minConfidence?: number }) => unknown;
  detectAllFaces(
    input: TensorLike,
    options: unknown,
  ): { withFaceLandmarks(): { withFaceDescriptors(): Promise<unknown[]> } };
}

async function loadFaceApi(): Promise<FaceApiLike> {
  const require = createRequire(import.meta.url);
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiLike;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void };
  wasm.setWasmPaths(
    `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`,
  );
  await faceapi.tf.setBackend('wasm');
  await faceapi.tf.ready();
  const models = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(models);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(models);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(models);
  return faceapi;
}

/** ms of one call. */
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Each job once per round, in order, `ROUNDS` rounds after one warm-up round: ms per job. */
async function rounds(
  jobs: Record<string, (round: number) => Promise<unknown>>,
): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (const [k, job] of Object.entries(jobs)) {
      const ms = await time(() => job(r));
      if (r > 0) out[k]!.push(ms);
    }
  }
  return out;
}

function stats(xs: number[], items = 1) {
  return {
    medianMs: round(median(xs) / items),
    minMs: round(Math.min(...xs) / items),
    maxMs: round(Math.max(...xs) / items),
    n: xs.length,
  };
}

/** The first `folds` folds of an LFW pairs list. */
function firstFolds(p: LfwPairs, folds: number): LfwPairs {
  const pairs = p.pairs.filter((x) => x.fold < folds);
  const images = [...new Set(pairs.flatMap((x) => [x.a, x.b]))];
  return { ...p, folds, pairs, images };
}

export const suite: Suite = {
  name: 'recognize',
  async run(log) {
    const paths = resolvePaths();
    // The float descriptor (the default) and the int8 one, each with and without the flip average.
    const runtime = resolveRuntimeOptions({ descriptor: 'fp32' });
    const runtime8 = { ...runtime, descriptor: 'int8' as const };
    const fr = await FaceRecognizer.load({ paths, runtime });
    const plain = await FaceEmbedder.load(paths, runtime, { flip: false });
    const int8Flip = await FaceEmbedder.load(paths, runtime8);
    const int8 = await FaceEmbedder.load(paths, runtime8, { flip: false });
    const faceapi = await loadFaceApi();
    const ssd = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });

    // The demo photos at width 640, as JPEG files in memory (so decoding is part of the path).
    const jpegs: Buffer[] = [];
    for (const n of [1, 2, 3, 4, 5, 6] as const) {
      jpegs.push(await encodeJpeg(await decodeImage(demoPhoto(n), { maxWidth: WIDTH }), 92));
    }
    // Eight faces with their photos, and their aligned chips for face-api.
    const faces: { image: RawImage; face: DetectedFace }[] = [];
    for (const j of jpegs) {
      const image = await decodeImage(j);
      for (const face of await fr.detectFaces(image)) if (faces.length < 8) faces.push({ image, face });
    }
    const chips = faces.map(({ image, face }) => {
      const chip = fr.alignFace(image, face).chip;
      return faceapi.tf.tensor3d(Float32Array.from(chip.data), [150, 150, 3], 'float32');
    });

    // Embedding with alignment, in two phases, fp32 then int8, each interleaved with face-api
    // round by round: the two descriptors' weights do not fit in the cache together, and
    // alternating them slowed both.
    const faceapiJobs = {
      faceapi1: (r: number) =>
        faceapi.nets.faceRecognitionNet.computeFaceDescriptor(chips[r % chips.length]!),
      faceapi8: () => faceapi.nets.faceRecognitionNet.computeFaceDescriptor(chips),
    };
    const one = (r: number) => [faces[r % faces.length]!];
    const emb = await rounds({
      ours1: (r) => plain.embedMany(one(r)),
      ours8: () => plain.embedMany(faces),
      oursFlip1: (r) => fr.embedder.embedMany(one(r)),
      oursFlip8: () => fr.embedder.embedMany(faces),
      ...faceapiJobs,
    });
    const emb8 = await rounds({
      int8_1: (r) => int8.embedMany(one(r)),
      int8_8: () => int8.embedMany(faces),
      int8Flip1: (r) => int8Flip.embedMany(one(r)),
      int8Flip8: () => int8Flip.embedMany(faces),
      ...faceapiJobs,
    });
    for (const c of chips) c.dispose();
    const embedding = {
      ours: { batch1: stats(emb.ours1!), batch8: stats(emb.ours8!, 8) },
      oursFlip: { batch1: stats(emb.oursFlip1!), batch8: stats(emb.oursFlip8!, 8) },
      int8: { batch1: stats(emb8.int8_1!), batch8: stats(emb8.int8_8!, 8) },
      int8Flip: { batch1: stats(emb8.int8Flip1!), batch8: stats(emb8.int8Flip8!, 8) },
      faceapi: { batch1: stats(emb.faceapi1!), batch8: stats(emb.faceapi8!, 8) },
      faceapiInt8Phase: { batch1: stats(emb8.faceapi1!), batch8: stats(emb8.faceapi8!, 8) },
    };
    const ratio = (a: number, b: number) => round(a / b, 2);
    const embeddingRatios = {
      batch8: ratio(embedding.faceapi.batch8.medianMs, embedding.ours.batch8.medianMs),
      batch8Flip: ratio(embedding.faceapi.batch8.medianMs, embedding.oursFlip.batch8.medianMs),
      batch1: ratio(embedding.faceapi.batch1.medianMs, embedding.ours.batch1.medianMs),
      batch8Int8: ratio(embedding.faceapiInt8Phase.batch8.medianMs, embedding.int8.batch8.medianMs),
      batch8Int8Flip: ratio(embedding.faceapiInt8Phase.batch8.medianMs, embedding.int8Flip.batch8.medianMs),
      batch1Int8: ratio(embedding.faceapiInt8Phase.batch1.medianMs, embedding.int8.batch1.medianMs),
    };
    log(
      `embedding per face, batch 8: ours ${embedding.ours.batch8.medianMs} ms (flip ${embedding.oursFlip.batch8.medianMs}), ` +
        `face-api ${embedding.faceapi.batch8.medianMs} ms → ${embeddingRatios.batch8}× (${embeddingRatios.batch8Flip}× with flip); ` +
        `int8 ${embedding.int8.batch8.medianMs} ms (flip ${embedding.int8Flip.batch8.medianMs}), ` +
        `face-api ${embedding.faceapiInt8Phase.batch8.medianMs} ms → ` +
        `${embeddingRatios.batch8Int8}× (${embeddingRatios.batch8Int8Flip}× with flip)`,
    );

    // The full per-photo path, interleaved photo by photo; also ours without the flip average
    // (one descriptor run per face, the work face-api does), sharing the same detector. Two
    // phases again: fp32 and face-api, then int8 and face-api.
    const frPlain = new FaceRecognizer(fr.detector, plain);
    const fr8 = new FaceRecognizer(fr.detector, int8Flip);
    const fr8Plain = new FaceRecognizer(fr.detector, int8);
    const theirs = async (j: Buffer) => {
      const img = await decodeImage(j);
      const t = faceapi.tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 3], 'int32');
      try {
        return await faceapi.detectAllFaces(t, ssd).withFaceLandmarks().withFaceDescriptors();
      } finally {
        t.dispose();
      }
    };
    /** Each job on each photo, photo by photo, round by round: ms, and faces found in the first round. */
    const perPhotoRounds = async (jobs: Record<string, (j: Buffer) => Promise<unknown[]>>) => {
      const out: Record<string, number[]> = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
      const faces: Record<string, number> = Object.fromEntries(Object.keys(jobs).map((k) => [k, 0]));
      for (let r = 0; r < ROUNDS + 1; r++) {
        for (const j of jpegs) {
          for (const [k, job] of Object.entries(jobs)) {
            let n = 0;
            const ms = await time(async () => {
              n = (await job(j)).length;
            });
            if (r === 0) continue;
            out[k]!.push(ms);
            if (r === 1) faces[k]! += n;
          }
        }
      }
      return { ms: out, faces };
    };
    const path = await perPhotoRounds({
      ours: async (j) => fr.analyze(await decodeImage(j)),
      oursNoFlip: async (j) => frPlain.analyze(await decodeImage(j)),
      faceapi: theirs,
    });
    const path8 = await perPhotoRounds({
      int8: async (j) => fr8.analyze(await decodeImage(j)),
      int8NoFlip: async (j) => fr8Plain.analyze(await decodeImage(j)),
      faceapi: theirs,
    });
    const perPhoto = {
      ours: stats(path.ms.ours!),
      oursNoFlip: stats(path.ms.oursNoFlip!),
      int8: stats(path8.ms.int8!),
      int8NoFlip: stats(path8.ms.int8NoFlip!),
      faceapi: stats(path.ms.faceapi!),
      faceapiInt8Phase: stats(path8.ms.faceapi!),
      facesFound: { ours: path.faces.ours, int8: path8.faces.int8, faceapi: path.faces.faceapi },
    };
    const perPhotoRatio = ratio(perPhoto.faceapi.medianMs, perPhoto.ours.medianMs);
    const perPhotoRatioNoFlip = ratio(perPhoto.faceapi.medianMs, perPhoto.oursNoFlip.medianMs);
    const perPhotoRatioInt8 = ratio(perPhoto.faceapiInt8Phase.medianMs, perPhoto.int8.medianMs);
    const perPhotoRatioInt8NoFlip = ratio(perPhoto.faceapiInt8Phase.medianMs, perPhoto.int8NoFlip.medianMs);
    log(
      `per photo (640 px): ours ${perPhoto.ours.medianMs} ms (${perPhoto.oursNoFlip.medianMs} without flip), ` +
        `face-api ${perPhoto.faceapi.medianMs} ms → ${perPhotoRatio}× (${perPhotoRatioNoFlip}× without flip); ` +
        `int8 ${perPhoto.int8.medianMs} ms (${perPhoto.int8NoFlip.medianMs} without flip), ` +
        `face-api ${perPhoto.faceapiInt8Phase.medianMs} ms → ` +
        `${perPhotoRatioInt8}× (${perPhotoRatioInt8NoFlip}×)`,
    );

    let lfw: Record<string, unknown> = { skipped: sharedSkip('data/faces/lfw/pairs-dev.txt') };
    if (!sharedSkip('data/faces/lfw/pairs-dev.txt')) {
      const pairs = firstFolds(await loadLfwPairs(sharedPath('data', 'faces', 'lfw', 'pairs-dev.txt')), 2);
      const r = await evaluateLfw(fr, pairs, { root: sharedPath('data', 'faces', 'lfw') });
      lfw = {
        pairs: r.pairs,
        images: r.images,
        seconds: round(r.seconds, 1),
        pairsPerSecond: round(r.pairsPerSecond, 1),
        imagesPerSecond: round(r.imagesPerSecond, 1),
      };
      log(
        `LFW (2 folds): ${r.pairs} pairs, ${r.images} images in ${round(r.seconds, 1)} s: ${round(r.pairsPerSecond, 1)} pairs/s`,
      );
    }

    await Promise.all([fr.dispose(), plain.dispose(), int8.dispose(), int8Flip.dispose()]);
    return {
      backend: faceapi.tf.getBackend(),
      threads: runtime.threads,
      embedding,
      embeddingRatios,
      perPhoto,
      perPhotoRatio,
      perPhotoRatioNoFlip,
      perPhotoRatioInt8,
      perPhotoRatioInt8NoFlip,
      lfw,
      // `value`/`met`: the default pipeline (fp32 descriptor; the embedding ratio without flip, the
      // per-photo ratio with it, as shipped); `int8`/`metInt8`: the same with FACEREC_DESCRIPTOR=int8.
      targets: {
        embeddingBatch8: {
          value: embeddingRatios.batch8,
          int8: embeddingRatios.batch8Int8,
          target: 8,
          met: embeddingRatios.batch8 >= 8,
          metInt8: embeddingRatios.batch8Int8 >= 8,
        },
        perPhoto: {
          value: perPhotoRatio,
          int8: perPhotoRatioInt8,
          target: 10,
          met: perPhotoRatio >= 10,
          metInt8: perPhotoRatioInt8 >= 10,
        },
      },
    };
  },
};
