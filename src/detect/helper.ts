/**
 * The helper thread that runs half of each frame's MTCNN work (`worker.ts`), seen from the main
 * thread. onnxruntime runs a session on the calling thread plus its own pool; MTCNN's small
 * convolutions and batches keep that pool busy only part of the time, and our own resampling runs
 * on one thread. Two sessions of half the threads each, one per thread, each on half the levels
 * and half the crops, keep both cores busy instead (see `MtcnnDetector.load`).
 */
import { Worker } from 'node:worker_threads';
import { errorMessage, InferenceError, type Paths, type RawImage } from '../core/index.js';
import { disableOrtTelemetry } from '../runtime/index.js';
import type { MutableBox } from './boxes.js';
import type { PNetCandidate, PyramidLevel } from './pyramid.js';
import { packBoxes, type RefineOutput, type StageTime, sharedImage, unpackCandidates } from './stages.js';

/** What `MtcnnDetector` hands the other half of a frame to (tests pass their own). */
export interface DetectHelper {
  /**
   * Take frame `frame`'s image (kept until {@link release}) and run P-Net on `levels` of it.
   * @returns one candidate list per level, in the order given, and the helper's time.
   */
  pnet(
    frame: number,
    img: RawImage,
    levels: readonly PyramidLevel[],
    threshold: number,
    flipQuirk: boolean,
  ): Promise<{ cands: PNetCandidate[][]; time: StageTime }>;
  /** Crop `boxes` of frame `frame`'s image and run R-Net (size 24) or O-Net (48) on them. */
  refine(
    frame: number,
    boxes: readonly MutableBox[],
    size: 24 | 48,
  ): Promise<{ out: RefineOutput; time: StageTime }>;
  /** Forget frame `frame`'s image. */
  release(frame: number): void;
  /** Stop the helper. */
  dispose(): Promise<void>;
}

/** A request to the worker (`worker.ts`). */
export type HelperRequest =
  | {
      readonly id: number;
      readonly op: 'pnet';
      readonly frame: number;
      readonly image: RawImage;
      readonly levels: readonly PyramidLevel[];
      readonly threshold: number;
      readonly flipQuirk: boolean;
    }
  | {
      readonly id: number;
      readonly op: 'refine';
      readonly frame: number;
      readonly boxes: Float64Array;
      readonly size: 24 | 48;
    }
  | { readonly id: number; readonly op: 'release'; readonly frame: number };

/** The worker's answer to request `id`: a result, or the message of what failed. */
export type HelperReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

interface PNetReply {
  readonly levels: Float64Array[];
  readonly time: StageTime;
}
interface RefineReply {
  readonly prob: Float32Array;
  readonly reg: Float32Array;
  readonly landmarks?: Float32Array;
  readonly time: StageTime;
}

/**
 * A {@link DetectHelper} on a worker thread with its own three sessions.
 *
 * The worker does not keep the process alive while idle. When it stops (it crashed, or was
 * terminated), every pending and later call rejects with an InferenceError, and the detector
 * runs the whole frame itself.
 */
export class WorkerHelper implements DetectHelper {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #stopped: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (reply: HelperReply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new InferenceError(`The detection helper thread failed: ${reply.error}`));
    });
    const stop = (why: string) => {
      this.#stopped ??= new InferenceError(`The detection helper thread stopped: ${why}`);
      for (const p of this.#pending.values()) p.reject(this.#stopped);
      this.#pending.clear();
    };
    worker.on('error', (err) => stop(errorMessage(err)));
    worker.on('exit', (code) => stop(`exit code ${code}`));
  }

  /**
   * Start the worker and wait until its sessions are open (models already built by the caller).
   *
   * @throws InferenceError when the worker cannot start or load the models.
   */
  static async start(paths: Paths, threads: number): Promise<WorkerHelper> {
    // The native runtime reads the variable from the process environment, which a worker's
    // process.env does not write to: set it here, on the main thread.
    disableOrtTelemetry();
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { paths: { dataDir: paths.dataDir, modelsDir: paths.modelsDir }, threads },
      // Not the parent's node options: some (--input-type, --test, --eval) stop a worker file.
      execArgv: [],
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        worker.off('message', ready);
        reject(
          new InferenceError(`Cannot start the detection helper thread: ${errorMessage(err)}`, {
            cause: err,
          }),
        );
      };
      const ready = (msg: { ready?: boolean; error?: string }) => {
        if (!msg.ready) return;
        worker.off('error', fail);
        if (msg.error !== undefined) {
          void worker.terminate();
          fail(msg.error);
        } else resolve();
      };
      worker.on('message', ready);
      worker.once('error', fail);
    });
    const helper = new WorkerHelper(worker);
    worker.unref();
    return helper;
  }

  async pnet(
    frame: number,
    img: RawImage,
    levels: readonly PyramidLevel[],
    threshold: number,
    flipQuirk: boolean,
  ): Promise<{ cands: PNetCandidate[][]; time: StageTime }> {
    const image = img.data.buffer instanceof SharedArrayBuffer ? img : sharedImage(img);
    const r = (await this.#call({ op: 'pnet', frame, image, levels, threshold, flipQuirk })) as PNetReply;
    return { cands: r.levels.map(unpackCandidates), time: r.time };
  }

  async refine(
    frame: number,
    boxes: readonly MutableBox[],
    size: 24 | 48,
  ): Promise<{ out: RefineOutput; time: StageTime }> {
    const r = (await this.#call({ op: 'refine', frame, boxes: packBoxes(boxes), size })) as RefineReply;
    const out = r.landmarks
      ? { prob: r.prob, reg: r.reg, landmarks: r.landmarks }
      : { prob: r.prob, reg: r.reg };
    return { out, time: r.time };
  }

  release(frame: number): void {
    if (this.#stopped) return;
    this.#worker.postMessage({ id: 0, op: 'release', frame } satisfies HelperRequest);
  }

  async dispose(): Promise<void> {
    this.#stopped ??= new InferenceError('The detection helper thread was disposed');
    await this.#worker.terminate();
  }

  #call(req: WithoutId<Exclude<HelperRequest, { op: 'release' }>>): Promise<unknown> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#worker.ref();
      this.#worker.postMessage({ ...req, id });
    });
  }
}
