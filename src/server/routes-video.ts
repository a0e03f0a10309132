/**
 * Cameras (persisted, run by the CameraManager, annotated MJPEG streams), events (paged,
 * filtered, snapshots) and unknown-face clusters (listing, crops, assign, dismiss).
 */
import type { FastifyInstance } from 'fastify';
import type { CameraRecord } from '../gallery/index.js';
import { parseSource } from '../video/index.js';
import type { ServiceContext } from './context.js';
import { HttpError } from './errors.js';
import { cameraJson, clusterJson, eventJson, unknownFaceJson } from './json.js';
import { personWithThumb } from './routes-people.js';
import {
  cameraSchema,
  clusterSchema,
  errorResponses,
  eventSchema,
  idParams,
  mediaQuery,
  personSchema,
  unknownFaceSchema,
} from './schemas.js';

/** A time query parameter: ISO 8601 or ms since the epoch. */
export function parseTime(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = /^\d{1,16}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(n) || n < 0) {
    throw new HttpError(
      'bad_request',
      `Expected an ISO 8601 time or ms since the epoch for ${name} but received ${JSON.stringify(v.slice(0, 40))}`,
    );
  }
  return n;
}

/** Register the camera, event and unknown-face routes. */
export function videoRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { store, cameras } = ctx;
  const cameraOut = (c: CameraRecord) => cameraJson(c, cameras.live(c.id));

  app.get(
    '/api/v1/cameras',
    {
      config: { auth: 'read', body: 'none' },
      schema: {
        summary: 'Cameras and their live state',
        tags: ['cameras'],
        response: {
          200: { type: 'object', properties: { cameras: { type: 'array', items: cameraSchema } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ cameras: (await store.listCameras()).map(cameraOut) }),
  );

  app.post<{ Body: { name: string; url: string; enabled?: boolean; every?: number } }>(
    '/api/v1/cameras',
    {
      config: { auth: 'write', body: 'json' },
      schema: {
        summary: 'Add a camera (it starts at once and restarts with the server)',
        tags: ['cameras'],
        body: {
          type: 'object',
          required: ['name', 'url'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 400 },
            url: { type: 'string', minLength: 1, maxLength: 2048 },
            enabled: { type: 'boolean' },
            every: { type: 'integer', minimum: 1, maximum: 100 },
          },
        },
        response: { 201: cameraSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      // The source rules of src/video: http(s)/rtsp URLs, files, /dev/videoN; nothing else.
      parseSource(req.body.url.trim());
      const rec = await store.addCamera({
        name: req.body.name,
        url: req.body.url,
        enabled: req.body.enabled ?? true,
        options: req.body.every !== undefined ? { every: req.body.every } : {},
      });
      await cameras.apply(rec);
      ctx.audit(req, 'camera.create', 'camera', rec.id);
      reply.code(201);
      return cameraOut(rec);
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/cameras/:id',
    {
      config: { auth: 'read', body: 'none' },
      schema: {
        summary: 'One camera',
        tags: ['cameras'],
        params: idParams,
        response: { 200: cameraSchema, ...errorResponses },
      },
    },
    async (req) => cameraOut(await store.getCamera(req.params.id)),
  );

  app.patch<{ Params: { id: number }; Body: { name?: string; enabled?: boolean; every?: number } }>(
    '/api/v1/cameras/:id',
    {
      config: { auth: 'write', body: 'json' },
      schema: {
        summary: 'Rename, enable or disable a camera',
        tags: ['cameras'],
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 400 },
            enabled: { type: 'boolean' },
            every: { type: 'integer', minimum: 1, maximum: 100 },
          },
        },
        response: { 200: cameraSchema, ...errorResponses },
      },
    },
    async (req) => {
      const rec = await store.updateCamera(req.params.id, {
        ...(req.body.name !== undefined ? { name: req.body.name } : {}),
        ...(req.body.enabled !== undefined ? { enabled: req.body.enabled } : {}),
        ...(req.body.every !== undefined ? { options: { every: req.body.every } } : {}),
      });
      await cameras.apply(rec);
      ctx.audit(req, 'camera.update', 'camera', rec.id);
      return cameraOut(rec);
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/api/v1/cameras/:id',
    {
      config: { auth: 'write', body: 'none' },
      schema: {
        summary: 'Remove a camera (its events stay)',
        tags: ['cameras'],
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              removed: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const rec = await store.removeCamera(req.params.id);
      await cameras.remove(rec.id);
      ctx.audit(req, 'camera.delete', 'camera', rec.id);
      return { removed: { id: rec.id, name: rec.name } };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/cameras/:id/stream',
    {
      config: { auth: 'read', body: 'none', queryKey: true },
      schema: {
        summary: 'The annotated stream (multipart/x-mixed-replace MJPEG)',
        tags: ['cameras'],
        params: idParams,
        querystring: mediaQuery,
        response: { 200: { type: 'string', format: 'binary' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      await store.getCamera(req.params.id);
      reply.hijack();
      if (!cameras.attach(req.params.id, reply.raw)) {
        reply.raw.writeHead(503, { 'content-type': 'application/json' });
        reply.raw.end(
          JSON.stringify({ error: { code: 'unavailable', message: 'The camera is not running' } }),
        );
      }
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/cameras/:id/snapshot',
    {
      config: { auth: 'read', body: 'none', queryKey: true },
      schema: {
        summary: 'The latest annotated frame (JPEG)',
        tags: ['cameras'],
        params: idParams,
        querystring: mediaQuery,
        response: { 200: { type: 'string', format: 'binary' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      await store.getCamera(req.params.id);
      const jpeg = await cameras.snapshot(req.params.id);
      if (!jpeg) throw new HttpError('unavailable', 'No frame from this camera yet', { 'retry-after': '1' });
      reply.header('content-type', 'image/jpeg').header('cache-control', 'no-store');
      return jpeg;
    },
  );

  // Events -----------------------------------------------------------------------------------

  app.get<{
    Querystring: {
      person_id?: number;
      camera_id?: number;
      cluster_id?: number;
      kind?: 'appeared' | 'left';
      unknown?: boolean;
      from?: string;
      to?: string;
      limit?: number;
      before?: number;
    };
  }>(
    '/api/v1/events',
    {
      config: { auth: 'read', body: 'none' },
      schema: {
        summary: 'Who was seen when, newest first (paged by the `before` cursor)',
        tags: ['events'],
        querystring: {
          type: 'object',
          properties: {
            person_id: { type: 'integer', minimum: 1 },
            camera_id: { type: 'integer', minimum: 1 },
            cluster_id: { type: 'integer', minimum: 1 },
            kind: { type: 'string', enum: ['appeared', 'left'] },
            unknown: { type: 'boolean' },
            from: { type: 'string', maxLength: 40 },
            to: { type: 'string', maxLength: 40 },
            limit: { type: 'integer', minimum: 1, maximum: 500 },
            before: { type: 'integer', minimum: 1 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              events: { type: 'array', items: eventSchema },
              next_before: { type: ['integer', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = q.limit ?? 50;
      const from = parseTime(q.from, 'from');
      const to = parseTime(q.to, 'to');
      const events = await store.listEvents({
        ...(q.person_id !== undefined ? { personId: q.person_id } : {}),
        ...(q.camera_id !== undefined ? { cameraId: q.camera_id } : {}),
        ...(q.cluster_id !== undefined ? { clusterId: q.cluster_id } : {}),
        ...(q.kind !== undefined ? { kind: q.kind } : {}),
        ...(q.unknown === true ? { unknown: true } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(q.before !== undefined ? { before: q.before } : {}),
        limit: limit + 1,
      });
      const page = events.slice(0, limit);
      return {
        events: page.map(eventJson),
        next_before: events.length > limit ? page[page.length - 1]!.id : null,
      };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/events/:id',
    {
      config: { auth: 'read', body: 'none' },
      schema: {
        summary: 'One event',
        tags: ['events'],
        params: idParams,
        response: { 200: eventSchema, ...errorResponses },
      },
    },
    async (req) => eventJson(await store.getEvent(req.params.id)),
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/events/:id/snapshot',
    {
      config: { auth: 'read', body: 'none', queryKey: true },
      schema: {
        summary: "The event's face crop (JPEG), when kept",
        tags: ['events'],
        params: idParams,
        querystring: mediaQuery,
        response: { 200: { type: 'string', format: 'binary' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const s = await store.getEventSnapshot(req.params.id);
      if (!s) throw new HttpError('not_found', `No snapshot was kept for event ${req.params.id}`);
      reply.header('content-type', s.mime).header('cache-control', 'private, max-age=3600');
      return Buffer.from(s.bytes);
    },
  );

  // Unknown faces ----------------------------------------------------------------------------

  const cameraNames = async () => new Map((await store.listCameras()).map((c) => [c.id, c.name]));

  app.get<{ Querystring: { offset?: number; limit?: number; min_size?: number } }>(
    '/api/v1/unknowns',
    {
      config: { auth: 'read', body: 'none' },
      schema: {
        summary: 'Clusters of faces that matched nobody, most recently seen first',
        tags: ['unknowns'],
        querystring: {
          type: 'object',
          properties: {
            offset: { type: 'integer', minimum: 0, maximum: 1e9 },
            limit: { type: 'integer', minimum: 1, maximum: 200 },
            min_size: { type: 'integer', minimum: 1, maximum: 1e6 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { clusters: { type: 'array', items: clusterSchema }, total: { type: 'integer' } },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { clusters, total } = await store.listUnknownClusters({
        offset: req.query.offset ?? 0,
        limit: req.query.limit ?? 50,
        minSize: req.query.min_size ?? 1,
      });
      const names = await cameraNames();
      const out = [];
      for (const c of clusters)
        out.push(clusterJson(c, names, await ctx.unknowns.nearestPerson(c.id).catch(() => null)));
      return { clusters: out, total };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/unknowns/:id',
    {
      config: { auth: 'read', body: 'none' },
      schema: {
        summary: 'One cluster with all its faces',
        tags: ['unknowns'],
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              ...(clusterSchema.properties as object),
              faces: { type: 'array', items: unknownFaceSchema },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const c = await store.getUnknownCluster(req.params.id);
      const near = await ctx.unknowns.nearestPerson(c.id).catch(() => null);
      return { ...clusterJson(c, await cameraNames(), near), faces: c.faces.map(unknownFaceJson) };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/unknowns/faces/:id/thumbnail',
    {
      config: { auth: 'read', body: 'none', queryKey: true },
      schema: {
        summary: "An unknown face's crop (JPEG), when kept",
        tags: ['unknowns'],
        params: idParams,
        querystring: mediaQuery,
        response: { 200: { type: 'string', format: 'binary' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const t = await store.getUnknownFaceThumbnail(req.params.id);
      if (!t) throw new HttpError('not_found', `No crop was kept for unknown face ${req.params.id}`);
      reply.header('content-type', t.mime).header('cache-control', 'private, max-age=3600');
      return Buffer.from(t.bytes);
    },
  );

  app.post<{ Params: { id: number }; Body: { name?: string; person_id?: number } }>(
    '/api/v1/unknowns/:id/assign',
    {
      config: { auth: 'write', body: 'json' },
      schema: {
        summary: 'Name a cluster: enroll its faces as a new or existing person',
        tags: ['unknowns'],
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          maxProperties: 1,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 1000 },
            person_id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { person: personSchema, created: { type: 'boolean' }, added: { type: 'integer' } },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const target =
        req.body.person_id !== undefined ? { personId: req.body.person_id } : { name: req.body.name! };
      const r = await ctx.unknowns.assign(req.params.id, target);
      ctx.audit(req, 'unknowns.assign', 'person', r.person.id, `cluster ${req.params.id}, ${r.added} faces`);
      return { person: await personWithThumb(store, r.person), created: r.created, added: r.added };
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/api/v1/unknowns/:id',
    {
      config: { auth: 'write', body: 'none' },
      schema: {
        summary: 'Dismiss a cluster (its faces are deleted, not enrolled)',
        tags: ['unknowns'],
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              removed: {
                type: 'object',
                properties: { id: { type: 'integer' }, faces: { type: 'integer' } },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const r = await ctx.unknowns.dismiss(req.params.id);
      ctx.audit(req, 'unknowns.dismiss', 'cluster', req.params.id, `${r.faces} faces`);
      return { removed: { id: req.params.id, faces: r.faces } };
    },
  );
}
