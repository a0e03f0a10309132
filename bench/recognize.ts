/**
 * Suite `recognize`: the recognition core against face-api in the same run.
 * - embedding with alignment, ms per face at batch 1 and 8 (our embedder with and without the
 *   flip average, face-api's computeFaceDescriptor on the same aligned chips);
 * - the full per-photo path (decode, detect, align, embed every face) on the six demo photos at
 *   width 640, against face-api's detectAllFaces(SSD).withFaceLandmarks().withFaceDescriptors(),
 *   as shipped (flip average) and without the flip average (`oursNoFlip`);
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

    // Embedding with alignment, interleaved round by round.
    const emb: Record<string, number[]> = {
      ours1: [],
      ours8: [],
      oursFlip1: [],
      oursFlip8: [],
      int8_1: [],
      int8_8: [],
      int8Flip1: [],
      int8Flip8: [],
      faceapi1: [],
      faceapi8: [],
    };
    for (let r = 0; r < ROUNDS + 1; r++) {
      const sample = {
        ours1: await time(() => plain.embedMany([faces[r % faces.length]!])),
        ours8: await time(() => plain.embedMany(faces)),
        oursFlip1: await time(() => fr.embedder.embedMany([faces[r % faces.length]!])),
        oursFlip8: await time(() => fr.embedder.embedMany(faces)),
        int8_1: await time(() => int8.embedMany([faces[r % faces.length]!])),
        int8_8: await time(() => int8.embedMany(faces)),
        int8Flip1: await time(() => int8Flip.embedMany([faces[r % faces.length]!])),
        int8Flip8: await time(() => int8Flip.embedMany(faces)),
        faceapi1: await time(() =>
          faceapi.nets.faceRecognitionNet.computeFaceDescriptor(chips[r % chips.length]!),
        ),
        faceapi8: await time(() => faceapi.nets.faceRecognitionNet.computeFaceDescriptor(chips)),
      };
      if (r === 0) continue; // warm-up
      for (const [k, v] of Object.entries(sample)) emb[k]!.push(v);
    }
    for (const c of chips) c.dispose();
    const embedding = {
      ours: { batch1: stats(emb.ours1!), batch8: stats(emb.ours8!, 8) },
      oursFlip: { batch1: stats(emb.oursFlip1!), batch8: stats(emb.oursFlip8!, 8) },
      int8: { batch1: stats(emb.int8_1!), batch8: stats(emb.int8_8!, 8) },
      int8Flip: { batch1: stats(emb.int8Flip1!), batch8: stats(emb.int8Flip8!, 8) },
      faceapi: { batch1: stats(emb.faceapi1!), batch8: stats(emb.faceapi8!, 8) },
    };
    const ratio = (a: number, b: number) => round(a / b, 2);
    const embeddingRatios = {
      batch8: ratio(embedding.faceapi.batch8.medianMs, embedding.ours.batch8.medianMs),
      batch8Flip: ratio(embedding.faceapi.batch8.medianMs, embedding.oursFlip.batch8.medianMs),
      batch1: ratio(embedding.faceapi.batch1.medianMs, embedding.ours.batch1.medianMs),
      batch8Int8: ratio(embedding.faceapi.batch8.medianMs, embedding.int8.batch8.medianMs),
      batch8Int8Flip: ratio(embedding.faceapi.batch8.medianMs, embedding.int8Flip.batch8.medianMs),
      batch1Int8: ratio(embedding.faceapi.batch1.medianMs, embedding.int8.batch1.medianMs),
    };
    log(
      `embedding per face, batch 8: ours ${embedding.ours.batch8.medianMs} ms (flip ${embedding.oursFlip.batch8.medianMs}), ` +
        `face-api ${embedding.faceapi.batch8.medianMs} ms → ${embeddingRatios.batch8}× (${embeddingRatios.batch8Flip}× with flip); ` +
        `int8 ${embedding.int8.batch8.medianMs} ms (flip ${embedding.int8Flip.batch8.medianMs}) → ` +
        `${embeddingRatios.batch8Int8}× (${embeddingRatios.batch8Int8Flip}× with flip)`,
    );

    // The full per-photo path, interleaved photo by photo; also ours without the flip average
    // (one descriptor run per face, the work face-api does), sharing the same detector.
    const frPlain = new FaceRecognizer(fr.detector, plain);
    const fr8 = new FaceRecognizer(fr.detector, int8Flip);
    const fr8Plain = new FaceRecognizer(fr.detector, int8);
    const path: Record<string, number[]> = {
      ours: [],
      oursNoFlip: [],
      int8: [],
      int8NoFlip: [],
      faceapi: [],
    };
    let ourFaces = 0;
    let theirFaces = 0;
    for (let r = 0; r < ROUNDS + 1; r++) {
      for (const j of jpegs) {
        let n = 0;
        const ours = await time(async () => {
          n = (await fr.analyze(await decodeImage(j))).length;
        });
        const oursNoFlip = await time(async () => frPlain.analyze(await decodeImage(j)));
        const int8Time = await time(async () => fr8.analyze(await decodeImage(j)));
        const int8NoFlip = await time(async () => fr8Plain.analyze(await decodeImage(j)));
        let m = 0;
        const theirs = await time(async () => {
          const img = await decodeImage(j);
          const t = faceapi.tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 3], 'int32');
          try {
            m = (await faceapi.detectAllFaces(t, ssd).withFaceLandmarks().withFaceDescriptors()).length;
          } finally {
            t.dispose();
          }
        });
        if (r === 0) continue;
        path.ours!.push(ours);
        path.oursNoFlip!.push(oursNoFlip);
        path.int8!.push(int8Time);
        path.int8NoFlip!.push(int8NoFlip);
        path.faceapi!.push(theirs);
        if (r === 1) {
          ourFaces += n;
          theirFaces += m;
        }
      }
    }
    const perPhoto = {
      ours: stats(path.ours!),
      oursNoFlip: stats(path.oursNoFlip!),
      int8: stats(path.int8!),
      int8NoFlip: stats(path.int8NoFlip!),
      faceapi: stats(path.faceapi!),
      facesFound: { ours: ourFaces, faceapi: theirFaces },
    };
    const perPhotoRatio = ratio(perPhoto.faceapi.medianMs, perPhoto.ours.medianMs);
    const perPhotoRatioNoFlip = ratio(perPhoto.faceapi.medianMs, perPhoto.oursNoFlip.medianMs);
    const perPhotoRatioInt8 = ratio(perPhoto.faceapi.medianMs, perPhoto.int8.medianMs);
    const perPhotoRatioInt8NoFlip = ratio(perPhoto.faceapi.medianMs, perPhoto.int8NoFlip.medianMs);
    log(
      `per photo (640 px): ours ${perPhoto.ours.medianMs} ms (${perPhoto.oursNoFlip.medianMs} without flip), ` +
        `face-api ${perPhoto.faceapi.medianMs} ms → ${perPhotoRatio}× (${perPhotoRatioNoFlip}× without flip); ` +
        `int8 ${perPhoto.int8.medianMs} ms (${perPhoto.int8NoFlip.medianMs} without flip) → ` +
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
