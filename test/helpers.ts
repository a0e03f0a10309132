import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file compiles to dist/test/helpers.js). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The shared data folder (`../shared` beside the checkout, or `FACEREC_SHARED`), or undefined
 * when it is absent: tests that need it skip with {@link sharedSkip}.
 */
export function sharedDir(): string | undefined {
  const candidates = [process.env.FACEREC_SHARED, join(repoRoot, '..', 'shared')].filter(
    (p): p is string => typeof p === 'string' && p !== '',
  );
  return candidates.find((p) => existsSync(join(p, 'DESIGN.md')) || existsSync(join(p, 'data')));
}

/** A skip reason naming what is missing, or false when `../shared/<sub>` exists. */
export function sharedSkip(sub: string): string | false {
  const dir = sharedDir();
  if (dir && existsSync(join(dir, sub))) return false;
  return `needs ../shared/${sub} (absent here; set FACEREC_SHARED to the shared folder to run this test)`;
}

/** Path inside the shared folder; call only when {@link sharedSkip} returned false. */
export function sharedPath(...parts: string[]): string {
  const dir = sharedDir();
  if (!dir) throw new Error('shared folder absent');
  return join(dir, ...parts);
}

/** The demo photos shipped in @vladmandic/face-api (always installed). */
export function demoPhoto(n: 1 | 2 | 3 | 4 | 5 | 6): string {
  return join(repoRoot, 'node_modules', '@vladmandic', 'face-api', 'demo', `sample${n}.jpg`);
}
