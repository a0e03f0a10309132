/**
 * Live recognition for the service: the glue between a video pipeline (src/video) and the
 * gallery (identification with the service's threshold, events stored, unknown faces recorded
 * and clustered), and the manager of the stored cameras (started with the server, restarted
 * when changed, each with its annotated MJPEG stream).
 */
import { type Embedding, errorMessage, type RawImage } from '../core/index.js';
import type { CameraRecord, EventRecord, GalleryStore } from '../gallery/index.js';
import {
  type FaceRecognizer,
  faceThumbnail,
  identifyEmbeddings,
  type UnknownFaces,
} from '../recognize/index.js';
import {
  type Frame,
  FrameRenderer,
  type FrameResult,
  type Identifier,
  MjpegBroadcaster,
  type MjpegClientResponse,
  openSource,
  type PipelineOptions,
  redactUrl,
  StreamPipeline,
  type VideoSource,
} from '../video/index.js';
import type { CameraLive } from './json.js';

/** What live recognition needs from the service. */
export interface RecognitionDeps {
  readonly store: GalleryStore;
  readonly recognizer: FaceRecognizer;
  readonly unknowns: UnknownFaces;
  /** The identification threshold in effect now. */
  readonly identifyThreshold: () => Promise<number>;
  /** Keep face crops with events and unknown faces. */
  readonly keepSnapshots: boolean;
  /** A stored event, to broadcast. */
  readonly onEvent: (event: EventRecord) => void;
  /** Log a line (never with credentials or names). */
  readonly log: (message: string) => void;
}

/** One stream's identity for {@link streamRecognition}. */
export interface StreamIdentity {
  /** The stored camera, or null (a browser camera). */
  readonly cameraId: number | null;
  /** Its display label. */
  readonly label: string;
  /** Prefix of stored track labels: unique per source and run (`c3.1700000000000`, `browser.12`). */
  readonly trackPrefix: string;
  /** Process one frame in `every`. */
  readonly every?: number;
  /** Each frame's result (after unknown faces are handed to the clustering). */
  readonly onResult: (result: FrameResult, frame: Frame) => void;
}

/**
 * The pipeline options that connect a stream to the gallery: an identifier using the service's
 * threshold, an event sink storing events (with the unknown cluster of unknown tracks), and
 * unknown faces recorded from the embeddings that matched nobody (on tracks still unknown).
 */
export function streamRecognition(deps: RecognitionDeps, id: StreamIdentity): PipelineOptions {
  let pending: { embedding: Embedding; unknown: boolean }[] = [];
  const trackCluster = new Map<number, number>();
  const identifier: Identifier = {
    async identify(embeddings) {
      const threshold = await deps.identifyThreshold();
      const ids = await identifyEmbeddings(deps.store, embeddings, { threshold });
      pending = embeddings.map((e, i) => ({ embedding: e, unknown: ids[i]!.personId === null }));
      return ids.map((x) => ({ personId: x.personId, name: x.name, distance: x.distance }));
    },
  };
  const store = async (
    kind: 'appeared' | 'left',
    ev: Parameters<NonNullable<PipelineOptions['events']>['appeared']>[0],
  ) => {
    const clusterId = ev.personId === null ? (trackCluster.get(ev.track) ?? null) : null;
    if (kind === 'left') trackCluster.delete(ev.track);
    try {
      const rec = await deps.store.addEvent({
        kind,
        time: ev.time,
        cameraId: id.cameraId,
        track: `${id.trackPrefix}:${ev.track}`,
        personId: ev.personId,
        clusterId,
        distance: ev.distance,
        box: ev.box,
        snapshot: deps.keepSnapshots && ev.snapshot ? ev.snapshot : null,
      });
      deps.onEvent(rec);
    } catch (err) {
      deps.log(`event of ${id.label} not stored: ${errorMessage(err)}`);
    }
  };
  return {
    camera: id.label,
    ...(id.every !== undefined ? { every: id.every } : {}),
    identifier,
    keepSnapshots: deps.keepSnapshots,
    events: { appeared: (ev) => store('appeared', ev), left: (ev) => store('left', ev) },
    onError: (err) => deps.log(`${id.label}: ${redactUrl(errorMessage(err))}`),
    onResult: (result, frame) => {
      const p = pending;
      pending = [];
      if (p.length > 0) {
        let j = 0;
        for (const f of result.faces) {
          if (!f.embedded) continue;
          const e = p[j++];
          if (!e?.unknown || f.personId !== null) continue;
          const image: RawImage = frame.image;
          deps.unknowns
            .add({
              embedding: e.embedding,
              box: f.box,
              score: Math.min(1, Math.max(0, f.score)),
              time: result.time,
              cameraId: id.cameraId,
              source: `${id.trackPrefix}:${f.track}`,
              thumbnail: deps.keepSnapshots ? () => faceThumbnail(image, f.box) : null,
            })
            .then((r) => {
              trackCluster.set(f.track, r.clusterId);
            })
            .catch((err) => deps.log(`unknown face of ${id.label} not stored: ${errorMessage(err)}`));
        }
      }
      id.onResult(result, frame);
    },
  };
}

/** Seconds of results the fps and latency figures average over. */
const WINDOW_MS = 10_000;

/** A camera being run. */
interface Running {
  rec: CameraRecord;
  source: VideoSource | undefined;
  pipeline: StreamPipeline | undefined;
  run: Promise<unknown> | undefined;
  readonly broadcaster: MjpegBroadcaster;
  readonly renderer: FrameRenderer;
  state: string;
  lastError: string | null;
  readonly window: { time: number; latency: number }[];
  faces: number;
  latest: { image: RawImage; result: FrameResult } | undefined;
  stopped: boolean;
}

/** Options of {@link CameraManager}. */
export interface CameraManagerOptions extends RecognitionDeps {
  /** Each frame result of a camera (for the WebSocket subscribers). */
  readonly onFrame: (camera: CameraRecord, result: FrameResult) => void;
  /** A camera's state changed. */
  readonly onChange: (cameraId: number) => void;
  /** Open a source (tests inject one); default {@link openSource}. */
  readonly open?: (url: string, id: string) => VideoSource;
  /** Clock. */
  readonly now?: () => number;
}

/** Runs the stored cameras. */
export class CameraManager {
  readonly #o: CameraManagerOptions;
  readonly #running = new Map<number, Running>();
  readonly #now: () => number;
  #closed = false;

  constructor(options: CameraManagerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Start every stored camera that is enabled. */
  async start(): Promise<void> {
    for (const rec of await this.#o.store.listCameras()) this.#launch(rec);
  }

  /** Start (or restart) a camera after it was added or changed. */
  async apply(rec: CameraRecord): Promise<void> {
    const prev = this.#running.get(rec.id);
    if (prev) await this.#stop(prev, false);
    this.#launch(rec, prev?.broadcaster, prev?.renderer);
  }

  /** Stop a removed camera and end its streams. */
  async remove(id: number): Promise<void> {
    const r = this.#running.get(id);
    if (!r) return;
    this.#running.delete(id);
    await this.#stop(r, true);
  }

  /** Live figures of a camera. */
  live(id: number): CameraLive {
    const r = this.#running.get(id);
    if (!r) {
      return {
        state: 'unavailable',
        lastError: null,
        fps: 0,
        latencyMs: 0,
        faces: 0,
        frames: 0,
        processed: 0,
        dropped: 0,
      };
    }
    const now = this.#now();
    while (r.window.length > 0 && now - r.window[0]!.time > WINDOW_MS) r.window.shift();
    const n = r.window.length;
    const span = n > 1 ? (r.window[n - 1]!.time - r.window[0]!.time) / 1000 : 0;
    const stats = r.pipeline?.stats();
    const src = r.source?.stats();
    return {
      state: r.state,
      lastError: r.lastError,
      fps: span > 0 ? (n - 1) / span : 0,
      latencyMs: n > 0 ? r.window.reduce((s, w) => s + w.latency, 0) / n : 0,
      faces: r.faces,
      frames: stats?.frames ?? 0,
      processed: stats?.processed ?? 0,
      dropped: src?.dropped ?? 0,
    };
  }

  /** Ids of the cameras known to the manager. */
  ids(): number[] {
    return [...this.#running.keys()];
  }

  /** The record the manager runs for `id`, if any. */
  record(id: number): CameraRecord | undefined {
    return this.#running.get(id)?.rec;
  }

  /** Stream the annotated frames of a camera to `res` (MJPEG). Returns false for an unknown camera. */
  attach(id: number, res: MjpegClientResponse): boolean {
    const r = this.#running.get(id);
    if (!r) return false;
    r.broadcaster.attach(res);
    if (r.latest && r.broadcaster.stats().published === 0) r.renderer.offer(r.latest.image, r.latest.result);
    return true;
  }

  /** The latest annotated frame as JPEG, or undefined before the first frame. */
  async snapshot(id: number): Promise<Buffer | undefined> {
    const r = this.#running.get(id);
    if (!r) return undefined;
    if (!r.broadcaster.latest && r.latest) {
      r.renderer.offer(r.latest.image, r.latest.result);
      await r.renderer.idle();
    }
    return r.broadcaster.latest;
  }

  /** Stop every camera. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#running.values()];
    this.#running.clear();
    await Promise.all(all.map((r) => this.#stop(r, true)));
  }

  #launch(rec: CameraRecord, broadcaster?: MjpegBroadcaster, renderer?: FrameRenderer): void {
    if (this.#closed) return;
    const b = broadcaster ?? new MjpegBroadcaster();
    const r: Running = {
      rec,
      source: undefined,
      pipeline: undefined,
      run: undefined,
      broadcaster: b,
      renderer:
        renderer ??
        new FrameRenderer({
          onFrame: (f) => b.publish(f.jpeg),
          onError: (err) => this.#o.log(`camera ${rec.id}: rendering failed: ${errorMessage(err)}`),
        }),
      state: rec.enabled ? 'connecting' : 'disabled',
      lastError: null,
      window: [],
      faces: 0,
      latest: undefined,
      stopped: false,
    };
    this.#running.set(rec.id, r);
    if (!rec.enabled) return;
    try {
      r.source = (this.#o.open ?? defaultOpen)(rec.url, `camera-${rec.id}`);
    } catch (err) {
      r.state = 'unavailable';
      r.lastError = redactUrl(errorMessage(err));
      this.#o.log(`camera ${rec.id} cannot start: ${r.lastError}`);
      return;
    }
    r.source.onState((c) => {
      if (r.stopped) return;
      r.state = c.state;
      r.lastError = c.reason === undefined ? (c.state === 'live' ? null : r.lastError) : redactUrl(c.reason);
      this.#o.onChange(rec.id);
    });
    const opts = streamRecognition(this.#o, {
      cameraId: rec.id,
      label: rec.name,
      trackPrefix: `c${rec.id}.${this.#now()}`,
      ...(rec.options.every !== undefined ? { every: rec.options.every } : {}),
      onResult: (result, frame) => {
        if (r.stopped) return;
        r.faces = result.faces.length;
        if (result.processed) r.window.push({ time: this.#now(), latency: result.latencyMs });
        if (r.window.length > 2000) r.window.shift();
        r.latest = { image: frame.image, result };
        if (r.broadcaster.clients > 0) r.renderer.offer(frame.image, result);
        this.#o.onFrame(r.rec, result);
      },
    });
    r.pipeline = new StreamPipeline(this.#o.recognizer, r.source, opts);
    r.run = r.pipeline.run().then(
      () => {
        if (!r.stopped) {
          r.state = 'closed';
          this.#o.onChange(rec.id);
        }
      },
      (err) => {
        if (r.stopped) return;
        r.state = 'unavailable';
        r.lastError = redactUrl(errorMessage(err));
        this.#o.log(`camera ${rec.id} stopped: ${r.lastError}`);
        this.#o.onChange(rec.id);
      },
    );
  }

  async #stop(r: Running, endStreams: boolean): Promise<void> {
    r.stopped = true;
    try {
      await r.pipeline?.stop();
      await r.run;
    } catch (err) {
      this.#o.log(`camera ${r.rec.id}: stopping: ${errorMessage(err)}`);
    }
    if (endStreams) r.broadcaster.close();
  }
}

function defaultOpen(url: string, id: string): VideoSource {
  return openSource(url, { id, realtime: true });
}
