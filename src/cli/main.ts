#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { register as registerAudit } from './commands/audit.js';
import { register as registerCrop } from './commands/crop.js';
import { register as registerDetect } from './commands/detect.js';
import { register as registerEmbed } from './commands/embed.js';
import { register as registerEnroll } from './commands/enroll.js';
import { register as registerEval } from './commands/eval.js';
import { register as registerIdentify } from './commands/identify.js';
import { register as registerKeys } from './commands/keys.js';
import { register as registerModels } from './commands/models.js';
import { register as registerPeople } from './commands/people.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerVerify } from './commands/verify.js';
import { register as registerWatch } from './commands/watch.js';
import { exitCodeFor, printError } from './io.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Build the `facerec` command tree. */
export function buildProgram(): Command {
  const program = new Command('facerec')
    .description(
      'Face recognition for your own cameras and photo folders (MTCNN + ResNet embeddings, onnxruntime).',
    )
    .version(pkg.version)
    .option('--data <dir>', 'data directory (default ./facerec-data, env FACEREC_DATA)')
    .option('--models <dir>', 'model cache (default <data>/models, env FACEREC_MODELS)')
    .option('--threads <n>', 'inference threads (default: number of cores, env FACEREC_THREADS)')
    .option(
      '--descriptor <fp32|int8>',
      'face descriptor graph: fp32 (default) or int8, about 1.6× faster (env FACEREC_DESCRIPTOR)',
    )
    .option(
      '--db <url>',
      'gallery in PostgreSQL: postgres://user:pass@host/db (env FACEREC_DB; default SQLite in <data>)',
    )
    .showHelpAfterError();
  registerModels(program);
  registerDetect(program);
  registerCrop(program);
  registerEmbed(program);
  registerVerify(program);
  registerEval(program);
  registerEnroll(program);
  registerIdentify(program);
  registerPeople(program);
  registerServe(program, pkg.version);
  registerKeys(program);
  registerAudit(program);
  registerWatch(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    printError(err);
    process.exitCode = exitCodeFor(err);
  }
}

await main(process.argv);
