import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Box, Landmarks5 } from '../../src/core/index.js';
import {
  bbreg,
  clipBox,
  cropWindow,
  fixBox,
  iou,
  type NmsMethod,
  nms,
  overlap,
  regressPNet,
  rerec,
} from '../../src/detect/boxes.js';
import { voteLandmarks } from '../../src/detect/mtcnn.js';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} ≠ ${b}`);

describe('detect/boxes: overlap (facenet inclusive areas)', () => {
  const cases: { name: string; a: Box; b: Box; union: number; min: number }[] = [
    { name: 'identical', a: [0, 0, 9, 9], b: [0, 0, 9, 9], union: 1, min: 1 },
    { name: 'half shifted', a: [0, 0, 9, 9], b: [5, 0, 14, 9], union: 50 / 150, min: 0.5 },
    { name: 'disjoint', a: [0, 0, 9, 9], b: [20, 20, 29, 29], union: 0, min: 0 },
    { name: 'adjacent (no shared pixel)', a: [0, 0, 9, 9], b: [10, 0, 19, 9], union: 0, min: 0 },
    { name: 'one shared column', a: [0, 0, 9, 9], b: [9, 0, 18, 9], union: 10 / 190, min: 0.1 },
    { name: 'one-pixel box inside', a: [5, 5, 5, 5], b: [0, 0, 9, 9], union: 0.01, min: 1 },
    { name: 'beyond the border', a: [-10, -10, -1, -1], b: [-5, -10, 4, -1], union: 50 / 150, min: 0.5 },
    { name: 'empty box (x2 < x1)', a: [5, 5, 3, 9], b: [0, 0, 9, 9], union: 0, min: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      close(overlap(c.a, c.b, 'union'), c.union);
      close(overlap(c.b, c.a, 'union'), c.union);
      close(overlap(c.a, c.b, 'min'), c.min);
    });
  }
});

describe('detect/boxes: iou (continuous areas)', () => {
  const cases: { a: Box; b: Box; want: number }[] = [
    { a: [0, 0, 10, 10], b: [0, 0, 10, 10], want: 1 },
    { a: [0, 0, 10, 10], b: [5, 0, 15, 10], want: 50 / 150 },
    { a: [0, 0, 10, 10], b: [10, 0, 20, 10], want: 0 },
    { a: [5, 5, 5, 5], b: [0, 0, 10, 10], want: 0 },
    { a: [5, 5, 5, 5], b: [5, 5, 5, 5], want: 0 },
  ];
  for (const c of cases) it(`${c.a} vs ${c.b}`, () => close(iou(c.a, c.b), c.want));
});

describe('detect/boxes: nms', () => {
  const cases: {
    name: string;
    boxes: Box[];
    scores: number[];
    t: number;
    method: NmsMethod;
    want: number[];
  }[] = [
    { name: 'empty input', boxes: [], scores: [], t: 0.5, method: 'union', want: [] },
    { name: 'a single candidate', boxes: [[0, 0, 9, 9]], scores: [0.1], t: 0.5, method: 'union', want: [0] },
    {
      name: 'the lower of two overlapping boxes goes',
      boxes: [
        [0, 0, 9, 9],
        [1, 1, 10, 10],
      ],
      scores: [0.8, 0.9],
      t: 0.5,
      method: 'union',
      want: [1],
    },
    {
      name: 'overlap equal to the threshold survives (o ≤ t kept)',
      boxes: [
        [0, 0, 9, 9],
        [5, 0, 14, 9],
      ],
      scores: [0.8, 0.9],
      t: 50 / 150,
      method: 'union',
      want: [1, 0],
    },
    {
      name: 'Union keeps a small box inside a big one',
      boxes: [
        [0, 0, 99, 99],
        [10, 10, 19, 19],
      ],
      scores: [0.9, 0.95],
      t: 0.7,
      method: 'union',
      want: [1, 0],
    },
    {
      name: 'Min drops the big box around a better small one',
      boxes: [
        [0, 0, 99, 99],
        [10, 10, 19, 19],
      ],
      scores: [0.9, 0.95],
      t: 0.7,
      method: 'min',
      want: [1],
    },
    {
      name: 'a suppressed box suppresses nothing',
      boxes: [
        [0, 0, 9, 9],
        [4, 0, 13, 9],
        [8, 0, 17, 9],
      ],
      scores: [0.9, 0.8, 0.7],
      t: 0.4,
      method: 'union',
      want: [0, 2],
    },
    {
      name: 'equal scores: the larger index first',
      boxes: [
        [0, 0, 9, 9],
        [1, 0, 10, 9],
      ],
      scores: [0.5, 0.5],
      t: 0.5,
      method: 'union',
      want: [1],
    },
    {
      name: 'equal scores that are not float32 values: the same order',
      boxes: [
        [0, 0, 9, 9],
        [1, 0, 10, 9],
        [40, 40, 49, 49],
      ],
      scores: [0.3, 0.3, 0.1],
      t: 0.5,
      method: 'union',
      want: [1, 2],
    },
    {
      name: 'zero-area boxes',
      boxes: [
        [3, 3, 3, 3],
        [3, 3, 3, 3],
        [8, 8, 8, 8],
      ],
      scores: [0.2, 0.3, 0.1],
      t: 0.5,
      method: 'union',
      want: [1, 2],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(nms(c.boxes, c.scores, c.t, c.method), c.want));

  // facenet's greedy loop written plainly on overlap(): the optimized nms must agree exactly.
  const plainNms = (boxes: Box[], scores: number[], t: number, method: NmsMethod): number[] => {
    const order = boxes.map((_, i) => i).sort((i, j) => scores[j]! - scores[i]! || j - i);
    const keep: number[] = [];
    const gone = new Set<number>();
    for (const [k, i] of order.entries()) {
      if (gone.has(i)) continue;
      keep.push(i);
      for (const j of order.slice(k + 1)) if (overlap(boxes[i]!, boxes[j]!, method) > t) gone.add(j);
    }
    return keep;
  };
  for (const method of ['union', 'min'] as const) {
    it(`agrees with a plain greedy loop on 300 clustered boxes (${method}, thresholds 0–1)`, () => {
      let seed = 7;
      const rnd = () => {
        seed = (seed * 16807) % 2147483647;
        return seed / 2147483647;
      };
      const boxes: Box[] = [];
      const scores: number[] = [];
      for (let i = 0; i < 300; i++) {
        const x = Math.floor(rnd() * 200);
        const y = Math.floor(rnd() * 150);
        const s = 1 + rnd() * 40;
        boxes.push([x, y, x + s, y + s * (0.5 + rnd())]);
        scores.push(Math.fround(Math.floor(rnd() * 50) / 50));
      }
      for (const t of [0, 0.3, 0.5, 0.7, 1]) {
        assert.deepEqual(nms(boxes, scores, t, method), plainNms(boxes, scores, t, method), `threshold ${t}`);
      }
    });
  }
});

describe('detect/boxes: regression, squaring, truncation', () => {
  it('P-Net regression uses x2 − x1 as the width', () => {
    assert.deepEqual(regressPNet([10, 20, 30, 60], [0.1, -0.1, 0.2, 0.05]), [12, 16, 34, 62]);
  });
  it('bbreg uses x2 − x1 + 1', () => {
    const b = bbreg([10, 20, 30, 60], [0.1, -0.1, 0.2, 0.05]);
    for (const [i, v] of [12.1, 15.9, 34.2, 62.05].entries()) close(b[i]!, v, 1e-9);
  });
  it('zero regression leaves the box', () => {
    assert.deepEqual(regressPNet([1, 2, 3, 4], [0, 0, 0, 0]), [1, 2, 3, 4]);
    assert.deepEqual(bbreg([1, 2, 3, 4], [0, 0, 0, 0]), [1, 2, 3, 4]);
  });

  const squares: { name: string; box: Box; want: Box }[] = [
    { name: 'tall box widens about its centre', box: [0, 0, 10, 20], want: [-5, 0, 15, 20] },
    { name: 'wide box grows taller', box: [0, 0, 40, 10], want: [0, -15, 40, 25] },
    { name: 'square unchanged', box: [3, 4, 13, 14], want: [3, 4, 13, 14] },
    { name: 'zero-area box unchanged', box: [5, 5, 5, 5], want: [5, 5, 5, 5] },
    { name: 'at the border may leave the image', box: [0, 0, 2, 8], want: [-3, 0, 5, 8] },
  ];
  for (const c of squares) it(`rerec: ${c.name}`, () => assert.deepEqual(rerec(c.box), c.want));

  it('fixBox truncates toward zero', () => {
    assert.deepEqual(fixBox([1.9, -1.5, 2.5, 7]), [1, -1, 2, 7]);
  });
});

describe('detect/boxes: cropWindow (facenet pad, 0-based)', () => {
  const W = 100;
  const H = 80;
  const cases: {
    name: string;
    box: Box;
    want: {
      left: number;
      top: number;
      width: number;
      height: number;
      x: [number, number];
      y: [number, number];
      dst: [number, number];
    };
  }[] = [
    {
      name: 'inside: box pixel x1 is source column x1 − 1',
      box: [11, 21, 30, 40],
      want: { left: 10, top: 20, width: 20, height: 20, x: [10, 30], y: [20, 40], dst: [0, 0] },
    },
    {
      name: 'the whole image',
      box: [1, 1, 100, 80],
      want: { left: 0, top: 0, width: 100, height: 80, x: [0, 100], y: [0, 80], dst: [0, 0] },
    },
    {
      name: 'past the left and top edges',
      box: [-4, -1, 5, 8],
      want: { left: -5, top: -2, width: 10, height: 10, x: [0, 5], y: [0, 8], dst: [5, 2] },
    },
    {
      name: 'past the right and bottom edges',
      box: [95, 75, 104, 84],
      want: { left: 94, top: 74, width: 10, height: 10, x: [94, 100], y: [74, 80], dst: [0, 0] },
    },
    {
      name: 'wholly outside',
      box: [200, 1, 209, 10],
      want: { left: 199, top: 0, width: 10, height: 10, x: [100, 100], y: [0, 10], dst: [-99, 0] },
    },
    {
      name: 'one pixel',
      box: [5, 5, 5, 5],
      want: { left: 4, top: 4, width: 1, height: 1, x: [4, 5], y: [4, 5], dst: [0, 0] },
    },
    {
      name: 'zero width (x2 < x1)',
      box: [5, 5, 4, 9],
      want: { left: 4, top: 4, width: 0, height: 5, x: [4, 4], y: [4, 9], dst: [0, 0] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const w = cropWindow(c.box, W, H);
      assert.deepEqual(
        {
          left: w.left,
          top: w.top,
          width: w.width,
          height: w.height,
          x: [w.srcX0, w.srcX1],
          y: [w.srcY0, w.srcY1],
          dst: [w.dstX0, w.dstY0],
        },
        c.want,
      );
    });
  }
});

describe('detect/boxes: clipBox', () => {
  const cases: { box: Box; want: Box }[] = [
    { box: [-5.5, -3, 120, 70], want: [0, 0, 100, 70] },
    { box: [10, 10, 20, 20], want: [10, 10, 20, 20] },
    { box: [150, 10, 160, 20], want: [100, 10, 100, 20] },
    { box: [-20, -20, -10, -10], want: [0, 0, 0, 0] },
  ];
  for (const c of cases) it(`${c.box}`, () => assert.deepEqual(clipBox(c.box, 100, 80), c.want));
});

describe('detect/mtcnn: voteLandmarks', () => {
  const lm = (x: number, y: number): Landmarks5 => [
    [x, y],
    [x + 10, y],
    [x + 5, y + 5],
    [x + 1, y + 10],
    [x + 9, y + 10],
  ];
  const cases: { name: string; cands: { box: Box; landmarks: Landmarks5 }[]; want: Landmarks5 }[] = [
    {
      name: 'one candidate: its own landmarks',
      cands: [{ box: [0, 0, 20, 20], landmarks: lm(2, 3) }],
      want: lm(2, 3),
    },
    {
      name: 'two merged candidates: the mean',
      cands: [
        { box: [0, 0, 20, 20], landmarks: lm(2, 3) },
        { box: [1, 1, 21, 21], landmarks: lm(4, 5) },
      ],
      want: lm(3, 4),
    },
    {
      name: 'a distant candidate is ignored',
      cands: [
        { box: [0, 0, 20, 20], landmarks: lm(2, 3) },
        { box: [100, 100, 120, 120], landmarks: lm(104, 105) },
      ],
      want: lm(2, 3),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = voteLandmarks(c.cands[0]!.box, c.cands);
      got.forEach((p, k) => {
        assert.ok(
          Math.abs(p[0] - c.want[k]![0]) < 1e-9 && Math.abs(p[1] - c.want[k]![1]) < 1e-9,
          `point ${k}`,
        );
      });
    });
  }
});
