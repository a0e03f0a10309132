/**
 * `npm run bench [-- --json] [-- suite ...]`: runs the benchmark suites and prints their
 * figures (JSON on stdout with --json; progress lines on stderr).
 */
import { readdirSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import type { Suite } from './harness.js';

/** Every bench/<area>.ts that exports `suite` is a suite, run in file-name order. */
async function loadSuites(): Promise<Suite[]> {
  const dir = import.meta.dirname;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.js') && f !== 'main.js' && f !== 'harness.js')
    .sort();
  const out: Suite[] = [];
  for (const f of files) {
    const mod = (await import(new URL(f, import.meta.url).href)) as { suite?: Suite };
    if (mod.suite) out.push(mod.suite);
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const only = args.filter((a) => !a.startsWith('--'));
  const suites = await loadSuites();
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
  // The report is JSON either way; --json prints it compactly for machines.
  process.stdout.write(`${json ? JSON.stringify(report) : JSON.stringify(report, null, 2)}\n`);
}

await main();
