import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RawImage } from '../../src/core/index.js';
import {
  AreaResampler,
  areaAxis,
  cropResizeToPlanar,
  planResizeArea,
  resizeArea,
  resizeAreaToPlanar,
  roundHalfEven,
} from '../../src/image/resample.js';

/** A 1-channel image from rows of values. */
function gray(rows: number[][]): RawImage {
  const height = rows.length;
  const width = rows[0]!.length;
  return { data: Uint8Array.from(rows.flat()), width, height, channels: 1 };
}

/** The same values in all three channels. */
function rgbOf(img: RawImage): RawImage {
  const data = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) data.fill(img.data[i]!, i * 3, i * 3 + 3);
  return { data, width: img.width, height: img.height, channels: 3 };
}

function rowsOf(img: RawImage): number[][] {
  const out: number[][] = [];
  for (let y = 0; y < img.height; y++) out.push([...img.data.subarray(y * img.width, (y + 1) * img.width)]);
  return out;
}

/** Un-normalize channel 0 of a planar transposed slot back to rows [y][x]. */
function planarRows(data: Float32Array, width: number, height: number, transposed: boolean): number[][] {
  const out: number[][] = [];
  for (let y = 0; y < height; y++) {
    const row: number[] = [];
    for (let x = 0; x < width; x++) row.push(data[transposed ? x * height + y : y * width + x]!);
    out.push(row);
  }
  return out;
}

describe('image/resample: plans follow OpenCV INTER_AREA', () => {
  const cases: { src: [number, number]; dst: [number, number]; kind: string; k?: [number, number] }[] = [
    { src: [4, 4], dst: [4, 4], kind: 'fast', k: [1, 1] },
    { src: [4, 4], dst: [2, 2], kind: 'fast', k: [2, 2] },
    { src: [6, 4], dst: [3, 4], kind: 'fast', k: [2, 1] },
    { src: [72, 72], dst: [24, 24], kind: 'fast', k: [3, 3] },
    { src: [4, 4], dst: [3, 3], kind: 'area' },
    { src: [150, 150], dst: [90, 90], kind: 'area' },
    { src: [3, 3], dst: [6, 6], kind: 'linear' },
    { src: [10, 3], dst: [5, 6], kind: 'linear' }, // one axis grows: linear on both
  ];
  for (const c of cases) {
    it(`${c.src.join('×')} → ${c.dst.join('×')} is ${c.kind}`, () => {
      const p = planResizeArea(c.src[0], c.src[1], c.dst[0], c.dst[1]);
      assert.equal(p.kind, c.kind);
      if (p.kind === 'fast' && c.k) assert.deepEqual([p.kx, p.ky], c.k);
    });
  }

  it('rejects non-integer and zero sizes', () => {
    assert.throws(() => planResizeArea(0, 4, 2, 2), /Expected an integer ≥ 1 for srcWidth but received 0/);
    assert.throws(() => planResizeArea(4, 4, 2.5, 2), /for width but received 2.5/);
  });

  it('area taps for 4 → 3: cells of 4/3 pixel weighted by coverage', () => {
    // dx 0 covers [0, 4/3): 1 of pixel 0 and 1/3 of pixel 1, over a cell of 4/3.
    const t = areaAxis(4, 3, 4 / 3);
    assert.deepEqual([...t.di], [0, 0, 1, 1, 2, 2]);
    assert.deepEqual([...t.si], [0, 1, 1, 2, 2, 3]);
    const expected = [0.75, 0.25, 0.5, 0.5, 0.25, 0.75];
    for (const [i, a] of t.alpha.entries()) assert.ok(Math.abs(a - expected[i]!) < 1e-6, `tap ${i}: ${a}`);
  });

  it('area taps for 5 → 3 (a ceil-sized pyramid level)', () => {
    const t = areaAxis(5, 3, 5 / 3);
    assert.deepEqual([...t.si], [0, 1, 1, 2, 3, 3, 4]);
    const expected = [0.6, 0.4, 0.2, 0.6, 0.2, 0.4, 0.6];
    for (const [i, a] of t.alpha.entries()) assert.ok(Math.abs(a - expected[i]!) < 1e-6, `tap ${i}: ${a}`);
  });
});

describe('image/resample: 8-bit results (hand-computed from OpenCV’s algorithm)', () => {
  const cases: { name: string; src: number[][]; w: number; h: number; want: number[][] }[] = [
    {
      name: '2×2 → 1×1 mean',
      src: [
        [0, 255],
        [255, 255],
      ],
      w: 1,
      h: 1,
      want: [[191]],
    },
    // 2×2 blocks round half up: (1 + 0 + 0 + 1 + 2) >> 2 = 1, not 0.5 → 0.
    {
      name: '2×2 → 1×1 rounds .5 up',
      src: [
        [1, 0],
        [0, 1],
      ],
      w: 1,
      h: 1,
      want: [[1]],
    },
    // Other integer blocks round half to even: 8/16 = 0.5 → 0, 24/16 = 1.5 → 2.
    {
      name: '4×4 → 1×1 rounds .5 to even (0)',
      src: [
        [4, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 4, 0],
        [0, 0, 0, 0],
      ],
      w: 1,
      h: 1,
      want: [[0]],
    },
    {
      name: '4×4 → 1×1 rounds 1.5 to even (2)',
      src: [
        [12, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 12, 0],
        [0, 0, 0, 0],
      ],
      w: 1,
      h: 1,
      want: [[2]],
    },
    {
      name: '4×4 → 3×3 linear ramp (weights .75/.25, .5/.5, .25/.75)',
      src: [
        [0, 40, 80, 120],
        [40, 80, 120, 160],
        [80, 120, 160, 200],
        [120, 160, 200, 240],
      ],
      w: 3,
      h: 3,
      want: [
        [20, 70, 120],
        [70, 120, 170],
        [120, 170, 220],
      ],
    },
    // Pixel (1,1) = 2 reaches dst (1,1) with weight .5 · .5: 0.5 → 0 (half to even).
    {
      name: '4×4 → 3×3 rounds 0.5 to even',
      src: [
        [0, 0, 0, 0],
        [0, 2, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ],
      w: 3,
      h: 3,
      want: [
        [0, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
      ],
    },
    // Value 10: dst(0,0) 10·.25·.25 = 0.625 → 1; dst(0,1), dst(1,0) 10·.25·.5 = 1.25 → 1; dst(1,1) 2.5 → 2.
    {
      name: '4×4 → 3×3 rounds 2.5 to even',
      src: [
        [0, 0, 0, 0],
        [0, 10, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ],
      w: 3,
      h: 3,
      want: [
        [1, 1, 0],
        [1, 2, 0],
        [0, 0, 0],
      ],
    },
    // Integer upscaling in INTER_AREA mode replicates pixels (the area phase puts f = 0).
    {
      name: '3×3 → 6×6 replicates',
      src: [
        [10, 20, 30],
        [40, 50, 60],
        [70, 80, 90],
      ],
      w: 6,
      h: 6,
      want: [
        [10, 10, 20, 20, 30, 30],
        [10, 10, 20, 20, 30, 30],
        [40, 40, 50, 50, 60, 60],
        [40, 40, 50, 50, 60, 60],
        [70, 70, 80, 80, 90, 90],
        [70, 70, 80, 80, 90, 90],
      ],
    },
    // 2 → 3: d1 has s = 0, f = 2 − 1.5 = 0.5; d2 is past the edge and reads the last pixel.
    // Fixed point: (((2048 · ((3·1024) >> 4)) >> 16) + 2) >> 2 = 2 (1.5 → 2), and 0.5 → 1.
    { name: '2×1 → 3×1 halfway pixel, 1.5 → 2', src: [[0, 3]], w: 3, h: 1, want: [[0, 2, 3]] },
    { name: '2×1 → 3×1 halfway pixel, 0.5 → 1', src: [[0, 1]], w: 3, h: 1, want: [[0, 1, 1]] },
    // 1×1 → 2×3: every output pixel is the one input pixel.
    {
      name: '1×1 → 2×3',
      src: [[77]],
      w: 2,
      h: 3,
      want: [
        [77, 77],
        [77, 77],
        [77, 77],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(rowsOf(resizeArea(gray(c.src), c.w, c.h)), c.want);
      // RGB goes through the 3-channel paths: every channel gives the same answer.
      const rgb = resizeArea(rgbOf(gray(c.src)), c.w, c.h);
      for (let i = 0; i < c.w * c.h; i++) {
        assert.equal(rgb.data[i * 3], c.want[Math.floor(i / c.w)]![i % c.w]);
        assert.equal(rgb.data[i * 3 + 2], rgb.data[i * 3]);
      }
    });
  }

  it('a plan for other sizes is refused', () => {
    const img = gray([
      [1, 2],
      [3, 4],
    ]);
    assert.throws(() => resizeArea(img, 1, 1, planResizeArea(4, 4, 1, 1)), /Expected a plan for 2×2 → 1×1/);
  });
});

describe('image/resample: planar tensor output', () => {
  const img = rgbOf(
    gray([
      [0, 40, 80, 120],
      [40, 80, 120, 160],
      [80, 120, 160, 200],
      [120, 160, 200, 240],
    ]),
  );

  it('resizeAreaToPlanar equals resizeArea, normalized and transposed, at the slot offset', () => {
    const n = 3 * 3 * 3;
    const data = new Float32Array(5 + n).fill(9);
    resizeAreaToPlanar(img, 3, 3, { data, offset: 5, mean: 127.5, scale: 0.0078125, transposed: true });
    assert.deepEqual([...data.subarray(0, 5)], [9, 9, 9, 9, 9]);
    const ref = resizeArea(img, 3, 3);
    for (let c = 0; c < 3; c++) {
      const plane = planarRows(data.subarray(5 + c * 9), 3, 3, true);
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 3; x++) {
          assert.equal(plane[y]![x], (ref.data[(y * 3 + x) * 3 + c]! - 127.5) * 0.0078125);
        }
      }
    }
  });

  it('refuses a slot that does not fit', () => {
    const data = new Float32Array(20);
    assert.throws(
      () => resizeAreaToPlanar(img, 3, 3, { data, offset: 0, mean: 0, scale: 1, transposed: false }),
      /Expected an offset with 27 elements free/,
    );
  });

  it('crops are not rounded: 2×1 → 3×1 gives the exact halfway value', () => {
    const src = rgbOf(gray([[0, 3]]));
    const data = new Float32Array(9);
    cropResizeToPlanar(src, 0, 0, 2, 1, 3, 1, { data, offset: 0, mean: 0, scale: 1, transposed: false });
    assert.deepEqual([...data.subarray(0, 3)], [0, 1.5, 3]);
  });

  it('crops average 4×4 → 3×3 without rounding', () => {
    const src = rgbOf(
      gray([
        [0, 0, 0, 0],
        [0, 2, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ]),
    );
    const data = new Float32Array(27);
    cropResizeToPlanar(src, 0, 0, 4, 4, 3, 3, { data, offset: 0, mean: 0, scale: 1, transposed: false });
    assert.deepEqual(planarRows(data, 3, 3, false), [
      [0.125, 0.25, 0],
      [0.25, 0.5, 0],
      [0, 0, 0],
    ]);
  });

  const src3 = rgbOf(
    gray([
      [10, 20, 30],
      [40, 50, 60],
      [70, 80, 90],
    ]),
  );
  const cropCases: { name: string; left: number; top: number; w: number; h: number; want: number[][] }[] = [
    {
      name: 'inside',
      left: 1,
      top: 1,
      w: 2,
      h: 2,
      want: [
        [50, 60],
        [80, 90],
      ],
    },
    {
      name: 'past the top-left corner (zero padding)',
      left: -1,
      top: -1,
      w: 2,
      h: 2,
      want: [
        [0, 0],
        [0, 10],
      ],
    },
    {
      name: 'past the bottom-right corner',
      left: 2,
      top: 2,
      w: 2,
      h: 2,
      want: [
        [90, 0],
        [0, 0],
      ],
    },
    { name: 'wider than the image', left: -1, top: 0, w: 5, h: 1, want: [[0, 10, 20, 30, 0]] },
    {
      name: 'wholly outside',
      left: 5,
      top: -4,
      w: 2,
      h: 2,
      want: [
        [0, 0],
        [0, 0],
      ],
    },
    { name: 'one pixel', left: 2, top: 0, w: 1, h: 1, want: [[30]] },
  ];
  for (const c of cropCases) {
    it(`crop ${c.name}`, () => {
      const data = new Float32Array(3 * c.w * c.h);
      cropResizeToPlanar(src3, c.left, c.top, c.w, c.h, c.w, c.h, {
        data,
        offset: 0,
        mean: 0,
        scale: 1,
        transposed: true,
      });
      assert.deepEqual(planarRows(data, c.w, c.h, true), c.want);
    });
  }

  it('a one-pixel crop resampled to 24×24 fills the slot with that pixel, normalized', () => {
    const data = new Float32Array(3 * 24 * 24);
    cropResizeToPlanar(src3, 1, 1, 1, 1, 24, 24, {
      data,
      offset: 0,
      mean: 127.5,
      scale: 0.0078125,
      transposed: true,
    });
    assert.ok(data.every((v) => v === (50 - 127.5) * 0.0078125));
  });

  it('rejects fractional crop positions', () => {
    const data = new Float32Array(12);
    const t = { data, offset: 0, mean: 0, scale: 1, transposed: true };
    assert.throws(() => cropResizeToPlanar(src3, 0.5, 0, 2, 2, 2, 2, t), /Expected an integer for left/);
  });
});

describe('image/resample: roundHalfEven', () => {
  const cases: [number, number][] = [
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [2.4999, 2],
    [2.5001, 3],
    [3, 3],
    [254.5, 254],
    [255.5, 256],
  ];
  for (const [v, want] of cases) it(`${v} → ${want}`, () => assert.equal(roundHalfEven(v), want));
});

describe('image/resample: AreaResampler (WebAssembly SIMD) equals the TypeScript paths bit for bit', () => {
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const W = 157;
  const H = 113;
  const img: RawImage = {
    data: Uint8Array.from({ length: W * H * 3 }, () => Math.floor(rnd() * 256)),
    width: W,
    height: H,
    channels: 3,
  };
  const norm = { mean: 127.5, scale: 0.0078125 };

  it('uses WebAssembly here', () => {
    assert.equal(new AreaResampler().accelerated, true);
    assert.equal(new AreaResampler(false).accelerated, false);
  });

  const levels: [number, number, boolean][] = [
    [94, 68, true], // a pyramid level (area)
    [64, 50, false],
    [12, 12, true],
    [156, 112, true], // just below the source size
    [157, 113, true], // same size (fast path)
    [50, 113, false], // one axis unchanged
    [200, 150, true], // upscaling (linear path)
  ];
  for (const [w, h, transposed] of levels) {
    it(`level ${w}×${h}${transposed ? ' transposed' : ''}`, () => {
      const want = new Float32Array(3 * w * h);
      resizeAreaToPlanar(img, w, h, { data: want, offset: 0, ...norm, transposed });
      const r = new AreaResampler();
      r.load(img);
      const got = new Float32Array(3 * w * h + 7);
      r.levelToPlanar(w, h, { data: got, offset: 7, ...norm, transposed });
      assert.deepEqual(got.subarray(7), want);
    });
  }

  it('300 random crops (inside, across and outside the edges; shrinking and growing) to 24 and 48', () => {
    const r = new AreaResampler();
    r.load(img);
    let differing = 0;
    for (let t = 0; t < 300; t++) {
      const cw = 1 + Math.floor(rnd() * 120);
      const ch = 1 + Math.floor(rnd() * 120);
      const left = Math.floor(rnd() * 200) - 60;
      const top = Math.floor(rnd() * 160) - 40;
      const s = rnd() < 0.5 ? 24 : 48;
      const want = new Float32Array(3 * s * s);
      const got = new Float32Array(3 * s * s);
      cropResizeToPlanar(img, left, top, cw, ch, s, s, { data: want, offset: 0, ...norm, transposed: true });
      r.cropToPlanar(left, top, cw, ch, s, s, { data: got, offset: 0, ...norm, transposed: true });
      if (!want.every((v, i) => v === got[i])) differing++;
    }
    assert.equal(differing, 0);
  });

  it('integer-ratio crops (fast plans: same size, 2×, 3×2, 4×) inside and across the edges', () => {
    const r = new AreaResampler();
    r.load(img);
    const cases: [number, number, number, number, number][] = [
      // left, top, crop width, crop height, output side
      [10, 10, 24, 24, 24],
      [-5, 100, 24, 24, 24],
      [20, 30, 48, 48, 24],
      [140, -20, 72, 48, 24],
      [0, 0, 96, 96, 24],
      [-30, -30, 192, 192, 48],
      [60, 50, 48, 48, 48],
    ];
    for (const [left, top, cw, ch, s] of cases) {
      assert.equal(planResizeArea(cw, ch, s, s).kind, 'fast');
      const want = new Float32Array(3 * s * s);
      const got = new Float32Array(3 * s * s);
      cropResizeToPlanar(img, left, top, cw, ch, s, s, { data: want, offset: 0, ...norm, transposed: true });
      r.cropToPlanar(left, top, cw, ch, s, s, { data: got, offset: 0, ...norm, transposed: true });
      assert.deepEqual(got, want, `${cw}×${ch} at ${left},${top} → ${s}`);
    }
  });

  it('a later load replaces the image; changing the caller’s array after load changes nothing', () => {
    const r = new AreaResampler();
    const a = { ...img, data: img.data.slice() };
    r.load(a);
    const first = new Float32Array(3 * 10 * 10);
    r.levelToPlanar(10, 10, { data: first, offset: 0, ...norm, transposed: false });
    a.data.fill(0);
    const again = new Float32Array(3 * 10 * 10);
    r.levelToPlanar(10, 10, { data: again, offset: 0, ...norm, transposed: false });
    assert.deepEqual(again, first);
    r.load(a);
    r.levelToPlanar(10, 10, { data: again, offset: 0, ...norm, transposed: false });
    assert.ok(again.every((v) => v === -127.5 * 0.0078125));
  });

  it('refuses to run before load', () => {
    assert.throws(
      () =>
        new AreaResampler().levelToPlanar(2, 2, {
          data: new Float32Array(12),
          offset: 0,
          ...norm,
          transposed: false,
        }),
      /no image loaded/,
    );
  });
});
