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
import { AreaResampler, type PlanarTarget, planResizeArea, type ResizePlan } from '../image/resample.js';
import {
  bbreg,
  clipBox,
  cropWindow,
  fixBox,
  type MutableBox,
  nms,
  overlap,
  regressPNet,
  rerec,
} from './boxes.js';
import { ONet, PNet, RNet } from './nets.js';
import { type DetectParams, resolveDetectParams } from './params.js';
import { type PNetCandidate, pnetCandidates, pyramid } from './pyramid.js';

/** The normalization every MTCNN input gets: `(x − 127.5) · 0.0078125`. */
const MEAN = 127.5;
const SCALE = 0.0078125;
/**
 * Largest R-Net / O-Net batch per run. Batches of 16–256 crops ran equally fast per crop (within
 * 3%); 64 keeps each run's intermediate tensors small (64 O-Net crops: 1.8 MB of input).
 */
const CHUNK = 64;

/** The networks the cascade runs (the classes of `nets.ts`, or fakes in tests). */
export interface MtcnnNets {
  readonly pnet: Pick<PNet, 'run' | 'dispose'>;
  readonly rnet: Pick<RNet, 'run' | 'dispose'>;
  readonly onet: Pick<ONet, 'run' | 'dispose'>;
}

/** Where the time of one {@link MtcnnDetector.detectWithStats} call went, in milliseconds. */
export interface DetectStats {
  /** Wall time of the whole call. */
  readonly totalMs: number;
  /** Time inside P-Net runs (all levels). */
  readonly pnetMs: number;
  /** Time inside R-Net runs. */
  readonly rnetMs: number;
  /** Time inside O-Net runs. */
  readonly onetMs: number;
  /** Everything else: resampling, candidate decoding, NMS, regression (`total − nets`). */
  readonly jsMs: number;
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
 * The seed's MTCNN face detector, owning its three network sessions.
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
  /** Idle workspaces (each holds one image; concurrent calls take one each). */
  readonly #workspaces: Workspace[] = [];
  /** Resize plans by source and destination size (immutable, shared; video frames repeat sizes). */
  readonly #plans = new Map<number, ResizePlan>();

  /** Wrap already-loaded networks (tests pass fakes); see {@link MtcnnDetector.load}. */
  constructor(nets: MtcnnNets, params: Partial<DetectParams> = {}) {
    this.#nets = nets;
    this.params = resolveDetectParams(params);
  }

  /**
   * Build the three models if needed (into `paths.modelsDir`) and open their sessions.
   *
   * @param params default parameters for every `detect` call (validated here).
   * @throws ModelLoadError when a model cannot be built or loaded; InvalidInputError for bad params.
   */
  static async load(
    paths: Paths,
    runtime: RuntimeOptions,
    params: Partial<DetectParams> = {},
  ): Promise<MtcnnDetector> {
    const resolved = resolveDetectParams(params);
    const loads = await Promise.allSettled([
      PNet.load(paths, runtime),
      RNet.load(paths, runtime),
      ONet.load(paths, runtime),
    ] as const);
    const [p, r, o] = loads;
    if (p.status === 'fulfilled' && r.status === 'fulfilled' && o.status === 'fulfilled') {
      return new MtcnnDetector({ pnet: p.value, rnet: r.value, onet: o.value }, resolved);
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
    try {
      return await this.#detect(img, p, ws);
    } finally {
      this.#workspaces.push(ws);
    }
  }

  async #detect(img: RawImage, p: DetectParams, ws: Workspace): Promise<DetectResult> {
    const resampler = ws.resampler;
    const [t0, t1, t2] = p.thresholds;
    const start = performance.now();
    resampler.load(img);
    let pnetMs = 0;
    let rnetMs = 0;
    let onetMs = 0;
    const W = img.width;
    const H = img.height;

    // Stage 1: P-Net over the pyramid.
    const levels = pyramid(W, H, p.minSize, p.factor);
    let pool: PNetCandidate[] = [];
    for (const lv of levels) {
      const data = ws.buffer(0, 3 * lv.width * lv.height);
      resampler.levelToPlanar(lv.width, lv.height, planar(data, 0), this.#plan(W, H, lv.width, lv.height));
      const t = performance.now();
      // Transposed: the net's "height" is the level's width.
      const out = await this.#nets.pnet.run(data, 1, lv.width, lv.height);
      pnetMs += performance.now() - t;
      const cands = pnetCandidates(out.logits, out.reg, out.outH, out.outW, lv.scale, t0, p.seedFlipQuirk);
      const keep = nms(
        cands.map((c) => c.box),
        cands.map((c) => c.score),
        0.5,
        'union',
      );
      for (const i of keep) pool.push(cands[i]!);
    }
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
      const r = await this.#refine(img, ws, boxes, 24, (x, n) => this.#nets.rnet.run(x, n));
      rnetMs = r.ms;
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
      const r = await this.#refine(img, ws, boxes, 48, (x, n) => this.#nets.onet.run(x, n));
      onetMs = r.ms;
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
        pnetMs,
        rnetMs,
        onetMs,
        jsMs: totalMs - pnetMs - rnetMs - onetMs,
        levels: levels.length,
        candidates: { rnet: rnetIn, onet: onetIn, final: found.length },
      },
    };
  }

  /** The resize plan between two sizes, cached when every size is below 8192 (a 52-bit key). */
  #plan(sw: number, sh: number, dw: number, dh: number): ResizePlan {
    if (Math.max(sw, sh, dw, dh) >= 8192) return planResizeArea(sw, sh, dw, dh);
    const key = ((sw * 8192 + sh) * 8192 + dw) * 8192 + dh;
    let plan = this.#plans.get(key);
    if (!plan) {
      if (this.#plans.size >= PLAN_CACHE_LIMIT) this.#plans.clear();
      plan = planResizeArea(sw, sh, dw, dh);
      this.#plans.set(key, plan);
    }
    return plan;
  }

  /** True when resampling runs in WebAssembly SIMD (else in TypeScript, same results, slower). */
  get accelerated(): boolean {
    const ws = this.#workspaces.pop() ?? new Workspace();
    this.#workspaces.push(ws);
    return ws.resampler.accelerated;
  }

  /** Release the three sessions. */
  async dispose(): Promise<void> {
    await Promise.all([this.#nets.pnet.dispose(), this.#nets.rnet.dispose(), this.#nets.onet.dispose()]);
  }

  /**
   * Crop each box (zero-padded), resample to size×size into batched transposed input, run the
   * net in chunks of {@link CHUNK}, and return the outputs for the boxes that have pixels.
   */
  async #refine(
    img: RawImage,
    ws: Workspace,
    all: MutableBox[],
    size: number,
    run: (
      x: Float32Array,
      n: number,
    ) => Promise<{ prob: Float32Array; reg: Float32Array; landmarks?: Float32Array }>,
  ): Promise<{
    boxes: MutableBox[];
    prob: Float32Array;
    reg: Float32Array;
    landmarks?: Float32Array;
    ms: number;
  }> {
    const boxes = all.filter((b) => b[2] >= b[0] && b[3] >= b[1]);
    const n = boxes.length;
    const per = 3 * size * size;
    const prob = new Float32Array(n * 2);
    const reg = new Float32Array(n * 4);
    const landmarks = size === 48 ? new Float32Array(n * 10) : undefined;
    let ms = 0;
    for (let from = 0; from < n; from += CHUNK) {
      const m = Math.min(CHUNK, n - from);
      const input = ws.buffer(1, m * per);
      for (let k = 0; k < m; k++) {
        const win = cropWindow(boxes[from + k]!, img.width, img.height);
        const plan = this.#plan(win.width, win.height, size, size);
        ws.resampler.cropToPlanar(
          win.left,
          win.top,
          win.width,
          win.height,
          size,
          size,
          planar(input, k * per),
          plan,
        );
      }
      const t = performance.now();
      const out = await run(input, m);
      ms += performance.now() - t;
      prob.set(out.prob, from * 2);
      reg.set(out.reg, from * 4);
      if (landmarks && out.landmarks) landmarks.set(out.landmarks, from * 10);
    }
    return landmarks ? { boxes, prob, reg, landmarks, ms } : { boxes, prob, reg, ms };
  }
}

const PLAN_CACHE_LIMIT = 4096;
/** Largest input buffer a workspace keeps between calls (16 MB; larger ones are per call). */
const KEEP_BUFFER = 4 << 20;

/**
 * What one detection call works in: a resampler holding the image and the network input
 * buffers, kept between calls (a video stream reuses them frame after frame).
 */
class Workspace {
  readonly resampler = new AreaResampler();
  /** Input buffers by role: 0 = pyramid level, 1 = R-Net/O-Net crops. */
  readonly #buffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];

  /** A Float32Array of exactly `n` values for `role` (contents undefined; valid until the next call). */
  buffer(role: 0 | 1, n: number): Float32Array {
    const b = this.#buffers[role]!;
    if (n <= b.length) return n === b.length ? b : b.subarray(0, n);
    const fresh = new Float32Array(n);
    if (n <= KEEP_BUFFER) this.#buffers[role] = fresh;
    return fresh;
  }
}

function planar(data: Float32Array, offset: number): PlanarTarget {
  return { data, offset, mean: MEAN, scale: SCALE, transposed: true };
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
