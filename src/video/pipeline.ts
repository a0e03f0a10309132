/**
 * The per-stream pipeline: take the newest frame, find the faces, follow them with the tracker,
 * embed a face when its track appears and again only when a better view comes (or every K
 * frames), name each track by a vote over its embeddings, and report per-frame results and
 * `appeared` / `left` events.
 *
 * Cost control, with tracking on: a full-frame detection runs every `fullDetectEvery` processed
 * frames (and on every frame while nobody is tracked); in between, each tracked face is
 * re-detected in a small window around where it is expected, which costs a fraction of a
 * full-frame pass. Frames are never queued: while a frame is processed, the source keeps only
 * the newest one and counts the others as dropped.
 */
import type { Box, DetectedFace, Embedding, Landmarks5, RawImage } from '../core/index.js';
import { errorMessage, invalidParameter } from '../core/index.js';
import { crop, encodeJpeg, resizeArea } from '../image/index.js';
import type { FaceRecognizer } from '../recognize/index.js';
import {
  type EventSink,
  type Identification,
  type Identifier,
  type TrackEvent,
  voteIdentity,
  type WeightedIdentification,
} from './identity.js';
import { viewQuality } from './quality.js';
import { FaceTracker, iou, type Track, type TrackerOptions } from './tracker.js';
import type { Frame, VideoSource } from './types.js';

/** What the pipeline needs of the recognizer. */
export type FaceAnalyzer = Pick<FaceRecognizer, 'detectFaces' | 'embedFaces'>;

/** Options of {@link StreamPipeline}. */
export interface PipelineOptions {
  /** The camera id in results and events. Default the source's id. */
  readonly camera?: string;
  /** Process one frame in `every` taken from the source (the seed used 3). Default 1. */
  readonly every?: number;
  /**
   * Track faces (default true): window re-detection between full detections, embeddings only
   * for new tracks and better views, names by vote. Off: full detection and an embedding of
   * every face on every processed frame, names from that frame alone.
   */
  readonly tracking?: boolean;
  /** Smallest face searched by full-frame detection, pixels (MTCNN min size). Default 40. */
  readonly minFaceSize?: number;
  /** With tracking: a full-frame detection every this many processed frames. Default 4. */
  readonly fullDetectEvery?: number;
  /** With tracking: re-embed a track at least every this many processed frames. Default 30. */
  readonly reembedEvery?: number;
  /** With tracking: a view this many times better than the track's best is embedded. Default 1.25. */
  readonly betterView?: number;
  /** Identifications kept per track for the vote (the newest). Default 10. */
  readonly maxVotes?: number;
  /** Matched frames before a track's `appeared` event. Default 2. */
  readonly confirmHits?: number;
  /** Tracker settings (IoU gate, landmark motion gate, frames a track survives unmatched). */
  readonly tracker?: Partial<TrackerOptions>;
  /** Names embeddings; without one every face is unknown (and nothing is embedded). */
  readonly identifier?: Identifier;
  /** Receives `appeared` / `left` events. */
  readonly events?: EventSink;
  /** Attach the best view's crop (JPEG) to events. Default false: crops are not kept. */
  readonly keepSnapshots?: boolean;
  /** Called for every frame taken from the source, processed or not (see {@link FrameResult.processed}). */
  readonly onResult?: (result: FrameResult, frame: Frame) => void;
  /** Called with errors of a frame (recognition failed, an event sink threw); the run goes on. */
  readonly onError?: (err: Error) => void;
  /** Clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
}

/** A face in a frame's result. */
export interface FrameFace {
  /** Track id (stable while the face is followed). */
  readonly track: number;
  /** Box in frame pixels. */
  readonly box: Box;
  /** Five landmarks in frame pixels (see Landmarks5). */
  readonly landmarks: Landmarks5;
  /** Detector confidence, 0–1. */
  readonly score: number;
  /** The track's person, or null for unknown (or not identified yet). */
  readonly personId: number | null;
  readonly name: string | null;
  /** The distance behind the name (see Identification.distance). */
  readonly distance: number | null;
  /** True when this face was embedded on this frame. */
  readonly embedded: boolean;
}

/** Where a processed frame's time went, ms. */
export interface FrameTimings {
  readonly detectMs: number;
  readonly embedMs: number;
  readonly identifyMs: number;
  /** From taking the frame to the result. */
  readonly totalMs: number;
}

/** The result of one frame (JSON-serializable: what the server's WebSocket sends). */
export interface FrameResult {
  readonly camera: string;
  /** Frames taken from the source so far, this one included (from 1). */
  readonly frame: number;
  /** The source's sequence number of the frame. */
  readonly seq: number;
  /** Capture time, ms since the epoch. */
  readonly time: number;
  readonly width: number;
  readonly height: number;
  /** False for frames skipped by `every` (their faces are the last processed frame's). */
  readonly processed: boolean;
  /** True when a full-frame detection ran on this frame. */
  readonly fullDetection: boolean;
  /** From capture to this result, ms. */
  readonly latencyMs: number;
  readonly faces: readonly FrameFace[];
  readonly timings: FrameTimings;
}

/** Counters of a pipeline run. */
export interface PipelineStats {
  /** Frames taken from the source. */
  readonly frames: number;
  /** Frames processed (detection ran). */
  readonly processed: number;
  /** Full-frame detections. */
  readonly fullDetections: number;
  /** Faces embedded. */
  readonly embedded: number;
  /** Tracks started. */
  readonly tracks: number;
  /** Frames whose processing failed. */
  readonly errors: number;
  /** When the run started and (when stopped) ended, ms since the epoch. */
  readonly startedAt: number | undefined;
  readonly endedAt: number | undefined;
}

/** Side of the square window a tracked face is re-detected in, pixels. */
const WINDOW = 112;
/** Window side in face sizes (the face fills about half of it). */
const WINDOW_FACES = 2;
/** MTCNN min size inside the window, pixels (the face is about WINDOW / WINDOW_FACES). */
const WINDOW_MIN_SIZE = 24;

/** Per-track recognition state. */
interface TrackInfo {
  votes: WeightedIdentification[];
  identity: Identification;
  bestQuality: number;
  lastEmbedFrame: number;
  appeared: boolean;
  snapshot: { image: RawImage; box: Box; quality: number } | undefined;
}

const UNKNOWN: Identification = Object.freeze({ personId: null, name: null, distance: null });

/**
 * Runs recognition over a video source.
 *
 * @example
 * const pipeline = new StreamPipeline(recognizer, openSource(url), {
 *   identifier: galleryIdentifier(store, { threshold: recognizer.compareThreshold() }),
 *   events: { appeared: (e) => print(e), left: (e) => print(e) },
 *   onResult: (r) => ws.send(JSON.stringify(r)),
 * });
 * await pipeline.run(); // until the source ends or pipeline.stop()
 */
export class StreamPipeline {
  readonly camera: string;
  readonly #analyzer: FaceAnalyzer;
  readonly #source: VideoSource;
  readonly #o: Required<
    Pick<
      PipelineOptions,
      | 'every'
      | 'tracking'
      | 'minFaceSize'
      | 'fullDetectEvery'
      | 'reembedEvery'
      | 'betterView'
      | 'maxVotes'
      | 'confirmHits'
      | 'keepSnapshots'
    >
  >;
  readonly #opts: PipelineOptions;
  readonly #now: () => number;
  readonly #tracker: FaceTracker;
  readonly #info = new Map<number, TrackInfo>();
  readonly #scratch = new Float32Array(48 * 48);
  #stats = {
    frames: 0,
    processed: 0,
    fullDetections: 0,
    embedded: 0,
    tracks: 0,
    errors: 0,
    startedAt: undefined as number | undefined,
    endedAt: undefined as number | undefined,
  };
  #last: { frame: Frame; result: FrameResult } | undefined;
  #running: Promise<PipelineStats> | undefined;
  #stopping = false;

  /** @throws InvalidInputError for a bad option. */
  constructor(analyzer: FaceAnalyzer, source: VideoSource, opts: PipelineOptions = {}) {
    this.#analyzer = analyzer;
    this.#source = source;
    this.#opts = opts;
    this.camera = opts.camera ?? source.id;
    this.#now = opts.now ?? Date.now;
    this.#o = {
      every: intOption('every', opts.every ?? 1, 1, 1000),
      tracking: opts.tracking ?? true,
      minFaceSize: numOption('minFaceSize', opts.minFaceSize ?? 40, 12, 4096),
      fullDetectEvery: intOption('fullDetectEvery', opts.fullDetectEvery ?? 4, 1, 1000),
      reembedEvery: intOption('reembedEvery', opts.reembedEvery ?? 30, 1, 100000),
      betterView: numOption('betterView', opts.betterView ?? 1.25, 1, 100),
      maxVotes: intOption('maxVotes', opts.maxVotes ?? 10, 1, 1000),
      confirmHits: intOption('confirmHits', opts.confirmHits ?? 2, 1, 1000),
      keepSnapshots: opts.keepSnapshots ?? false,
    };
    this.#tracker = new FaceTracker(opts.tracker);
  }

  /** A snapshot of the counters. */
  stats(): PipelineStats {
    return { ...this.#stats };
  }

  /** The last frame taken and its result (for saving the current view). */
  get latest(): { readonly frame: Frame; readonly result: FrameResult } | undefined {
    return this.#last;
  }

  /**
   * Consume the source until it ends or {@link stop} is called; then end the remaining tracks
   * (`left` events) and close the source. Calling it again returns the same run.
   *
   * @throws what the source throws for a fatal error (after the tracks are ended).
   */
  run(): Promise<PipelineStats> {
    this.#running ??= this.#run();
    return this.#running;
  }

  /** Stop the run (closes the source) and wait for it to finish. */
  async stop(): Promise<PipelineStats> {
    this.#stopping = true;
    await this.#source.close();
    return this.#running ? this.#running.catch(() => this.stats()) : this.stats();
  }

  async #run(): Promise<PipelineStats> {
    this.#stats.startedAt = this.#now();
    try {
      for await (const frame of this.#source) {
        if (this.#stopping) break;
        await this.#frame(frame);
      }
    } finally {
      for (const t of this.#tracker.clear()) await this.#left(t);
      this.#stats.endedAt = this.#now();
      await this.#source.close();
    }
    return this.stats();
  }

  async #frame(frame: Frame): Promise<void> {
    const t0 = performance.now();
    this.#stats.frames++;
    const n = this.#stats.frames;
    if ((n - 1) % this.#o.every !== 0) {
      const prev = this.#last?.result;
      const result: FrameResult = {
        camera: this.camera,
        frame: n,
        seq: frame.seq,
        time: frame.time,
        width: frame.image.width,
        height: frame.image.height,
        processed: false,
        fullDetection: false,
        latencyMs: Math.max(0, this.#now() - frame.time),
        faces: prev ? prev.faces.map((f) => ({ ...f, embedded: false })) : [],
        timings: { detectMs: 0, embedMs: 0, identifyMs: 0, totalMs: performance.now() - t0 },
      };
      this.#emit(result, frame);
      return;
    }
    let result: FrameResult;
    try {
      result = await this.#process(frame, n, t0);
    } catch (err) {
      this.#stats.errors++;
      this.#error(err);
      return;
    }
    this.#emit(result, frame);
  }

  #emit(result: FrameResult, frame: Frame): void {
    this.#last = { frame, result };
    try {
      this.#opts.onResult?.(result, frame);
    } catch (err) {
      this.#error(err);
    }
  }

  async #process(frame: Frame, n: number, t0: number): Promise<FrameResult> {
    const img = frame.image;
    const tracking = this.#o.tracking;
    const processedIndex = this.#stats.processed++;
    const full =
      !tracking || this.#tracker.tracks.length === 0 || processedIndex % this.#o.fullDetectEvery === 0;
    const td = performance.now();
    let faces: DetectedFace[];
    if (full) {
      this.#stats.fullDetections++;
      faces = await this.#analyzer.detectFaces(img, { minSize: this.#o.minFaceSize });
    } else {
      faces = await this.#redetect(img);
    }
    const detectMs = performance.now() - td;

    const update = this.#tracker.update(faces, frame.time);
    for (const t of update.ended) await this.#left(t);
    for (const t of update.created) {
      this.#stats.tracks++;
      this.#info.set(t.id, {
        votes: [],
        identity: UNKNOWN,
        bestQuality: 0,
        lastEmbedFrame: -1,
        appeared: false,
        snapshot: undefined,
      });
    }

    // Which faces to embed: every face without tracking; with it, new tracks and better views.
    const toEmbed: { index: number; quality: number }[] = [];
    const qualities = faces.map((f) => viewQuality(img, f, this.#scratch).score);
    for (let i = 0; i < faces.length; i++) {
      const info = this.#info.get(update.assigned[i]!.id)!;
      const q = qualities[i]!;
      const due =
        !tracking ||
        info.lastEmbedFrame < 0 ||
        q > info.bestQuality * this.#o.betterView ||
        processedIndex - info.lastEmbedFrame >= this.#o.reembedEvery;
      if (due && this.#opts.identifier) toEmbed.push({ index: i, quality: q });
      if (this.#o.keepSnapshots && (!info.snapshot || q > info.snapshot.quality)) {
        info.snapshot = { image: crop(img, margin(faces[i]!.box, 0.25)), box: faces[i]!.box, quality: q };
      }
    }
    let embedMs = 0;
    let identifyMs = 0;
    const embeddedNow = new Set<number>();
    if (toEmbed.length > 0 && this.#opts.identifier) {
      const te = performance.now();
      const embeddings: Embedding[] = await this.#analyzer.embedFaces(
        img,
        toEmbed.map((e) => faces[e.index]!),
      );
      embedMs = performance.now() - te;
      this.#stats.embedded += embeddings.length;
      const ti = performance.now();
      let ids: Identification[];
      try {
        ids = await this.#opts.identifier.identify(embeddings);
      } catch (err) {
        this.#error(err);
        ids = embeddings.map(() => UNKNOWN);
      }
      identifyMs = performance.now() - ti;
      for (let k = 0; k < toEmbed.length; k++) {
        const { index, quality } = toEmbed[k]!;
        const track = update.assigned[index]!;
        const info = this.#info.get(track.id)!;
        const id = ids[k] ?? UNKNOWN;
        info.lastEmbedFrame = processedIndex;
        info.bestQuality = Math.max(info.bestQuality, quality);
        if (tracking) {
          info.votes.push({ ...id, weight: quality });
          if (info.votes.length > this.#o.maxVotes) info.votes.shift();
          info.identity = voteIdentity(info.votes);
        } else {
          info.identity = id;
        }
        embeddedNow.add(index);
      }
    }

    const out: FrameFace[] = [];
    for (let i = 0; i < faces.length; i++) {
      const f = faces[i]!;
      const track = update.assigned[i]!;
      const info = this.#info.get(track.id)!;
      out.push({
        track: track.id,
        box: f.box,
        landmarks: f.landmarks,
        score: f.score,
        personId: info.identity.personId,
        name: info.identity.name,
        distance: info.identity.distance,
        embedded: embeddedNow.has(i),
      });
      if (!info.appeared && track.hits >= this.#o.confirmHits) {
        info.appeared = true;
        await this.#send('appeared', track, info, track.firstSeen);
      }
    }
    return {
      camera: this.camera,
      frame: n,
      seq: frame.seq,
      time: frame.time,
      width: img.width,
      height: img.height,
      processed: true,
      fullDetection: full,
      latencyMs: Math.max(0, this.#now() - frame.time),
      faces: out,
      timings: { detectMs, embedMs, identifyMs, totalMs: performance.now() - t0 },
    };
  }

  /** Re-detect each tracked face in a window around where it is expected. */
  async #redetect(img: RawImage): Promise<DetectedFace[]> {
    const found: DetectedFace[] = [];
    for (const track of this.#tracker.tracks) {
      const p = this.#tracker.predict(track).box;
      const side = Math.max(p[2] - p[0], p[3] - p[1]) * WINDOW_FACES;
      if (!(side >= 8)) continue;
      const cx = (p[0] + p[2]) / 2;
      const cy = (p[1] + p[3]) / 2;
      const x0 = Math.round(cx - side / 2);
      const y0 = Math.round(cy - side / 2);
      const s = Math.round(side);
      const window = resizeArea(crop(img, [x0, y0, x0 + s, y0 + s]), WINDOW, WINDOW);
      const k = s / WINDOW;
      const dets = await this.#analyzer.detectFaces(window, { minSize: WINDOW_MIN_SIZE });
      let best: DetectedFace | undefined;
      let bestIou = 0.2;
      for (const d of dets) {
        const box: Box = [x0 + d.box[0] * k, y0 + d.box[1] * k, x0 + d.box[2] * k, y0 + d.box[3] * k];
        const o = iou(box, p);
        if (o > bestIou) {
          bestIou = o;
          best = {
            box: clipBox(box, img.width, img.height),
            score: d.score,
            landmarks: d.landmarks.map(
              ([x, y]) => [x0 + x * k, y0 + y * k] as const,
            ) as unknown as Landmarks5,
          };
        }
      }
      // Two tracks can find the same face: keep it once.
      if (best && !found.some((f) => iou(f.box, best.box) > 0.5)) found.push(best);
    }
    return found;
  }

  async #left(track: Track): Promise<void> {
    const info = this.#info.get(track.id);
    this.#info.delete(track.id);
    if (info?.appeared) await this.#send('left', track, info, track.lastSeen);
  }

  async #send(type: 'appeared' | 'left', track: Track, info: TrackInfo, time: number): Promise<void> {
    const sink = this.#opts.events;
    if (!sink) return;
    let snapshot: TrackEvent['snapshot'];
    if (this.#o.keepSnapshots && info.snapshot) {
      try {
        snapshot = { mime: 'image/jpeg', bytes: await encodeJpeg(info.snapshot.image, 90) };
      } catch (err) {
        this.#error(err);
      }
    }
    const event: TrackEvent = {
      type,
      camera: this.camera,
      time,
      track: track.id,
      personId: info.identity.personId,
      name: info.identity.name,
      distance: info.identity.distance,
      box: track.face.box,
      hits: track.hits,
      ...(snapshot ? { snapshot } : {}),
    };
    try {
      await (type === 'appeared' ? sink.appeared(event) : sink.left(event));
    } catch (err) {
      this.#error(err);
    }
  }

  #error(err: unknown): void {
    const e = err instanceof Error ? err : new Error(errorMessage(err));
    try {
      this.#opts.onError?.(e);
    } catch {
      // The error reporter failed too: nothing more to do.
    }
  }
}

function clipBox(b: Box, w: number, h: number): Box {
  return [Math.max(0, b[0]), Math.max(0, b[1]), Math.min(w, b[2]), Math.min(h, b[3])];
}

/** `b` grown by `frac` of its size on every side. */
function margin(b: Box, frac: number): Box {
  const mx = (b[2] - b[0]) * frac;
  const my = (b[3] - b[1]) * frac;
  return [b[0] - mx, b[1] - my, b[2] + mx, b[3] + my];
}

function intOption(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi)
    throw invalidParameter(name, `an integer from ${lo} to ${hi}`, v);
  return v;
}

function numOption(name: string, v: number, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw invalidParameter(name, `a number from ${lo} to ${hi}`, v);
  }
  return v;
}
