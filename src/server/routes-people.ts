/**
 * People and their faces: list, create, show, rename, delete, enroll photos, delete a face,
 * face thumbnails.
 */
import type { FastifyInstance } from 'fastify';
import type { GalleryStore, Person } from '../gallery/index.js';
import {
  type EnrollPhoto,
  enrollPhotos,
  faceRecordJson,
  inspectIncomingImage,
  type PhotoResult,
  personJson,
} from '../recognize/index.js';
import type { ServiceContext } from './context.js';
import { type ApiErrorCode, HttpError } from './errors.js';
import {
  enrollPhotoSchema,
  errorResponses,
  faceSchema,
  idParams,
  mediaQuery,
  personSchema,
} from './schemas.js';
import { readUploads } from './uploads.js';

/** A person's JSON with a face whose thumbnail is kept. */
export async function personWithThumb(store: GalleryStore, p: Person): Promise<Record<string, unknown>> {
  let thumb: number | null = null;
  if (p.faceCount > 0) {
    const faces = await store.listFaces(p.id);
    thumb = faces.find((f) => f.hasThumbnail)?.id ?? null;
  }
  return { ...personJson(p), thumbnail_face_id: thumb };
}

async function allPeople(store: GalleryStore): Promise<Person[]> {
  const out: Person[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await store.listPeople({ offset, limit: 1000 });
    out.push(...page.people);
    if (page.people.length < 1000) return out;
  }
}

/** Register the people routes. */
export function peopleRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { store } = ctx;
  const personResponse = { 200: personSchema, ...errorResponses };

  app.get<{ Querystring: { offset?: number; limit?: number; q?: string } }>(
    '/api/v1/people',
    {
      config: { auth: 'read', body: 'none' },
      schema: {
        summary: 'List people by name',
        tags: ['people'],
        querystring: {
          type: 'object',
          properties: {
            offset: { type: 'integer', minimum: 0, maximum: 1e9 },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
            q: { type: 'string', maxLength: 200 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              people: { type: 'array', items: personSchema },
              total: { type: 'integer' },
              offset: { type: 'integer' },
              limit: { type: 'integer' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const offset = req.query.offset ?? 0;
      const limit = req.query.limit ?? 100;
      let people: Person[];
      let total: number;
      const q = req.query.q?.normalize('NFC').trim().toLocaleLowerCase();
      if (q) {
        const all = (await allPeople(store)).filter((p) => p.name.toLocaleLowerCase().includes(q));
        total = all.length;
        people = all.slice(offset, offset + limit);
      } else {
        const page = await store.listPeople({ offset, limit });
        people = [...page.people];
        total = page.total;
      }
      const out = [];
      for (const p of people) out.push(await personWithThumb(store, p));
      return { people: out, total, offset, limit };
    },
  );

  app.post<{ Body: { name: string; note?: string | null } }>(
    '/api/v1/people',
    {
      config: { auth: 'write', body: 'json' },
      schema: {
        summary: 'Create a person',
        tags: ['people'],
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 1000 },
            note: { type: ['string', 'null'], maxLength: 4000 },
          },
        },
        response: { 201: personSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      // Name and note in one transaction: a refused note (or a full disk) creates nobody.
      const { person: p, created } = await store.ensurePerson(req.body.name, { note: req.body.note ?? null });
      if (!created)
        throw new HttpError(
          'conflict',
          `A person named ${JSON.stringify(p.name)} already exists (id ${p.id})`,
        );
      ctx.audit(req, 'person.create', 'person', p.id);
      reply.code(201);
      return personWithThumb(store, p);
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/people/:id',
    {
      config: { auth: 'read', body: 'none' },
      schema: {
        summary: 'A person and their faces',
        tags: ['people'],
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              ...(personSchema.properties as object),
              faces: { type: 'array', items: faceSchema },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = await store.getPerson(req.params.id);
      const faces = await store.listFaces(p.id);
      return {
        ...personJson(p),
        thumbnail_face_id: faces.find((f) => f.hasThumbnail)?.id ?? null,
        faces: faces.map(faceRecordJson),
      };
    },
  );

  app.patch<{ Params: { id: number }; Body: { name?: string; note?: string | null } }>(
    '/api/v1/people/:id',
    {
      config: { auth: 'write', body: 'json' },
      schema: {
        summary: 'Rename a person or set their note',
        tags: ['people'],
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            name: { type: 'string', maxLength: 1000 },
            note: { type: ['string', 'null'], maxLength: 4000 },
          },
        },
        response: personResponse,
      },
    },
    async (req) => {
      let p = await store.getPerson(req.params.id);
      if (req.body.name !== undefined) p = await store.renamePerson(p.id, req.body.name);
      if (req.body.note !== undefined) p = await store.setNote(p.id, req.body.note);
      ctx.audit(req, 'person.update', 'person', p.id);
      return personWithThumb(store, p);
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/api/v1/people/:id',
    {
      config: { auth: 'write', body: 'none' },
      schema: {
        summary: 'Delete a person with every face, thumbnail and event',
        tags: ['people'],
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              removed: {
                type: 'object',
                properties: { id: { type: 'integer' }, name: { type: 'string' }, faces: { type: 'integer' } },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const r = await store.removePerson(req.params.id);
      ctx.audit(req, 'person.delete', 'person', r.personId, `${r.faces} faces`);
      return { removed: { id: r.personId, name: r.name, faces: r.faces } };
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/people/:id/faces',
    {
      config: { auth: 'write', body: 'images' },
      schema: {
        summary: 'Enroll photos of a person (multipart, one or more files)',
        tags: ['people'],
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              person: personSchema,
              added: { type: 'integer' },
              duplicates: { type: 'integer' },
              no_face: { type: 'integer' },
              errors: { type: 'integer' },
              photos: { type: 'array', items: enrollPhotoSchema },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const person = await store.getPerson(req.params.id);
      const { files } = await readUploads(req, {
        maxBytes: ctx.options.maxBodyBytes,
        maxFiles: ctx.options.maxFiles,
      });
      const refused = new Map<number, { code: ApiErrorCode; message: string }>();
      const photos: EnrollPhoto[] = [];
      const index: number[] = [];
      for (const [i, f] of files.entries()) {
        const label = f.filename ?? `photo ${i + 1}`;
        const check = await inspectIncomingImage(f.bytes, { name: label, maxPixels: ctx.options.maxPixels });
        if (!check.ok) {
          refused.set(i, {
            code:
              check.reason === 'unsupported'
                ? 'unsupported_media_type'
                : check.reason === 'too_large'
                  ? 'image_too_large'
                  : 'invalid_image',
            message: check.message,
          });
          continue;
        }
        photos.push({ person: person.id, file: label, bytes: f.bytes, sourceName: label });
        index.push(i);
      }
      if (refused.size === files.length) {
        const codes = new Set([...refused.values()].map((r) => r.code));
        const firstErr = refused.get(0)!;
        throw new HttpError(codes.size === 1 ? firstErr.code : 'invalid_image', firstErr.message);
      }
      const report = await ctx.analyze(() =>
        enrollPhotos(ctx.recognizer, store, photos, {
          keepThumbnails: ctx.options.keepThumbnails,
          decode: { maxPixels: ctx.options.maxPixels },
        }),
      );
      const results: (Record<string, unknown> | undefined)[] = new Array(files.length);
      report.results.forEach((r, j) => {
        results[index[j]!] = photoJson(r);
      });
      for (const [i, err] of refused) {
        results[i] = { file: files[i]!.filename, status: 'error', faces: null, error: err };
      }
      const list = results.map((r) => r!);
      const errors = list.filter((r) => r.status === 'error').length;
      if (report.added > 0) ctx.audit(req, 'person.enroll', 'person', person.id, `${report.added} faces`);
      if (errors === files.length && report.results.length > 0) {
        // Every photo failed to decode: answer with the error, as for a single bad upload.
        const e = list[0]!.error as { code: ApiErrorCode; message: string };
        throw new HttpError(e.code, e.message);
      }
      return {
        person: await personWithThumb(store, await store.getPerson(person.id)),
        added: report.added,
        duplicates: report.duplicates,
        no_face: report.noFace,
        errors,
        photos: list,
      };
    },
  );

  app.delete<{ Params: { id: number; faceId: number } }>(
    '/api/v1/people/:id/faces/:faceId',
    {
      config: { auth: 'write', body: 'none' },
      schema: {
        summary: "Delete one of a person's faces",
        tags: ['people'],
        params: {
          type: 'object',
          required: ['id', 'faceId'],
          properties: {
            id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
            faceId: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              removed: {
                type: 'object',
                properties: { face_id: { type: 'integer' }, person_id: { type: 'integer' } },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      await store.getPerson(req.params.id);
      const r = await store.removeFace(req.params.faceId, { personId: req.params.id });
      ctx.audit(req, 'face.delete', 'face', req.params.faceId);
      return { removed: { face_id: req.params.faceId, person_id: r.personId } };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/faces/:id/thumbnail',
    {
      config: { auth: 'read', body: 'none', queryKey: true },
      schema: {
        summary: "An enrolled face's thumbnail (JPEG), when kept",
        tags: ['people'],
        params: idParams,
        querystring: mediaQuery,
        response: { 200: { type: 'string', format: 'binary' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const t = await store.getThumbnail(req.params.id);
      if (!t) throw new HttpError('not_found', `No thumbnail was kept for face ${req.params.id}`);
      reply.header('content-type', t.mime).header('cache-control', 'private, max-age=3600');
      return Buffer.from(t.bytes);
    },
  );
}

/** A photo's result as JSON. */
function photoJson(r: PhotoResult): Record<string, unknown> {
  return {
    file: r.file,
    status: r.status,
    faces: r.faces,
    ...(r.faceId !== undefined ? { face_id: r.faceId } : {}),
    ...(r.box ? { box: [...r.box] } : {}),
    ...(r.score !== undefined ? { score: r.score } : {}),
    ...(r.sha256 ? { sha256: r.sha256 } : {}),
    ...(r.warning ? { warning: r.warning } : {}),
    ...(r.error ? { error: { code: 'invalid_image', message: r.error } } : {}),
  };
}
