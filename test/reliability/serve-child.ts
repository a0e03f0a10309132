/**
 * Test support: `facerec serve` as a child process on a free port (the real server, socket and
 * process), with its output captured and its memory, descriptors and children readable from
 * /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { CLI } from '../support/cli.js';

/** A running `facerec serve`. */
export interface ServeChild {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the server printed so far. */
  stdout(): string;
  stderr(): string;
  /** Stop it with SIGTERM (SIGKILL after 5 s); resolves with the exit code or signal. */
  stop(): Promise<number | string | null>;
}

/** Resident set size of a process, bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Open file descriptors of a process. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Sample a process's RSS every `everyMs` while `work` runs; returns the work's result and the peak. */
export async function peakRss<T>(
  pid: number,
  work: () => Promise<T>,
  everyMs = 20,
): Promise<{ result: T; peak: number }> {
  let peak = rssBytes(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      // the process is gone
    }
  }, everyMs);
  try {
    const result = await work();
    peak = Math.max(peak, rssBytes(pid));
    return { result, peak };
  } finally {
    clearInterval(timer);
  }
}

/**
 * Start `facerec [globalArgs] serve --port 0 [serveArgs]` and wait until it listens.
 * @param opts.env - extra environment (FACEREC_MODELS etc. are inherited).
 * @param opts.wrap - a command line the server runs under (its pid is then the wrapper's).
 */
export function startServe(
  globalArgs: readonly string[],
  serveArgs: readonly string[] = [],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; wrap?: readonly string[] } = {},
): Promise<ServeChild> {
  return new Promise((resolve, reject) => {
    // `wrap`: a command that runs the server (e.g. strace with its options), then node's argv.
    const argv = [process.execPath, CLI, ...globalArgs, 'serve', '--port', '0', ...serveArgs];
    const [cmd, ...args] = opts.wrap ? [...opts.wrap, ...argv] : argv;
    const child = spawn(cmd!, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    let out = '';
    let err = '';
    let ready = false;
    const exited = new Promise<number | string | null>((done) =>
      child.once('exit', (code, signal) => done(code ?? signal)),
    );
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`facerec serve did not start: ${err.slice(-2000)}`));
    }, opts.timeoutMs ?? 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      const m = /serving (https?:\/\/\S+:(\d+))/.exec(err);
      if (m && !ready) {
        ready = true;
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          port: Number(m[2]),
          pid: child.pid!,
          child,
          stdout: () => out,
          stderr: () => err,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) {
              child.kill('SIGTERM');
              const t = setTimeout(() => child.kill('SIGKILL'), 5000);
              const r = await exited;
              clearTimeout(t);
              return r;
            }
            return exited;
          },
        });
      }
    });
    child.once('exit', (code, signal) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`facerec serve exited (${code ?? signal}): ${err.slice(-2000)}`));
      }
    });
  });
}
