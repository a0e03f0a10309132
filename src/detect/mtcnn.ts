/**
 * The MTCNN cascade of the seed (facenet's `detect_face(img, minsize, pnet, rnet, onet, threshold,
 * factor)`), step for step, on the ONNX networks of `nets.ts`:
 *
 * 1. **P-Net** on each pyramid level (`pyramid`: scales `12/minSize · factor^k`, sizes rounded up,
 *    OpenCV `INTER_AREA` resampling rounded to 8 bits); cells with probability ≥ t0 become boxes
 *    (stride 2, cell 12); NMS 0.5 "Union" per level, then 0.7 "Union" over all levels; box
 *    regression with widths `x2 − x1`; squared (`rerec`); truncated toward zero.
 * 2. **R-Net** on 24×24 crops of those boxes (zero-padded where they leave the image, resampled in
 *    float without rounding), all candidates in one batched run; probability > t1 kept; NMS 0.7
 *    "Union"; regression with widths `x2 − x1 + 1`; squared.
 * 3. **O-Net** on 48×48 crops of the truncated boxes; probability > t2 kept; landmarks placed in
 *    the box O-Net saw (`x = w · p + x1 − 1`, `w = x2 − x1 + 1`, rounded to float32 as facenet
 *    stores them); regression; NMS 0.7 "Min". Final boxes are not squared.
 *
 * The nets see the image transposed (column-major, as the Caffe originals were trained), so every
 * input slot is written as `C × W × H` and P-Net's maps come back as `cols × rows`. facenet's
 * `np.flipud` quirk for a pyramid level with a single P-Net cell is reproduced (`seedFlipQuirk`;
 * the seed's reference outputs show it). Resampling (`AreaResampler`) is bit-exact OpenCV
 * `INTER_AREA`, run in WebAssembly SIMD.
 *
 * Deviations from facenet, all where facenet fails or is undefined: a crop box with no pixel
 * (width or height ≤ 0 after regression; facenet raises) is dropped; equal scores in NMS are
 * taken in a fixed order (larger index first, see `nms`), where facenet's order depends on how
 * its float32 nets round.
 */
import {
  type Box,
  type DetectedFace,
  invalidParameter,
  type Landmarks5,
  type Paths,
  type Point,
  type RawImage,
  type RuntimeOptions,
} from '../core/index.js';
import { bbreg, clipBox, fixBox, type MutableBox, nms, overlap, regressPNet, rerec } from './boxes.js';
import { type DetectHelper, WorkerHelper } from './helper.js';
import { ONet, PNet, RNet } from './nets.js';
import { type DetectParams, resolveDetectParams } from './params.js';
import { type PNetCandidate, pyramid } from './pyramid.js';
import {
  type MtcnnNets,
  PlanCache,
  pnetLevels,
  type RefineOutput,
  refineBoxes,
  type StageTime,
  splitLevels,
  Workspace,
} from './stages.js';

export type { MtcnnNets } from './stages.js';

/**
 * Fewest boxes worth sending half of to the helper thread (a round trip costs about 0.1 ms; one
 * R-Net crop about 0.06 ms and one O-Net crop 0.4 ms on one thread).
 */
const SPLIT_MIN = { 24: 16, 48: 2 } as const;

/**
 * Where the time of one {@link MtcnnDetector.detectWithStats} call went, in milliseconds.
 *
 * The four parts are thread time, summed over the threads that ran them: on one thread they add
 * up to `totalMs`; when the frame was split with the helper thread (`split`), to more than that
 * (time the main thread spent waiting for the helper is in none of them).
 */
export interface DetectStats {
  /** Wall time of the whole call. */
  readonly totalMs: number;
  /** Time inside P-Net runs (all levels). */
  readonly pnetMs: number;
  /** Time inside R-Net runs. */
  readonly rnetMs: number;
  /** Time inside O-Net runs. */
  readonly onetMs: number;
  /** Everything else: resampling, candidate decoding, NMS, regression, messages to the helper. */
  readonly jsMs: number;
  /** True when the helper thread ran part of this frame. */
  readonly split: boolean;
  /** Time this thread spent waiting for the helper's part (0 when not split). */
  readonly waitMs: number;
  /** Pyramid levels run through P-Net. */
  readonly levels: number;
  /** Candidates entering R-Net and O-Net, and faces out of O-Net before the final NMS. */
  readonly candidates: { readonly rnet: number; readonly onet: number; readonly final: number };
}

/** Faces plus timing. */
export interface DetectResult {
  /** Faces, highest score first. */
  readonly faces: DetectedFace[];
  readonly stats: DetectStats;
}

/** A candidate between stages: integer or float box, score, regression. */
interface Stage {
  box: MutableBox;
  score: number;
  reg: ArrayLike<number>;
}

/**
 * The seed's MTCNN face detector, owning its three network sessions and, with two threads or
 * more, a helper thread with three sessions of its own.
 *
 * @example
 * const detector = await MtcnnDetector.load(resolvePaths(), resolveRuntimeOptions());
 * const faces = await detector.detect(await decodeImage('group.jpg'));
 * await detector.dispose();
 */
export class MtcnnDetector {
  /** The parameters `detect` uses when called without overrides. */
  readonly params: DetectParams;
  readonly #nets: MtcnnNets;
  #helper: DetectHelper | undefined;
  /** Idle workspaces (each holds one image; concurrent calls take one each). */
  readonly #workspaces: Workspace[] = [];
  readonly #plans = new PlanCache();
  #nextFrame = 1;

  /**
   * Wrap already-loaded networks (tests pass fakes); see {@link MtcnnDetector.load}.
   *
   * @param helper runs half of each frame (P-Net on every level but the first, the second half
   *   of the R-Net and O-Net crops) on another thread; without one, the whole frame runs here.
   */
  constructor(nets: MtcnnNets, params: Partial<DetectParams> = {}, helper?: DetectHelper) {
    this.#nets = nets;
    this.params = resolveDetectParams(params);
    this.#helper = helper;
  }

  /**
   * Build the three models if needed (into `paths.modelsDir`) and open their sessions.
   *
   * With `runtime.threads` ≥ 2 (unless `split`, or else `runtime.splitDetection`, is false) the
   * work of each frame is split between this thread and a helper thread, each with sessions of
   * half the threads: MTCNN's small
   * convolutions keep a session's thread pool busy only part of the time, and our resampling runs
   * on one thread, so two half-size sessions side by side finish a frame sooner than one
   * full-size session (2 cores, the `detect` bench's 640×480 frames at min size 20, same run:
   * 38.8 ms per frame unsplit, 32.4 ms split; at min size 40, 20.7 → 16.4 ms). Faces are the
   * same either way (test/detect/split.test.ts).
   *
   * When the helper thread cannot start, the detector runs on this thread alone.
   *
   * @param params default parameters for every `detect` call (validated here).
   * @throws ModelLoadError when a model cannot be built or loaded; InvalidInputError for bad
   *   params.
   */
  static async load(
    paths: Paths,
    runtime: RuntimeOptions,
    params: Partial<DetectParams> = {},
    opts: { split?: boolean } = {},
  ): Promise<MtcnnDetector> {
    const resolved = resolveDetectParams(params);
    const split = (opts.split ?? runtime.splitDetection ?? true) && runtime.threads >= 2;
    const mine = split ? { threads: Math.floor(runtime.threads / 2) } : runtime;
    const loads = await Promise.allSettled([
      PNet.load(paths, mine),
      RNet.load(paths, mine),
      ONet.load(paths, mine),
    ] as const);
    const [p, r, o] = loads;
    if (p.status === 'fulfilled' && r.status === 'fulfilled' && o.status === 'fulfilled') {
      const nets = { pnet: p.value, rnet: r.value, onet: o.value };
      if (!split) return new MtcnnDetector(nets, resolved);
      try {
        return new MtcnnDetector(
          nets,
          resolved,
          await WorkerHelper.start(paths, Math.ceil(runtime.threads / 2)),
        );
      } catch {
        // No helper thread here (a restricted runtime): one thread with full-size sessions.
        await Promise.all([nets.pnet.dispose(), nets.rnet.dispose(), nets.onet.dispose()]);
        return MtcnnDetector.load(paths, runtime, params, { split: false });
      }
    }
    // Close what did open, then report the first failure.
    await Promise.all(loads.map((l) => (l.status === 'fulfilled' ? l.value.dispose() : undefined)));
    throw loads.find((l): l is PromiseRejectedResult => l.status === 'rejected')!.reason;
  }

  /**
   * Find the faces in an 8-bit RGB image.
   *
   * @param params overrides of {@link MtcnnDetector.params} for this call.
   * @returns faces, highest score first: boxes `[x1, y1, x2, y2]` in source pixels (clipped to
   *   the image unless `rawBoxes`), scores in [0, 1], landmarks left eye, right eye, nose, left
   *   mouth corner, right mouth corner (left = image left). Empty when there is none.
   * @throws InvalidInputError for a bad image or bad params; InferenceError when a network fails.
   */
  async detect(img: RawImage, params: Partial<DetectParams> = {}): Promise<DetectedFace[]> {
    return (await this.detectWithStats(img, params)).faces;
  }

  /** {@link MtcnnDetector.detect} plus where the time went (for benchmarks). */
  async detectWithStats(img: RawImage, params: Partial<DetectParams> = {}): Promise<DetectResult> {
    checkImage(img);
    const p = resolveDetectParams(params, this.params);
    const ws = this.#workspaces.pop() ?? new Workspace();
    const frame = this.#nextFrame++;
    try {
      return await this.#detect(img, p, ws, frame);
    } finally {
      this.#workspaces.push(ws);
      this.#helper?.release(frame);
    }
  }

  /** True when a helper thread runs part of each frame (it stops being used if it fails). */
  get split(): boolean {
    return this.#helper !== undefined;
  }

  async #detect(img: RawImage, p: DetectParams, ws: Workspace, frame: number): Promise<DetectResult> {
    const [t0, t1, t2] = p.thresholds;
    const start = performance.now();
    const W = img.width;
    const H = img.height;
    const times: Times = { pnet: 0, rnet: 0, onet: 0, mainNet: 0, helperJs: 0, wait: 0 };
    const here: StageTime = { netMs: 0, jsMs: 0 };
    let split = false;

    // Stage 1: P-Net over the pyramid, the levels shared with the helper (`splitLevels`).
    const levels = pyramid(W, H, p.minSize, p.factor);
    const helper = levels.length > 0 ? this.#helper : undefined;
    const parts = helper
      ? splitLevels(levels, W, H)
      : { mine: levels.map((_, i) => i), theirs: [] as number[] };
    const pick = (ix: readonly number[]) => ix.map((i) => levels[i]!);
    const theirs = helper?.pnet(frame, ws.shared(img), pick(parts.theirs), t0, p.seedFlipQuirk);
    theirs?.catch(() => undefined); // awaited below; handled here in case this thread fails first
    ws.resampler.load(img);
    const run = (ix: readonly number[]) =>
      pnetLevels(this.#nets.pnet, ws, this.#plans, img, pick(ix), t0, p.seedFlipQuirk, here);
    const perLevel: PNetCandidate[][] = new Array(levels.length);
    (await run(parts.mine)).forEach((c, k) => {
      perLevel[parts.mine[k]!] = c;
    });
    if (theirs) {
      const rest = await this.#helped(
        theirs,
        async () => ({ cands: await run(parts.theirs), time: { netMs: 0, jsMs: 0 } }),
        times,
      );
      times.pnet += rest.time.netMs;
      times.helperJs += rest.time.jsMs;
      rest.cands.forEach((c, k) => {
        perLevel[parts.theirs[k]!] = c;
      });
      split = this.#helper !== undefined; // false when the helper failed and its part ran here
    }
    times.pnet += here.netMs;
    times.mainNet += here.netMs;
    // In level order, as on one thread: NMS breaks ties by position.
    let pool: PNetCandidate[] = perLevel.flat();
    if (pool.length > 0) {
      const keep = nms(
        pool.map((c) => c.box),
        pool.map((c) => c.score),
        0.7,
        'union',
      );
      pool = keep.map((i) => pool[i]!);
    }
    let boxes: MutableBox[] = pool.map((c) => fixBox(rerec(regressPNet(c.box, c.reg))));
    const rnetIn = boxes.length;

    // Stage 2: R-Net on 24×24 crops.
    let stage: Stage[] = [];
    if (boxes.length > 0) {
      const r = await this.#refine(img, ws, frame, boxes, 24, times);
      times.rnet += r.netMs;
      split ||= r.split;
      for (let k = 0; k < r.boxes.length; k++) {
        const score = r.prob[k * 2 + 1]!;
        if (score > t1) stage.push({ box: r.boxes[k]!, score, reg: r.reg.subarray(k * 4, k * 4 + 4) });
      }
      const keep = nms(
        stage.map((s) => s.box),
        stage.map((s) => s.score),
        0.7,
        'union',
      );
      stage = keep.map((i) => stage[i]!);
    }
    boxes = stage.map((s) => fixBox(rerec(bbreg(s.box, s.reg))));
    const onetIn = boxes.length;

    // Stage 3: O-Net on 48×48 crops, landmarks, final regression and NMS "Min".
    const found: { box: MutableBox; score: number; landmarks: Landmarks5 }[] = [];
    if (boxes.length > 0) {
      const r = await this.#refine(img, ws, frame, boxes, 48, times);
      times.onet += r.netMs;
      split ||= r.split;
      const lm = r.landmarks!;
      for (let k = 0; k < r.boxes.length; k++) {
        const score = r.prob[k * 2 + 1]!;
        if (!(score > t2)) continue;
        const b = r.boxes[k]!;
        const w = b[2] - b[0] + 1;
        const h = b[3] - b[1] + 1;
        const pt = (i: number): Point => [
          Math.fround(w * lm[k * 10 + i]! + b[0] - 1),
          Math.fround(h * lm[k * 10 + 5 + i]! + b[1] - 1),
        ];
        found.push({
          box: bbreg(b, r.reg.subarray(k * 4, k * 4 + 4)),
          score,
          landmarks: [pt(0), pt(1), pt(2), pt(3), pt(4)],
        });
      }
    }
    const keep = nms(
      found.map((f) => f.box),
      found.map((f) => f.score),
      0.7,
      'min',
    );
    const faces: DetectedFace[] = keep.map((i) => {
      const f = found[i]!;
      const box: Box = p.rawBoxes ? f.box : clipBox(f.box, W, H);
      const landmarks = p.landmarkVoting ? voteLandmarks(f.box, found) : f.landmarks;
      return { box, score: f.score, landmarks };
    });
    const totalMs = performance.now() - start;
    return {
      faces,
      stats: {
        totalMs,
        pnetMs: times.pnet,
        rnetMs: times.rnet,
        onetMs: times.onet,
        jsMs: totalMs - times.wait - times.mainNet + times.helperJs,
        split,
        waitMs: times.wait,
        levels: levels.length,
        candidates: { rnet: rnetIn, onet: onetIn, final: found.length },
      },
    };
  }

  /** Release the sessions and stop the helper thread. */
  async dispose(): Promise<void> {
    const helper = this.#helper;
    this.#helper = undefined;
    await Promise.all([
      this.#nets.pnet.dispose(),
      this.#nets.rnet.dispose(),
      this.#nets.onet.dispose(),
      helper?.dispose(),
    ]);
  }

  /** True when resampling runs in WebAssembly SIMD (else in TypeScript, same results, slower). */
  get accelerated(): boolean {
    const ws = this.#workspaces.pop() ?? new Workspace();
    this.#workspaces.push(ws);
    return ws.resampler.accelerated;
  }

  /**
   * R-Net (size 24) or O-Net (48) on the boxes that have pixels, the second half of them on the
   * helper thread when there are enough; outputs in the boxes' order.
   */
  async #refine(
    img: RawImage,
    ws: Workspace,
    frame: number,
    all: readonly MutableBox[],
    size: 24 | 48,
    times: Times,
  ): Promise<RefineOutput & { boxes: MutableBox[]; netMs: number; split: boolean }> {
    const boxes = all.filter((b) => b[2] >= b[0] && b[3] >= b[1]);
    const run =
      size === 24
        ? (x: Float32Array, n: number) => this.#nets.rnet.run(x, n)
        : (x: Float32Array, n: number) => this.#nets.onet.run(x, n);
    const helper = boxes.length >= SPLIT_MIN[size] ? this.#helper : undefined;
    const cut = helper ? Math.ceil(boxes.length / 2) : boxes.length;
    const rest = boxes.slice(cut);
    const theirs = helper?.refine(frame, rest, size);
    theirs?.catch(() => undefined); // awaited below; handled here in case this thread fails first
    // This thread's net time, including the helper's part if that falls back to running here.
    const here: StageTime = { netMs: 0, jsMs: 0 };
    const mine = await refineBoxes(ws, this.#plans, img, boxes.slice(0, cut), size, run, here);
    const r = theirs
      ? await this.#helped(
          theirs,
          async () => ({
            out: await refineBoxes(ws, this.#plans, img, rest, size, run, here),
            time: { netMs: 0, jsMs: 0 },
          }),
          times,
        )
      : undefined;
    times.mainNet += here.netMs;
    if (!r) return { boxes, ...mine, netMs: here.netMs, split: false };
    times.helperJs += r.time.jsMs;
    const split = this.#helper !== undefined; // false when the helper failed and its part ran here
    return { boxes, ...concatOutputs(mine, r.out), netMs: here.netMs + r.time.netMs, split };
  }

  /**
   * Wait for the helper's part; if the helper failed, stop using it and compute its part here
   * with `local` (the frame is not lost, later frames run on this thread alone).
   */
  async #helped<T>(theirs: Promise<T>, local: () => Promise<T>, times: Times): Promise<T> {
    const t = performance.now();
    try {
      return await theirs;
    } catch {
      const helper = this.#helper;
      this.#helper = undefined;
      helper?.dispose().catch(() => undefined);
      return await local();
    } finally {
      times.wait += performance.now() - t;
    }
  }
}

/** Time accounting of one frame (see {@link DetectStats}). */
interface Times {
  /** Inside each net's runs, both threads. */
  pnet: number;
  rnet: number;
  onet: number;
  /** Inside net runs on this thread. */
  mainNet: number;
  /** The helper's own JavaScript. */
  helperJs: number;
  /** This thread waiting for the helper. */
  wait: number;
}

function concatOutputs(a: RefineOutput, b: RefineOutput): RefineOutput {
  const cat = (x: Float32Array, y: Float32Array) => {
    const out = new Float32Array(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  const prob = cat(a.prob, b.prob);
  const reg = cat(a.reg, b.reg);
  return a.landmarks && b.landmarks ? { prob, reg, landmarks: cat(a.landmarks, b.landmarks) } : { prob, reg };
}

function checkImage(img: RawImage): void {
  if (img.channels !== 3) throw invalidParameter('image.channels', '3 (RGB)', img.channels);
  if (!Number.isInteger(img.width) || img.width < 1)
    throw invalidParameter('image.width', 'an integer ≥ 1', img.width);
  if (!Number.isInteger(img.height) || img.height < 1) {
    throw invalidParameter('image.height', 'an integer ≥ 1', img.height);
  }
  if (!(img.data instanceof Uint8Array) || img.data.length !== img.width * img.height * 3) {
    throw invalidParameter(
      'image.data',
      `${img.width * img.height * 3} bytes (width × height × 3)`,
      img.data?.length,
    );
  }
}

/**
 * The mean landmarks of every candidate whose box overlaps `box` by more than 0.7 ("Min", the
 * final NMS's criterion: the candidates that NMS merges into the kept one, itself included).
 */
export function voteLandmarks(
  box: Box,
  candidates: readonly { readonly box: Box; readonly landmarks: Landmarks5 }[],
): Landmarks5 {
  const sum = new Float64Array(10);
  let n = 0;
  for (const c of candidates) {
    if (overlap(box, c.box, 'min') <= 0.7) continue;
    n++;
    for (let k = 0; k < 5; k++) {
      sum[2 * k]! += c.landmarks[k]![0];
      sum[2 * k + 1]! += c.landmarks[k]![1];
    }
  }
  const pt = (k: number): Point => [sum[2 * k]! / n, sum[2 * k + 1]! / n];
  return [pt(0), pt(1), pt(2), pt(3), pt(4)];
}

/** Clip a face's box to the image (landmarks unchanged): the seed's raw boxes may leave it. */
export function clipFace(face: DetectedFace, width: number, height: number): DetectedFace {
  return { ...face, box: clipBox(face.box, width, height) };
}
