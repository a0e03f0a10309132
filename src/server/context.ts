/**
 * What every route of the service shares: the store, the recognizer, the unknown-face clusters,
 * the cameras, the keys, the settings, the analysis queue, and the request's principal.
 */
import type { FastifyRequest } from 'fastify';
import type { GalleryStore } from '../gallery/index.js';
import type { FaceRecognizer, RetentionPolicy, UnknownFaces } from '../recognize/index.js';
import type { FailureLimiter, KeyRing, Principal } from './auth.js';
import type { CameraManager } from './cameras.js';
import { HttpError } from './errors.js';
import type { RequestMetrics } from './metrics.js';
import type { EffectiveThresholds, SettingsPatch, StoredSettings } from './settings.js';

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI document. */
    summary?: string;
    /** OpenAPI tags. */
    tags?: readonly string[];
    /** Leave the route out of the OpenAPI document. */
    hide?: boolean;
  }
  interface FastifyRequest {
    /** Who sent the request (set by the auth hook). */
    principal: Principal;
    /** `performance.now()` when the request arrived. */
    startedAt: number;
  }
  interface FastifyContextConfig {
    /** Who may call the route: no key, any key, a key that may write. Default `'read'`. */
    auth?: 'none' | 'read' | 'write';
    /** The key may come as `?key=` (images, streams, the WebSocket upgrade). */
    queryKey?: boolean;
    /** What the body is: JSON, images (raw or multipart), or nothing. Checked before reading it. */
    body?: 'json' | 'images' | 'none';
    /** The content type of a successful answer when it is not JSON (for the OpenAPI document). */
    produces?: string;
  }
}

/** Resolved server options that routes read. */
export interface ServiceOptions {
  readonly version: string;
  readonly dataDir: string;
  readonly authRequired: boolean;
  readonly tls: boolean;
  readonly keepThumbnails: boolean;
  readonly keepSnapshots: boolean;
  /** How long events and unknown faces are kept. */
  readonly retention: RetentionPolicy;
  /** Request body limit, bytes. */
  readonly maxBodyBytes: number;
  /** Image limit, pixels. */
  readonly maxPixels: number;
  /** Files per multipart request. */
  readonly maxFiles: number;
  /** Largest browser-camera frame, bytes. */
  readonly maxFrameBytes: number;
  /** Largest browser-camera frame, pixels. */
  readonly maxFramePixels: number;
}

/** The shared state of a running service. */
export interface ServiceContext {
  readonly store: GalleryStore;
  readonly recognizer: FaceRecognizer;
  readonly unknowns: UnknownFaces;
  readonly cameras: CameraManager;
  readonly keys: KeyRing;
  readonly failures: FailureLimiter;
  readonly requests: RequestMetrics;
  readonly options: ServiceOptions;
  readonly startedAt: number;
  /** The stored settings. */
  settings(): StoredSettings;
  /** Change and persist the settings. */
  updateSettings(patch: SettingsPatch): Promise<StoredSettings>;
  /** The thresholds in effect (depends on the gallery size in auto mode; cached briefly). */
  thresholds(): Promise<EffectiveThresholds>;
  /** Run image analysis in the bounded queue (503 when it is full). */
  analyze<T>(fn: () => Promise<T>): Promise<T>;
  /** Append to the audit log (never throws). */
  audit(
    req: FastifyRequest | null,
    action: string,
    subjectKind?: string,
    subjectId?: number,
    detail?: string,
  ): void;
  /** Write a log line to the server's log (stderr). */
  log(message: string): void;
  /** Live WebSocket clients. */
  liveClients(): number;
}

/** The actor of a request for the audit log. */
export function actorOf(req: FastifyRequest | null): string {
  if (!req) return 'server';
  const p = req.principal;
  return p?.kind === 'key' ? `key:${p.key.id}` : 'local';
}

/**
 * A bounded concurrency gate: at most `concurrency` tasks run; up to `queue` wait; more are
 * refused with 503.
 */
export class AnalysisQueue {
  readonly #concurrency: number;
  readonly #queue: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(concurrency: number, queue: number) {
    this.#concurrency = concurrency;
    this.#queue = queue;
  }

  /** Tasks running and waiting. */
  get load(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  /** Run `fn` when a slot is free. @throws HttpError 503 when the queue is full. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) {
      if (this.#waiting.length >= this.#queue) {
        throw new HttpError('unavailable', 'The server is busy analysing other images; try again shortly', {
          'retry-after': '1',
        });
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
