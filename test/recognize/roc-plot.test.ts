import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { InvalidInputError } from '../../src/core/index.js';
import { rocCurve, tarAtFar } from '../../src/recognize/metrics.js';
import { escapeXml, rocSvg } from '../../src/recognize/roc-plot.js';

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
}

/** A realistic ROC: genuine distances around 0.4, impostors around 0.72, 3000 + 3000 pairs. */
function sampleRoc(seed: number, shift = 0) {
  const r = rng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const genuine = Array.from({ length: 3000 }, () => 0.4 + shift + 0.08 * gauss());
  const impostor = Array.from({ length: 3000 }, () => 0.72 + 0.07 * gauss());
  return rocCurve(genuine, impostor);
}

/** Checks that tags nest properly (a well-formedness check sufficient for generated SVG). */
function assertBalanced(xml: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  const body = xml.replace(/^<\?xml[^>]*\?>/, '');
  let last = 0;
  for (let m = tag.exec(body); m !== null; m = tag.exec(body)) {
    const between = body.slice(last, m.index);
    assert.ok(!/[<>]/.test(between), `stray markup before ${m[0].slice(0, 40)}: ${between.slice(0, 40)}`);
    assert.ok(!/&(?!(amp|lt|gt|quot|apos);)/.test(between), `unescaped & in ${between.slice(0, 40)}`);
    last = m.index + m[0].length;
    if (m[4] === '/') continue;
    if (m[1] === '/') assert.equal(stack.pop(), m[2], `closing </${m[2]}>`);
    else stack.push(m[2]!);
  }
  assert.equal(body.slice(last).trim(), '');
  assert.deepEqual(stack, [], 'every tag closed');
}

function attr(el: string, name: string): number {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(el);
  assert.ok(m, `attribute ${name} in ${el.slice(0, 60)}`);
  return Number(m[1]);
}

describe('recognize/roc-plot', () => {
  const roc = sampleRoc(1);
  const op = tarAtFar(roc, 1e-3);

  it('draws a well-formed SVG with the operating point inside the plot area', async () => {
    const svg = rocSvg(
      { label: 'dlib5-150-p0.25', points: roc.points },
      {
        title: 'LFW dev folds',
        accuracy: { mean: 0.9876, std: 0.0042 },
        auc: roc.auc,
        eer: 0.012,
        operatingPoint: { threshold: op.threshold, far: op.far, tar: op.tar },
      },
    );
    assert.ok(svg.startsWith('<?xml'));
    assertBalanced(svg);
    const area = /<rect id="plot-area"[^>]*>/.exec(svg)?.[0];
    assert.ok(area, 'plot area');
    const [x, y, w, h] = ['x', 'y', 'width', 'height'].map((a) => attr(area, a)) as [
      number,
      number,
      number,
      number,
    ];
    const group = /<g id="operating-point"[^>]*>([\s\S]*?)<\/g>/.exec(svg);
    assert.ok(group, 'operating point marker');
    const circle = /<circle[^>]*>/.exec(group[1]!)![0];
    const cx = attr(circle, 'cx');
    const cy = attr(circle, 'cy');
    assert.ok(cx > x && cx < x + w && cy > y && cy < y + h, `marker ${cx},${cy} inside ${x},${y},${w},${h}`);
    // the curve is a compact staircase kept near the plot area
    const poly = /<polyline[^>]*points="([^"]*)"/
      .exec(svg)![1]!
      .split(' ')
      .map((v) => v.split(',').map(Number));
    assert.ok(
      poly.length > 20 && poly.length < roc.points.length,
      `${poly.length} vertices for ${roc.points.length} points`,
    );
    for (const [px, py] of poly)
      assert.ok(px! >= x - 10 && px! <= x + w + 10 && py! >= y - 10 && py! <= y + h + 10);
    assert.match(group[1]!, /threshold [\d.]+ · FAR [\d.e-]+ · TAR \d+\.\d\d %/);
    assert.match(svg, /accuracy 98\.76 % ± 0\.42 %/);
    assert.match(svg, /AUC 0\.9\d{3}/);
    for (const label of ['0.0001', '0.001', '0.01', '0.1', '>1<', 'False accept rate', 'True accept rate']) {
      assert.ok(svg.includes(label), `axis text ${label}`);
    }

    // librsvg (through sharp) parses and renders it; the marker's centre dot is dark
    const width = 760;
    const { data, info } = await sharp(Buffer.from(svg))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.equal(info.width, width);
    assert.equal(info.height, 560);
    const o = (Math.round(cy) * info.width + Math.round(cx)) * info.channels;
    assert.ok(data[o]! < 80 && data[o + 1]! < 80 && data[o + 2]! < 80, 'marker centre rendered dark');
  });

  it('escapes text', () => {
    assert.equal(escapeXml(`a<b & "c" 'd'>`), 'a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
    const svg = rocSvg({ label: 'x & <y>', points: roc.points }, { title: 'A "title" & <more>' });
    assertBalanced(svg);
    assert.ok(svg.includes('A &quot;title&quot; &amp; &lt;more&gt;'));
    assert.ok(!svg.includes('<more>'));
    assert.ok(svg.includes('x &amp; &lt;y&gt;'));
  });

  it('pins an operating point with FAR 0 to the left edge and says so', () => {
    const svg = rocSvg(
      { label: 'a', points: roc.points },
      { operatingPoint: { threshold: 0.4, far: 0, tar: 0.9 }, farRange: [1e-3, 1] },
    );
    const area = /<rect id="plot-area"[^>]*>/.exec(svg)![0];
    const circle = /<g id="operating-point"[^>]*><circle[^>]*>/.exec(svg)![0];
    assert.equal(attr(circle, 'cx'), attr(area, 'x'));
    assert.match(svg, /FAR &lt; 0\.001/);
  });

  it('several curves get a legend entry each, and the TAR axis adapts', () => {
    const worse = sampleRoc(2, 0.15);
    const svg = rocSvg([
      { label: 'aligned', points: roc.points },
      { label: 'box crop', points: worse.points },
    ]);
    assertBalanced(svg);
    assert.equal((svg.match(/class="roc-curve"/g) ?? []).length, 2);
    assert.ok(/<g id="legend">[\s\S]*aligned[\s\S]*box crop[\s\S]*<\/g>/.test(svg));
    // the worse curve starts far below 80 %: the axis goes lower than the default 0.8
    const lowest = Math.min(...[...svg.matchAll(/>(\d+) %</g)].map((m) => Number(m[1])));
    assert.ok(lowest < 80, `lowest TAR tick ${lowest} %`);
  });

  it('rejects bad ranges and an empty list', () => {
    assert.throws(() => rocSvg([]), InvalidInputError);
    assert.throws(() => rocSvg({ label: 'a', points: roc.points }, { farRange: [0, 1] }), InvalidInputError);
    assert.throws(
      () => rocSvg({ label: 'a', points: roc.points }, { tarRange: [0.9, 0.8] }),
      InvalidInputError,
    );
    assert.throws(() => rocSvg({ label: 'a', points: roc.points }, { width: 10 }), InvalidInputError);
  });
});
