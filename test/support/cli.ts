/**
 * Runs the built CLI (`dist/src/cli/main.js`) as a child process.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers.js';

/** The compiled CLI entry point. */
export const CLI = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/** What a CLI run printed and its exit code. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run `facerec <args>` with the test environment (FACEREC_MODELS etc.) plus `env`; optionally in
 * `cwd`, or under a wrapper command (`wrap`, e.g. strace and its options).
 */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  opts: { readonly cwd?: string; readonly wrap?: readonly string[] } = {},
): Promise<CliRun> {
  const argv = [process.execPath, CLI, ...args];
  const [cmd, ...rest] = opts.wrap ? [...opts.wrap, ...argv] : argv;
  return new Promise((done) => {
    execFile(
      cmd!,
      rest,
      { env: { ...process.env, ...env }, maxBuffer: 1 << 26, ...(opts.cwd ? { cwd: opts.cwd } : {}) },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}
