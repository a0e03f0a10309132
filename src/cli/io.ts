import { SingleBar } from 'cli-progress';
import { errorMessage, FaceError } from '../core/index.js';

/** Exit codes of every facerec command. */
export const EXIT = Object.freeze({
  ok: 0,
  /** An unexpected failure (a bug, or the machine). */
  failure: 1,
  /** Some inputs were unusable (unreadable image, bad argument); the others were processed. */
  badInput: 2,
});

/** Print a result: JSON (one document) when `json`, else the text lines. */
export function printResult(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

/** Print an error to stderr as `facerec: <message>`. */
export function printError(err: unknown): void {
  process.stderr.write(`facerec: ${errorMessage(err)}\n`);
}

/** The exit code for an error reaching the top of a command. */
export function exitCodeFor(err: unknown): number {
  if (
    err instanceof FaceError &&
    (err.code === 'INVALID_INPUT' || err.code === 'NOT_FOUND' || err.code === 'CONFIG')
  ) {
    return EXIT.badInput;
  }
  return EXIT.failure;
}

/** A progress bar on stderr (silent when stderr is not a terminal or `quiet`). */
export interface Progress {
  tick(label?: string): void;
  stop(): void;
}

/** Start a progress bar over `total` steps. */
export function progress(total: number, title: string, quiet = false): Progress {
  if (quiet || !process.stderr.isTTY || total <= 1) {
    return { tick() {}, stop() {} };
  }
  const bar = new SingleBar({
    stream: process.stderr,
    format: `${title} [{bar}] {percentage}% {value}/{total} eta {eta_formatted} {label}`,
    hideCursor: true,
    clearOnComplete: false,
  });
  bar.start(total, 0, { label: '' });
  return {
    tick(label = '') {
      bar.increment(1, { label });
    },
    stop() {
      bar.stop();
    },
  };
}
