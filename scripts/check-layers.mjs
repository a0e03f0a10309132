#!/usr/bin/env node
// Enforces the pipeline layering of DESIGN.md: each folder of src/ imports only the folders
// allowed for it, only src/runtime imports onnxruntime-node, only src/image imports sharp.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = join(import.meta.dirname, '..');
const src = join(root, 'src');
const allowed = {
  core: [],
  image: ['core'],
  runtime: ['core'],
  detect: ['core', 'image', 'runtime'],
  align: ['core', 'image'],
  embed: ['core', 'image', 'runtime'],
  gallery: ['core'],
  recognize: ['core', 'image', 'runtime', 'detect', 'align', 'embed', 'gallery'],
  video: ['core', 'image', 'recognize'],
  server: ['core', 'recognize', 'gallery', 'video'],
  cli: ['core', 'image', 'runtime', 'detect', 'align', 'embed', 'gallery', 'recognize', 'video', 'server'],
};
const packageOwners = { 'onnxruntime-node': ['runtime'], sharp: ['image'] };

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const problems = [];
const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
for (const file of walk(src)) {
  const rel = relative(src, file);
  const layer = rel.split(sep)[0];
  if (!(layer in allowed)) continue; // src/index.ts and other top-level files may import anything
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith('.')) {
      const target = relative(src, resolve(dirname(file), spec)).split(sep)[0];
      if (target !== layer && !allowed[layer].includes(target)) {
        problems.push(
          `${relative(root, file)} imports ${spec} (${layer}/ may import only: ${allowed[layer].join(', ') || 'nothing'})`,
        );
      }
    } else {
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      const owners = packageOwners[pkg];
      if (owners && !owners.includes(layer)) {
        problems.push(`${relative(root, file)} imports ${pkg}, which only ${owners.join(', ')}/ may import`);
      }
    }
  }
}
if (problems.length) {
  console.error(`layering violations (see DESIGN.md):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
