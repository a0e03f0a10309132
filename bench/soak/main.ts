/**
 * `npm run soak -- --minutes N`: a long run of the real service under steady load, failing when
 * its memory grows or its resources drift.
 *
 * What runs: `facerec serve` as a child process (a fresh temporary data folder, SQLite, the
 * usual model cache: `FACEREC_MODELS` or `./facerec-data/models`), with four cameras added
 * through `POST /api/v1/cameras`: two MJPEG cameras (the test `CameraSim`, mjpg-streamer framing
 * and a quoted boundary without lengths), one still-image camera polled at `/shot.jpg`, and one
 * H.264 file that the service plays in real time through ffmpeg (a one-minute clip repeated,
 * made with ffmpeg beforehand and longer than the run: a file camera closes at the end of its
 * file). Their frames are the demo group photos, and two people from them are enrolled first,
 * so the cameras identify, track and store events. Throughout, this process uploads: two
 * back-to-back loops of `POST /api/v1/identify` (one remembering unknown faces, one with
 * `remember_unknowns=false`) and a slower loop, one cycle every 2 s, that creates a person,
 * enrolls a face, lists people and deletes the person.
 *
 * What it measures, every `--sample-seconds` (default 5), of the server process: RSS (VmRSS of
 * /proc/PID/status), open file descriptors (/proc/PID/fd), ffmpeg children (processes whose
 * parent is the server and whose comm is ffmpeg; zombies counted apart), the event-loop lag
 * since the previous sample (`facerec_event_loop_lag_seconds` and `..._max_seconds` of
 * /metrics, which reset at each scrape), and each camera's state and processed frames.
 *
 * Pass rules (samples taken during the warm-up, default min(2 min, 20 % of the run), are left
 * out; "first" and "last" are the medians of the first and last 20 % of the remaining samples):
 * - at least 5 samples after the warm-up;
 * - RSS: last / first − 1 ≤ 5 %;
 * - open fds: |last − first| ≤ 8 (keep-alive sockets of the upload loops come and go);
 * - ffmpeg children: first = last = the number of ffmpeg cameras (1), no zombie in the last window;
 * - event-loop lag: the median of the sampled p99s ≤ 1 s (a stuck loop); p50/p99 of the sampled
 *   p99s and the largest max are reported;
 * - every upload and scrape answered 2xx (the driver sends only valid requests: any 4xx, 5xx,
 *   connection failure or 120 s timeout fails the run), and the enroll cycles leave only the two
 *   enrolled people;
 * - every camera went `live` at the start and processed new frames during the last window;
 * - the server stays up, exits with code 0 within 15 s of SIGTERM, and leaves no ffmpeg behind.
 *
 * Output: a summary on stdout (JSON with `--json`), one progress line per sample on stderr.
 * Exit code 0 on pass, 1 on fail, 2 for bad options, 130 when interrupted (Ctrl-C stops the
 * run, cleans up and reports; a second Ctrl-C kills the server at once). The server, its ffmpeg
 * children, the simulated cameras and the temporary folder are removed in every case.
 *
 * Options: `--minutes N` (default 10, fractions allowed), `--warmup-minutes M`,
 * `--sample-seconds S` (default 5), `--threads T` (the server's inference threads; default its
 * own), `--json`.
 *
 * CI runs 10 minutes at most (`npm run soak -- --minutes 10`). The 24-hour run:
 * `npm run soak -- --minutes 1440 --sample-seconds 30 --json > soak-24h.json 2> soak-24h.log`
 * on an otherwise idle machine (the ffmpeg clip for it is about 150 MB in the temporary folder,
 * made in a few seconds); warm-up is then 2 minutes and the windows are the first and last
 * ~4.8 hours after it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Box, resolvePaths } from '../../src/core/index.js';
import { crop, decodeImage, encodeJpeg, saveImage } from '../../src/image/index.js';
import { demoPhoto } from '../../test/helpers.js';
import { CameraSim, fitOnCanvas, photoFrame } from '../../test/video/camera-sim.js';
import { median, round } from '../harness.js';

/** The pass thresholds (see the module notes). */
const LIMITS = {
  /** Largest RSS growth, last window over first window, fraction. */
  rssGrowth: 0.05,
  /** Largest change of the open-fd median between the windows. */
  fdDrift: 8,
  /** Largest median of the sampled event-loop lag p99s, ms. */
  lagP99Ms: 1000,
  /** Fewest samples after the warm-up. */
  minSamples: 5,
  /** Share of the post-warm-up samples in each of the first and last windows. */
  window: 0.2,
} as const;

/** Frames per second of the simulated MJPEG cameras and of the ffmpeg clip. */
const CAMERA_FPS = 5;
/** One enroll cycle (create, enroll, list, delete) starts every this many ms at most. */
const CYCLE_MS = 2000;
/** Every request of the driver gives up after this long (counted as a failure). */
const REQUEST_TIMEOUT_MS = 120_000;
/** The server must exit this long after SIGTERM. */
const STOP_TIMEOUT_MS = 15_000;

/** The run's options. */
interface SoakOptions {
  readonly minutes: number;
  readonly warmupMinutes: number;
  readonly sampleSeconds: number;
  readonly json: boolean;
  readonly threads: number | undefined;
}

/** A usage error, or `--help` (exit code 2, or 0 for help). */
class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

const USAGE = `usage: npm run soak -- [--minutes N] [--warmup-minutes M] [--sample-seconds S] [--threads T] [--json]
  --minutes N          load duration, minutes (default 10; fractions allowed)
  --warmup-minutes M   samples left out of the pass rules (default min(2, 20 % of the run))
  --sample-seconds S   sampling interval (default 5)
  --threads T          the server's inference threads (default: its own default)
  --json               print the report as JSON (default: a summary)`;

/** Parse the command line. @throws UsageError */
function parseOptions(argv: readonly string[]): SoakOptions {
  const parse = () =>
    parseArgs({
      args: [...argv],
      options: {
        minutes: { type: 'string' },
        'warmup-minutes': { type: 'string' },
        'sample-seconds': { type: 'string' },
        threads: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  let v: ReturnType<typeof parse>;
  try {
    v = parse();
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (v.help) throw new UsageError(USAGE, 0);
  const num = (
    name: string,
    text: string | undefined,
    fallback: number,
    ok: (n: number) => boolean,
    what: string,
  ) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || !ok(n))
      throw new UsageError(`Expected ${what} for --${name} but received ${JSON.stringify(text)}`);
    return n;
  };
  const minutes = num(
    'minutes',
    v.minutes,
    10,
    (n) => n > 0 && n <= 7 * 1440,
    'a duration in minutes (0–10080]',
  );
  const warmupMinutes = num(
    'warmup-minutes',
    v['warmup-minutes'],
    Math.min(2, 0.2 * minutes),
    (n) => n >= 0 && n < minutes,
    `a duration in minutes from 0 to below --minutes (${minutes})`,
  );
  const sampleSeconds = num(
    'sample-seconds',
    v['sample-seconds'],
    5,
    (n) => n >= 0.5 && n <= 3600,
    'seconds from 0.5 to 3600',
  );
  const threads =
    v.threads === undefined
      ? undefined
      : num(
          'threads',
          v.threads,
          0,
          (n) => Number.isInteger(n) && n >= 1 && n <= 256,
          'a thread count from 1 to 256',
        );
  return { minutes, warmupMinutes, sampleSeconds, json: v.json === true, threads };
}

// ---------------------------------------------------------------------------------------------
// /proc

/** One process from /proc/PID/stat. */
interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** R, S, D, Z (zombie) … */
  readonly state: string;
}

/** /proc/PID/stat of one process, or undefined when it is gone. */
function procInfo(pid: number | string): ProcInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // pid (comm) state ppid …; comm may hold spaces and parentheses.
  const close = stat.lastIndexOf(')');
  const [state, ppid] = stat
    .slice(close + 2)
    .split(' ')
    .slice(0, 2);
  return {
    pid: Number(pid),
    ppid: Number(ppid),
    comm: stat.slice(stat.indexOf('(') + 1, close),
    state: state ?? '?',
  };
}

/** The direct children of `ppid` (zombies included). */
function childrenOf(ppid: number): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = procInfo(name);
    if (p && p.ppid === ppid) out.push(p);
  }
  return out;
}

/** VmRSS of a process, bytes. @throws when the process is gone */
function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Open file descriptors of a process. @throws when the process is gone */
function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

// ---------------------------------------------------------------------------------------------
// HTTP

/** An answer of the server: status 0 for a connection failure or timeout (`error` says which). */
interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly error?: string;
  /** The request was cut by the run's stop signal (Ctrl-C): not counted. */
  readonly aborted?: boolean;
}

/** Call the API; never throws. */
async function call(
  base: string,
  method: string,
  path: string,
  opts: { json?: unknown; jpeg?: Buffer; signal?: AbortSignal } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  let body: string | Buffer | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.jpeg !== undefined) {
    headers['content-type'] = 'image/jpeg';
    body = opts.jpeg;
  }
  const signals = [AbortSignal.timeout(REQUEST_TIMEOUT_MS)];
  if (opts.signal) signals.push(opts.signal);
  try {
    const res = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.any(signals) });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep the text
      }
    }
    return { status: res.status, body: parsed };
  } catch (err) {
    if (opts.signal?.aborted) return { status: 0, body: undefined, error: 'aborted', aborted: true };
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const error = e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { status: 0, body: undefined, error };
  }
}

/** Responses counted by status, with the first few failures kept as examples. */
class Tally {
  readonly byStatus = new Map<string, number>();
  readonly examples: string[] = [];
  failures = 0;

  /** Count `r` of `what` (e.g. `POST /api/v1/identify`); true when it is a 2xx. */
  add(what: string, r: Reply): boolean {
    if (r.aborted) return false;
    const key = r.status === 0 ? (r.error === 'timeout' ? 'timeout' : 'connection_error') : String(r.status);
    this.byStatus.set(key, (this.byStatus.get(key) ?? 0) + 1);
    const ok = r.status >= 200 && r.status < 300;
    if (!ok) {
      this.failures++;
      if (this.examples.length < 5) {
        const err = (r.body as { error?: { code?: string; message?: string } } | undefined)?.error;
        this.examples.push(
          `${what} → ${key}${err ? ` ${err.code}: ${err.message}` : r.error ? ` (${r.error})` : ''}`.slice(
            0,
            300,
          ),
        );
      }
    }
    return ok;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.byStatus].sort(([a], [b]) => a.localeCompare(b)));
  }
}

// ---------------------------------------------------------------------------------------------
// The server process

/** `facerec serve` running as a child process. */
interface Server {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  /** The last lines it printed on stderr. */
  readonly tail: string[];
  /** Resolves with the exit code (or signal name) when it exits. */
  readonly exited: Promise<number | string | null>;
}

/** Start `facerec … serve --port 0` and wait until it prints the URL it serves. */
function startServer(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Server> {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npm run build)`);
  // Its own process group: a Ctrl-C in the terminal reaches only this process, which then stops
  // the server in order (and the server its ffmpeg children).
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
    detached: true,
  });
  const tail: string[] = [];
  let partial = '';
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`facerec serve did not start within ${timeoutMs / 1000} s:\n${tail.join('\n')}`));
    }, timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        const m = /serving (https?:\/\/\S+:\d+)/.exec(line);
        if (m && !ready) {
          ready = true;
          clearTimeout(timer);
          resolve({ child, pid: child.pid!, url: m[1]!, tail, exited });
        }
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      if (!ready) reject(err);
    });
    void exited.then((code) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`facerec serve exited (${code}) before listening:\n${tail.join('\n')}`));
    });
  });
}

/** SIGTERM, then SIGKILL after {@link STOP_TIMEOUT_MS}. */
async function stopServer(s: Server): Promise<{ exit: number | string | null; ms: number; killed: boolean }> {
  const t0 = performance.now();
  if (s.child.exitCode !== null || s.child.signalCode !== null) {
    return { exit: await s.exited, ms: 0, killed: false };
  }
  s.child.kill('SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    s.child.kill('SIGKILL');
  }, STOP_TIMEOUT_MS);
  const exit = await s.exited;
  clearTimeout(timer);
  return { exit, ms: round(performance.now() - t0, 0), killed };
}

/**
 * Stop the server ({@link stopServer}) and kill any ffmpeg that outlived it: its ffmpeg children
 * now and those in `seen` (pids seen as its children during the run).
 */
async function stopAndReap(
  s: Server,
  seen: ReadonlySet<number>,
): Promise<{ exit: number | string | null; ms: number; killed: boolean; survivors: number }> {
  const pids = new Set([
    ...seen,
    ...childrenOf(s.pid)
      .filter((c) => c.comm === 'ffmpeg')
      .map((c) => c.pid),
  ]);
  const stopped = await stopServer(s);
  await sleep(200);
  let survivors = 0;
  for (const pid of pids) {
    const p = procInfo(pid);
    if (p?.comm !== 'ffmpeg' || p.state === 'Z') continue;
    survivors++;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return { ...stopped, survivors };
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** Run ffmpeg to completion. @throws with its stderr on failure */
function ffmpeg(args: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args],
      { timeout: timeoutMs },
      (err, _out, stderr) => (err ? reject(new Error(`ffmpeg failed: ${stderr || err.message}`)) : resolve()),
    );
  });
}

/**
 * A 640×480 H.264 clip at {@link CAMERA_FPS} of demo photo 6, `minutes` long: one minute encoded,
 * then repeated by stream copy (a 24-hour clip is about 150 MB and takes seconds).
 */
async function makeClip(dir: string, minutes: number): Promise<string> {
  const still = join(dir, 'clip-still.png');
  await saveImage(await fitOnCanvas(await decodeImage(demoPhoto(6))), still);
  const segment = join(dir, 'clip-1min.mp4');
  await ffmpeg(
    [
      ...['-loop', '1', '-framerate', String(CAMERA_FPS), '-i', still, '-t', '60'],
      ...['-vf', 'format=yuv420p', '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'stillimage'],
      ...['-g', String(60 * CAMERA_FPS), '-r', String(CAMERA_FPS), segment],
    ],
    120_000,
  );
  const clip = join(dir, 'clip.mp4');
  await ffmpeg(
    ['-stream_loop', String(Math.max(0, minutes - 1)), '-i', segment, '-c', 'copy', clip],
    600_000,
  );
  return clip;
}

/** The largest face of a photo (found by the server's detect route), cropped with a margin, as JPEG. */
async function faceCrop(base: string, n: 1 | 2 | 3 | 4 | 5 | 6): Promise<Buffer> {
  const path = demoPhoto(n);
  const r = await call(base, 'POST', '/api/v1/detect', { jpeg: readFileSync(path) });
  const faces = (r.body as { faces?: { box: Box }[] } | undefined)?.faces ?? [];
  if (r.status !== 200 || faces.length === 0)
    throw new Error(`detect on demo photo ${n}: ${r.status} ${r.error ?? ''}`);
  const area = (b: Box) => (b[2] - b[0]) * (b[3] - b[1]);
  const box = faces.map((f) => f.box).reduce((a, b) => (area(b) > area(a) ? b : a));
  const img = await decodeImage(path);
  const m = (box[2] - box[0]) * 0.6;
  const clamped: Box = [
    Math.max(0, box[0] - m),
    Math.max(0, box[1] - m),
    Math.min(img.width, box[2] + m),
    Math.min(img.height, box[3] + m),
  ];
  return encodeJpeg(crop(img, clamped), 92);
}

/** `frames`, each repeated `times` times (a photo held for a while, as a person stays in view). */
function hold(frames: readonly Buffer[], times: number): Buffer[] {
  return frames.flatMap((f) => Array.from({ length: times }, () => f));
}

// ---------------------------------------------------------------------------------------------
// Sampling and the verdict

/** One camera as the API reports it. */
interface CameraJson {
  readonly id: number;
  readonly name: string;
  readonly state: string;
  readonly last_error: string | null;
  readonly stats: { fps: number; frames: number; processed: number; dropped: number; faces: number };
}

/** One sample of the server. */
interface Sample {
  /** Seconds since the load started. */
  readonly t: number;
  readonly rss: number;
  readonly fds: number;
  readonly ffmpeg: number;
  readonly zombies: number;
  /** Event-loop lag since the previous sample, ms (null when /metrics did not say). */
  readonly lagP99Ms: number | null;
  readonly lagMaxMs: number | null;
  /** JavaScript heap in use and external memory, bytes (null when /metrics did not say). */
  readonly heapUsed: number | null;
  readonly external: number | null;
  readonly cameras: readonly { id: number; state: string; processed: number }[];
}

/** p-th percentile (0–100), nearest rank; 0 for no values. */
function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** A sample of the Prometheus text (`name{labels} value`), or null. */
function gauge(text: string, name: string, labels = ''): number | null {
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${esc(name)}${esc(labels)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** Bytes as MB with one decimal. */
function mb(bytes: number): number {
  return round(bytes / 2 ** 20, 1);
}

/**
 * The figures and failures of a run's samples (pure; see the module notes for the rules): the
 * samples before `warmupSeconds` are left out, "first" and "last" are medians of the first and
 * last {@link LIMITS.window} of the others.
 */
function evaluate(samples: readonly Sample[], warmupSeconds: number, expectedFfmpeg: number) {
  const after = samples.filter((s) => s.t >= warmupSeconds);
  const failures: string[] = [];
  const n = after.length;
  const w = Math.max(1, Math.floor(n * LIMITS.window));
  const first = after.slice(0, w);
  const last = after.slice(Math.max(0, n - w));
  const windows = (f: (s: Sample) => number | null) => {
    const vals = (xs: readonly Sample[]) => xs.map(f).filter((x): x is number => x !== null);
    const all = vals(after);
    return {
      first: median(vals(first)),
      last: median(vals(last)),
      min: all.length ? Math.min(...all) : 0,
      max: all.length ? Math.max(...all) : 0,
    };
  };
  if (n < LIMITS.minSamples) {
    failures.push(
      `only ${n} samples after the warm-up (at least ${LIMITS.minSamples}): run longer or sample more often`,
    );
  }
  const rss = windows((s) => s.rss);
  const growth = rss.first > 0 ? rss.last / rss.first - 1 : 0;
  if (n && growth > LIMITS.rssGrowth) {
    failures.push(
      `RSS grew ${round(growth * 100, 2)} % after the warm-up (${mb(rss.first)} → ${mb(rss.last)} MB; limit ${LIMITS.rssGrowth * 100} %)`,
    );
  }
  const fds = windows((s) => s.fds);
  if (n && Math.abs(fds.last - fds.first) > LIMITS.fdDrift) {
    failures.push(`open fds drifted ${fds.first} → ${fds.last} (limit ±${LIMITS.fdDrift})`);
  }
  const ff = windows((s) => s.ffmpeg);
  if (n && (ff.first !== expectedFfmpeg || ff.last !== expectedFfmpeg)) {
    failures.push(`ffmpeg children ${ff.first} → ${ff.last} (expected ${expectedFfmpeg} throughout)`);
  }
  const zombies = windows((s) => s.zombies);
  if (zombies.last > 0)
    failures.push(`${zombies.last} zombie ffmpeg children of the server in the last window`);
  const p99s = after.map((s) => s.lagP99Ms).filter((x): x is number => x !== null);
  const maxes = after.map((s) => s.lagMaxMs).filter((x): x is number => x !== null);
  if (n && p99s.length === 0) failures.push('/metrics gave no facerec_event_loop_lag_seconds');
  const lagMedian = median(p99s);
  if (p99s.length && lagMedian > LIMITS.lagP99Ms) {
    failures.push(
      `event-loop lag: the median of the sampled p99s is ${round(lagMedian, 1)} ms (limit ${LIMITS.lagP99Ms} ms)`,
    );
  }
  const heap = windows((s) => s.heapUsed);
  const external = windows((s) => s.external);
  return {
    failures,
    samples: n,
    rss_mb: {
      first: mb(rss.first),
      last: mb(rss.last),
      growth_pct: round(growth * 100, 2),
      min: mb(rss.min),
      max: mb(rss.max),
    },
    fds,
    ffmpeg: { expected: expectedFfmpeg, ...ff, zombies_max: zombies.max },
    event_loop_lag_ms: {
      p50: round(lagMedian, 1),
      p99: round(percentile(p99s, 99), 1),
      max: round(maxes.length ? Math.max(...maxes) : 0, 1),
    },
    memory_mb: {
      heap_used_first: mb(heap.first),
      heap_used_last: mb(heap.last),
      external_first: mb(external.first),
      external_last: mb(external.last),
    },
    /** When the last window starts, s (Infinity without samples). */
    lastWindowStart: last[0]?.t ?? Number.POSITIVE_INFINITY,
  };
}

/** `mm:ss` or `h:mm:ss`. */
function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Resolve after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// The run

/** A camera the soak adds. */
interface CameraDef {
  readonly name: string;
  /** What kind of source it is, for the report. */
  readonly kind: string;
  readonly url: string;
}

/** The server under test, as the driver sees it. */
interface Rig {
  readonly server: Server;
  readonly base: string;
  /** The cameras added, by id. */
  readonly cameras: ReadonlyMap<number, CameraDef>;
  /** The driver's own reads (cameras, metrics, people), counted like the uploads. */
  readonly scrapes: Tally;
  /** Every pid seen as an ffmpeg child of the server. */
  readonly ffmpegSeen: Set<number>;
}

/** GET /api/v1/cameras (counted as a scrape); undefined when it failed. */
async function listCameras(base: string, scrapes: Tally): Promise<CameraJson[] | undefined> {
  const r = await call(base, 'GET', '/api/v1/cameras');
  scrapes.add('GET /api/v1/cameras', r);
  return r.status === 200 ? (r.body as { cameras: CameraJson[] }).cameras : undefined;
}

/**
 * Enroll "Soak Person 1" and "Soak Person 2" from the largest faces of demo photos 1 and 3
 * (which the cameras and the identify uploads show). @throws when the server refuses
 */
async function enrollPeople(base: string): Promise<void> {
  for (const [i, n] of [
    [1, 1],
    [2, 3],
  ] as const) {
    const person = await call(base, 'POST', '/api/v1/people', { json: { name: `Soak Person ${i}` } });
    const id = (person.body as { id?: number } | undefined)?.id;
    if (person.status !== 201 || id === undefined) throw new Error(`creating a person: ${person.status}`);
    const enrolled = await call(base, 'POST', `/api/v1/people/${id}/faces`, {
      jpeg: await faceCrop(base, n),
    });
    if (enrolled.status !== 200 || (enrolled.body as { added?: number }).added !== 1)
      throw new Error(
        `enrolling Soak Person ${i}: ${enrolled.status} ${JSON.stringify(enrolled.body).slice(0, 200)}`,
      );
  }
}

/** Add the cameras through the API and wait (90 s at most) until all are live. @throws otherwise */
async function addCameras(
  base: string,
  defs: readonly CameraDef[],
  scrapes: Tally,
  stop: AbortSignal,
): Promise<Map<number, CameraDef>> {
  const ids = new Map<number, CameraDef>();
  for (const c of defs) {
    const r = await call(base, 'POST', '/api/v1/cameras', { json: { name: c.name, url: c.url } });
    const id = (r.body as { id?: number } | undefined)?.id;
    if (r.status !== 201 || id === undefined)
      throw new Error(`adding camera ${c.name}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    ids.set(id, c);
  }
  const by = Date.now() + 90_000;
  for (;;) {
    const cams = ((await listCameras(base, scrapes)) ?? []).filter((c) => ids.has(c.id));
    const notLive = cams.filter((c) => c.state !== 'live');
    if (cams.length === ids.size && notLive.length === 0) return ids;
    if (Date.now() > by || stop.aborted) {
      const why = notLive.map((c) => `${c.name} ${c.state}${c.last_error ? ` (${c.last_error})` : ''}`);
      throw new Error(`cameras not live after 90 s: ${why.join(', ') || 'not listed'}`);
    }
    await sleep(500, stop);
  }
}

/**
 * The uploads: two back-to-back identify loops (one remembering unknown faces, one not) and
 * the enroll cycle (create a person, enroll a face, list, delete) every {@link CYCLE_MS}.
 */
class Load {
  readonly uploads = new Tally();
  readonly counts = { identify: 0, faces: 0, named: 0, cycles: 0 };
  readonly #base: string;
  readonly #stop: AbortSignal;
  readonly #loops: Promise<void>[];
  #ending = false;

  constructor(base: string, identifyJpeg: Buffer, cycleFace: Buffer, stop: AbortSignal) {
    this.#base = base;
    this.#stop = stop;
    this.#loops = [
      this.#identify(identifyJpeg, ''),
      this.#identify(identifyJpeg, '?remember_unknowns=false'),
      this.#cycle(cycleFace),
    ];
  }

  /** Start no more requests and wait for those in flight (all of them cut on an interruption). */
  async finish(): Promise<void> {
    this.#ending = true;
    await Promise.all(this.#loops);
  }

  get #running(): boolean {
    return !this.#ending && !this.#stop.aborted;
  }

  async #identify(jpeg: Buffer, query: string): Promise<void> {
    while (this.#running) {
      const r = await call(this.#base, 'POST', `/api/v1/identify${query}`, { jpeg, signal: this.#stop });
      if (r.aborted) break;
      this.counts.identify++;
      if (this.uploads.add('POST /api/v1/identify', r)) {
        const faces = (r.body as { faces?: { name: string | null }[] }).faces ?? [];
        this.counts.faces += faces.length;
        this.counts.named += faces.filter((f) => f.name !== null).length;
      } else await sleep(1000, this.#stop); // do not spin on a failing server
    }
  }

  async #cycle(face: Buffer): Promise<void> {
    const base = this.#base;
    for (let i = 1; this.#running; i++) {
      const t0 = performance.now();
      const created = await call(base, 'POST', '/api/v1/people', {
        json: { name: `soak cycle ${i}` },
        signal: this.#stop,
      });
      if (created.aborted) break;
      const id = (created.body as { id?: number } | undefined)?.id;
      // Once created, the person is always deleted (even when stopping).
      if (this.uploads.add('POST /api/v1/people', created) && id !== undefined) {
        const faces = await call(base, 'POST', `/api/v1/people/${id}/faces`, { jpeg: face });
        this.uploads.add('POST /api/v1/people/{id}/faces', faces);
        this.uploads.add('GET /api/v1/people', await call(base, 'GET', '/api/v1/people?limit=100'));
        this.uploads.add('DELETE /api/v1/people/{id}', await call(base, 'DELETE', `/api/v1/people/${id}`));
        this.counts.cycles++;
      }
      await sleep(CYCLE_MS - (performance.now() - t0), this.#stop);
    }
  }
}

/** One sample of the server at `t` s, or why none could be taken (the server is gone). */
async function takeSample(rig: Rig, t: number): Promise<Sample | string> {
  const { child, pid } = rig.server;
  if (child.exitCode !== null || child.signalCode !== null) {
    return `the server exited during the run (${child.exitCode ?? child.signalCode})`;
  }
  let rss: number;
  let fds: number;
  try {
    rss = rssBytes(pid);
    fds = fdCount(pid);
  } catch {
    return 'the server process disappeared during the run';
  }
  const kids = childrenOf(pid).filter((c) => c.comm === 'ffmpeg');
  for (const c of kids) rig.ffmpegSeen.add(c.pid);
  const m = await call(rig.base, 'GET', '/metrics');
  rig.scrapes.add('GET /metrics', m);
  const text = typeof m.body === 'string' ? m.body : '';
  const p99 = gauge(text, 'facerec_event_loop_lag_seconds', '{quantile="0.99"}');
  const max = gauge(text, 'facerec_event_loop_lag_max_seconds');
  const cams = (await listCameras(rig.base, rig.scrapes)) ?? [];
  return {
    t: round(t, 1),
    rss,
    fds,
    ffmpeg: kids.filter((c) => c.state !== 'Z').length,
    zombies: kids.filter((c) => c.state === 'Z').length,
    lagP99Ms: p99 === null ? null : p99 * 1000,
    lagMaxMs: max === null ? null : max * 1000,
    heapUsed: gauge(text, 'facerec_process_memory_bytes', '{kind="heap_used"}'),
    external: gauge(text, 'facerec_process_memory_bytes', '{kind="external"}'),
    cameras: cams.map((c) => ({ id: c.id, state: c.state, processed: c.stats.processed })),
  };
}

/**
 * Each camera's figures for the report, and a failure for each that processed no frame in the
 * last window.
 */
function cameraFigures(
  final: readonly CameraJson[],
  defs: ReadonlyMap<number, CameraDef>,
  samples: readonly Sample[],
  warmupSeconds: number,
  lastWindowStart: number,
  loadSeconds: number,
): { cameras: Record<string, unknown>[]; failures: string[] } {
  const cameras: Record<string, unknown>[] = [];
  const failures: string[] = [];
  const processedAt = (s: Sample | undefined, id: number) => s?.cameras.find((x) => x.id === id)?.processed;
  for (const c of final) {
    const def = defs.get(c.id);
    if (!def) continue;
    const states: Record<string, number> = {};
    for (const s of samples) {
      if (s.t < warmupSeconds) continue;
      const st = s.cameras.find((x) => x.id === c.id)?.state ?? 'missing';
      states[st] = (states[st] ?? 0) + 1;
    }
    const atWindow = processedAt(
      samples.find((s) => s.t >= lastWindowStart),
      c.id,
    );
    const atEnd = processedAt(samples.at(-1), c.id);
    if (
      Number.isFinite(lastWindowStart) &&
      (atWindow === undefined || atEnd === undefined || atEnd <= atWindow)
    ) {
      failures.push(`camera ${c.name} processed no frame in the last window (state ${c.state})`);
    }
    cameras.push({
      name: c.name,
      source: def.kind,
      state: c.state,
      frames: c.stats.frames,
      processed: c.stats.processed,
      dropped: c.stats.dropped,
      processed_per_second: round(c.stats.processed / Math.max(1, loadSeconds), 2),
      states_after_warmup: states,
      last_error: c.last_error,
    });
  }
  return { cameras, failures };
}

/** The report (printed as JSON with --json). */
interface Report {
  minutes: number;
  warmup_minutes: number;
  sample_seconds: number;
  runtime_seconds: number;
  /** Samples after the warm-up (those the rules use). */
  samples: number;
  samples_total: number;
  rss_mb: Record<string, number> | null;
  fds: Record<string, number> | null;
  ffmpeg: Record<string, number> | null;
  event_loop_lag_ms: Record<string, number> | null;
  /** Informational: where RSS growth lives (JavaScript heap, external buffers). */
  memory_mb: Record<string, number> | null;
  uploads: {
    identify: number;
    identify_faces: number;
    identify_named_faces: number;
    enroll_cycles: number;
    by_status: Record<string, number>;
    failures: string[];
  };
  scrapes: { count: number; by_status: Record<string, number> };
  cameras: Record<string, unknown>[];
  gallery_people_at_end: number | null;
  server: { pid: number | null; exit: number | string | null; stop_ms: number | null; log_tail?: string[] };
  limits: typeof LIMITS;
  pass: boolean;
  failures: string[];
}

/** Sample every `--sample-seconds` until the run's end or an interruption. */
async function sampleRun(
  rig: Rig,
  load: Load,
  opts: SoakOptions,
  stop: AbortSignal,
  failures: string[],
): Promise<{ samples: Sample[]; seconds: number }> {
  const samples: Sample[] = [];
  const t0 = performance.now();
  const runSeconds = opts.minutes * 60;
  const warmupSeconds = opts.warmupMinutes * 60;
  for (let k = 0; !stop.aborted; k++) {
    const due = k * opts.sampleSeconds;
    if (due > runSeconds) break;
    await sleep(t0 + due * 1000 - performance.now(), stop);
    if (stop.aborted) break;
    const t = (performance.now() - t0) / 1000;
    const s = await takeSample(rig, t);
    if (typeof s === 'string') {
      failures.push(s);
      break;
    }
    samples.push(s);
    const lag = s.lagP99Ms === null ? 'n/a' : `${round(s.lagP99Ms, 0)}/${round(s.lagMaxMs ?? 0, 0)} ms`;
    const live = s.cameras.filter((c) => rig.cameras.has(c.id) && c.state === 'live').length;
    process.stderr.write(
      `soak ${clock(t)}/${clock(runSeconds)}${t < warmupSeconds ? ' warm-up' : ''}  rss ${mb(s.rss)} MB` +
        `${s.heapUsed === null ? '' : ` (heap ${mb(s.heapUsed)})`}  fds ${s.fds}` +
        `  ffmpeg ${s.ffmpeg}${s.zombies ? `+${s.zombies} zombie` : ''}  lag p99/max ${lag}` +
        `  cameras live ${live}/${rig.cameras.size}  identify ${load.counts.identify}  cycles ${load.counts.cycles}` +
        `  non-2xx ${load.uploads.failures + rig.scrapes.failures}\n`,
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  if (stop.aborted) failures.push(`interrupted after ${clock(seconds)} of ${clock(runSeconds)}`);
  return { samples, seconds };
}

/** The whole run; fills `report` as it goes (so an error still leaves what was measured). */
async function soak(
  opts: SoakOptions,
  stop: AbortSignal,
  report: Report,
  onServer: (s: Server) => void,
  dir: string,
): Promise<void> {
  const say = (line: string) => process.stderr.write(`soak: ${line}\n`);
  const failures = report.failures;

  say('preparing frames and the ffmpeg clip…');
  const frames = await Promise.all(([1, 2, 3, 4, 5] as const).map((n) => photoFrame(demoPhoto(n))));
  const clipMinutes = Math.ceil(opts.minutes * 1.1 + 10);
  const clip = await makeClip(dir, clipMinutes);
  const held = 3 * CAMERA_FPS; // each photo stays in view 3 s
  const sims = [
    new CameraSim({ frames: hold([frames[0]!, frames[1]!], held), fps: CAMERA_FPS, style: 'mjpg-streamer' }),
    new CameraSim({
      frames: hold([frames[2]!, frames[3]!], held),
      fps: CAMERA_FPS,
      style: 'quoted-no-length',
    }),
    new CameraSim({ frames: [frames[4]!], fps: CAMERA_FPS }),
  ];
  try {
    for (const s of sims) await s.start();
    const defs: CameraDef[] = [
      { name: 'soak mjpeg A', kind: 'mjpeg (mjpg-streamer)', url: sims[0]!.url('/video') },
      { name: 'soak mjpeg B', kind: 'mjpeg (quoted boundary, no lengths)', url: sims[1]!.url('/video') },
      { name: 'soak snapshot', kind: 'snapshot polling', url: sims[2]!.url('/shot.jpg') },
      { name: 'soak ffmpeg file', kind: `ffmpeg (H.264 file, ${clipMinutes} min)`, url: clip },
    ];
    const expectedFfmpeg = defs.filter((d) => d.kind.startsWith('ffmpeg')).length;

    const models = resolvePaths().modelsDir;
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.FACEREC_DB; // always SQLite in the temporary folder
    const threads = opts.threads !== undefined ? ['--threads', String(opts.threads)] : [];
    say(`starting facerec serve (models ${models})…`);
    const server = await startServer(
      [
        '--data',
        join(dir, 'data'),
        '--models',
        models,
        ...threads,
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
      ],
      env,
      600_000,
    );
    onServer(server);
    report.server.pid = server.pid;
    say(`server pid ${server.pid} at ${server.url}`);

    await enrollPeople(server.url);
    const cycleFace = await faceCrop(server.url, 2);
    const scrapes = new Tally();
    const cameras = await addCameras(server.url, defs, scrapes, stop);
    const rig: Rig = { server, base: server.url, cameras, scrapes, ffmpegSeen: new Set() };
    say(`${cameras.size} cameras live; the load starts`);

    const load = new Load(rig.base, frames[0]!, cycleFace, stop);
    const { samples, seconds } = await sampleRun(rig, load, opts, stop, failures);
    await load.finish();

    const warmupSeconds = opts.warmupMinutes * 60;
    const ev = evaluate(samples, warmupSeconds, expectedFfmpeg);
    failures.push(...ev.failures);
    const finalCams = (await listCameras(rig.base, scrapes)) ?? [];
    const cams = cameraFigures(finalCams, cameras, samples, warmupSeconds, ev.lastWindowStart, seconds);
    failures.push(...cams.failures);
    const people = await call(rig.base, 'GET', '/api/v1/people?limit=10');
    scrapes.add('GET /api/v1/people', people);
    const peopleAtEnd = (people.body as { total?: number } | undefined)?.total ?? null;
    if (peopleAtEnd !== 2)
      failures.push(`the gallery holds ${peopleAtEnd} people at the end (expected the 2 enrolled)`);
    const { uploads, counts } = load;
    if (uploads.failures > 0)
      failures.push(`${uploads.failures} uploads were not answered 2xx: ${uploads.examples.join('; ')}`);
    if (scrapes.failures > 0)
      failures.push(`${scrapes.failures} scrapes were not answered 2xx: ${scrapes.examples.join('; ')}`);
    if (counts.identify > 0 && counts.named === 0)
      failures.push('identify named no face (the enrolled people were not recognized)');
    Object.assign(report, {
      samples: ev.samples,
      samples_total: samples.length,
      rss_mb: ev.rss_mb,
      fds: ev.fds,
      ffmpeg: ev.ffmpeg,
      event_loop_lag_ms: ev.event_loop_lag_ms,
      memory_mb: ev.memory_mb,
      uploads: {
        identify: counts.identify,
        identify_faces: counts.faces,
        identify_named_faces: counts.named,
        enroll_cycles: counts.cycles,
        by_status: uploads.toJSON(),
        failures: uploads.examples,
      },
      scrapes: {
        count: [...scrapes.byStatus.values()].reduce((a, b) => a + b, 0),
        by_status: scrapes.toJSON(),
      },
      cameras: cams.cameras,
      gallery_people_at_end: peopleAtEnd,
    });

    say('stopping the server…');
    const stopped = await stopAndReap(server, rig.ffmpegSeen);
    report.server.exit = stopped.exit;
    report.server.stop_ms = stopped.ms;
    if (stopped.killed)
      failures.push(`the server did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM (killed)`);
    else if (stopped.exit !== 0) failures.push(`the server exited with ${stopped.exit} after SIGTERM`);
    if (stopped.survivors > 0)
      failures.push(`${stopped.survivors} ffmpeg processes outlived the server (killed now)`);
  } finally {
    await Promise.all(sims.map((s) => s.close()));
  }
}

/** Print the human summary. */
function summary(r: Report): string {
  const lines = [
    `facerec soak: ${r.pass ? 'PASS' : 'FAIL'} — ${r.minutes} min load (warm-up ${round(r.warmup_minutes, 2)} min), ` +
      `${r.samples} samples after warm-up every ${r.sample_seconds} s, ${clock(r.runtime_seconds)} in all`,
  ];
  if (r.rss_mb)
    lines.push(
      `  RSS        ${r.rss_mb.first} → ${r.rss_mb.last} MB (${r.rss_mb.growth_pct! >= 0 ? '+' : ''}${r.rss_mb.growth_pct} %; limit +${LIMITS.rssGrowth * 100} %), range ${r.rss_mb.min}–${r.rss_mb.max} MB`,
    );
  if (r.fds)
    lines.push(
      `  open fds   ${r.fds.first} → ${r.fds.last} (limit ±${LIMITS.fdDrift}), range ${r.fds.min}–${r.fds.max}`,
    );
  if (r.ffmpeg)
    lines.push(
      `  ffmpeg     ${r.ffmpeg.first} → ${r.ffmpeg.last} (expected ${r.ffmpeg.expected}), range ${r.ffmpeg.min}–${r.ffmpeg.max}`,
    );
  if (r.event_loop_lag_ms)
    lines.push(
      `  loop lag   sampled p99s: p50 ${r.event_loop_lag_ms.p50} ms, p99 ${r.event_loop_lag_ms.p99} ms; max ${r.event_loop_lag_ms.max} ms (limit: p50 of p99s ≤ ${LIMITS.lagP99Ms} ms)`,
    );
  if (r.memory_mb)
    lines.push(
      `  memory     JS heap ${r.memory_mb.heap_used_first} → ${r.memory_mb.heap_used_last} MB, external ${r.memory_mb.external_first} → ${r.memory_mb.external_last} MB (informational)`,
    );
  lines.push(
    `  uploads    identify ${r.uploads.identify} (${r.uploads.identify_named_faces}/${r.uploads.identify_faces} faces named), enroll cycles ${r.uploads.enroll_cycles}, by status ${JSON.stringify(r.uploads.by_status)}`,
  );
  for (const c of r.cameras) {
    lines.push(
      `  camera     ${c.name} [${c.source}]: ${c.state}, ${c.frames} frames, ${c.processed} processed (${c.processed_per_second}/s), ${c.dropped} dropped`,
    );
  }
  lines.push(`  server     pid ${r.server.pid}, exit ${r.server.exit} after ${r.server.stop_ms} ms`);
  for (const f of r.failures) lines.push(`  FAIL: ${f}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  let opts: SoakOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  const started = performance.now();
  const report: Report = {
    minutes: opts.minutes,
    warmup_minutes: round(opts.warmupMinutes, 3),
    sample_seconds: opts.sampleSeconds,
    runtime_seconds: 0,
    samples: 0,
    samples_total: 0,
    rss_mb: null,
    fds: null,
    ffmpeg: null,
    event_loop_lag_ms: null,
    memory_mb: null,
    uploads: {
      identify: 0,
      identify_faces: 0,
      identify_named_faces: 0,
      enroll_cycles: 0,
      by_status: {},
      failures: [],
    },
    scrapes: { count: 0, by_status: {} },
    cameras: [],
    gallery_people_at_end: null,
    server: { pid: null, exit: null, stop_ms: null },
    limits: LIMITS,
    pass: false,
    failures: [],
  };
  const dir = mkdtempSync(join(tmpdir(), 'facerec-soak-'));
  let server: Server | undefined;
  const controller = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      process.stderr.write('soak: stopping (Ctrl-C again to kill the server at once)…\n');
      controller.abort();
    } else {
      process.exit(130); // the exit hook kills the server and removes the folder
    }
  };
  // Last resort (a second Ctrl-C, an uncaught error): no server or folder outlives this process.
  const onExit = () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null)
      server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const stopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of stopSignals) process.on(sig, onSignal);
  process.on('exit', onExit);
  try {
    await soak(
      opts,
      controller.signal,
      report,
      (s) => {
        server = s;
      },
      dir,
    );
  } catch (err) {
    report.failures.push(`error: ${(err as Error).message}`);
  } finally {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      // After an error or an interruption: stop it all the same.
      const stopped = await stopAndReap(server, new Set());
      report.server.exit = stopped.exit;
      report.server.stop_ms = stopped.ms;
      if (stopped.survivors > 0)
        report.failures.push(`${stopped.survivors} ffmpeg processes outlived the server (killed now)`);
    }
    rmSync(dir, { recursive: true, force: true });
    for (const sig of stopSignals) process.off(sig, onSignal);
    process.off('exit', onExit);
  }
  report.runtime_seconds = round((performance.now() - started) / 1000, 1);
  report.pass = report.failures.length === 0;
  if (!report.pass && server) report.server.log_tail = server.tail.slice(-15);
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : summary(report));
  if (controller.signal.aborted) return 130;
  return report.pass ? 0 : 1;
}

process.exitCode = await main();
