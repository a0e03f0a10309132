/**
 * `POST /api/v1/detect`, `/identify`, `/verify`: one or two uploaded images in, the CLI's JSON
 * out. Images are analysed in memory and never stored; faces that match nobody are handed to
 * the unknown-face clustering (unless `remember_unknowns=false`).
 */
import type { FastifyInstance } from 'fastify';
import {
  faceThumbnail,
  identifiedFaceJson,
  identifyFaces,
  KNN_VOTES,
  type KnnVote,
  largestFace,
} from '../recognize/index.js';
import type { ServiceContext } from './context.js';
import { HttpError } from './errors.js';
import { detectedFaceSchema, errorResponses, identifiedFaceSchema } from './schemas.js';
import { decodeUpload, readUploads, type UploadedFile } from './uploads.js';

/** Register the analysis routes. */
export function analyzeRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const limits = () => ({ maxBytes: ctx.options.maxBodyBytes, maxFiles: ctx.options.maxFiles });

  app.post<{ Querystring: { min_size?: number } }>(
    '/api/v1/detect',
    {
      config: { auth: 'read', body: 'images' },
      schema: {
        summary: 'Faces in one image',
        tags: ['analysis'],
        querystring: {
          type: 'object',
          properties: { min_size: { type: 'number', minimum: 12, maximum: 4096 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              image: { type: ['string', 'null'] },
              width: { type: 'integer' },
              height: { type: 'integer' },
              faces: { type: 'array', items: detectedFaceSchema },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { files } = await readUploads(req, limits());
      const file = single(files);
      return ctx.analyze(async () => {
        const image = await decodeUpload(file, ctx.options.maxPixels);
        const faces = await ctx.recognizer.detectFaces(
          image,
          req.query.min_size !== undefined ? { minSize: req.query.min_size } : undefined,
        );
        return {
          image: file.filename,
          width: image.width,
          height: image.height,
          faces: faces.map((f) => ({
            box: [...f.box],
            score: f.score,
            landmarks: f.landmarks.map((p) => [p[0], p[1]]),
          })),
        };
      });
    },
  );

  app.post<{ Querystring: { threshold?: number; k?: number; vote?: KnnVote; remember_unknowns?: boolean } }>(
    '/api/v1/identify',
    {
      config: { auth: 'read', body: 'images' },
      schema: {
        summary: 'Who each face in one image is',
        tags: ['analysis'],
        querystring: {
          type: 'object',
          properties: {
            threshold: { type: 'number', exclusiveMinimum: 0, maximum: 2 },
            k: { type: 'integer', minimum: 1, maximum: 100 },
            vote: { type: 'string', enum: [...KNN_VOTES] },
            remember_unknowns: { type: 'boolean' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              image: { type: ['string', 'null'] },
              width: { type: 'integer' },
              height: { type: 'integer' },
              threshold: { type: 'number' },
              faces: { type: 'array', items: identifiedFaceSchema },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { files } = await readUploads(req, limits());
      const file = single(files);
      const threshold = req.query.threshold ?? (await ctx.thresholds()).identify;
      const { image, faces } = await ctx.analyze(async () => {
        const img = await decodeUpload(file, ctx.options.maxPixels);
        const found = await identifyFaces(ctx.recognizer, ctx.store, img, {
          threshold,
          ...(req.query.k !== undefined ? { k: req.query.k } : {}),
          ...(req.query.vote !== undefined ? { vote: req.query.vote } : {}),
        });
        return { image: img, faces: found };
      });
      const remember = req.query.remember_unknowns !== false;
      const out = [];
      for (const f of faces) {
        let unknown: { face_id: number | null; cluster_id: number } | null = null;
        if (f.name === null && remember) {
          try {
            const r = await ctx.unknowns.add({
              embedding: f.embedding,
              box: f.box,
              score: Math.min(1, Math.max(0, f.score)),
              cameraId: null,
              thumbnail: ctx.options.keepSnapshots ? () => faceThumbnail(image, f.box) : null,
            });
            unknown = { face_id: r.faceId, cluster_id: r.clusterId };
          } catch (err) {
            ctx.log(`unknown face not stored: ${(err as Error).message}`);
          }
        }
        out.push({ ...identifiedFaceJson(f), unknown });
      }
      return { image: file.filename, width: image.width, height: image.height, threshold, faces: out };
    },
  );

  app.post<{ Querystring: { threshold?: number } }>(
    '/api/v1/verify',
    {
      config: { auth: 'read', body: 'images' },
      schema: {
        summary: 'Whether the largest faces of two images are the same person',
        tags: ['analysis'],
        querystring: {
          type: 'object',
          properties: { threshold: { type: 'number', exclusiveMinimum: 0, maximum: 2 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              distance: { type: ['number', 'null'] },
              threshold: { type: 'number' },
              same: { type: 'boolean' },
              faces: { type: 'array', items: { type: 'integer' } },
              notes: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { files } = await readUploads(req, limits());
      if (files.length !== 2) {
        throw new HttpError(
          'bad_request',
          `Send exactly two images (multipart file parts "a" and "b"); received ${files.length}`,
        );
      }
      const a = files.find((f) => f.field === 'a') ?? files[0]!;
      const b = files.find((f) => f.field === 'b' && f !== a) ?? files.find((f) => f !== a)!;
      const threshold = req.query.threshold ?? (await ctx.thresholds()).verify;
      return ctx.analyze(async () => {
        const [imgA, imgB] = [
          await decodeUpload(a, ctx.options.maxPixels),
          await decodeUpload(b, ctx.options.maxPixels),
        ];
        const [facesA, facesB] = [
          await ctx.recognizer.detectFaces(imgA),
          await ctx.recognizer.detectFaces(imgB),
        ];
        const notes: string[] = [];
        for (const [label, faces] of [
          ['a', facesA],
          ['b', facesB],
        ] as const) {
          if (faces.length === 0) notes.push(`no face found in ${label}`);
          else if (faces.length > 1) notes.push(`${faces.length} faces in ${label}: the largest was used`);
        }
        const fa = largestFace(facesA);
        const fb = largestFace(facesB);
        const counts = [facesA.length, facesB.length];
        if (!fa || !fb) return { distance: null, threshold, same: false, faces: counts, notes };
        const [ea] = await ctx.recognizer.embedFaces(imgA, [fa]);
        const [eb] = await ctx.recognizer.embedFaces(imgB, [fb]);
        const c = ctx.recognizer.compare(ea!, eb!, threshold);
        return { distance: c.distance, threshold: c.threshold, same: c.same, faces: counts, notes };
      });
    },
  );
}

/** The one image of a single-image route. */
function single(files: readonly UploadedFile[]): UploadedFile {
  if (files.length !== 1) {
    throw new HttpError(
      'bad_request',
      `Send one image (a multipart file part "image", or a raw body); received ${files.length}`,
    );
  }
  return files[0]!;
}
