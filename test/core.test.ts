import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FaceError,
  InvalidInputError,
  invalidParameter,
  resolvePaths,
  resolveRuntimeOptions,
} from '../src/core/index.js';

describe('core/config', () => {
  const cases: {
    name: string;
    over: Record<string, string>;
    env: Record<string, string>;
    data: string;
    models: string;
  }[] = [
    { name: 'defaults', over: {}, env: {}, data: '/w/facerec-data', models: '/w/facerec-data/models' },
    { name: 'env data', over: {}, env: { FACEREC_DATA: '/srv/f' }, data: '/srv/f', models: '/srv/f/models' },
    {
      name: 'env models',
      over: {},
      env: { FACEREC_DATA: 'd', FACEREC_MODELS: '/m' },
      data: '/w/d',
      models: '/m',
    },
    {
      name: 'override beats env',
      over: { dataDir: 'x' },
      env: { FACEREC_DATA: '/srv/f' },
      data: '/w/x',
      models: '/w/x/models',
    },
    {
      name: 'blank env ignored',
      over: {},
      env: { FACEREC_DATA: '  ' },
      data: '/w/facerec-data',
      models: '/w/facerec-data/models',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = resolvePaths(c.over, c.env, '/w');
      assert.equal(p.dataDir, c.data);
      assert.equal(p.modelsDir, c.models);
      assert.ok(Object.isFrozen(p));
    });
  }

  it('threads: override, env, default, invalid', () => {
    assert.equal(resolveRuntimeOptions({ threads: 3 }, {}).threads, 3);
    assert.equal(resolveRuntimeOptions({}, { FACEREC_THREADS: '1' }).threads, 1);
    assert.ok(resolveRuntimeOptions({}, {}).threads >= 1);
    assert.throws(
      () => resolveRuntimeOptions({ threads: 0 }, {}),
      /Expected an integer between 1 and 256 for threads but received 0/,
    );
    assert.throws(() => resolveRuntimeOptions({}, { FACEREC_THREADS: 'many' }), InvalidInputError);
  });

  it('splitDetection: override, env, default true, invalid', () => {
    assert.equal(resolveRuntimeOptions({}, {}).splitDetection, true);
    assert.equal(resolveRuntimeOptions({}, { FACEREC_DETECT_SPLIT: '0' }).splitDetection, false);
    assert.equal(resolveRuntimeOptions({}, { FACEREC_DETECT_SPLIT: ' 1 ' }).splitDetection, true);
    assert.equal(
      resolveRuntimeOptions({ splitDetection: true }, { FACEREC_DETECT_SPLIT: '0' }).splitDetection,
      true,
    );
    assert.throws(
      () => resolveRuntimeOptions({}, { FACEREC_DETECT_SPLIT: 'no' }),
      /Expected 0 or 1 for FACEREC_DETECT_SPLIT but received "?no"?/,
    );
  });

  it('descriptor: override, env, default fp32, invalid', () => {
    const cases: [Record<string, string>, NodeJS.ProcessEnv, string][] = [
      [{}, {}, 'fp32'],
      [{}, { FACEREC_DESCRIPTOR: 'int8' }, 'int8'],
      [{}, { FACEREC_DESCRIPTOR: ' int8 ' }, 'int8'],
      [{}, { FACEREC_DESCRIPTOR: '' }, 'fp32'],
      [{ descriptor: 'fp32' }, { FACEREC_DESCRIPTOR: 'int8' }, 'fp32'],
      [{ descriptor: 'int8' }, {}, 'int8'],
    ];
    for (const [over, env, want] of cases) {
      assert.equal(resolveRuntimeOptions(over, env).descriptor, want, JSON.stringify([over, env]));
    }
    assert.throws(
      () => resolveRuntimeOptions({}, { FACEREC_DESCRIPTOR: 'fp16' }),
      /Expected fp32 or int8 for FACEREC_DESCRIPTOR but received "?fp16"?/,
    );
    assert.throws(
      () => resolveRuntimeOptions({ descriptor: 'INT8' }, {}),
      /Expected fp32 or int8 for descriptor but received "?INT8"?/,
    );
  });
});

describe('core/errors', () => {
  it('invalidParameter names the parameter, the expectation and the value', () => {
    const e = invalidParameter('minSize', 'an integer ≥ 12', 'abc');
    assert.ok(e instanceof FaceError);
    assert.equal(e.code, 'INVALID_INPUT');
    assert.equal(e.name, 'InvalidInputError');
    assert.equal(e.input, 'minSize');
    assert.equal(e.message, 'Expected an integer ≥ 12 for minSize but received "abc"');
  });
});
