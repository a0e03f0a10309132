import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../src/core/index.js';
import {
  accuracyAt,
  bestAccuracyThreshold,
  equalErrorRate,
  kFoldAccuracy,
  type LabelledDistance,
  rocCurve,
  tarAtFar,
} from '../../src/recognize/metrics.js';

const close = (a: number, b: number, eps = 1e-12): boolean => Math.abs(a - b) <= eps;

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
}

describe('recognize/metrics: hand-computed cases', () => {
  const cases: {
    name: string;
    genuine: number[];
    impostor: number[];
    auc: number;
    eer: number;
    best: { threshold: number; accuracy: number };
    tar1e2: number;
  }[] = [
    {
      name: 'perfectly separable',
      genuine: [0.1, 0.2],
      impostor: [0.8, 0.9],
      auc: 1,
      eer: 0,
      best: { threshold: 0.5, accuracy: 1 },
      tar1e2: 1,
    },
    {
      name: 'fully overlapping (every distance equal)',
      genuine: [0.5, 0.5],
      impostor: [0.5, 0.5],
      auc: 0.5,
      eer: 0.5,
      best: { threshold: Number.NEGATIVE_INFINITY, accuracy: 0.5 },
      tar1e2: 0,
    },
    {
      name: 'a tie at the threshold (genuine and impostor both at 0.5)',
      genuine: [0.2, 0.5],
      impostor: [0.5, 0.9],
      auc: 0.875,
      // FAR/FRR go from 0/0.5 (threshold 0.2) to 0.5/0 (threshold 0.5): they cross at 0.25
      eer: 0.25,
      best: { threshold: 0.35, accuracy: 0.75 },
      tar1e2: 0.5,
    },
    {
      name: 'a single pair per class',
      genuine: [0.3],
      impostor: [0.7],
      auc: 1,
      eer: 0,
      best: { threshold: 0.5, accuracy: 1 },
      tar1e2: 1,
    },
    {
      name: 'a single pair per class, inverted',
      genuine: [0.7],
      impostor: [0.3],
      auc: 0,
      eer: 1,
      best: { threshold: Number.NEGATIVE_INFINITY, accuracy: 0.5 },
      tar1e2: 0,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const roc = rocCurve(c.genuine, c.impostor);
      assert.equal(roc.genuine, c.genuine.length);
      assert.equal(roc.impostor, c.impostor.length);
      assert.ok(close(roc.auc, c.auc), `auc ${roc.auc}`);
      assert.ok(close(equalErrorRate(roc).eer, c.eer), `eer ${equalErrorRate(roc).eer}`);
      const best = bestAccuracyThreshold(c.genuine, c.impostor);
      assert.ok(
        best.threshold === c.best.threshold || close(best.threshold, c.best.threshold),
        `threshold ${best.threshold}`,
      );
      assert.ok(close(best.accuracy, c.best.accuracy), `accuracy ${best.accuracy}`);
      assert.ok(close(tarAtFar(roc, 0.01).tar, c.tar1e2), `tar ${tarAtFar(roc, 0.01).tar}`);
    });
  }

  it('the ROC of the tie case, point by point', () => {
    const roc = rocCurve([0.5, 0.2], [0.9, 0.5]);
    assert.deepEqual(
      roc.points.map((p) => [p.threshold, p.far, p.tar]),
      [
        [Number.NEGATIVE_INFINITY, 0, 0],
        [0.2, 0, 0.5],
        [0.5, 0.5, 1],
        [0.9, 1, 1],
      ],
    );
  });

  it('ties are accepted: distance = threshold counts as "same"', () => {
    assert.equal(accuracyAt([0.2, 0.5], [0.5, 0.9], 0.5), 0.75);
    assert.equal(accuracyAt([0.2, 0.5], [0.5, 0.9], 0.4999), 0.75);
    assert.equal(accuracyAt([0.5], [0.5], 0.5), 0.5);
  });

  it('TAR at FAR takes the largest threshold whose FAR does not exceed the target', () => {
    // impostors: 0.3 (FAR 0.25 once accepted), 0.6, 0.7, 0.8; genuine spread around them
    const roc = rocCurve([0.1, 0.2, 0.4, 0.5, 0.65], [0.3, 0.6, 0.7, 0.8]);
    const at25 = tarAtFar(roc, 0.25);
    assert.equal(at25.threshold, 0.5);
    assert.equal(at25.far, 0.25);
    assert.equal(at25.tar, 0.8);
    const at10 = tarAtFar(roc, 0.1);
    assert.equal(at10.threshold, 0.2);
    assert.equal(at10.far, 0);
    assert.equal(at10.tar, 0.4);
    assert.equal(tarAtFar(roc, 1).tar, 1);
    assert.throws(() => tarAtFar(roc, 0), InvalidInputError);
  });

  it('an empty class is a clear error', () => {
    assert.throws(() => rocCurve([], [0.5]), /at least one genuine distance/);
    assert.throws(() => rocCurve([0.5], []), /at least one impostor distance/);
    assert.throws(() => bestAccuracyThreshold([0.1], []), InvalidInputError);
    assert.throws(() => rocCurve([0.1, Number.NaN], [0.5]), /genuine\[1\] is NaN/);
  });
});

describe('recognize/metrics: against brute force on random data with ties', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}`, () => {
      const r = rng(seed);
      const ng = 5 + Math.floor(r() * 40);
      const ni = 5 + Math.floor(r() * 40);
      // distances on a 0.05 grid, overlapping classes: plenty of ties
      const genuine = Array.from({ length: ng }, () => Math.round((0.2 + r() * 0.6) * 20) / 20);
      const impostor = Array.from({ length: ni }, () => Math.round((0.5 + r() * 0.6) * 20) / 20);
      const roc = rocCurve(genuine, impostor);

      let wins = 0;
      for (const g of genuine) for (const i of impostor) wins += g < i ? 1 : g === i ? 0.5 : 0;
      assert.ok(close(roc.auc, wins / (ng * ni), 1e-12), 'AUC = Mann–Whitney');

      const candidates = [Number.NEGATIVE_INFINITY, ...new Set([...genuine, ...impostor])].sort(
        (a, b) => a - b,
      );
      const far = (t: number): number => impostor.filter((d) => d <= t).length / ni;
      const tar = (t: number): number => genuine.filter((d) => d <= t).length / ng;
      for (const p of roc.points) {
        assert.ok(close(p.far, far(p.threshold)) && close(p.tar, tar(p.threshold)));
      }
      assert.equal(roc.points.length, candidates.length);

      const bestAcc = Math.max(...candidates.map((t) => accuracyAt(genuine, impostor, t)));
      const best = bestAccuracyThreshold(genuine, impostor);
      assert.ok(close(best.accuracy, bestAcc), 'best accuracy');
      assert.ok(close(accuracyAt(genuine, impostor, best.threshold), bestAcc), 'threshold reaches it');

      for (const target of [0.01, 0.1, 0.3]) {
        const ok = candidates.filter((t) => far(t) <= target);
        const t = ok[ok.length - 1]!;
        const got = tarAtFar(roc, target);
        assert.equal(got.threshold, t);
        assert.ok(close(got.tar, tar(t)) && got.far <= target);
      }

      const { eer, threshold } = equalErrorRate(roc);
      const k = candidates.indexOf(threshold);
      assert.ok(far(threshold) >= 1 - tar(threshold), 'FAR ≥ FRR at the EER threshold');
      const before = candidates[k - 1]!;
      assert.ok(far(before) < 1 - tar(before), 'FAR < FRR just before it');
      assert.ok(
        eer >= far(before) - 1e-12 && eer <= far(threshold) + 1e-12,
        'EER between the bracketing FARs',
      );
      assert.ok(eer >= 1 - tar(threshold) - 1e-12 && eer <= 1 - tar(before) + 1e-12, 'and between the FRRs');
    });
  }
});

describe('recognize/metrics: k-fold protocol', () => {
  const pairs: LabelledDistance[] = [
    ...[0.1, 0.2].map((d) => ({ distance: d, same: true, fold: 0 })),
    ...[0.8, 0.9].map((d) => ({ distance: d, same: false, fold: 0 })),
    ...[0.3, 0.6].map((d) => ({ distance: d, same: true, fold: 1 })),
    ...[0.7, 0.95].map((d) => ({ distance: d, same: false, fold: 1 })),
    ...[0.15, 0.4].map((d) => ({ distance: d, same: true, fold: 2 })),
    ...[0.5, 0.85].map((d) => ({ distance: d, same: false, fold: 2 })),
  ];

  it('three hand-computed folds', () => {
    const r = kFoldAccuracy(pairs);
    // fold 0: trained on folds 1+2 → 0.45 (7 of 8 right); all 4 of fold 0 right
    // fold 1: trained on folds 0+2 → separable at 0.45; 0.6 (same) is refused → 3 of 4
    // fold 2: trained on folds 0+1 → separable at 0.65; 0.5 (different) is accepted → 3 of 4
    assert.deepEqual(
      r.folds.map((f) => [
        f.fold,
        f.pairs,
        Math.round(f.threshold * 1000) / 1000,
        f.trainAccuracy,
        f.accuracy,
      ]),
      [
        [0, 4, 0.45, 0.875, 1],
        [1, 4, 0.45, 1, 0.75],
        [2, 4, 0.65, 1, 0.75],
      ],
    );
    assert.ok(close(r.mean, 2.5 / 3));
    // sample std: deviations 1/6, −1/12, −1/12 → variance (1/36 + 2/144) / 2 = 1/48
    assert.ok(close(r.std, Math.sqrt(1 / 48)), `std ${r.std}`);
    assert.ok(close(r.standardError, Math.sqrt(1 / 48) / Math.sqrt(3)));
    assert.ok(close(r.meanThreshold, (0.45 + 0.45 + 0.65) / 3));
    // on all 12 pairs: 0.6 (same) above 0.5 (different) — best is 11 of 12 with either 0.45 or 0.65
    assert.ok(
      close(
        accuracyAt(
          pairs.filter((p) => p.same).map((p) => p.distance),
          pairs.filter((p) => !p.same).map((p) => p.distance),
          r.threshold,
        ),
        11 / 12,
      ),
    );
  });

  it('fold ids need not start at 0 and come back sorted', () => {
    const shifted = pairs.map((p) => ({ ...p, fold: 10 - p.fold }));
    assert.deepEqual(
      kFoldAccuracy(shifted).folds.map((f) => f.fold),
      [8, 9, 10],
    );
  });

  it('needs two folds and both classes in every training set', () => {
    assert.throws(() => kFoldAccuracy(pairs.map((p) => ({ ...p, fold: 0 }))), /at least 2 folds/);
    const noImpostorOutsideFold0 = pairs.filter((p) => p.same || p.fold === 0);
    assert.throws(() => kFoldAccuracy(noImpostorOutsideFold0), /fold 0/);
    assert.throws(
      () => kFoldAccuracy([...pairs, { distance: Number.NaN, same: true, fold: 1 }]),
      /finite distance/,
    );
  });
});
