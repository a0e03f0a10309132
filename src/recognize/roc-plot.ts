/**
 * A ROC curve as a standalone SVG document: false accept rate on a log axis, true accept rate
 * on a linear axis, grid, axis titles, the chosen operating point marked and labelled, and a
 * legend. Pure string generation; every text is XML-escaped.
 */

import { InvalidInputError } from '../core/index.js';
import type { RocPoint } from './metrics.js';

/** One curve to draw. */
export interface RocSeries {
  /** Legend label, e.g. `dlib5-150-p0.25`. */
  readonly label: string;
  /** ROC points by increasing threshold (as `rocCurve(...).points`). */
  readonly points: readonly RocPoint[];
}

/** The operating point to mark: the threshold in use and the rates it gives. */
export interface OperatingPoint {
  /** The distance threshold (accept when `distance ≤ threshold`). */
  readonly threshold: number;
  /** FAR at the threshold, [0, 1]. */
  readonly far: number;
  /** TAR at the threshold, [0, 1]. */
  readonly tar: number;
}

/** Options of {@link rocSvg}. */
export interface RocPlotOptions {
  /** Main title. Default `ROC`. */
  readonly title?: string;
  /** Accuracy to print under the title: mean and standard deviation over folds, fractions. */
  readonly accuracy?: { readonly mean: number; readonly std: number };
  /** Area under the curve to print under the title, [0, 1]. */
  readonly auc?: number;
  /** Equal error rate to print under the title, [0, 1]. */
  readonly eer?: number;
  /** The operating point to mark on the (first) curve. */
  readonly operatingPoint?: OperatingPoint;
  /** Image width in px, 320 … 4000. Default 760. */
  readonly width?: number;
  /** Image height in px, 240 … 4000. Default 560. */
  readonly height?: number;
  /** FAR axis range `[min, max]`, 0 < min < max ≤ 1, log scale. Default `[1e-4, 1]`. */
  readonly farRange?: readonly [number, number];
  /**
   * TAR axis range `[min, max]` within [0, 1], or `auto` (default): from the TAR at the left
   * edge, rounded down to 0.05, but never above 0.8, up to 1.
   */
  readonly tarRange?: readonly [number, number] | 'auto';
}

const COLORS = ['#1f63b4', '#c8372d', '#2a9a3a', '#8a4fbf', '#e07b12', '#6b4f3a'];
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** Escapes `&`, `<`, `>`, `"` and `'` for XML text and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/** Rounds for SVG coordinates (0.01 px). */
function n(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function pct(v: number, digits = 2): string {
  return `${(v * 100).toFixed(digits)} %`;
}

/** A FAR for labels: `0.001`, `0.0123`, `1e-5`. */
function farLabel(v: number): string {
  if (v === 0) return '0';
  if (v >= 1e-4) return String(Number(v.toPrecision(3)));
  return v.toExponential(1);
}

/**
 * Screen vertices of a ROC drawn as a staircase (the TAR reachable at each FAR: flat until the
 * next threshold adds false accepts, then up), clamped just outside the plot area, with
 * collinear and sub-pixel vertices merged so that thousands of points stay a small path.
 */
function staircase(
  points: readonly RocPoint[],
  xOf: (far: number) => number,
  yOf: (tar: number) => number,
  b: { x0: number; x1: number; y0: number; y1: number },
): [number, number][] {
  const clampX = (v: number): number => Math.min(b.x1, Math.max(b.x0, v));
  const clampY = (v: number): number => Math.min(b.y1, Math.max(b.y0, v));
  const out: [number, number][] = [];
  const add = (x: number, y: number): void => {
    const last = out[out.length - 1];
    const prev = out[out.length - 2];
    if (last && Math.abs(last[0] - x) < 0.25 && Math.abs(last[1] - y) < 0.25) return;
    // extend a horizontal or vertical run instead of adding a vertex in the middle of it
    if (last && prev && ((prev[0] === last[0] && last[0] === x) || (prev[1] === last[1] && last[1] === y))) {
      last[0] = x;
      last[1] = y;
      return;
    }
    out.push([x, y]);
  };
  let prevY: number | undefined;
  for (const p of points) {
    if (!Number.isFinite(p.far) || !Number.isFinite(p.tar)) continue;
    const x = clampX(xOf(p.far));
    const y = clampY(yOf(p.tar));
    if (prevY !== undefined) add(x, prevY);
    add(x, y);
    prevY = y;
  }
  return out;
}

/** The TAR reached at FAR ≤ `far` on a curve (0 when none). */
function tarAtOrBelow(points: readonly RocPoint[], far: number): number {
  let t = 0;
  for (const p of points) if (p.far <= far) t = Math.max(t, p.tar);
  return t;
}

/**
 * Renders ROC curves as an SVG document (a string starting with `<?xml`). The plot area is the
 * `<rect id="plot-area">`; the operating point, when given, is the `<g id="operating-point">`
 * marker (a circle with its label), drawn inside the plot area even when its FAR is 0 or below
 * the axis (it is then pinned to the left edge and the label says so).
 *
 * @param series - one curve or several (the first one carries the operating point).
 * @example
 * const svg = rocSvg({ label: 'dlib5-150-p0.25', points: roc.points },
 *   { accuracy: { mean: 0.988, std: 0.004 }, auc: roc.auc, operatingPoint: { threshold, far, tar } });
 */
export function rocSvg(series: RocSeries | readonly RocSeries[], options: RocPlotOptions = {}): string {
  const list: readonly RocSeries[] = Array.isArray(series) ? series : [series as RocSeries];
  if (list.length === 0)
    throw new InvalidInputError('Expected at least one ROC curve to plot', { input: 'series' });
  const width = options.width ?? 760;
  const height = options.height ?? 560;
  if (!(width >= 320 && width <= 4000) || !(height >= 240 && height <= 4000)) {
    throw new InvalidInputError(
      `Expected a plot size between 320×240 and 4000×4000 px but received ${width}×${height}`,
      { input: 'size' },
    );
  }
  const [farMin, farMax] = options.farRange ?? [1e-4, 1];
  if (!(farMin > 0 && farMax > farMin && farMax <= 1)) {
    throw new InvalidInputError(
      `Expected a FAR range 0 < min < max ≤ 1 but received [${farMin}, ${farMax}]`,
      {
        input: 'farRange',
      },
    );
  }
  let tarMin: number;
  let tarMax: number;
  if (options.tarRange === undefined || options.tarRange === 'auto') {
    const lowest = Math.min(...list.map((s) => tarAtOrBelow(s.points, farMin)));
    tarMin = Math.min(0.8, Math.floor(lowest * 20) / 20);
    tarMax = 1;
  } else {
    [tarMin, tarMax] = options.tarRange;
    if (!(tarMin >= 0 && tarMax > tarMin && tarMax <= 1)) {
      throw new InvalidInputError(
        `Expected a TAR range 0 ≤ min < max ≤ 1 but received [${tarMin}, ${tarMax}]`,
        {
          input: 'tarRange',
        },
      );
    }
  }

  const left = 84;
  const right = 28;
  const top = options.accuracy || options.auc !== undefined || options.eer !== undefined ? 78 : 56;
  const bottom = 64;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const lmin = Math.log10(farMin);
  const lspan = Math.log10(farMax) - lmin;
  const xOf = (far: number): number =>
    left + ((Math.log10(Math.max(far, farMin / 1000)) - lmin) / lspan) * pw;
  const yOf = (tar: number): number => top + (1 - (tar - tarMin) / (tarMax - tarMin)) * ph;
  const out: string[] = [];
  const push = (s: string): void => {
    out.push(s);
  };

  push('<?xml version="1.0" encoding="UTF-8"?>');
  push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="13">`,
  );
  push(`<title>${escapeXml(options.title ?? 'ROC')}</title>`);
  push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  push(
    `<defs><clipPath id="plot-clip"><rect x="${left}" y="${top}" width="${n(pw)}" height="${n(ph)}"/></clipPath></defs>`,
  );

  // Grid: decades (solid) and 2…9 × decade (faint) on x; regular steps on y.
  push('<g id="grid" stroke-width="1" fill="none">');
  const firstDecade = Math.ceil(lmin - 1e-9);
  const lastDecade = Math.floor(Math.log10(farMax) + 1e-9);
  for (let d = Math.floor(lmin); d <= lastDecade; d++) {
    for (let m = 2; m <= 9; m++) {
      const v = Number(`${m}e${d}`);
      if (v > farMin && v < farMax) {
        push(`<line x1="${n(xOf(v))}" y1="${top}" x2="${n(xOf(v))}" y2="${n(top + ph)}" stroke="#eeeeee"/>`);
      }
    }
  }
  for (let d = firstDecade; d <= lastDecade; d++) {
    const x = n(xOf(Number(`1e${d}`)));
    push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${n(top + ph)}" stroke="#d0d0d0"/>`);
  }
  const span = tarMax - tarMin;
  const step = span <= 0.12 ? 0.01 : span <= 0.3 ? 0.05 : span <= 0.7 ? 0.1 : 0.2;
  const yTicks: number[] = [];
  for (let k = Math.ceil(tarMin / step - 1e-9); k * step <= tarMax + 1e-9; k++) yTicks.push(k * step);
  for (const t of yTicks) {
    push(`<line x1="${left}" y1="${n(yOf(t))}" x2="${n(left + pw)}" y2="${n(yOf(t))}" stroke="#d0d0d0"/>`);
  }
  push('</g>');

  // Axes, ticks and labels.
  push(
    `<rect id="plot-area" x="${left}" y="${top}" width="${n(pw)}" height="${n(ph)}" fill="none" stroke="#333333"/>`,
  );
  push('<g id="x-ticks" text-anchor="middle" fill="#333333">');
  for (let d = firstDecade; d <= lastDecade; d++) {
    const x = n(xOf(Number(`1e${d}`)));
    push(`<line x1="${x}" y1="${n(top + ph)}" x2="${x}" y2="${n(top + ph + 5)}" stroke="#333333"/>`);
    push(`<text x="${x}" y="${n(top + ph + 20)}">${escapeXml(farLabel(Number(`1e${d}`)))}</text>`);
  }
  push('</g>');
  push('<g id="y-ticks" text-anchor="end" fill="#333333">');
  for (const t of yTicks) {
    const y = n(yOf(t));
    push(`<line x1="${left - 5}" y1="${y}" x2="${left}" y2="${y}" stroke="#333333"/>`);
    push(`<text x="${left - 8}" y="${n(yOf(t) + 4)}">${escapeXml(pct(t, 0))}</text>`);
  }
  push('</g>');
  push(
    `<text x="${n(left + pw / 2)}" y="${height - 16}" text-anchor="middle" fill="#111111">` +
      'False accept rate (FAR, log scale)</text>',
  );
  push(
    `<text x="18" y="${n(top + ph / 2)}" text-anchor="middle" fill="#111111" ` +
      `transform="rotate(-90 18 ${n(top + ph / 2)})">True accept rate (TAR)</text>`,
  );

  // Title and figures.
  push(
    `<text x="${n(width / 2)}" y="28" text-anchor="middle" font-size="17" font-weight="bold" fill="#111111">` +
      `${escapeXml(options.title ?? 'ROC')}</text>`,
  );
  const figures: string[] = [];
  if (options.accuracy) {
    figures.push(`accuracy ${pct(options.accuracy.mean)} ± ${pct(options.accuracy.std)}`);
  }
  if (options.auc !== undefined) figures.push(`AUC ${options.auc.toFixed(4)}`);
  if (options.eer !== undefined) figures.push(`EER ${pct(options.eer)}`);
  if (figures.length > 0) {
    push(
      `<text x="${n(width / 2)}" y="52" text-anchor="middle" fill="#333333">${escapeXml(figures.join('  ·  '))}</text>`,
    );
  }

  // Curves.
  push('<g id="curves" clip-path="url(#plot-clip)" fill="none" stroke-width="2" stroke-linejoin="round">');
  const bounds = { x0: left - 10, x1: left + pw + 10, y0: top - 10, y1: top + ph + 10 };
  list.forEach((s, i) => {
    const pts = staircase(s.points, xOf, yOf, bounds).map(([x, y]) => `${n(x)},${n(y)}`);
    push(
      `<polyline class="roc-curve" data-label="${escapeXml(s.label)}" stroke="${COLORS[i % COLORS.length]}" ` +
        `points="${pts.join(' ')}"/>`,
    );
  });
  push('</g>');

  // Operating point.
  const op = options.operatingPoint;
  if (op) {
    const pinned = op.far < farMin;
    const cx = Math.min(left + pw, Math.max(left, xOf(op.far)));
    const cy = Math.min(top + ph, Math.max(top, yOf(op.tar)));
    const text =
      `threshold ${Number(op.threshold.toPrecision(4))} · FAR ${pinned ? `< ${farLabel(farMin)}` : farLabel(op.far)}` +
      ` · TAR ${pct(op.tar)}`;
    const labelLeft = cx > left + pw * 0.55;
    const lx = labelLeft ? cx - 12 : cx + 12;
    const ly = cy > top + 30 ? cy - 12 : cy + 22;
    push(
      `<g id="operating-point" data-threshold="${op.threshold}" data-far="${op.far}" data-tar="${op.tar}">` +
        `<circle cx="${n(cx)}" cy="${n(cy)}" r="6" fill="#ffffff" stroke="#111111" stroke-width="2"/>` +
        `<circle cx="${n(cx)}" cy="${n(cy)}" r="2" fill="#111111"/>` +
        `<text x="${n(lx)}" y="${n(ly)}" text-anchor="${labelLeft ? 'end' : 'start'}" fill="#111111" ` +
        `stroke="#ffffff" stroke-width="4" paint-order="stroke">${escapeXml(text)}</text></g>`,
    );
  }

  // Legend, bottom right inside the plot.
  const entries = list.length + (op ? 1 : 0);
  const lw = Math.min(pw - 20, 40 + 7.2 * Math.max(...list.map((s) => s.label.length), op ? 34 : 0));
  const lh = 10 + 20 * entries;
  const lx0 = left + pw - lw - 10;
  const ly0 = top + ph - lh - 10;
  push(
    `<g id="legend"><rect x="${n(lx0)}" y="${n(ly0)}" width="${n(lw)}" height="${lh}" ` +
      'fill="#ffffff" fill-opacity="0.9" stroke="#999999"/>',
  );
  list.forEach((s, i) => {
    const y = ly0 + 15 + 20 * i;
    push(
      `<line x1="${n(lx0 + 8)}" y1="${n(y)}" x2="${n(lx0 + 30)}" y2="${n(y)}" ` +
        `stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>` +
        `<text x="${n(lx0 + 36)}" y="${n(y + 4)}" fill="#111111">${escapeXml(s.label)}</text>`,
    );
  });
  if (op) {
    const y = ly0 + 15 + 20 * list.length;
    push(
      `<circle cx="${n(lx0 + 19)}" cy="${n(y)}" r="5" fill="#ffffff" stroke="#111111" stroke-width="2"/>` +
        `<text x="${n(lx0 + 36)}" y="${n(y + 4)}" fill="#111111">operating point (chosen threshold)</text>`,
    );
  }
  push('</g>');
  push('</svg>');
  return `${out.join('\n')}\n`;
}
