import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateSimilarity } from '../../src/align/similarity.js';
import { InvalidInputError, type Point } from '../../src/core/index.js';
import { type AffineMatrix, applyAffine } from '../../src/image/warp.js';

/** An asymmetric five-point face-like set (no symmetry, so every transform is determined). */
const FACE: Point[] = [
  [30.2, 40.1],
  [71.5, 38.7],
  [52.3, 61.0],
  [36.9, 82.4],
  [66.1, 84.0],
];

function transform(pts: readonly Point[], s: number, theta: number, tx: number, ty: number): Point[] {
  const c = Math.cos(theta) * s;
  const d = Math.sin(theta) * s;
  return pts.map(([x, y]) => [c * x - d * y + tx, d * x + c * y + ty] as const);
}

function rss(m: AffineMatrix, src: readonly Point[], dst: readonly Point[]): number {
  let s = 0;
  src.forEach((p, i) => {
    const [x, y] = applyAffine(m, p[0], p[1]);
    s += (x - dst[i]![0]) ** 2 + (y - dst[i]![1]) ** 2;
  });
  return s;
}

function angleDiff(a: number, b: number): number {
  const d = (((a - b) % (2 * Math.PI)) + 3 * Math.PI) % (2 * Math.PI);
  return Math.abs(d - Math.PI);
}

/** Deterministic noise in [−1, 1). */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2147483648 - 1;
  };
}

/**
 * The least-squares fit by another route: the 4 unknowns (a, b, tx, ty) of
 * [[a, −b, tx], [b, a, ty]] solved from the normal equations by Gaussian elimination.
 */
function linearLeastSquares(src: readonly Point[], dst: readonly Point[]): AffineMatrix {
  const A: number[][] = [];
  const y: number[] = [];
  src.forEach(([px, py], i) => {
    A.push([px, -py, 1, 0]);
    y.push(dst[i]![0]);
    A.push([py, px, 0, 1]);
    y.push(dst[i]![1]);
  });
  const N = [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => A.reduce((s, row) => s + row[r]! * row[c]!, 0)));
  const v = [0, 1, 2, 3].map((r) => A.reduce((s, row, k) => s + row[r]! * y[k]!, 0));
  for (let col = 0; col < 4; col++) {
    let piv = col;
    for (let r = col + 1; r < 4; r++) if (Math.abs(N[r]![col]!) > Math.abs(N[piv]![col]!)) piv = r;
    [N[col], N[piv]] = [N[piv]!, N[col]!];
    [v[col], v[piv]] = [v[piv]!, v[col]!];
    for (let r = 0; r < 4; r++) {
      if (r === col) continue;
      const f = N[r]![col]! / N[col]![col]!;
      for (let c = col; c < 4; c++) N[r]![c]! -= f * N[col]![c]!;
      v[r]! -= f * v[col]!;
    }
  }
  const [a, b, tx, ty] = [0, 1, 2, 3].map((i) => v[i]! / N[i]![i]!) as [number, number, number, number];
  return [a, -b, tx, b, a, ty];
}

/** Brute force over the rotation angle: for each angle the best scale ≥ 0 and translation are closed-form. */
function bruteForceRss(src: readonly Point[], dst: readonly Point[]): number {
  const n = src.length;
  const mx = src.reduce((s, p) => s + p[0], 0) / n;
  const my = src.reduce((s, p) => s + p[1], 0) / n;
  const nx = dst.reduce((s, p) => s + p[0], 0) / n;
  const ny = dst.reduce((s, p) => s + p[1], 0) / n;
  const cost = (theta: number): number => {
    const c = Math.cos(theta);
    const s = Math.sin(theta);
    let num = 0;
    let den = 0;
    let yy = 0;
    src.forEach(([px, py], i) => {
      const x0 = px - mx;
      const x1 = py - my;
      const r0 = c * x0 - s * x1;
      const r1 = s * x0 + c * x1;
      const y0 = dst[i]![0] - nx;
      const y1 = dst[i]![1] - ny;
      num += r0 * y0 + r1 * y1;
      den += x0 * x0 + x1 * x1;
      yy += y0 * y0 + y1 * y1;
    });
    const scale = Math.max(0, num / den);
    return yy - 2 * scale * num + scale * scale * den;
  };
  let best = 0;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 3600; k++) {
    const t = (k / 3600) * 2 * Math.PI;
    const c = cost(t);
    if (c < bestCost) {
      bestCost = c;
      best = t;
    }
  }
  // golden-section refinement around the best grid angle
  let lo = best - (2 * Math.PI) / 3600;
  let hi = best + (2 * Math.PI) / 3600;
  for (let it = 0; it < 100; it++) {
    const m1 = hi - (hi - lo) / 1.618033988749895;
    const m2 = lo + (hi - lo) / 1.618033988749895;
    if (cost(m1) < cost(m2)) hi = m2;
    else lo = m1;
  }
  return Math.min(bestCost, cost((lo + hi) / 2));
}

describe('align/similarity: exact transforms are recovered', () => {
  const cases: { name: string; s: number; deg: number; tx: number; ty: number }[] = [
    { name: 'identity', s: 1, deg: 0, tx: 0, ty: 0 },
    { name: 'pure scale ×2.5', s: 2.5, deg: 0, tx: 0, ty: 0 },
    { name: 'pure scale ×0.3', s: 0.3, deg: 0, tx: 0, ty: 0 },
    { name: 'pure translation', s: 1, deg: 0, tx: 13.5, ty: -7.25 },
    { name: 'rotation 30°', s: 1, deg: 30, tx: 0, ty: 0 },
    { name: 'rotation −45° with scale and shift', s: 1.7, deg: -45, tx: 100, ty: 40 },
    { name: 'rotation 90°', s: 0.8, deg: 90, tx: -5, ty: 5 },
    { name: 'rotation 179°', s: 1.1, deg: 179, tx: 3, ty: 2 },
    { name: 'rotation 180°', s: 1, deg: 180, tx: 0, ty: 0 },
    { name: 'rotation −120°', s: 3, deg: -120, tx: 640, ty: 480 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const theta = (c.deg * Math.PI) / 180;
      const dst = transform(FACE, c.s, theta, c.tx, c.ty);
      const fit = estimateSimilarity(FACE, dst);
      assert.ok(Math.abs(fit.scale - c.s) < 1e-9 * c.s, `scale ${fit.scale}`);
      assert.ok(angleDiff(fit.rotation, theta) < 1e-9, `rotation ${fit.rotation}`);
      assert.ok(fit.rms < 1e-9, `rms ${fit.rms}`);
      FACE.forEach((p, i) => {
        const [x, y] = applyAffine(fit.matrix, p[0], p[1]);
        assert.ok(Math.hypot(x - dst[i]![0], y - dst[i]![1]) < 1e-9);
        const [bx, by] = applyAffine(fit.inverse, dst[i]![0], dst[i]![1]);
        assert.ok(Math.hypot(bx - p[0], by - p[1]) < 1e-9);
      });
    });
  }

  it('two points determine the transform exactly', () => {
    const fit = estimateSimilarity(
      [
        [0, 0],
        [10, 0],
      ],
      [
        [5, 5],
        [5, 25],
      ],
    );
    assert.ok(Math.abs(fit.scale - 2) < 1e-12);
    assert.ok(Math.abs(fit.rotation - Math.PI / 2) < 1e-12);
    const [x, y] = applyAffine(fit.matrix, 10, 0);
    assert.ok(Math.abs(x - 5) < 1e-12 && Math.abs(y - 25) < 1e-12);
  });
});

describe('align/similarity: least squares and reflections', () => {
  const noisy = [1, 2, 3, 4, 5].map((seed) => ({ seed, amplitude: seed * 1.5 }));
  for (const { seed, amplitude } of noisy) {
    it(`noisy points (seed ${seed}, ±${amplitude} px): optimum matches the normal equations and a brute-force search`, () => {
      const r = noise(seed);
      const dst = transform(FACE, 1.3 + seed * 0.1, seed * 0.7, 20 * seed, -10 * seed).map(
        ([x, y]) => [x + amplitude * r(), y + amplitude * r()] as const,
      );
      const fit = estimateSimilarity(FACE, dst);
      const lin = linearLeastSquares(FACE, dst);
      fit.matrix.forEach((v, i) => {
        assert.ok(Math.abs(v - lin[i]!) < 1e-8 * (1 + Math.abs(v)), `entry ${i}`);
      });
      const ours = rss(fit.matrix, FACE, dst);
      const brute = bruteForceRss(FACE, dst);
      assert.ok(ours <= brute + 1e-7, `ours ${ours} brute ${brute}`);
      assert.ok(Math.abs(fit.rms - Math.sqrt(ours / FACE.length)) < 1e-9);
      // no small perturbation of the four parameters does better
      const [a, nb, tx, b, , ty] = fit.matrix;
      for (const [da, db, dx, dy] of [
        [1e-4, 0, 0, 0],
        [-1e-4, 0, 0, 0],
        [0, 1e-4, 0, 0],
        [0, -1e-4, 0, 0],
        [0, 0, 1e-3, 0],
        [0, 0, 0, -1e-3],
      ] as const) {
        const m: AffineMatrix = [a + da, nb - db, tx + dx, b + db, a + da, ty + dy];
        assert.ok(rss(m, FACE, dst) >= ours - 1e-9);
      }
    });
  }

  const mirrors: { name: string; mirror: (p: Point) => Point }[] = [
    { name: 'mirrored left–right', mirror: ([x, y]) => [200 - x, y] },
    { name: 'mirrored top–bottom', mirror: ([x, y]) => [x, 150 - y] },
    { name: 'mirrored about a diagonal', mirror: ([x, y]) => [y, x] },
  ];
  for (const m of mirrors) {
    it(`a ${m.name} point set gets a proper rotation, never a reflection`, () => {
      const dst = FACE.map(m.mirror);
      const fit = estimateSimilarity(FACE, dst);
      const [a, b, , d, e] = fit.matrix;
      assert.ok(a * e - b * d > 0, 'determinant must be positive');
      assert.equal(a, e);
      assert.equal(b, -d);
      assert.ok(fit.rms > 1, 'a reflection cannot be fitted exactly by a rotation');
      assert.ok(rss(fit.matrix, FACE, dst) <= bruteForceRss(FACE, dst) + 1e-7);
    });
  }
});

describe('align/similarity: degenerate input is rejected', () => {
  const isInvalid = (err: unknown): boolean =>
    err instanceof InvalidInputError && err.code === 'INVALID_INPUT';
  const cases: { name: string; src: unknown; dst: unknown; message: RegExp }[] = [
    { name: 'no points', src: [], dst: [], message: /at least 2 points/ },
    { name: 'one point', src: [[1, 2]], dst: [[3, 4]], message: /at least 2 points/ },
    { name: 'different lengths', src: FACE, dst: FACE.slice(0, 4), message: /5 points/ },
    {
      name: 'NaN in src',
      src: [
        [0, 0],
        [Number.NaN, 1],
      ],
      dst: [
        [0, 0],
        [1, 1],
      ],
      message: /src\[1\]/,
    },
    {
      name: 'Infinity in dst',
      src: [
        [0, 0],
        [1, 1],
      ],
      dst: [
        [0, 0],
        [Number.POSITIVE_INFINITY, 1],
      ],
      message: /dst\[1\]/,
    },
    {
      name: 'a point with 3 numbers',
      src: [
        [0, 0, 0],
        [1, 1],
      ],
      dst: [
        [0, 0],
        [1, 1],
      ],
      message: /src\[0\]/,
    },
    {
      name: 'coincident source points',
      src: [
        [5, 5],
        [5, 5],
        [5, 5],
      ],
      dst: [
        [0, 0],
        [1, 0],
        [0, 1],
      ],
      message: /source points coincide/,
    },
    {
      name: 'coincident destination points',
      src: FACE,
      dst: FACE.map(() => [7, 7]),
      message: /destination points coincide/,
    },
    {
      name: 'a mirrored symmetric set (best proper fit has zero scale)',
      src: [
        [1, 1],
        [1, -1],
        [-1, 1],
        [-1, -1],
      ],
      dst: [
        [1, -1],
        [1, 1],
        [-1, -1],
        [-1, 1],
      ],
      message: /positive scale/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => estimateSimilarity(c.src as Point[], c.dst as Point[]),
        (err: unknown) => isInvalid(err) && c.message.test((err as Error).message),
      );
    });
  }
});
