#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node:test.
// Usage: node scripts/run-tests.mjs [substring ...]   (only files whose path contains one of them)
// The model cache is a fresh temporary folder unless FACEREC_MODELS is set, so a test run also
// proves that the models build from the registry packages.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const testRoot = join(root, 'dist', 'test');

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk(testRoot).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`no test files under ${relative(root, testRoot)} match ${filters.join(' ') || '*'}`);
  process.exit(1);
}

const env = { ...process.env };
let tmp;
if (!env.FACEREC_MODELS) {
  tmp = mkdtempSync(join(tmpdir(), 'facerec-test-models-'));
  env.FACEREC_MODELS = tmp;
}
const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env,
  cwd: root,
});
if (tmp) rmSync(tmp, { recursive: true, force: true });
process.exit(res.status ?? 1);
