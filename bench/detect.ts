/**
 * `detect` suite: the seed's MTCNN on 640×480 frames (the six face-api demo photos scaled to
 * width 640, centred and padded or cropped to 480 rows) at min size 20 and 40, with the share of
 * each network and of our own JavaScript; in the same run, @vladmandic/face-api on
 * @tensorflow/tfjs-backend-wasm detecting the same frames with SsdMobilenetv1 and
 * TinyFaceDetector (input 416). All four are timed interleaved, round by round, so the shared
 * machine's load hits them alike and the ratios hold. Then each detector's face counts on
 * `../shared/data/faces/scenes` (when present) against the counts in `scenes.csv`.
 *
 * Targets (issue 7): MTCNN at min 20 ≥ 10× faster than SSD; at min 40 ≥ 2× faster than Tiny 416;
 * JavaScript < 30% of the MTCNN time.
 *
 * MTCNN runs as shipped (`mtcnn20`, `mtcnn40`: with 2 threads or more, each frame split between
 * the main thread and the detector's helper thread), and for comparison in the same rounds with
 * the same threads in one session per net and no helper (`*_unsplit`), and on one thread
 * (`*_1thread`). Shares and per-net times are thread time (`DetectStats`): in a split frame, the
 * sum over both threads.
 *
 * For each MTCNN job it also reports the work of each network (multiply-accumulates of the
 * networks as published, without the zero channels our graphs pad them with) and the throughput
 * achieved (GFLOP/s = 2 · MAC / thread time), to compare with the machine's MatMul throughput in
 * the `runtime` suite.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type RawImage, resolvePaths, resolveRuntimeOptions } from '../src/core/index.js';
import { type DetectStats, MtcnnDetector, pyramid } from '../src/detect/index.js';
import { decodeImage } from '../src/image/decode.js';
import { demoPhoto, sharedDir } from '../test/helpers.js';
import { median, round, type Suite } from './harness.js';

const WIDTH = 640;
const HEIGHT = 480;
const ROUNDS = 5;

/** The parts of face-api used here. */
interface Detection {
  readonly score: number;
}
interface TensorLike {
  dispose(): void;
}
interface FaceApiLike {
  tf: {
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    getBackend(): string;
    tensor3d(values: Int32Array, shape: [number, number, number], dtype: 'int32'): TensorLike;
  };
  nets: {
    ssdMobilenetv1: { loadFromDisk(dir: string): Promise<void> };
    tinyFaceDetector: { loadFromDisk(dir: string): Promise<void> };
  };
  SsdMobilenetv1Options: new (o: { minConfidence?: number }) => unknown;
  TinyFaceDetectorOptions: new (o: { inputSize?: number; scoreThreshold?: number }) => unknown;
  detectAllFaces(input: TensorLike, options: unknown): Promise<Detection[]>;
}

/** face-api on the wasm backend (wasm files and models from node_modules, no network). */
async function loadFaceApi(): Promise<{ backend: string; ssd: Detector; tiny: Detector }> {
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
  await faceapi.nets.tinyFaceDetector.loadFromDisk(models);
  const ssdOptions = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
  const tinyOptions = new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.5 });
  const run = (options: unknown) => async (img: RawImage) => {
    const t = faceapi.tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 3], 'int32');
    try {
      return (await faceapi.detectAllFaces(t, options)).length;
    } finally {
      t.dispose();
    }
  };
  return { backend: faceapi.tf.getBackend(), ssd: run(ssdOptions), tiny: run(tinyOptions) };
}

/** A detector under test: the number of faces it finds in an image. */
type Detector = (img: RawImage) => Promise<number>;

/** Centre `img` (already `WIDTH` wide) on a `WIDTH × HEIGHT` black frame, cropping rows past it. */
function toFrame(img: RawImage): RawImage {
  const out = new Uint8Array(WIDTH * HEIGHT * 3);
  const dy = Math.floor((HEIGHT - img.height) / 2);
  const w = Math.min(WIDTH, img.width);
  for (let y = 0; y < HEIGHT; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= img.height) continue;
    out.set(img.data.subarray(sy * img.width * 3, (sy * img.width + w) * 3), y * WIDTH * 3);
  }
  return { data: out, width: WIDTH, height: HEIGHT, channels: 3 };
}

interface StageTotals {
  total: number;
  pnet: number;
  rnet: number;
  onet: number;
  js: number;
  /** Multiply-accumulates of each net, summed over frames. */
  pnetMacs: number;
  rnetMacs: number;
  onetMacs: number;
  frames: number;
}

/** MACs of R-Net on one 24×24 crop: conv1 22²·27·28, conv2 9²·252·48, conv3 3²·192·64, fc. */
const RNET_MACS = 22 * 22 * 27 * 28 + 9 * 9 * 252 * 48 + 3 * 3 * 192 * 64 + 576 * 128 + 128 * 6;
/** MACs of O-Net on one 48×48 crop: conv1 46²·27·32, conv2 21²·288·64, conv3 8²·576·64, conv4, fc. */
const ONET_MACS =
  46 * 46 * 27 * 32 + 21 * 21 * 288 * 64 + 8 * 8 * 576 * 64 + 3 * 3 * 256 * 128 + 1152 * 256 + 256 * 16;

/** MACs of P-Net on one `w × h` level: conv1 3×3×3→10, pool 2, conv2 3×3×10→16, conv3 3×3×16→32, heads 1×1×32→6. */
function pnetMacs(w: number, h: number): number {
  const pooled = (n: number) => Math.ceil((n - 2) / 2);
  const [pw, ph] = [pooled(w), pooled(h)];
  return (
    (w - 2) * (h - 2) * 27 * 10 + (pw - 2) * (ph - 2) * 90 * 16 + (pw - 4) * (ph - 4) * (144 * 32 + 32 * 6)
  );
}

/**
 * Each part's share of the thread time (the parts of `DetectStats`): of the frame time on one
 * thread; of both threads' busy time when the detector splits frames with its helper thread.
 */
function shares(t: StageTotals): Record<string, number> {
  const sum = t.pnet + t.rnet + t.onet + t.js;
  return {
    pnet: round(t.pnet / sum, 3),
    rnet: round(t.rnet / sum, 3),
    onet: round(t.onet / sum, 3),
    js: round(t.js / sum, 3),
  };
}

/** Per frame: each net's ms, GFLOP (2 · MAC) and achieved GFLOP/s; JavaScript ms. */
function work(t: StageTotals): Record<string, unknown> {
  const net = (ms: number, macs: number) => ({
    msPerFrame: round(ms / t.frames, 2),
    gflopPerFrame: round((2 * macs) / t.frames / 1e9, 3),
    gflops: round((2 * macs) / (ms * 1e6), 1),
  });
  return {
    pnet: net(t.pnet, t.pnetMacs),
    rnet: net(t.rnet, t.rnetMacs),
    onet: net(t.onet, t.onetMacs),
    jsMsPerFrame: round(t.js / t.frames, 2),
  };
}

function add(t: StageTotals, s: DetectStats, frame: RawImage, minSize: number): void {
  t.total += s.totalMs;
  t.pnet += s.pnetMs;
  t.rnet += s.rnetMs;
  t.onet += s.onetMs;
  t.js += s.jsMs;
  for (const l of pyramid(frame.width, frame.height, minSize, 0.709))
    t.pnetMacs += pnetMacs(l.width, l.height);
  t.rnetMacs += s.candidates.rnet * RNET_MACS;
  t.onetMacs += s.candidates.onet * ONET_MACS;
  t.frames++;
}

/** Face counts on the scenes photos: detections, and detections bounded by the known counts. */
async function sceneCounts(
  dir: string,
  detectors: Record<string, Detector>,
  log: (line: string) => void,
): Promise<Record<string, unknown>> {
  const rows = readFileSync(join(dir, 'scenes.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
  const known = rows.filter((r) => /^\d+$/.test(r[2] ?? ''));
  const truth = known.reduce((s, r) => s + Number(r[2]), 0);
  const out: Record<string, unknown> = { photos: rows.length, knownFaces: truth };
  for (const [name, detect] of Object.entries(detectors)) {
    let detections = 0;
    let found = 0;
    let onNonFace = 0;
    for (const r of rows) {
      const img = await decodeImage(join(dir, r[0]!));
      const n = await detect(img);
      detections += n;
      if (/^\d+$/.test(r[2] ?? '')) found += Math.min(n, Number(r[2]));
      if (r[1] === 'non-face') onNonFace += n;
    }
    out[name] = { detections, foundOfKnown: found, onNonFacePhotos: onNonFace };
    log(
      `scenes ${name}: ${detections} detections, ${found} of ${truth} known faces, ${onNonFace} on non-face photos`,
    );
  }
  return out;
}

export const suite: Suite = {
  name: 'detect',
  async run(log) {
    const frames: RawImage[] = [];
    for (const n of [1, 2, 3, 4, 5, 6] as const)
      frames.push(toFrame(await decodeImage(demoPhoto(n), { maxWidth: WIDTH })));
    const threads = resolveRuntimeOptions().threads;
    const detector = await MtcnnDetector.load(resolvePaths(), resolveRuntimeOptions());
    const single =
      threads > 1
        ? await MtcnnDetector.load(resolvePaths(), resolveRuntimeOptions({ threads: 1 }))
        : undefined;
    // The same threads in one session per net, without the helper thread (the layout before it).
    const unsplit = detector.split
      ? await MtcnnDetector.load(resolvePaths(), resolveRuntimeOptions(), {}, { split: false })
      : undefined;
    const faceapi = await loadFaceApi();
    log(
      `face-api backend: ${faceapi.backend}; ${frames.length} frames of ${WIDTH}×${HEIGHT}; onnxruntime threads ${threads}`,
    );

    type Result = { faces: number; stats?: DetectStats; minSize?: number };
    const mtcnn =
      (d: MtcnnDetector, minSize: number) =>
      async (f: RawImage): Promise<Result> => {
        const r = await d.detectWithStats(f, { minSize });
        return { faces: r.faces.length, stats: r.stats, minSize };
      };
    const peer =
      (d: Detector) =>
      async (f: RawImage): Promise<Result> => ({ faces: await d(f) });
    const jobs: { name: string; run: (f: RawImage) => Promise<Result> }[] = [
      { name: 'mtcnn20', run: mtcnn(detector, 20) },
      { name: 'mtcnn40', run: mtcnn(detector, 40) },
      ...(unsplit
        ? [
            { name: 'mtcnn20_unsplit', run: mtcnn(unsplit, 20) },
            { name: 'mtcnn40_unsplit', run: mtcnn(unsplit, 40) },
          ]
        : []),
      ...(single
        ? [
            { name: 'mtcnn20_1thread', run: mtcnn(single, 20) },
            { name: 'mtcnn40_1thread', run: mtcnn(single, 40) },
          ]
        : []),
      { name: 'ssd', run: peer(faceapi.ssd) },
      { name: 'tiny416', run: peer(faceapi.tiny) },
    ];
    // Warm-up: every detector on every frame once.
    for (const j of jobs) for (const f of frames) await j.run(f);
    const times = new Map(jobs.map((j) => [j.name, [] as number[]]));
    const totals = new Map<string, StageTotals>();
    const faces = new Map<string, number>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const f of frames) {
        for (const j of jobs) {
          const t0 = performance.now();
          const res = await j.run(f);
          times.get(j.name)!.push(performance.now() - t0);
          if (res.stats && res.minSize !== undefined) {
            if (!totals.has(j.name)) {
              totals.set(j.name, {
                ...{ total: 0, pnet: 0, rnet: 0, onet: 0, js: 0 },
                ...{ pnetMacs: 0, rnetMacs: 0, onetMacs: 0, frames: 0 },
              });
            }
            add(totals.get(j.name)!, res.stats, f, res.minSize);
          }
          if (r === 0) faces.set(j.name, (faces.get(j.name) ?? 0) + res.faces);
        }
      }
    }
    const perFrame: Record<string, unknown> = {};
    for (const j of jobs) {
      const ts = times.get(j.name)!;
      perFrame[j.name] = {
        medianMs: round(median(ts)),
        minMs: round(Math.min(...ts)),
        maxMs: round(Math.max(...ts)),
        n: ts.length,
      };
      log(`${j.name}: median ${round(median(ts))} ms per frame`);
    }
    const med = (n: string) => median(times.get(n)!);
    const best = (n: string) =>
      Math.min(med(n), times.has(`${n}_1thread`) ? med(`${n}_1thread`) : Number.POSITIVE_INFINITY);
    const ratios = {
      ssdOverMtcnn20: round(med('ssd') / med('mtcnn20'), 2),
      tiny416OverMtcnn40: round(med('tiny416') / med('mtcnn40'), 2),
      ssdOverBestMtcnn20: round(med('ssd') / best('mtcnn20'), 2),
      tiny416OverBestMtcnn40: round(med('tiny416') / best('mtcnn40'), 2),
    };
    const shareOf = Object.fromEntries([...totals].map(([n, t]) => [n, shares(t)]));
    const workOf = Object.fromEntries([...totals].map(([n, t]) => [n, work(t)]));
    log(`ratios: ${JSON.stringify(ratios)}`);
    log(`shares: ${JSON.stringify(shareOf)}`);
    log(`work per frame: ${JSON.stringify(workOf)}`);
    const js20 = shareOf.mtcnn20?.js ?? 1;
    const js40 = shareOf.mtcnn40?.js ?? 1;
    const report: Record<string, unknown> = {
      frames: frames.length,
      frameSize: `${WIDTH}x${HEIGHT}`,
      rounds: ROUNDS,
      backend: faceapi.backend,
      threads,
      resamplingInWasm: detector.accelerated,
      split: detector.split,
      perFrame,
      shares: shareOf,
      work: workOf,
      ratios,
      targets: {
        ssd10x: ratios.ssdOverMtcnn20 >= 10,
        tiny2x: ratios.tiny416OverMtcnn40 >= 2,
        jsUnder30pct: js20 < 0.3 && js40 < 0.3,
      },
      facesOnFrames: Object.fromEntries(faces),
    };
    const shared = sharedDir();
    const scenes = shared ? join(shared, 'data', 'faces', 'scenes') : undefined;
    if (scenes && existsSync(join(scenes, 'scenes.csv'))) {
      report.scenes = await sceneCounts(
        scenes,
        {
          mtcnn20: async (img) => (await detector.detect(img)).length,
          ssd: faceapi.ssd,
          tiny416: faceapi.tiny,
        },
        log,
      );
    } else {
      report.scenes = 'skipped: ../shared/data/faces/scenes absent';
    }
    await detector.dispose();
    await single?.dispose();
    await unsplit?.dispose();
    return report;
  },
};
