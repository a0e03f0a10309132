/**
 * Health, settings, API keys and metrics.
 */
import type { FastifyInstance } from 'fastify';
import { generateApiKey, hashApiKey } from './auth.js';
import type { ServiceContext } from './context.js';
import { auditJson, keyJson } from './json.js';
import { exposition, type Family } from './metrics.js';
import { auditSchema, errorResponses, healthSchema, idParams, keySchema, settingsSchema } from './schemas.js';
import { settingsJson } from './settings.js';

/** What the terminal and the page say to do first on an empty gallery. */
export const FIRST_STEP =
  'Add a person: open People, give a name and drop a few photos of their face (or run facerec enroll <photos>).';

/** Register the admin routes. */
export function adminRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { store } = ctx;

  app.get(
    '/api/v1/health',
    {
      config: { auth: 'none', body: 'none' },
      schema: {
        summary: 'Status, whether a key is needed, what to do first',
        tags: ['service'],
        response: { 200: healthSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = req.principal;
      const authenticated = p.kind === 'key';
      const out: Record<string, unknown> = {
        status: 'ok',
        version: ctx.options.version,
        auth_required: ctx.options.authRequired,
        authenticated,
        read_only: p.kind === 'key' && p.key.readOnly,
        tls: ctx.options.tls,
        uptime_s: Math.round((Date.now() - ctx.startedAt) / 100) / 10,
      };
      if (!ctx.options.authRequired || authenticated) {
        const [people, faces, cameras] = await Promise.all([
          store.countPeople(),
          store.countFaces(),
          store.listCameras(),
        ]);
        out.setup = {
          empty_gallery: people === 0,
          people,
          faces,
          cameras: cameras.length,
          next_step: people === 0 ? FIRST_STEP : null,
        };
      }
      return out;
    },
  );

  const settingsOut = async () => {
    const faces = await store.countFaces(ctx.recognizer.provenance);
    return settingsJson(ctx.settings(), await ctx.thresholds(), ctx.recognizer.provenance, {
      galleryFaces: faces,
      keepThumbnails: ctx.options.keepThumbnails,
      keepSnapshots: ctx.options.keepSnapshots,
      retention: ctx.options.retention,
      authRequired: ctx.options.authRequired,
      tls: ctx.options.tls,
    });
  };

  app.get(
    '/api/v1/settings',
    {
      config: { auth: 'read', body: 'none' },
      schema: {
        summary: 'The threshold and the error rates it implies; the storage policy',
        tags: ['service'],
        response: { 200: settingsSchema, ...errorResponses },
      },
    },
    settingsOut,
  );

  app.patch<{ Body: { threshold?: number | null; far?: number; target_fpir?: number } }>(
    '/api/v1/settings',
    {
      config: { auth: 'write', body: 'json' },
      schema: {
        summary: 'Change the threshold (fixed, by false-accept rate, or auto)',
        tags: ['service'],
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            threshold: { type: ['number', 'null'] },
            far: { type: 'number' },
            target_fpir: { type: 'number' },
          },
        },
        response: { 200: settingsSchema, ...errorResponses },
      },
    },
    async (req) => {
      await ctx.updateSettings({
        ...(req.body.threshold !== undefined ? { threshold: req.body.threshold } : {}),
        ...(req.body.far !== undefined ? { far: req.body.far } : {}),
        ...(req.body.target_fpir !== undefined ? { targetFpir: req.body.target_fpir } : {}),
      });
      ctx.audit(req, 'settings.update', 'settings');
      return settingsOut();
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/v1/audit',
    {
      config: { auth: 'write', body: 'none' },
      schema: {
        summary: 'The audit log, newest first (ids and counts only: no names, no biometric data)',
        tags: ['keys'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
        response: {
          200: { type: 'object', properties: { entries: { type: 'array', items: auditSchema } } },
          ...errorResponses,
        },
      },
    },
    async (req) => ({ entries: (await store.listAudit(req.query.limit ?? 100)).map(auditJson) }),
  );

  app.get(
    '/api/v1/keys',
    {
      config: { auth: 'write', body: 'none' },
      schema: {
        summary: 'API keys (never the keys themselves)',
        tags: ['keys'],
        response: {
          200: { type: 'object', properties: { keys: { type: 'array', items: keySchema } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ keys: (await store.listApiKeys()).map(keyJson) }),
  );

  app.post<{ Body: { name: string; read_only?: boolean } }>(
    '/api/v1/keys',
    {
      config: { auth: 'write', body: 'json' },
      schema: {
        summary: 'Create an API key (returned once)',
        tags: ['keys'],
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 400 },
            read_only: { type: 'boolean' },
          },
        },
        response: { 201: keySchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const key = generateApiKey();
      const rec = await store.createApiKey({
        name: req.body.name,
        hash: hashApiKey(key),
        readOnly: req.body.read_only === true,
      });
      ctx.keys.invalidate();
      ctx.audit(req, 'key.create', 'key', rec.id);
      reply.code(201);
      return { ...keyJson(rec), key };
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/api/v1/keys/:id',
    {
      config: { auth: 'write', body: 'none' },
      schema: {
        summary: 'Revoke an API key',
        tags: ['keys'],
        params: idParams,
        response: { 200: keySchema, ...errorResponses },
      },
    },
    async (req) => {
      const rec = await store.revokeApiKey(req.params.id);
      ctx.keys.invalidate();
      ctx.audit(req, 'key.revoke', 'key', rec.id);
      return keyJson(rec);
    },
  );

  app.get(
    '/metrics',
    {
      config: { auth: 'read', body: 'none', produces: 'text/plain; version=0.0.4' },
      schema: {
        summary: 'Prometheus metrics (text format 0.0.4)',
        tags: ['service'],
        response: { ...errorResponses },
      },
    },
    async (_req, reply) => {
      const cams = await store.listCameras();
      const lbl = (c: { id: number; name: string }) => ({ camera: c.name, camera_id: c.id });
      const cam = (
        name: string,
        help: string,
        type: 'counter' | 'gauge',
        f: (live: ReturnType<typeof ctx.cameras.live>) => number,
      ): Family => ({
        name,
        help,
        type,
        samples: cams.map((c) => ({ labels: lbl(c), value: f(ctx.cameras.live(c.id)) })),
      });
      const [people, faces, unknown] = await Promise.all([
        store.countPeople(),
        store.countFaces(),
        store.countUnknownFaces(),
      ]);
      const families: Family[] = [
        ...ctx.requests.families(),
        cam('facerec_camera_fps', 'Processed frames per second over the last 10 s.', 'gauge', (l) => l.fps),
        cam(
          'facerec_camera_latency_seconds',
          'Mean capture-to-result latency over the last 10 s.',
          'gauge',
          (l) => l.latencyMs / 1000,
        ),
        cam('facerec_camera_faces', 'Faces in the latest frame.', 'gauge', (l) => l.faces),
        cam('facerec_camera_frames_total', 'Frames taken from the camera.', 'counter', (l) => l.frames),
        cam('facerec_camera_processed_frames_total', 'Frames analysed.', 'counter', (l) => l.processed),
        cam(
          'facerec_camera_dropped_frames_total',
          'Frames dropped because recognition was busy.',
          'counter',
          (l) => l.dropped,
        ),
        cam('facerec_camera_up', '1 when the camera delivers frames.', 'gauge', (l) =>
          l.state === 'live' ? 1 : 0,
        ),
        {
          name: 'facerec_live_clients',
          help: 'Open WebSocket connections.',
          type: 'gauge',
          samples: [{ labels: {}, value: ctx.liveClients() }],
        },
        {
          name: 'facerec_gallery_people',
          help: 'People in the gallery.',
          type: 'gauge',
          samples: [{ labels: {}, value: people }],
        },
        {
          name: 'facerec_gallery_faces',
          help: 'Enrolled faces.',
          type: 'gauge',
          samples: [{ labels: {}, value: faces }],
        },
        {
          name: 'facerec_unknown_faces',
          help: 'Unknown faces kept for review.',
          type: 'gauge',
          samples: [{ labels: {}, value: unknown }],
        },
        {
          name: 'facerec_process_resident_memory_bytes',
          help: 'Resident set size.',
          type: 'gauge',
          samples: [{ labels: {}, value: process.memoryUsage.rss() }],
        },
      ];
      reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
      return exposition(families);
    },
  );
}
