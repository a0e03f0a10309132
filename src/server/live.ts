/**
 * The WebSocket `/api/v1/live`: per-frame results and events of the cameras a client subscribes
 * to, and the browser-camera channel (binary JPEG frames in, `frame` results out). The protocol
 * is documented in docs/api.md.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorMessage } from '../core/index.js';
import type { CameraRecord, EventRecord } from '../gallery/index.js';
import { inspectIncomingImage } from '../recognize/index.js';
import { type FrameResult, PushSource, StreamPipeline } from '../video/index.js';
import type { RecognitionDeps } from './cameras.js';
import { streamRecognition } from './cameras.js';
import type { ServiceContext } from './context.js';
import { cameraJson, eventJson } from './json.js';

/** What the server uses of a `ws` WebSocket. */
export interface LiveSocket {
  readonly readyState: number;
  readonly OPEN: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): void;
  on(event: 'close' | 'error', listener: () => void): void;
}

/** Pending bytes on a socket above which camera frames are skipped for that client. */
const MAX_BUFFERED = 1 << 20;

/** The JSON of a frame result. */
export function frameJson(
  source: 'camera' | 'device',
  cameraId: number | null,
  camera: string,
  seq: number,
  r: FrameResult,
  dropped: number,
): Record<string, unknown> {
  return {
    type: 'frame',
    source,
    camera_id: cameraId,
    camera,
    seq,
    time: r.time,
    width: r.width,
    height: r.height,
    processed: r.processed,
    latency_ms: Math.round(r.latencyMs * 10) / 10,
    dropped,
    faces: r.faces.map((f) => ({
      track: f.track,
      box: [...f.box],
      landmarks: f.landmarks.map((p) => [p[0], p[1]]),
      score: f.score,
      person_id: f.personId,
      name: f.name,
      distance: f.distance,
    })),
    timings: {
      detect_ms: round1(r.timings.detectMs),
      embed_ms: round1(r.timings.embedMs),
      identify_ms: round1(r.timings.identifyMs),
      total_ms: round1(r.timings.totalMs),
    },
  };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

interface Client {
  readonly id: number;
  readonly ws: LiveSocket;
  subscribed: Set<number> | 'all';
  /** Track prefix of this connection's device camera (its events go to it). */
  readonly prefix: string;
}

/** The live connections and what each subscribed to. */
export class LiveHub {
  readonly #clients = new Set<Client>();
  #next = 1;

  /** Open connections. */
  get size(): number {
    return this.#clients.size;
  }

  /** Register a connection. */
  add(ws: LiveSocket): Client {
    const id = this.#next++;
    const c: Client = { id, ws, subscribed: new Set(), prefix: `browser.${Date.now().toString(36)}.${id}` };
    this.#clients.add(c);
    return c;
  }

  /** Forget a connection. */
  remove(c: Client): void {
    this.#clients.delete(c);
  }

  /** A camera frame: to its subscribers whose socket keeps up. */
  frame(camera: CameraRecord, result: FrameResult, dropped: number): void {
    let text: string | undefined;
    for (const c of this.#clients) {
      if (!subscribedTo(c, camera.id) || c.ws.bufferedAmount > MAX_BUFFERED) continue;
      text ??= JSON.stringify(frameJson('camera', camera.id, camera.name, result.seq, result, dropped));
      send(c.ws, text);
    }
  }

  /** A stored event: to subscribers of its camera, or to the connection whose device saw it. */
  event(e: EventRecord): void {
    const text = JSON.stringify({ type: 'event', event: eventJson(e) });
    for (const c of this.#clients) {
      const mine = e.cameraId === null && e.track.startsWith(`${c.prefix}:`);
      if (mine || (e.cameraId !== null && subscribedTo(c, e.cameraId))) send(c.ws, text);
    }
  }

  /** A camera's state changed: to its subscribers. */
  camera(id: number, json: Record<string, unknown>): void {
    const text = JSON.stringify({ type: 'camera', camera: json });
    for (const c of this.#clients) if (subscribedTo(c, id)) send(c.ws, text);
  }

  /** Close every connection (server shutdown). */
  closeAll(code: number, reason: string): void {
    for (const c of this.#clients) c.ws.close(code, reason);
    this.#clients.clear();
  }
}

function subscribedTo(c: Client, id: number): boolean {
  return c.subscribed === 'all' || c.subscribed.has(id);
}

function send(ws: LiveSocket, text: string): void {
  if (ws.readyState === ws.OPEN) ws.send(text);
}

/** The subscription after a subscribe or unsubscribe message. */
export function nextSubscription(
  current: Set<number> | 'all',
  type: 'subscribe' | 'unsubscribe',
  cameras: readonly number[] | 'all',
): Set<number> | 'all' {
  if (type === 'subscribe') {
    if (cameras === 'all' || current === 'all') return 'all';
    return new Set([...current, ...cameras]);
  }
  if (cameras === 'all' || current === 'all') return new Set();
  const next = new Set(current);
  for (const id of cameras) next.delete(id);
  return next;
}

type ClientMessage =
  | { type: 'subscribe' | 'unsubscribe'; cameras: number[] | 'all' }
  | { type: 'device'; name?: string }
  | { type: 'ping' };

/** Parse a client text message; undefined when it is not a known message. */
export function parseClientMessage(text: string): ClientMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Record<string, unknown>;
  if (o.type === 'ping') return { type: 'ping' };
  if (o.type === 'device') {
    if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length > 100)) return undefined;
    return o.name === undefined ? { type: 'device' } : { type: 'device', name: o.name };
  }
  if (o.type === 'subscribe' || o.type === 'unsubscribe') {
    const cams = o.cameras;
    if (cams === 'all') return { type: o.type, cameras: 'all' };
    if (
      Array.isArray(cams) &&
      cams.length <= 1000 &&
      cams.every((c) => typeof c === 'number' && Number.isSafeInteger(c) && c >= 1)
    ) {
      return { type: o.type, cameras: cams as number[] };
    }
  }
  return undefined;
}

/** Register the WebSocket route. */
export function liveRoute(
  app: FastifyInstance,
  ctx: ServiceContext,
  hub: LiveHub,
  deps: RecognitionDeps,
): void {
  app.get(
    '/api/v1/live',
    {
      websocket: true,
      config: { auth: 'read', body: 'none', queryKey: true },
      schema: {
        summary: 'WebSocket: live results and events; the browser-camera channel (see docs/api.md)',
        tags: ['live'],
        querystring: { type: 'object', properties: { key: { type: 'string', maxLength: 200 } } },
      },
    },
    (ws: LiveSocket, req: FastifyRequest) => {
      const client = hub.add(ws);
      const principal = req.principal;
      let label = 'browser';
      let device:
        | { source: PushSource; pipeline: StreamPipeline; pushed: number; seqs: Map<number, number> }
        | undefined;
      let received = 0;
      let closed = false;

      const sendJson = (v: unknown) => send(ws, JSON.stringify(v));
      const errorMsg = (code: string, message: string, seq?: number) =>
        sendJson({ type: 'error', error: { code, message }, ...(seq !== undefined ? { seq } : {}) });

      const startDevice = () => {
        const seqs = new Map<number, number>();
        const source = new PushSource({
          id: client.prefix,
          maxFrameBytes: ctx.options.maxFrameBytes,
          maxWidth: 640,
          // A frame whose header looked fine but whose data does not decode (truncated, corrupt)
          // is answered like any refused frame, so the client never waits for it.
          onDecodeError: (pushed, message) => {
            const clientSeq = seqs.get(pushed);
            seqs.delete(pushed);
            if (clientSeq !== undefined && !closed) {
              const text = message.split(`frame ${pushed} of ${client.prefix}`).join(`frame ${clientSeq}`);
              errorMsg('invalid_image', text, clientSeq);
            }
          },
        });
        const opts = streamRecognition(deps, {
          cameraId: null,
          label,
          trackPrefix: client.prefix,
          onResult: (result) => {
            const clientSeq = seqs.get(result.seq) ?? result.seq;
            for (const k of seqs.keys()) if (k <= result.seq) seqs.delete(k);
            sendJson(frameJson('device', null, label, clientSeq, result, source.stats().dropped));
          },
        });
        const pipeline = new StreamPipeline(ctx.recognizer, source, opts);
        pipeline.run().catch((err) => ctx.log(`browser camera: ${errorMessage(err)}`));
        device = { source, pipeline, pushed: 0, seqs };
        return device;
      };

      ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        if (closed) return;
        if (isBinary) {
          const seq = ++received;
          const bytes = Buffer.isBuffer(data)
            ? data
            : Array.isArray(data)
              ? Buffer.concat(data)
              : Buffer.from(data);
          if (bytes.length > ctx.options.maxFrameBytes) {
            errorMsg(
              'payload_too_large',
              `A frame of ${bytes.length} bytes exceeds the ${ctx.options.maxFrameBytes}-byte limit`,
              seq,
            );
            return;
          }
          inspectIncomingImage(bytes, { name: `frame ${seq}`, maxPixels: ctx.options.maxFramePixels })
            .then((check) => {
              if (closed) return;
              if (!check.ok) {
                errorMsg(
                  check.reason === 'unsupported'
                    ? 'unsupported_media_type'
                    : check.reason === 'too_large'
                      ? 'image_too_large'
                      : 'invalid_image',
                  check.message,
                  seq,
                );
                return;
              }
              const d = device ?? startDevice();
              d.pushed++;
              d.seqs.set(d.pushed, seq);
              if (d.seqs.size > 1000) d.seqs.delete(d.seqs.keys().next().value!);
              d.source.push(bytes);
            })
            .catch((err) => errorMsg('invalid_image', errorMessage(err), seq));
          return;
        }
        const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
        const m = text.length > 100_000 ? undefined : parseClientMessage(text);
        if (!m) {
          errorMsg(
            'bad_request',
            'Unknown message: expected {"type": "subscribe" | "unsubscribe" | "device" | "ping", …}',
          );
          return;
        }
        if (m.type === 'ping') sendJson({ type: 'pong', time: Date.now() });
        else if (m.type === 'device') {
          label = m.name?.normalize('NFC').trim() || 'browser';
        } else {
          client.subscribed = nextSubscription(client.subscribed, m.type, m.cameras);
          const s = client.subscribed;
          sendJson({ type: 'subscribed', cameras: s === 'all' ? 'all' : [...s] });
        }
      });

      // A revoked key closes its connections.
      const watch =
        principal.kind === 'key'
          ? setInterval(() => {
              ctx.keys
                .isActive(principal.key.id)
                .then((ok) => {
                  if (!ok) ws.close(1008, 'key revoked');
                })
                .catch(() => {});
            }, 5000)
          : undefined;
      watch?.unref();

      ws.on('close', () => {
        closed = true;
        if (watch) clearInterval(watch);
        hub.remove(client);
        device?.pipeline.stop().catch(() => {});
      });
      ws.on('error', () => {});

      (async () => {
        const cams = await ctx.store.listCameras();
        sendJson({
          type: 'hello',
          version: ctx.options.version,
          threshold: (await ctx.thresholds()).identify,
          read_only: principal.kind === 'key' && principal.key.readOnly,
          cameras: cams.map((c) => cameraJson(c, ctx.cameras.live(c.id))),
          max_frame_bytes: ctx.options.maxFrameBytes,
        });
      })().catch((err) => ctx.log(`live hello: ${errorMessage(err)}`));
    },
  );
}
