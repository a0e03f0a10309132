/**
 * What every command reads from the global options: the folders and the runtime settings.
 */
import type { Command } from 'commander';
import {
  invalidParameter,
  type Paths,
  type RuntimeOptions,
  resolvePaths,
  resolveRuntimeOptions,
} from '../core/index.js';
import { type GalleryStore, openStore } from '../gallery/index.js';
import { FaceRecognizer, type RecognizerOptions } from '../recognize/index.js';

/** The global options of `facerec` (see main.ts). */
export interface GlobalOptions {
  readonly data?: string;
  readonly models?: string;
  readonly threads?: string;
  readonly descriptor?: string;
  readonly db?: string;
}

/** The resolved folders and runtime options of a command. */
export interface CliContext {
  readonly paths: Paths;
  readonly runtime: RuntimeOptions;
}

/** Resolve the global options of `program` (flags, then environment, then defaults). */
export function cliContext(program: Command): CliContext {
  const g = program.opts<GlobalOptions>();
  const paths = resolvePaths({ dataDir: g.data, modelsDir: g.models });
  const runtime = resolveRuntimeOptions({
    threads: g.threads === undefined ? undefined : Number(g.threads),
    descriptor: g.descriptor,
  });
  return { paths, runtime };
}

/** Load the recognizer with the global options and `extra` settings. */
export function loadRecognizer(program: Command, extra: Omit<RecognizerOptions, 'paths' | 'runtime'> = {}) {
  const { paths, runtime } = cliContext(program);
  return FaceRecognizer.load({ ...extra, paths, runtime });
}

/** Parse a number option, or throw "Expected <what> for <flag> but received …". */
export function parseNumber(
  flag: string,
  value: string,
  what = 'a number',
  ok: (n: number) => boolean = () => true,
): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !ok(n)) throw invalidParameter(flag, what, value);
  return n;
}

/**
 * The gallery URL a command uses: `--db`, else `FACEREC_DB`, else undefined (the SQLite file in
 * the data directory).
 */
export function galleryUrl(program: Command, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const flag = program.opts<GlobalOptions>().db;
  const url = flag !== undefined && flag.trim() !== '' ? flag : env.FACEREC_DB;
  return url !== undefined && url.trim() !== '' ? url.trim() : undefined;
}

/**
 * Open the gallery the global options select: PostgreSQL for `--db postgres://…` (or
 * `FACEREC_DB`), else `<data>/gallery.sqlite`. The caller closes it.
 */
export function openGallery(program: Command): Promise<GalleryStore> {
  return openStore({
    dataDir: cliContext(program).paths.dataDir,
    db: galleryUrl(program),
    embeddingKey: process.env.FACEREC_EMBEDDING_KEY,
  });
}
