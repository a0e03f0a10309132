/**
 * Test support for the service: a service on a fresh gallery in a temporary data directory, one
 * recognizer per test file, multipart bodies, and face photos made from the demo pictures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RawImage, resolvePaths } from '../../src/core/index.js';
import { type GalleryStore, SqliteStore } from '../../src/gallery/index.js';
import { crop, decodeImage, encodeJpeg, resize } from '../../src/image/index.js';
import { FaceRecognizer } from '../../src/recognize/index.js';
import {
  createService,
  type FacerecService,
  generateApiKey,
  hashApiKey,
  type ServiceConfig,
} from '../../src/server/index.js';
import { demoPhoto } from '../helpers.js';

let shared: Promise<FaceRecognizer> | undefined;

/** One recognizer for the whole test file (2 threads: the machine is shared). */
export function recognizer(): Promise<FaceRecognizer> {
  shared ??= FaceRecognizer.load({ paths: resolvePaths(), runtime: { threads: 2 } });
  return shared;
}

/** Release the shared recognizer (call in the file's `after`). */
export async function disposeRecognizer(): Promise<void> {
  if (shared) await (await shared).dispose();
  shared = undefined;
}

/** A running test service. */
export interface TestService {
  readonly service: FacerecService;
  readonly store: GalleryStore;
  readonly dataDir: string;
  /** Log lines the service wrote. */
  readonly logs: string[];
  /** Stop the service, close the store, delete the data. */
  close(): Promise<void>;
}

/** Options of {@link startService}: service options plus keys to create first. */
export type TestServiceOptions = Partial<Omit<ServiceConfig, 'store' | 'recognizer' | 'dataDir'>> & {
  /** Keys created before the service starts: name → read-only. Their plain keys are returned. */
  readonly keys?: Readonly<Record<string, boolean>>;
  /** Reuse this data directory (and its gallery). */
  readonly dataDir?: string;
};

/** A service on a fresh (or given) data directory, not listening (use inject) unless asked. */
export async function startService(
  opts: TestServiceOptions = {},
): Promise<TestService & { keys: Record<string, string> }> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'facerec-server-test-')));
  const store = await SqliteStore.open({ path: join(dataDir, 'gallery.sqlite') });
  const keys: Record<string, string> = {};
  for (const [name, readOnly] of Object.entries(opts.keys ?? {})) {
    const key = generateApiKey();
    await store.createApiKey({ name, hash: hashApiKey(key), readOnly });
    keys[name] = key;
  }
  const logs: string[] = [];
  const { keys: _k, dataDir: _d, ...rest } = opts;
  let service: FacerecService;
  try {
    service = await createService({
      store,
      recognizer: await recognizer(),
      dataDir,
      webRoot: null,
      startCameras: false,
      port: 0,
      log: (line) => logs.push(line),
      version: '0.0.0-test',
      ...rest,
    });
  } catch (err) {
    await store.close();
    if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    service,
    store,
    dataDir,
    logs,
    keys,
    async close() {
      await service.close();
      await store.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** One part of a multipart body. */
export interface Part {
  readonly name: string;
  readonly filename?: string;
  readonly type?: string;
  readonly data: Buffer | string;
}

/** A `multipart/form-data` body and its headers. */
export function multipart(
  parts: readonly Part[],
  boundary = 'facerec-test-boundary-7d2a',
): {
  payload: Buffer;
  headers: Record<string, string>;
} {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.type !== undefined) head += `Content-Type: ${p.type}\r\n`;
    chunks.push(
      Buffer.from(`${head}\r\n`),
      Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** Photos made from the demo pictures, cached per process. */
const photoCache = new Map<string, Promise<Buffer>>();

/**
 * A JPEG of one face of a demo photo: the face box grown by `margin` of its size on each side,
 * scaled by `scale`.
 */
export function facePhoto(
  sample: 1 | 2 | 3 | 4 | 5 | 6,
  face: number,
  scale = 1,
  margin = 0.6,
): Promise<Buffer> {
  const key = `${sample}:${face}:${scale}:${margin}`;
  let p = photoCache.get(key);
  if (!p) {
    p = (async () => {
      const fr = await recognizer();
      const img = await decodeImage(demoPhoto(sample));
      const faces = await fr.detectFaces(img);
      const sorted = [...faces].sort((a, b) => a.box[0] - b.box[0]);
      const f = sorted[face];
      if (!f) throw new Error(`demo photo ${sample} has no face ${face}`);
      const w = f.box[2] - f.box[0];
      const h = f.box[3] - f.box[1];
      const c = crop(img, [
        f.box[0] - w * margin,
        f.box[1] - h * margin,
        f.box[2] + w * margin,
        f.box[3] + h * margin,
      ]);
      const out: RawImage =
        scale === 1
          ? c
          : await resize(c, Math.round(c.width * scale), Math.round(c.height * scale), { kernel: 'linear' });
      return encodeJpeg(out, 92);
    })();
    photoCache.set(key, p);
  }
  return p;
}

/** A demo photo shrunk to `width` (aspect kept), as JPEG. */
export function groupPhoto(sample: 1 | 2 | 3 | 4 | 5 | 6, width = 960): Promise<Buffer> {
  const key = `group:${sample}:${width}`;
  let p = photoCache.get(key);
  if (!p) {
    p = (async () => {
      const img = await decodeImage(demoPhoto(sample));
      const small = await resize(img, width, Math.round((img.height * width) / img.width), {
        kernel: 'linear',
      });
      return encodeJpeg(small, 90);
    })();
    photoCache.set(key, p);
  }
  return p;
}

/** Parse a JSON response body. */
export function json<T = Record<string, unknown>>(res: { body: string }): T {
  return JSON.parse(res.body) as T;
}
