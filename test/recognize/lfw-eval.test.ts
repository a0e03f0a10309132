import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolvePaths, resolveRuntimeOptions } from '../../src/core/index.js';
import { evaluateLfw, FaceRecognizer, loadLfwPairs } from '../../src/recognize/index.js';
import { sharedPath, sharedSkip } from '../helpers.js';

describe("recognize: LFW dev folds (the issue's accuracy check)", () => {
  it('facerec eval lfw on pairs-dev.txt: mean accuracy ≥ 99.0 %', {
    skip: sharedSkip('data/faces/lfw/pairs-dev.txt'),
  }, async (t) => {
    const root = sharedPath('data', 'faces', 'lfw');
    const pairs = await loadLfwPairs(sharedPath('data', 'faces', 'lfw', 'pairs-dev.txt'));
    const fr = await FaceRecognizer.load({ paths: resolvePaths(), runtime: resolveRuntimeOptions() });
    try {
      const r = await evaluateLfw(fr, pairs, { root });
      t.diagnostic(
        `LFW dev: ${r.pairs} pairs, ${r.folds} folds: accuracy ${(r.accuracy.mean * 100).toFixed(2)} % ± ` +
          `${(r.accuracy.std * 100).toFixed(2)} %, AUC ${r.auc.toFixed(5)}, EER ${(r.eer * 100).toFixed(2)} %, ` +
          `TAR ${(r.tarAtFar['0.001'].tar * 100).toFixed(1)} % at FAR 1e-3, no face ${r.noFace}, ` +
          `${r.pairsPerSecond.toFixed(1)} pairs/s`,
      );
      assert.equal(r.pairs, 3000);
      assert.equal(r.folds, 5);
      assert.ok(r.accuracy.mean >= 0.99, `accuracy ${r.accuracy.mean}`);
    } finally {
      await fr.dispose();
    }
  });
});
