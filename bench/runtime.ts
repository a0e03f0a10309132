/**
 * `runtime` suite: each ONNX model at batch 1 and 8; the descriptor against @vladmandic/face-api
 * on tfjs-wasm on the same 150×150 face chips in the same run; the machine's fp32 MatMul
 * throughput through onnxruntime and the descriptor's share of it.
 *
 * The machine is shared, so the figures that are compared (descriptor, face-api, MatMul, at the
 * default threads and at one thread) are measured interleaved, round by round: each round runs
 * every one of them once, so all see the same load and their ratios hold.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Paths, type RuntimeOptions, resolvePaths, resolveRuntimeOptions } from '../src/core/index.js';
import { ONet, PNet, RNet } from '../src/detect/nets.js';
import { FaceDescriptorNet } from '../src/embed/net.js';
import { buildMatMulModel, OnnxSession } from '../src/runtime/index.js';
import { loadFaceApiReference } from '../test/support/faceapi-reference.js';
import { faceCrops } from '../test/support/faces.js';
import { nhwcToNchw } from '../test/support/tensors.js';
import { measure, median, round, type Suite, type Timing } from './harness.js';

/** Floating-point operations of one descriptor forward pass (one face), in GFLOP. */
const DESCRIPTOR_GFLOP = 0.5417;
const MATMUL_N = 1024;
const CHIP = 3 * 150 * 150;
const ROUNDS = 15;

/** Deterministic values in [-1, 1) (stand-in for normalized MTCNN input). */
function pattern(length: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => Math.sin(i * 0.618) * 0.99);
}

/** A named job for {@link interleaved}; `items` = faces (or runs) per call. */
interface Job {
  readonly name: string;
  readonly items: number;
  readonly run: () => Promise<unknown>;
}

/** Warm every job up, then time `rounds` rounds that call each job once, in turn. */
async function interleaved(jobs: readonly Job[], rounds: number): Promise<Timing[]> {
  for (const j of jobs) {
    await j.run();
    await j.run();
  }
  const times = jobs.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const [i, j] of jobs.entries()) {
      const t0 = performance.now();
      await j.run();
      times[i]!.push(performance.now() - t0);
    }
  }
  return jobs.map((j, i) => {
    const ts = times[i]!;
    const med = median(ts);
    return {
      name: j.name,
      median: round(med),
      min: round(Math.min(...ts)),
      max: round(Math.max(...ts)),
      n: ts.length,
      items: j.items,
      medianPerItem: round(med / j.items),
    };
  });
}

async function mtcnn(paths: Paths, opts: RuntimeOptions, log: (l: string) => void) {
  const [pnet, rnet, onet] = await Promise.all([
    PNet.load(paths, opts),
    RNet.load(paths, opts),
    ONet.load(paths, opts),
  ]);
  const out: Record<'pnet' | 'rnet' | 'onet', Record<string, Timing>> = { pnet: {}, rnet: {}, onet: {} };
  try {
    // A 640×480 frame at pyramid scale 0.6, transposed: 3×384×288.
    const [h, w] = [384, 288];
    for (const n of [1, 8]) {
      const p = pattern(n * 3 * h * w);
      const r = pattern(n * 3 * 24 * 24);
      const o = pattern(n * 3 * 48 * 48);
      const key = `batch${n}`;
      out.pnet[key] = await measure(`pnet ${n}×3×${h}×${w}`, () => pnet.run(p, n, h, w), { items: n });
      out.rnet[key] = await measure(`rnet ${n}×3×24×24`, () => rnet.run(r, n), { items: n, iterations: 30 });
      out.onet[key] = await measure(`onet ${n}×3×48×48`, () => onet.run(o, n), { items: n, iterations: 30 });
      log(
        `batch ${n}: pnet ${out.pnet[key]!.median} ms, rnet ${out.rnet[key]!.median} ms, onet ${out.onet[key]!.median} ms`,
      );
    }
  } finally {
    await Promise.all([pnet.dispose(), rnet.dispose(), onet.dispose()]);
  }
  return out;
}

/** A MatMul session (n×n weights as an initializer) and its input. */
async function matmulSession(dir: string, threads: number) {
  const file = join(dir, 'matmul.onnx');
  writeFileSync(file, buildMatMulModel(MATMUL_N, pattern(MATMUL_N * MATMUL_N)));
  const spec = {
    name: 'matmul',
    inputs: [{ name: 'a', shape: [MATMUL_N, MATMUL_N] }],
    outputs: [{ name: 'c', shape: [MATMUL_N, MATMUL_N] }],
  };
  const session = await OnnxSession.load(file, spec, { threads });
  const a = { data: pattern(MATMUL_N * MATMUL_N), dims: [MATMUL_N, MATMUL_N] };
  return { session, run: () => session.run({ a }) };
}

/** GFLOP/s of the descriptor from a per-face time. */
const descriptorGflops = (t: Timing) => round(DESCRIPTOR_GFLOP / (t.medianPerItem / 1000), 1);
/** GFLOP/s of the MatMul from its time per run. */
const matmulGflops = (t: Timing) => round((2 * MATMUL_N ** 3) / (t.median * 1e6), 1);

export const suite: Suite = {
  name: 'runtime',
  async run(log) {
    const paths = resolvePaths();
    const opts = resolveRuntimeOptions({ descriptor: 'fp32' });
    log(`threads ${opts.threads}, models in ${paths.modelsDir}`);
    const models = await mtcnn(paths, opts, log);

    const nhwc = Float32Array.from(await faceCrops(150, 8));
    const chips = nhwcToNchw(nhwc, 8, 150, 150, 3);
    const dir = mkdtempSync(join(tmpdir(), 'facerec-bench-'));
    const net = await FaceDescriptorNet.load(paths, opts);
    const net1 = await FaceDescriptorNet.load(paths, { threads: 1 });
    const net8 = await FaceDescriptorNet.load(paths, { ...opts, descriptor: 'int8' });
    const mm = await matmulSession(dir, opts.threads);
    const mm1 = await matmulSession(dir, 1);
    const ref = await loadFaceApiReference();
    try {
      const one = chips.subarray(0, CHIP);
      const [d1, d8, s1, s8, q1, q8, f1, f8, m, m1] = await interleaved(
        [
          { name: `descriptor batch 1, ${opts.threads} threads`, items: 1, run: () => net.run(one, 1) },
          { name: `descriptor batch 8, ${opts.threads} threads`, items: 8, run: () => net.run(chips, 8) },
          { name: 'descriptor batch 1, 1 thread', items: 1, run: () => net1.run(one, 1) },
          { name: 'descriptor batch 8, 1 thread', items: 8, run: () => net1.run(chips, 8) },
          { name: 'int8 descriptor batch 1', items: 1, run: () => net8.run(one, 1) },
          { name: 'int8 descriptor batch 8', items: 8, run: () => net8.run(chips, 8) },
          {
            name: `face-api ${ref.backend} batch 1`,
            items: 1,
            run: () => ref.describe(nhwc.subarray(0, CHIP), 1),
          },
          { name: `face-api ${ref.backend} batch 8`, items: 8, run: () => ref.describe(nhwc, 8) },
          { name: `matmul ${MATMUL_N}, ${opts.threads} threads`, items: 1, run: mm.run },
          { name: `matmul ${MATMUL_N}, 1 thread`, items: 1, run: mm1.run },
        ],
        ROUNDS,
      );
      log(`descriptor: batch 1 ${d1!.median} ms, batch 8 ${d8!.medianPerItem} ms/face`);
      log(`descriptor, 1 thread: batch 1 ${s1!.median} ms, batch 8 ${s8!.medianPerItem} ms/face`);
      log(`int8 descriptor: batch 1 ${q1!.median} ms, batch 8 ${q8!.medianPerItem} ms/face`);
      log(`face-api ${ref.backend}: batch 1 ${f1!.median} ms, batch 8 ${f8!.medianPerItem} ms/face`);
      log(
        `matmul: ${matmulGflops(m!)} GFLOP/s (${opts.threads} threads), ${matmulGflops(m1!)} GFLOP/s (1 thread)`,
      );

      const speedup8 = round(f8!.medianPerItem / d8!.medianPerItem, 2);
      const fraction8 = round(descriptorGflops(d8!) / matmulGflops(m!), 3);
      return {
        threads: opts.threads,
        models: { ...models, face_recognition: { batch1: d1, batch8: d8 } },
        descriptor: {
          perFaceMs: { batch1: d1!.medianPerItem, batch8: d8!.medianPerItem },
          gflops: { batch1: descriptorGflops(d1!), batch8: descriptorGflops(d8!) },
          fractionOfMatmul: { batch1: round(descriptorGflops(d1!) / matmulGflops(m!), 3), batch8: fraction8 },
          oneThread: {
            batch1: s1,
            batch8: s8,
            gflops: { batch1: descriptorGflops(s1!), batch8: descriptorGflops(s8!) },
            fractionOfMatmul: { batch8: round(descriptorGflops(s8!) / matmulGflops(m1!), 3) },
          },
          int8: {
            batch1: q1,
            batch8: q8,
            speedupOverFp32: {
              batch1: round(d1!.median / q1!.median, 2),
              batch8: round(d8!.medianPerItem / q8!.medianPerItem, 2),
            },
            speedupPerFace: {
              batch1: round(f1!.medianPerItem / q1!.medianPerItem, 2),
              batch8: round(f8!.medianPerItem / q8!.medianPerItem, 2),
            },
          },
          faceApi: { backend: ref.backend, batch1: f1, batch8: f8 },
          speedupPerFace: { batch1: round(f1!.medianPerItem / d1!.medianPerItem, 2), batch8: speedup8 },
        },
        matmul: {
          n: MATMUL_N,
          gflops: matmulGflops(m!),
          timing: m,
          oneThread: { gflops: matmulGflops(m1!), timing: m1 },
        },
        targets: {
          speedupPerFaceBatch8: { value: speedup8, target: 8, met: speedup8 >= 8 },
          fractionOfMatmulBatch8: { value: fraction8, target: 0.7, met: fraction8 >= 0.7 },
        },
      };
    } finally {
      await Promise.all([
        net.dispose(),
        net1.dispose(),
        net8.dispose(),
        mm.session.dispose(),
        mm1.session.dispose(),
      ]);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
