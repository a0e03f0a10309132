/**
 * The facerec service: a fastify 5 server with the REST API (docs/api.md), the live WebSocket,
 * Prometheus metrics and the built web UI, around one recognizer and one gallery store.
 *
 * Request handling, in order: the client address is checked against the failed-key limiter
 * (429); the declared body size and type are checked against the route (413, 415) and the key
 * against the route's auth level (401, 403) — all before a byte of the body is read; then the
 * route's JSON schema validates the query and body (400); handlers throw, and one error handler
 * turns everything into `{"error": {"code", "message"}}` without stack traces.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { type AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyRequest, type RouteOptions } from 'fastify';
import { ConfigError, errorMessage } from '../core/index.js';
import type { GalleryStore } from '../gallery/index.js';
import {
  DEFAULT_RETENTION,
  type FaceRecognizer,
  type RetentionPolicy,
  RetentionScheduler,
  thresholdForFar,
  UnknownFaces,
} from '../recognize/index.js';
import type { VideoSource } from '../video/index.js';
import { FailureLimiter, isLoopbackHost, KeyRing, requestKey } from './auth.js';
import { CameraManager, type RecognitionDeps } from './cameras.js';
import { AnalysisQueue, actorOf, type ServiceContext, type ServiceOptions } from './context.js';
import { classifyError, errorBody, formatMb, HttpError } from './errors.js';
import { cameraJson } from './json.js';
import { LiveHub, liveRoute } from './live.js';
import { RequestMetrics } from './metrics.js';
import { openApiDocument, type RouteInfo, routeInfo } from './openapi.js';
import { adminRoutes } from './routes-admin.js';
import { analyzeRoutes } from './routes-analyze.js';
import { peopleRoutes } from './routes-people.js';
import { videoRoutes } from './routes-video.js';
import { errorResponses } from './schemas.js';
import {
  applyPatch,
  effectiveThresholds,
  loadSettings,
  type StoredSettings,
  saveSettings,
} from './settings.js';

/** Default address: loopback only. */
export const DEFAULT_HOST = '127.0.0.1';
/** Default port. */
export const DEFAULT_PORT = 8080;
/** Default request body limit: 20 MB. */
export const DEFAULT_MAX_BODY_BYTES = 20_000_000;
/** Default image limit: 40 megapixels. */
export const DEFAULT_MAX_PIXELS = 40_000_000;
/** JSON bodies are small: 1 MB. */
const MAX_JSON_BYTES = 1_000_000;

/** Options of {@link createService}. */
export interface ServiceConfig {
  readonly store: GalleryStore;
  readonly recognizer: FaceRecognizer;
  /** The data directory (settings.json; the TLS files are the caller's). */
  readonly dataDir: string;
  /** Address to listen on; default 127.0.0.1. A non-loopback address requires API keys. */
  readonly host?: string;
  /** Port; default 8080; 0 picks a free one. */
  readonly port?: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  readonly tls?: { readonly cert: string; readonly key: string } | null;
  /** Keep a thumbnail of each enrolled face. Default false. */
  readonly keepThumbnails?: boolean;
  /** Keep a crop of the face with each event and unknown face. Default false. */
  readonly keepSnapshots?: boolean;
  /** Body limit, bytes; default 20 MB. */
  readonly maxBodyBytes?: number;
  /** Image limit, pixels; default 40 MP. */
  readonly maxPixels?: number;
  /** Require a key even on loopback. Default false. */
  readonly requireKey?: boolean;
  /** The built web UI folder; default `dist/web` of this package; null for none. */
  readonly webRoot?: string | null;
  /** The version reported by health. */
  readonly version?: string;
  /** Log lines (default: stderr). */
  readonly log?: (line: string) => void;
  /** Log one line per request (method, route pattern, status, time; never the URL). Default false. */
  readonly logRequests?: boolean;
  /** Start the stored cameras. Default true. */
  readonly startCameras?: boolean;
  /** Open a camera source (tests inject fakes). */
  readonly openSource?: (url: string, id: string) => VideoSource;
  /** Analyses run at once (detect, identify, verify, enroll). Default 1: the models use every core. */
  readonly analysisConcurrency?: number;
  /** Analyses waiting at most; more get 503. Default 64. */
  readonly analysisQueue?: number;
  /** A request must arrive whole within this, ms (then 408). Default 60 000. */
  readonly requestTimeoutMs?: number;
  /** Headers must arrive within this, ms. Default 10 000. */
  readonly headersTimeoutMs?: number;
  /** How long events and unknown faces are kept (purged at start, then hourly). Default 90 / 30 days. */
  readonly retention?: RetentionPolicy;
  /** Time between retention purges, ms. Default one hour. */
  readonly retentionIntervalMs?: number;
  /** Clock for retention, ms since the epoch (tests use a fake one). Default Date.now. */
  readonly now?: () => number;
}

/** A created (not yet listening) service. */
export interface FacerecService {
  readonly app: FastifyInstance;
  readonly context: ServiceContext;
  /** Start listening; resolves with the URL. */
  listen(): Promise<{ url: string; port: number }>;
  /** The retention schedule (started with the service, stopped by {@link close}). */
  readonly retention: RetentionScheduler;
  /** Stop cameras and live connections, then the server. The store and recognizer stay open. */
  close(): Promise<void>;
}

function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../web/', import.meta.url));
}

/**
 * Build the service. Refuses (ConfigError) to serve a non-loopback address while no API key
 * exists.
 *
 * @example
 * const svc = await createService({ store, recognizer, dataDir });
 * const { url } = await svc.listen();
 */
export async function createService(config: ServiceConfig): Promise<FacerecService> {
  const host = config.host ?? DEFAULT_HOST;
  const port = config.port ?? DEFAULT_PORT;
  const log = config.log ?? ((line: string) => process.stderr.write(`facerec: ${line}\n`));
  const { store, recognizer } = config;
  const authRequired = config.requireKey === true || !isLoopbackHost(host);
  const keys = new KeyRing(store);
  if (authRequired && (await keys.activeCount()) === 0) {
    throw new ConfigError(
      `Refusing to serve ${host} without an API key: anyone who can reach it could see and change the gallery. ` +
        'Create a key first (facerec keys create --name NAME), or serve on 127.0.0.1.',
    );
  }
  const options: ServiceOptions = {
    version: config.version ?? '0.0.0',
    dataDir: config.dataDir,
    authRequired,
    tls: Boolean(config.tls),
    keepThumbnails: config.keepThumbnails === true,
    keepSnapshots: config.keepSnapshots === true,
    retention: config.retention ?? DEFAULT_RETENTION,
    maxBodyBytes: config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    maxPixels: config.maxPixels ?? DEFAULT_MAX_PIXELS,
    maxFiles: 20,
    maxFrameBytes: 4 * 1024 * 1024,
    maxFramePixels: 8_000_000,
  };
  let settings: StoredSettings = await loadSettings(config.dataDir);
  let cached: { at: number; value: Awaited<ReturnType<ServiceContext['thresholds']>> } | undefined;
  const thresholds = async () => {
    if (cached && Date.now() - cached.at < 1000) return cached.value;
    const faces = await store.countFaces(recognizer.provenance);
    const value = effectiveThresholds(settings, recognizer, faces);
    cached = { at: Date.now(), value };
    return value;
  };
  const linkDistance = (() => {
    try {
      return thresholdForFar(recognizer.provenance, 1e-4) ?? recognizer.compareThreshold();
    } catch {
      return 0.35;
    }
  })();
  const unknowns = await UnknownFaces.open(store, recognizer.provenance, { linkDistance });
  const hub = new LiveHub();
  const queue = new AnalysisQueue(config.analysisConcurrency ?? 1, config.analysisQueue ?? 64);
  const requests = new RequestMetrics();
  const deps: RecognitionDeps = {
    store,
    recognizer,
    unknowns,
    identifyThreshold: async () => (await thresholds()).identify,
    keepSnapshots: options.keepSnapshots,
    onEvent: (e) => hub.event(e),
    log,
  };
  const cameras = new CameraManager({
    ...deps,
    onFrame: (camera, result) => hub.frame(camera, result, cameras.live(camera.id).dropped),
    onChange: (id) => {
      const rec = cameras.record(id);
      if (rec) hub.camera(id, cameraJson(rec, cameras.live(id)));
    },
    ...(config.openSource ? { open: config.openSource } : {}),
  });
  const ctx: ServiceContext = {
    store,
    recognizer,
    unknowns,
    cameras,
    keys,
    failures: new FailureLimiter(),
    requests,
    options,
    startedAt: Date.now(),
    settings: () => settings,
    async updateSettings(patch) {
      const next = applyPatch(settings, patch, recognizer.provenance);
      await saveSettings(config.dataDir, next);
      settings = next;
      cached = undefined;
      return settings;
    },
    thresholds,
    analyze: (fn) => queue.run(fn),
    audit(req, action, subjectKind, subjectId, detail) {
      store
        .appendAudit({
          actor: actorOf(req),
          action,
          ...(subjectKind !== undefined ? { subjectKind } : {}),
          ...(subjectId !== undefined ? { subjectId } : {}),
          ...(detail !== undefined ? { detail } : {}),
        })
        .catch((err) => log(`audit log: ${errorMessage(err)}`));
    },
    log,
    liveClients: () => hub.size,
  };

  const requestTimeout = config.requestTimeoutMs ?? 60_000;
  const headersTimeout = Math.min(config.headersTimeoutMs ?? 10_000, requestTimeout);
  const serverOptions = {
    requestTimeout,
    headersTimeout,
    keepAliveTimeout: 5000,
    connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(requestTimeout / 4))),
  };
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes,
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    forceCloseConnections: true,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
    serverFactory: (handler) =>
      config.tls
        ? https.createServer({ ...serverOptions, cert: config.tls.cert, key: config.tls.key }, handler)
        : http.createServer(serverOptions, handler),
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      if (!socket.writable || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT';
      const tooBig = err.code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify(
        timeout
          ? errorBody('request_timeout', 'The request did not arrive in time')
          : tooBig
            ? errorBody('payload_too_large', 'The request headers are too large')
            : errorBody('bad_request', 'Malformed HTTP request'),
      );
      const status = timeout
        ? '408 Request Timeout'
        : tooBig
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
      socket.end(
        `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });

  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    routes.push(...routeInfo(r));
  });

  await app.register(multipart, {
    limits: {
      // One byte over the limit: busboy only truncates a file at its fileSize and then reads on to
      // the end of the part (for a 1 GB part, all of it) before anyone hears of it; with the extra
      // byte readUploads sees the upload pass the limit and refuses it at once (413, then close).
      fileSize: options.maxBodyBytes + 1,
      files: options.maxFiles,
      fields: 10,
      parts: options.maxFiles + 10,
      fieldSize: 100_000,
      headerPairs: 200,
    },
    throwFileSizeLimit: true,
  });
  await app.register(websocket, {
    options: { maxPayload: options.maxFrameBytes + 1024 },
  });
  for (const type of [/^image\/[\w.+-]+/i, 'application/octet-stream']) {
    app.addContentTypeParser(
      type,
      { parseAs: 'buffer', bodyLimit: options.maxBodyBytes },
      (_req, body, done) => done(null, body),
    );
  }

  app.decorateRequest('principal', undefined as unknown as never);
  app.decorateRequest('startedAt', 0 as unknown as never);

  app.addHook('onRequest', async (req, reply) => {
    req.startedAt = performance.now();
    req.principal = { kind: 'anonymous' };
    const cfg = req.routeOptions.config ?? {};
    const path = req.url.split('?')[0] ?? '';
    const isApi = path.startsWith('/api/') || path === '/metrics';
    const auth = cfg.auth ?? (isApi ? 'read' : 'none');
    const ip = req.ip;
    const blocked = ctx.failures.blockedFor(ip);
    if (blocked > 0 && auth !== 'none') {
      throw new HttpError(
        'too_many_requests',
        'Too many requests with a wrong API key from this address; wait a minute',
        {
          'retry-after': String(Math.ceil(blocked / 1000)),
        },
      );
    }
    // Cross-origin WebSocket upgrades are refused.
    if ((req.headers.upgrade ?? '').toLowerCase() === 'websocket' && !sameOrigin(req)) {
      throw new HttpError('origin_denied', 'Cross-origin WebSocket connections are not allowed');
    }
    // The key.
    const key = requestKey(req.headers, req.url, cfg.queryKey === true);
    if (key !== undefined) {
      const check = await keys.check(key);
      if (check.ok) req.principal = { kind: 'key', key: check.key };
      else if (auth !== 'none') {
        // A lockout goes to the audit log (the address only: never the key that was tried).
        if (ctx.failures.fail(ip)) ctx.audit(null, 'key.lockout', 'address', undefined, ip);
        reply.header('www-authenticate', 'Bearer');
        throw new HttpError(
          'unauthorized',
          check.reason === 'revoked' ? 'This API key was revoked' : 'Unknown API key',
        );
      }
    } else if (authRequired && auth !== 'none') {
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError(
        'unauthorized',
        'An API key is required: send it as "Authorization: Bearer <key>" (create one with facerec keys create)',
      );
    }
    if (auth === 'write' && req.principal.kind === 'key' && req.principal.key.readOnly) {
      throw new HttpError('forbidden', 'This API key is read-only');
    }
    // Body: size and type, before reading it.
    const kind = cfg.body ?? 'none';
    const declared = Number(req.headers['content-length'] ?? 0);
    const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && kind !== 'none') {
      const limit = kind === 'json' ? MAX_JSON_BYTES : options.maxBodyBytes;
      if (declared > limit) {
        reply.header('connection', 'close');
        throw new HttpError(
          'payload_too_large',
          `The request body (${formatMb(declared)}) is larger than the ${formatMb(limit)} limit`,
        );
      }
      const type = (req.headers['content-type'] ?? '').toLowerCase();
      if (kind === 'json' && !/^application\/json\b/.test(type)) {
        throw new HttpError(
          'unsupported_media_type',
          `This route takes application/json, not ${type || 'no Content-Type'}`,
        );
      }
      if (
        kind === 'images' &&
        !/^(multipart\/form-data|image\/[\w.+-]+|application\/octet-stream)\b/.test(type)
      ) {
        throw new HttpError(
          'unsupported_media_type',
          `This route takes images as multipart/form-data or a raw image/* body, not ${type || 'no Content-Type'}`,
        );
      }
    }
  });

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) {
      reply.header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; " +
          "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
      );
    } else if (req.url.startsWith('/api/') && !reply.hasHeader('cache-control')) {
      reply.header('cache-control', 'no-store');
    }
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const seconds = (performance.now() - req.startedAt) / 1000;
    requests.record(req.method, route, reply.statusCode, seconds);
    if (config.logRequests)
      log(`${req.method} ${route} ${reply.statusCode} ${(seconds * 1000).toFixed(1)} ms`);
  });

  app.setErrorHandler((err, req, reply) => {
    // (Not `req.raw.destroyed`: a request whose body was read whole is destroyed too.)
    if (isClientAbort(err) || (req.raw.socket instanceof Socket && req.raw.socket.destroyed)) {
      // The client closed or reset the connection mid-request: nobody is left to answer, and it
      // is not a fault of the server (499, as nginx counts it).
      reply.hijack();
      if (req.raw.socket instanceof Socket) req.raw.socket.destroy();
      requests.record(
        req.method,
        req.routeOptions.url ?? 'unmatched',
        499,
        (performance.now() - req.startedAt) / 1000,
      );
      return;
    }
    const c = classifyError(err, options.maxBodyBytes);
    if (c.fault)
      log(
        `${req.method} ${req.routeOptions.url ?? 'unmatched'}: ${errorMessage(err)}${err instanceof Error && c.status >= 500 ? `\n${err.stack ?? ''}` : ''}`,
      );
    const body = JSON.stringify(errorBody(c.code, c.message));
    if ((req.headers.upgrade ?? '').toLowerCase() === 'websocket' && !reply.sent) {
      // A refused WebSocket upgrade: answer on the socket and end it gracefully (the websocket
      // plugin destroys upgrade sockets after a response, which can drop the answer).
      reply.hijack();
      const extra = Object.entries(c.headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      req.raw.socket.end(
        `HTTP/1.1 ${c.status} ${http.STATUS_CODES[c.status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra}\r\n${body}`,
      );
      return;
    }
    const unread =
      (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined) &&
      !req.raw.complete;
    // (Only on a real socket: requests injected in-process have no connection to linger on.)
    if (
      unread &&
      [401, 403, 413, 415, 429].includes(c.status) &&
      !reply.sent &&
      req.raw.socket instanceof Socket
    ) {
      // Refused with (part of) the body still on its way. Closing the socket right after the
      // answer would make the kernel reset the connection while the client is still sending,
      // and a reset discards the answer before the client reads it ("connection reset" instead
      // of the 413 message). So: answer, half-close, then read and discard for a moment (at most
      // LINGER_MS and LINGER_BYTES, never kept in memory) before closing for good.
      reply.hijack();
      const headers: Record<string, string> = {
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        connection: 'close',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
        'cache-control': 'no-store',
        ...Object.fromEntries(
          Object.entries(reply.getHeaders())
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k.toLowerCase(), String(v)]),
        ),
        ...c.headers,
      };
      const head = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      lingeringClose(
        req.raw,
        `HTTP/1.1 ${c.status} ${http.STATUS_CODES[c.status] ?? 'Error'}\r\n${head}\r\n${body}`,
      );
      const seconds = (performance.now() - req.startedAt) / 1000;
      requests.record(req.method, req.routeOptions.url ?? 'unmatched', c.status, seconds);
      if (config.logRequests)
        log(
          `${req.method} ${req.routeOptions.url ?? 'unmatched'} ${c.status} ${(seconds * 1000).toFixed(1)} ms`,
        );
      return;
    }
    for (const [k, v] of Object.entries(c.headers)) reply.header(k, v);
    if (c.status === 413 || c.status === 408) reply.header('connection', 'close');
    reply.code(c.status).type('application/json').send(errorBody(c.code, c.message));
  });

  const webRoot = config.webRoot === undefined ? defaultWebRoot() : config.webRoot;
  const hasWeb = webRoot !== null && existsSync(`${webRoot}/index.html`);
  let indexHtml: Buffer | undefined;

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const html = /text\/html/.test(String(req.headers.accept ?? ''));
    if (req.method === 'GET' && hasWeb && html && !path.startsWith('/api/') && !/\.\w{1,8}$/.test(path)) {
      indexHtml ??= readFileSync(`${webRoot}/index.html`);
      reply.code(200).type('text/html; charset=utf-8').send(indexHtml);
      return;
    }
    reply
      .code(404)
      .type('application/json')
      .send(errorBody('not_found', `No route ${req.method} ${path.slice(0, 200)}`));
  });

  if (hasWeb) {
    await app.register(fastifyStatic, { root: webRoot!, prefix: '/', index: ['index.html'], maxAge: 0 });
  } else {
    app.get('/', { config: { auth: 'none', body: 'none' }, schema: { hide: true } }, async (_req, reply) => {
      reply.type('text/html; charset=utf-8');
      return placeholderPage(options.version);
    });
  }

  analyzeRoutes(app, ctx);
  peopleRoutes(app, ctx);
  videoRoutes(app, ctx);
  adminRoutes(app, ctx);
  liveRoute(app, ctx, hub, deps);
  let doc: Record<string, unknown> | undefined;
  app.get(
    '/api/v1/openapi.json',
    {
      config: { auth: 'read', body: 'none' },
      schema: { summary: 'This API as OpenAPI 3.1', tags: ['service'], response: { ...errorResponses } },
    },
    async (_req, reply) => {
      doc ??= openApiDocument(routes, options.version);
      reply.type('application/json');
      return JSON.stringify(doc);
    },
  );

  await app.ready();
  if (config.startCameras !== false) await cameras.start();
  const retention = new RetentionScheduler(store, options.retention, {
    unknowns,
    ...(config.now ? { now: config.now } : {}),
    ...(config.retentionIntervalMs !== undefined ? { intervalMs: config.retentionIntervalMs } : {}),
    onPurge: (r) => {
      log(`retention: purged ${r.events} events and ${r.unknownFaces} unknown faces`);
      store
        .appendAudit({
          actor: 'retention',
          action: 'retention.purge',
          detail: `events ${r.events}, unknown faces ${r.unknownFaces}`,
        })
        .catch(() => undefined);
    },
    onError: (message) => log(`retention: the purge failed (tried again in an hour): ${message}`),
  });
  retention.start();

  let closed = false;
  return {
    app,
    context: ctx,
    retention,
    async listen() {
      await app.listen({ host, port });
      const addr = app.server.address() as AddressInfo;
      const shown = host.includes(':') ? `[${host}]` : host;
      return { url: `${config.tls ? 'https' : 'http'}://${shown}:${addr.port}`, port: addr.port };
    },
    async close() {
      if (closed) return;
      closed = true;
      hub.closeAll(1001, 'server shutting down');
      await retention.stop();
      await cameras.close();
      await app.close();
      requests.close();
    },
  };
}

/** How long, and how many bytes, a refused upload is read and discarded after the answer. */
const LINGER_MS = 2000;
const LINGER_BYTES = 32 * 1024 * 1024;

/**
 * Send `response` and half-close the connection, then discard what the client still sends for
 * up to {@link LINGER_MS} or {@link LINGER_BYTES}, then close it (see the error handler).
 */
function lingeringClose(req: http.IncomingMessage, response: string): void {
  const socket = req.socket;
  let discarded = 0;
  const close = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_BYTES) close();
  });
  req.once('end', close);
  req.once('error', close);
  socket.once('close', () => clearTimeout(timer));
  req.resume();
  socket.end(response);
}

/** True for the errors of a request whose client closed or reset the connection. */
function isClientAbort(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === 'ECONNRESET' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.message === 'aborted';
}

/** True when a request's Origin (if any) is the server's own origin. */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host.toLowerCase() === String(req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/** The page served at `/` when the web UI is not built. */
function placeholderPage(version: string): string {
  return `<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>facerec</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:.1em .3em;border-radius:3px}</style>
<h1>facerec ${version.replace(/[^\w.+-]/g, '')} is running</h1>
<p>The web interface is not built in this copy. Build it with <code>npm run build</code>, or use the API:
<a href="/api/v1/health">/api/v1/health</a>, <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (see <code>docs/api.md</code>).</p>
<p>First step: add a person, e.g. <code>facerec enroll alice-1.jpg alice-2.jpg --name "Alice"</code>, or
<code>curl -F photos=@alice-1.jpg http://127.0.0.1:8080/api/v1/people/ID/faces</code> after creating them with
<code>POST /api/v1/people</code>.</p>
</html>
`;
}
