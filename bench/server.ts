/**
 * The service's cost over the library: `POST /api/v1/identify` with a 640×480 photo of 3 faces
 * (one of them enrolled), requests/s and p50/p95 latency at concurrency 1, 2 and 8 (autocannon on
 * loopback, in this process), against the same photo through the library in-process
 * (decode + identifyFaces) and through `facerec identify` as a process (Node start-up, model
 * load, gallery open included), all in the same run.
 *
 * `FACEREC_BENCH_SERVER_SECONDS` sets each autocannon run's duration (default 8).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RawImage, resolvePaths, resolveRuntimeOptions } from '../src/core/index.js';
import { SqliteStore } from '../src/gallery/index.js';
import { crop, decodeImage, encodeJpeg, resize } from '../src/image/index.js';
import { enrollPhotos, FaceRecognizer, identifyFaces } from '../src/recognize/index.js';
import { createService } from '../src/server/index.js';
import { demoPhoto } from '../test/helpers.js';
import { median, round, type Suite } from './harness.js';

/** p-th percentile (0–100), nearest rank. */
function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** The demo group photo 1 (3 faces) scaled to 640 wide and padded to 640×480 (gray bars). */
async function benchPhoto(): Promise<{ jpeg: Buffer; faceCrop: Buffer }> {
  const img = await decodeImage(demoPhoto(1));
  const w = 640;
  const h = Math.round((img.height * w) / img.width);
  const small = await resize(img, w, h, { kernel: 'linear' });
  const data = new Uint8Array(640 * 480 * 3).fill(128);
  const top = Math.floor((480 - h) / 2);
  for (let y = 0; y < h; y++) data.set(small.data.subarray(y * w * 3, (y + 1) * w * 3), (y + top) * 640 * 3);
  const canvas: RawImage = { data, width: 640, height: 480, channels: 3 };
  // The enrolled person: a crop of the leftmost face from the full-size photo.
  const fr = await FaceRecognizer.load({ runtime: { threads: 1 } });
  const faces = (await fr.detectFaces(img)).sort((a, b) => a.box[0] - b.box[0]);
  await fr.dispose();
  const f = faces[0]!;
  const m = (f.box[2] - f.box[0]) * 0.6;
  const faceCrop = await encodeJpeg(crop(img, [f.box[0] - m, f.box[1] - m, f.box[2] + m, f.box[3] + m]), 92);
  return { jpeg: await encodeJpeg(canvas, 90), faceCrop };
}

type Autocannon = (opts: Record<string, unknown>) => {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  then: Promise<{ requests: { average: number }; non2xx: number; errors: number; timeouts: number }>['then'];
};

/** Run autocannon for `seconds` at `connections`; per-request latencies from its response events. */
async function load(
  url: string,
  body: Buffer,
  connections: number,
  seconds: number,
): Promise<Record<string, number>> {
  // A devDependency without type declarations: imported by a computed name.
  const name = 'autocannon';
  const autocannon = ((await import(name)) as { default: Autocannon }).default;
  const latencies: number[] = [];
  let ok = 0;
  const inst = autocannon({
    url: `${url}/api/v1/identify?remember_unknowns=false`,
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 60,
  });
  inst.on('response', (_c, status, _b, ms) => {
    if (status === 200) ok++;
    latencies.push(ms);
  });
  const r = await inst;
  return {
    connections,
    requests_per_second: round(ok / seconds, 2),
    p50_ms: round(median(latencies), 1),
    p95_ms: round(percentile(latencies, 95), 1),
    requests: latencies.length,
    errors: r.non2xx + r.errors + r.timeouts,
  };
}

/** Run `facerec identify` as a process; wall time in ms. */
function cliOnce(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(performance.now() - t0)
        : reject(new Error(`facerec exited ${code}: ${err.slice(0, 500)}`)),
    );
  });
}

export const suite: Suite = {
  name: 'server',
  async run(log) {
    const seconds = Number(process.env.FACEREC_BENCH_SERVER_SECONDS ?? 8);
    const dir = mkdtempSync(join(tmpdir(), 'facerec-bench-server-'));
    const runtime = resolveRuntimeOptions();
    const paths = resolvePaths({ dataDir: dir, modelsDir: resolvePaths().modelsDir });
    const { jpeg, faceCrop } = await benchPhoto();
    const photoPath = join(dir, 'group-640x480.jpg');
    writeFileSync(photoPath, jpeg);
    const store = await SqliteStore.open({ path: join(dir, 'gallery.sqlite') });
    const fr = await FaceRecognizer.load({ paths, runtime });
    try {
      await enrollPhotos(fr, store, [{ person: 'Alice', file: 'alice.jpg', bytes: faceCrop }]);

      // Library, in-process: decode + detect + embed + search + vote.
      let faces = 0;
      const lib: number[] = [];
      for (let i = 0; i < 3; i++) await identifyFaces(fr, store, await decodeImage(jpeg));
      for (let i = 0; i < 25; i++) {
        const t0 = performance.now();
        const found = await identifyFaces(fr, store, await decodeImage(jpeg));
        lib.push(performance.now() - t0);
        faces = found.length;
      }
      const library = {
        requests_per_second: round(1000 / (lib.reduce((s, x) => s + x, 0) / lib.length), 2),
        p50_ms: round(median(lib), 1),
        p95_ms: round(percentile(lib, 95), 1),
        faces,
      };
      log(
        `library in-process: ${library.p50_ms} ms p50, ${library.requests_per_second} photos/s (${faces} faces)`,
      );

      // The service on loopback.
      const svc = await createService({
        store,
        recognizer: fr,
        dataDir: dir,
        port: 0,
        webRoot: null,
        log: () => {},
      });
      const service: Record<string, number>[] = [];
      try {
        const { url } = await svc.listen();
        await load(url, jpeg, 1, 2); // warm-up
        for (const c of [1, 2, 8]) {
          const r = await load(url, jpeg, c, seconds);
          service.push(r);
          log(
            `service c=${c}: ${r.requests_per_second} req/s, p50 ${r.p50_ms} ms, p95 ${r.p95_ms} ms, errors ${r.errors}`,
          );
        }
      } finally {
        await svc.close();
      }

      // The CLI as a process (what a script calling facerec per photo pays).
      const env = { ...process.env, FACEREC_MODELS: paths.modelsDir, FACEREC_DATA: dir };
      const cli: number[] = [];
      for (let i = 0; i < 3; i++) cli.push(await cliOnce(['identify', photoPath, '--json'], env));
      const cliProcess = { p50_ms: round(median(cli), 1), runs: cli.length };
      log(`facerec identify (process): ${cliProcess.p50_ms} ms p50`);

      const c1 = service[0]!;
      return {
        photo: { width: 640, height: 480, faces, enrolled: 1 },
        threads: runtime.threads,
        library,
        service,
        cli_process: cliProcess,
        service_overhead_ms_p50_c1: round(c1.p50_ms! - library.p50_ms, 1),
        service_vs_library_throughput_c1: round(c1.requests_per_second! / library.requests_per_second, 3),
      };
    } finally {
      await store.close();
      await fr.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
