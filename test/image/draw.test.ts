import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { InvalidInputError, type RawImage } from '../../src/core/index.js';
import {
  annotateToJpeg,
  drawAnnotations,
  faceAnnotations,
  type LabelRect,
  measureLabel,
  placeLabel,
  sanitizeLabel,
} from '../../src/image/index.js';
import { meanAbsDiff, pixel } from './fixtures.js';

const GRAY = 128;

function grayImage(width: number, height: number): RawImage {
  return { data: new Uint8Array(width * height * 3).fill(GRAY), width, height, channels: 3 };
}

/** Pixels outside `rect` that differ from the gray background. */
function changedOutside(img: RawImage, rect: LabelRect): number {
  let n = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const inside = x >= rect.x && x < rect.x + rect.width && y >= rect.y && y < rect.y + rect.height;
      if (inside) continue;
      const o = (y * img.width + x) * 3;
      if (img.data[o] !== GRAY || img.data[o + 1] !== GRAY || img.data[o + 2] !== GRAY) n++;
    }
  }
  return n;
}

/** The ink (light text pixels on the black label background) inside `rect`: count and width. */
function ink(img: RawImage, rect: LabelRect): { count: number; width: number } {
  let count = 0;
  let minX = Number.POSITIVE_INFINITY;
  let maxX = -1;
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    for (let x = rect.x; x < rect.x + rect.width; x++) {
      if (img.data[(y * img.width + x) * 3]! > 60) {
        count++;
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
      }
    }
  }
  return { count, width: maxX < 0 ? 0 : maxX - minX + 1 };
}

describe('image/draw: boxes and points', () => {
  it('a box changes the pixels on its outline and not far inside or outside', async () => {
    const img = grayImage(100, 80);
    const out = await drawAnnotations(img, [
      { kind: 'box', box: [20, 10, 80, 70], color: '#ff0000', lineWidth: 2 },
    ]);
    assert.deepEqual([out.width, out.height, out.channels], [100, 80, 3]);
    for (const [x, y] of [
      [20, 40],
      [79, 40],
      [50, 10],
      [50, 69],
    ] as const) {
      const [r, g, b] = pixel(out, x, y);
      assert.ok(r! > 200 && g! < 80 && b! < 80, `outline pixel (${x}, ${y}) is red: ${pixel(out, x, y)}`);
    }
    for (const [x, y] of [
      [50, 40],
      [25, 40],
      [50, 15],
      [10, 5],
      [90, 75],
    ] as const) {
      assert.deepEqual(pixel(out, x, y), [GRAY, GRAY, GRAY], `(${x}, ${y}) untouched`);
    }
    assert.deepEqual(pixel(img, 20, 40), [GRAY, GRAY, GRAY], 'the input is not modified');
  });

  it('boxes partly or fully outside the image', async () => {
    const img = grayImage(100, 80);
    const out = await drawAnnotations(img, [
      { kind: 'box', box: [90, 70, 150, 120], color: '#ff0000' },
      { kind: 'box', box: [-50, -50, -10, -10], color: '#ff0000' },
    ]);
    assert.ok(pixel(out, 90, 75)[0]! > 200, 'the visible part of the outline is drawn');
    assert.deepEqual(pixel(out, 95, 75), [GRAY, GRAY, GRAY]);
    assert.deepEqual(pixel(out, 0, 0), [GRAY, GRAY, GRAY], 'the box outside leaves no trace');
    const none = await drawAnnotations(img, [{ kind: 'box', box: [200, 200, 300, 300] }]);
    assert.deepEqual(none.data, img.data);
  });

  it('points are drawn as dots at their centres', async () => {
    const out = await drawAnnotations(grayImage(60, 60), [
      {
        kind: 'points',
        points: [
          [10, 10],
          [40, 30],
        ],
        color: '#0000ff',
        radius: 3,
      },
    ]);
    assert.ok(pixel(out, 10, 10)[2]! > 200 && pixel(out, 40, 30)[2]! > 200);
    assert.deepEqual(pixel(out, 25, 20), [GRAY, GRAY, GRAY]);
  });

  it('faceAnnotations gives box, landmarks and a label', async () => {
    const items = faceAnnotations(
      {
        box: [10, 40, 60, 90],
        landmarks: [
          [20, 55],
          [45, 55],
          [33, 65],
          [22, 78],
          [44, 78],
        ],
      },
      'Ann',
    );
    assert.deepEqual(
      items.map((i) => i.kind),
      ['box', 'points', 'label'],
    );
    const out = await drawAnnotations(grayImage(100, 100), items);
    assert.ok(meanAbsDiff(out, grayImage(100, 100)) > 0);
  });

  it('gray and RGBA inputs are drawn on as RGB', async () => {
    const gray: RawImage = { data: new Uint8Array(30 * 20).fill(GRAY), width: 30, height: 20, channels: 1 };
    const out = await drawAnnotations(gray, [{ kind: 'box', box: [2, 2, 28, 18] }]);
    assert.equal(out.channels, 3);
    assert.deepEqual(pixel(out, 15, 10), [GRAY, GRAY, GRAY]);
  });

  it('no annotations: an unchanged copy', async () => {
    const img = grayImage(10, 10);
    const out = await drawAnnotations(img, []);
    assert.deepEqual(out.data, img.data);
    assert.notEqual(out.data, img.data);
  });

  it('bad coordinates and colours are argument errors', async () => {
    const img = grayImage(10, 10);
    await assert.rejects(
      drawAnnotations(img, [{ kind: 'box', box: [0, 0, Number.NaN, 5] }]),
      InvalidInputError,
    );
    await assert.rejects(
      drawAnnotations(img, [{ kind: 'box', box: [0, 0, 5, 5], color: 'red" onload="x' }]),
      /Expected a colour .* for box color/,
    );
    await assert.rejects(
      drawAnnotations(img, [{ kind: 'label', text: 'a', at: [0, 0], fontSize: 0 }]),
      /fontSize/,
    );
  });
});

describe('image/draw: labels', () => {
  const W = 240;
  const H = 80;
  const FONT = 32;

  async function renderLabel(text: string): Promise<{ out: RawImage; rect: LabelRect }> {
    const rect = placeLabel([10, 10], 'top-left', await measureLabel(sanitizeLabel(text), FONT), W, H);
    const out = await drawAnnotations(grayImage(W, H), [
      { kind: 'label', text, at: [10, 10], anchor: 'top-left', fontSize: FONT },
    ]);
    return { out, rect };
  }

  it('张伟 renders real glyphs inside its label rectangle, distinct from 李娜', async () => {
    const a = await renderLabel('张伟');
    const b = await renderLabel('李娜');
    assert.equal(changedOutside(a.out, a.rect), 0, 'nothing drawn outside the label rectangle');
    const inkA = ink(a.out, a.rect);
    assert.ok(inkA.count > 200, `glyph pixels inside the rectangle: ${inkA.count}`);
    // CJK glyphs are full-width: two of them span about 2 em. A missing-glyph box is narrower.
    assert.ok(inkA.width >= 1.7 * FONT, `ink width ${inkA.width} px for two CJK characters at ${FONT} px`);
    // Tofu boxes of two unrenderable characters (private use area) differ only in tiny hex
    // digits; real glyphs of different names differ far more.
    const tofu1 = await renderLabel('\uE000\uE001');
    const tofu2 = await renderLabel('\uE002\uE003');
    const names = meanAbsDiff(a.out, b.out);
    const tofus = meanAbsDiff(tofu1.out, tofu2.out);
    assert.ok(names > 4 * tofus, `张伟 vs 李娜 differ by ${names}; two tofu renderings by ${tofus}`);
  });

  it('Arabic, Hebrew and emoji labels render ink inside their rectangles', async () => {
    for (const text of ['مرحبا', 'שלום', '😀 Bob', 'Zoë Ångström']) {
      const { out, rect } = await renderLabel(text);
      assert.ok(ink(out, rect).count > 50, `${text}: ink drawn`);
      assert.equal(changedOutside(out, rect), 0, `${text}: nothing outside`);
    }
  });

  const hostile = [
    '</text><script>alert(1)</script>',
    '"/><rect width="9999" height="9999" fill="red"/><text>',
    "Tom & Jerry's <b>",
    '&amp;&lt;&#x41;&unknown;',
    ']]><![CDATA[x',
    'nul\u0000bell\u0007esc\u001b[31mdel\u007f',
    'line\nbreak\r\ttab',
    '\u202Eevil\u202C \u2066iso\u2069',
    'lone \uD800 surrogate \uDC00',
    '\uFFFE\uFFFF',
    'x'.repeat(10_000),
    '👨‍👩‍👧‍👦🏳️‍🌈',
  ];
  for (const text of hostile) {
    it(`hostile label ${JSON.stringify(text.slice(0, 40))} stays inside its rectangle`, async () => {
      const { out, rect } = await renderLabel(text);
      assert.equal(changedOutside(out, rect), 0);
      if (sanitizeLabel(text) === '')
        assert.deepEqual(out.data, grayImage(W, H).data, 'nothing left to draw');
      else assert.ok(ink(out, rect).count > 0, 'some text drawn');
    });
  }

  it('labels that would leave the image are moved inside it', async () => {
    const size = { width: 50, height: 20 };
    assert.deepEqual(placeLabel([10, 30], 'bottom-left', size, 100, 100), {
      x: 10,
      y: 10,
      width: 50,
      height: 20,
    });
    assert.deepEqual(placeLabel([10, 5], 'bottom-left', size, 100, 100), {
      x: 10,
      y: 0,
      width: 50,
      height: 20,
    });
    assert.deepEqual(placeLabel([90, 95], 'top-left', size, 100, 100), {
      x: 50,
      y: 80,
      width: 50,
      height: 20,
    });
    assert.deepEqual(placeLabel([-7, -7], 'top-left', size, 100, 100), { x: 0, y: 0, width: 50, height: 20 });
    assert.deepEqual(placeLabel([5, 5], 'top-left', size, 30, 10), { x: 0, y: 0, width: 30, height: 10 });
  });
});

describe('image/draw: sanitizeLabel', () => {
  const cases: [string, string][] = [
    ['  Anna  ', 'Anna'],
    ['a\u0000b\u0007c', 'abc'],
    ['line\nbreak\ttab', 'line break tab'],
    ['\u202Eevil', 'evil'],
    ['\u2066x\u2069', 'x'],
    ['lone \uD800 high', 'lone high'],
    ['e\u0301', 'é'],
    ['张伟', '张伟'],
    ['   ', ''],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () =>
      assert.equal(sanitizeLabel(input), expected));
  }

  it('cuts long text at a grapheme boundary with an ellipsis', () => {
    assert.equal(sanitizeLabel('abcdefgh', 5), 'abcd…');
    const family = '👨‍👩‍👧‍👦';
    assert.equal(sanitizeLabel(family.repeat(3), 2), `${family}…`);
  });
});

describe('image/draw: annotateToJpeg', () => {
  it('encodes the annotated frame', async () => {
    const jpg = await annotateToJpeg(
      grayImage(64, 48),
      [{ kind: 'box', box: [8, 8, 56, 40], color: 'lime' }],
      {
        quality: 90,
      },
    );
    const meta = await sharp(jpg).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 64, 48]);
  });
});
