/**
 * `npm run bench [-- --json] [-- suite ...]`: runs the benchmark suites and prints their
 * figures (JSON on stdout with --json; progress lines on stderr).
 */
import { availableParallelism, cpus } from 'node:os';
import type { Suite } from './harness.js';

const suites: Suite[] = [];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const only = args.filter((a) => !a.startsWith('--'));
  const chosen = suites.filter((s) => only.length === 0 || only.includes(s.name));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const report: Record<string, unknown> = {
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model, node: process.version },
    started: new Date().toISOString(),
  };
  for (const s of chosen) {
    log(`# ${s.name}`);
    report[s.name] = await s.run(log);
  }
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await main();
