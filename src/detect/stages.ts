/**
 * The per-thread work of the MTCNN cascade: P-Net over some pyramid levels, and cropping plus
 * R-Net or O-Net over some candidate boxes. `MtcnnDetector` runs these on the main thread and,
 * when it splits a frame, on its helper thread too (`helper.ts`); both sides run the same code on
 * the same image, so a split frame gives exactly the faces of an unsplit one.
 */
import type { RawImage } from '../core/index.js';
import { AreaResampler, type PlanarTarget, planResizeArea, type ResizePlan } from '../image/resample.js';
import { cropWindow, type MutableBox, nms } from './boxes.js';
import type { ONet, PNet, RNet } from './nets.js';
import { type PNetCandidate, type PyramidLevel, pnetCandidates } from './pyramid.js';

/** The normalization every MTCNN input gets: `(x − 127.5) · 0.0078125`. */
const MEAN = 127.5;
const SCALE = 0.0078125;
/**
 * Largest R-Net / O-Net batch per run. Batches of 16–256 crops ran equally fast per crop (within
 * 3%); 64 keeps each run's intermediate tensors small (64 O-Net crops: 1.8 MB of input).
 */
const CHUNK = 64;
const PLAN_CACHE_LIMIT = 4096;
/** Largest input buffer a workspace keeps between calls (16 MB; larger ones are per call). */
const KEEP_BUFFER = 4 << 20;

/** The networks the cascade runs (the classes of `nets.ts`, or fakes in tests). */
export interface MtcnnNets {
  readonly pnet: Pick<PNet, 'run' | 'dispose'>;
  readonly rnet: Pick<RNet, 'run' | 'dispose'>;
  readonly onet: Pick<ONet, 'run' | 'dispose'>;
}

/** Outputs of R-Net (`landmarks` absent) or O-Net for a list of boxes, in the boxes' order. */
export interface RefineOutput {
  /** n×2: softmax, index 1 = face. */
  readonly prob: Float32Array;
  /** n×4: box offsets. */
  readonly reg: Float32Array;
  /** n×10 (O-Net only). */
  readonly landmarks?: Float32Array;
}

/** Time one side spent, in milliseconds: inside network runs, and in everything else it did. */
export interface StageTime {
  netMs: number;
  jsMs: number;
}

/**
 * Resize plans by source and destination size (immutable, shared; video frames repeat sizes),
 * cached when every size is below 8192 (a 52-bit key).
 */
export class PlanCache {
  readonly #plans = new Map<number, ResizePlan>();

  get(sw: number, sh: number, dw: number, dh: number): ResizePlan {
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
}

/**
 * What one detection call works in on one thread: a resampler holding the image and the network
 * input buffers, kept between calls (a video stream reuses them frame after frame).
 */
export class Workspace {
  readonly resampler = new AreaResampler();
  /** Input buffers by role: 0 = pyramid level, 1 = R-Net/O-Net crops. */
  readonly #buffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
  #shared = new Uint8Array(new SharedArrayBuffer(0));

  /**
   * A copy of `img` in this workspace's shared memory, for the helper thread to read without a
   * copy. Valid until the next call: the helper reads it only while its requests for this frame
   * run, all of which end before the frame's detection call returns and frees the workspace. One
   * buffer per workspace, reused frame after frame: a fresh SharedArrayBuffer per frame is freed
   * only when both threads have collected it, and a busy server held hundreds of MB of them.
   */
  shared(img: RawImage): RawImage {
    const n = img.data.length;
    if (this.#shared.length < n) this.#shared = new Uint8Array(new SharedArrayBuffer(n));
    const data = this.#shared.length === n ? this.#shared : this.#shared.subarray(0, n);
    data.set(img.data);
    return { width: img.width, height: img.height, channels: img.channels, data };
  }

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

/**
 * P-Net on each of `levels` of the image loaded in `ws`: resample the level, run the net, decode
 * the cells with probability ≥ `threshold` and keep those that survive NMS 0.5 "Union" within
 * the level. Returns one candidate list per level, in the order given; adds to `time`.
 */
export async function pnetLevels(
  pnet: MtcnnNets['pnet'],
  ws: Workspace,
  plans: PlanCache,
  img: { readonly width: number; readonly height: number },
  levels: readonly PyramidLevel[],
  threshold: number,
  flipQuirk: boolean,
  time: StageTime,
): Promise<PNetCandidate[][]> {
  const out: PNetCandidate[][] = [];
  for (const lv of levels) {
    const t0 = performance.now();
    const data = ws.buffer(0, 3 * lv.width * lv.height);
    ws.resampler.levelToPlanar(
      lv.width,
      lv.height,
      planar(data, 0),
      plans.get(img.width, img.height, lv.width, lv.height),
    );
    const t1 = performance.now();
    // Transposed: the net's "height" is the level's width.
    const maps = await pnet.run(data, 1, lv.width, lv.height);
    const t2 = performance.now();
    const cands = pnetCandidates(maps.logits, maps.reg, maps.outH, maps.outW, lv.scale, threshold, flipQuirk);
    const keep = nms(
      cands.map((c) => c.box),
      cands.map((c) => c.score),
      0.5,
      'union',
    );
    out.push(keep.map((i) => cands[i]!));
    time.netMs += t2 - t1;
    time.jsMs += t1 - t0 + (performance.now() - t2);
  }
  return out;
}

/**
 * Crop each box of the loaded image (zero-padded where it leaves the image), resample to
 * size×size into batched transposed input, and run `run` in chunks of {@link CHUNK}. Every box
 * must have pixels (`x2 ≥ x1`, `y2 ≥ y1`). Adds to `time`.
 */
export async function refineBoxes(
  ws: Workspace,
  plans: PlanCache,
  img: { readonly width: number; readonly height: number },
  boxes: readonly MutableBox[],
  size: 24 | 48,
  run: (x: Float32Array, n: number) => Promise<RefineOutput>,
  time: StageTime,
): Promise<RefineOutput> {
  const n = boxes.length;
  const per = 3 * size * size;
  const prob = new Float32Array(n * 2);
  const reg = new Float32Array(n * 4);
  const landmarks = size === 48 ? new Float32Array(n * 10) : undefined;
  for (let from = 0; from < n; from += CHUNK) {
    const t0 = performance.now();
    const m = Math.min(CHUNK, n - from);
    const input = ws.buffer(1, m * per);
    for (let k = 0; k < m; k++) {
      const win = cropWindow(boxes[from + k]!, img.width, img.height);
      ws.resampler.cropToPlanar(
        win.left,
        win.top,
        win.width,
        win.height,
        size,
        size,
        planar(input, k * per),
        plans.get(win.width, win.height, size, size),
      );
    }
    const t1 = performance.now();
    const out = await run(input, m);
    const t2 = performance.now();
    prob.set(out.prob, from * 2);
    reg.set(out.reg, from * 4);
    if (landmarks && out.landmarks) landmarks.set(out.landmarks, from * 10);
    time.netMs += t2 - t1;
    time.jsMs += t1 - t0 + (performance.now() - t2);
  }
  return landmarks ? { prob, reg, landmarks } : { prob, reg };
}

/**
 * Split the pyramid levels of a `width`×`height` image between two threads with about equal
 * estimated work, largest first, each to the side with less so far (the helper's side starts
 * with {@link HELPER_OVERHEAD_NS}). A level's estimated cost, in nanoseconds on one thread of
 * the development machine: P-Net, 65 per level pixel plus 50 000 per run; resampling, 1.6 per
 * source pixel (every level reads the whole image) plus 2 per level pixel.
 *
 * @returns indices into `levels`, each list ascending; the first level is always the main
 *   thread's.
 */
export function splitLevels(
  levels: readonly PyramidLevel[],
  width: number,
  height: number,
): { mine: number[]; theirs: number[] } {
  const cost = (l: PyramidLevel) => 67 * l.width * l.height + 50_000 + 1.6 * width * height;
  const order = levels.map((_, i) => i).sort((a, b) => cost(levels[b]!) - cost(levels[a]!) || a - b);
  const mine: number[] = [];
  const theirs: number[] = [];
  let here = 0;
  let there = HELPER_OVERHEAD_NS;
  for (const i of order) {
    if (i === 0 || here <= there) {
      mine.push(i);
      here += cost(levels[i]!);
    } else {
      theirs.push(i);
      there += cost(levels[i]!);
    }
  }
  return { mine: mine.sort((a, b) => a - b), theirs: theirs.sort((a, b) => a - b) };
}

/** What handing work to the helper thread costs before it starts (image copy, messages), in ns. */
const HELPER_OVERHEAD_NS = 300_000;

/** P-Net candidates as 9 numbers each (`x1 y1 x2 y2 score dx1 dy1 dx2 dy2`), to cross threads. */
export function packCandidates(cands: readonly PNetCandidate[]): Float64Array {
  const out = new Float64Array(cands.length * 9);
  cands.forEach((c, i) => {
    out.set(c.box, i * 9);
    out[i * 9 + 4] = c.score;
    out.set(c.reg, i * 9 + 5);
  });
  return out;
}

/** The inverse of {@link packCandidates}. */
export function unpackCandidates(packed: Float64Array): PNetCandidate[] {
  const out: PNetCandidate[] = [];
  for (let i = 0; i + 9 <= packed.length; i += 9) {
    const v = (k: number) => packed[i + k]!;
    out.push({ box: [v(0), v(1), v(2), v(3)], score: v(4), reg: [v(5), v(6), v(7), v(8)] });
  }
  return out;
}

/** Boxes as 4 numbers each, to cross threads. */
export function packBoxes(boxes: readonly MutableBox[]): Float64Array {
  const out = new Float64Array(boxes.length * 4);
  boxes.forEach((b, i) => {
    out.set(b, i * 4);
  });
  return out;
}

/** The inverse of {@link packBoxes}. */
export function unpackBoxes(packed: Float64Array): MutableBox[] {
  const out: MutableBox[] = [];
  for (let i = 0; i + 4 <= packed.length; i += 4)
    out.push([packed[i]!, packed[i + 1]!, packed[i + 2]!, packed[i + 3]!]);
  return out;
}

/** A copy of `img` whose bytes live in a fresh SharedArrayBuffer (sent to the helper without a copy). */
export function sharedImage(img: RawImage): RawImage {
  const data = new Uint8Array(new SharedArrayBuffer(img.data.length));
  data.set(img.data);
  return { width: img.width, height: img.height, channels: img.channels, data };
}
