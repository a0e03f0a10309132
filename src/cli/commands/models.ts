/**
 * `facerec models [--json]`: build the ONNX models if needed and list them.
 */
import type { Command } from 'commander';
import { resolvePaths } from '../../core/index.js';
import { ensureModels, formatShape, type ModelInfo, type TensorSignature } from '../../runtime/index.js';
import { printResult } from '../io.js';

/** Add the `models` command to the program. */
export function register(program: Command): void {
  program
    .command('models')
    .description('build the ONNX models if needed (into the model cache) and list them')
    .option('--json', 'print a JSON array')
    .action(async (opts: { json?: boolean }) => {
      const global = program.opts<{ data?: string; models?: string }>();
      const paths = resolvePaths({ dataDir: global.data, modelsDir: global.models });
      const models = await ensureModels(paths, undefined, {
        onBuild: (name) => process.stderr.write(`building ${name} into ${paths.modelsDir}\n`),
      });
      printResult(opts.json === true, models, () => formatTable(models));
    });
}

/** A readable listing: one row per model, then the file paths. */
export function formatTable(models: readonly ModelInfo[]): string {
  const sig = (ts: readonly TensorSignature[]) =>
    ts.map((t) => `${t.name} ${formatShape(t.shape)}`).join(', ');
  const rows = [
    ['name', 'bytes', 'sha256', 'source', 'inputs', 'outputs'],
    ...models.map((m) => [
      m.name,
      String(m.bytes),
      m.sha256.slice(0, 16),
      m.source,
      sig(m.inputs),
      sig(m.outputs),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => (c === 1 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
  const paths = models.map((m) => `${m.name}: ${m.path}`);
  return [...lines, '', ...paths].join('\n');
}
