/**
 * Drawing annotations (face boxes, landmark points, name labels) onto an image. All items of a
 * call become one SVG document, rendered by sharp (librsvg + Pango + fontconfig) on a canvas cut
 * to the bounding rectangle of what is drawn, then alpha-blended onto a copy of the pixels.
 * Blending only that rectangle here is several times faster than sharp's full-frame composite
 * (see `npm run bench -- image`).
 *
 * Labels are untrusted user text (person names). Before they reach the SVG they are sanitized
 * ({@link sanitizeLabel}: control characters, bidi overrides and broken surrogates removed,
 * length capped) and XML-escaped; colours are checked against a strict pattern and numbers
 * must be finite, so no input can add markup to the overlay. Each label is clipped to its own
 * background rectangle, so it never paints outside it.
 *
 * Fonts: labels use {@link LABEL_FONT_FAMILY}; fontconfig falls back per character, so CJK
 * names (`张伟`) need a CJK font installed (`fonts-wqy-zenhei`, installed by `.ci/run`),
 * Arabic and Hebrew render right-to-left with DejaVu Sans, and emoji render in monochrome where
 * DejaVu Sans has them (no colour-emoji font is installed: others show as boxes).
 */
import sharp from 'sharp';
import { type Box, invalidParameter, type Landmarks5, type Point, type RawImage } from '../core/index.js';
import { toRgb } from './ops.js';
import { checkRawImage, sharpFromRaw } from './raw.js';

/** The SVG `font-family` of labels: Latin, Arabic, Hebrew from sans-serif; CJK from the named fonts. */
export const LABEL_FONT_FAMILY = "sans-serif, 'WenQuanYi Zen Hei', 'Noto Sans CJK SC'";

/** The same families as a Pango font description list (used to measure labels). */
const PANGO_FAMILIES = 'sans-serif,WenQuanYi Zen Hei,Noto Sans CJK SC';

/** A rectangle outline around `box`, the stroke centred on the box edges. */
export interface BoxAnnotation {
  readonly kind: 'box';
  /** `[x1, y1, x2, y2]` in image pixels. */
  readonly box: Box;
  /** Stroke colour; default {@link DrawOptions.color}. */
  readonly color?: string;
  /** Stroke width in pixels; default {@link DrawOptions.lineWidth}. */
  readonly lineWidth?: number;
}

/** Filled dots, e.g. the five landmarks of a face. */
export interface PointsAnnotation {
  readonly kind: 'points';
  /** Dot centres in image pixels. */
  readonly points: readonly Point[];
  /** Fill colour; default {@link DrawOptions.color}. */
  readonly color?: string;
  /** Dot radius in pixels; default {@link DrawOptions.pointRadius}. */
  readonly radius?: number;
}

/** Text on a filled rectangle, e.g. a person's name above their face box. */
export interface LabelAnnotation {
  readonly kind: 'label';
  /** The text: any user string, sanitized by {@link sanitizeLabel}. An empty result draws nothing. */
  readonly text: string;
  /** The anchor point in image pixels (see `anchor`). */
  readonly at: Point;
  /**
   * Which corner of the label rectangle `at` is: `'bottom-left'` (default, a label sitting on
   * top of a box edge) or `'top-left'`. The rectangle is then moved inside the image if needed.
   */
  readonly anchor?: 'top-left' | 'bottom-left';
  /** Text colour; default {@link DrawOptions.textColor}. */
  readonly color?: string;
  /** Rectangle colour; default {@link DrawOptions.labelBackground}. */
  readonly background?: string;
  /** Font size in pixels; default {@link DrawOptions.fontSize}. */
  readonly fontSize?: number;
}

/** One thing to draw. */
export type Annotation = BoxAnnotation | PointsAnnotation | LabelAnnotation;

/** Defaults for the annotations of one drawing call. */
export interface DrawOptions {
  /** Box and point colour; default `'#00ff00'`. Colours are `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa` or a CSS colour name. */
  readonly color?: string;
  /** Box stroke width in pixels, > 0; default 2. */
  readonly lineWidth?: number;
  /** Point radius in pixels, > 0; default 2. */
  readonly pointRadius?: number;
  /** Label font size in pixels, from 4 to 512; default 16. */
  readonly fontSize?: number;
  /** Label text colour; default `'#ffffff'`. */
  readonly textColor?: string;
  /** Label rectangle colour; default `'#000000'`. */
  readonly labelBackground?: string;
  /** Longest label in user-perceived characters (graphemes) before it is cut with `…`; default 64. */
  readonly maxLabelLength?: number;
}

/** A label rectangle in image pixels (integers). */
export interface LabelRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Draw `items` onto `img` (not modified) and return the result as RGB.
 *
 * @param img - 1, 3 or 4 channels (converted with `toRgb` first).
 * @param items - boxes, points and labels, drawn in order (later items on top).
 * @returns a new 3-channel image of the same size.
 * @throws {InvalidInputError} for a malformed image, a non-finite coordinate, a bad colour or size.
 * @example
 * const out = await drawAnnotations(img, [
 *   { kind: 'box', box: [40, 30, 140, 150] },
 *   { kind: 'label', text: '张伟', at: [40, 30] },
 * ]);
 */
export async function drawAnnotations(
  img: RawImage,
  items: readonly Annotation[],
  opts: DrawOptions = {},
): Promise<RawImage> {
  checkRawImage(img);
  if (!Array.isArray(items)) throw invalidParameter('items', 'an array of annotations', items);
  const rgb = toRgb(img);
  const data = rgb.data.slice();
  const overlay = await buildOverlay(rgb.width, rgb.height, items, opts);
  if (overlay) blendOver(data, rgb.width, overlay, await renderSvg(overlay));
  return { data, width: rgb.width, height: rgb.height, channels: 3 };
}

/**
 * {@link drawAnnotations}, then JPEG encoding (for streaming annotated frames).
 *
 * @param quality - JPEG quality 1–100; default 85.
 * @returns the JPEG file bytes.
 */
export async function annotateToJpeg(
  img: RawImage,
  items: readonly Annotation[],
  opts: DrawOptions & { readonly quality?: number } = {},
): Promise<Buffer> {
  checkRawImage(img);
  const quality = opts.quality ?? 85;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw invalidParameter('quality', 'an integer from 1 to 100', quality);
  }
  return sharpFromRaw(await drawAnnotations(img, items, opts))
    .jpeg({ quality })
    .toBuffer();
}

/**
 * The usual drawing of one face: its box, its landmarks as dots and, when given, a label on top
 * of the box.
 *
 * @example
 * await drawAnnotations(img, faces.flatMap((f, i) => faceAnnotations(f, names[i])));
 */
export function faceAnnotations(
  face: { readonly box: Box; readonly landmarks?: Landmarks5 },
  label?: string,
  color?: string,
): Annotation[] {
  const out: Annotation[] = [{ kind: 'box', box: face.box, ...(color ? { color } : {}) }];
  if (face.landmarks) out.push({ kind: 'points', points: face.landmarks, ...(color ? { color } : {}) });
  if (label !== undefined)
    out.push({ kind: 'label', text: label, at: [face.box[0], face.box[1]], anchor: 'bottom-left' });
  return out;
}

/**
 * Make arbitrary user text safe and tidy for a drawn label: NFC-normalized; line breaks and tabs
 * become spaces; other control characters (NUL, C0, C1), bidi embedding/override/isolate
 * controls (U+202A–202E, U+2066–2069), lone surrogates and U+FFFE/FFFF are removed; runs of
 * whitespace collapse to one space; the ends are trimmed; text longer than `maxLength`
 * graphemes is cut and ends with `…`. XML escaping is separate (done when the SVG is built).
 *
 * @example
 * sanitizeLabel('  Ann\u0000a\n\u202Emallory  '); // → 'Anna mallory'
 */
export function sanitizeLabel(text: string, maxLength = 64): string {
  if (typeof text !== 'string') throw invalidParameter('label text', 'a string', text);
  if (!Number.isInteger(maxLength) || maxLength < 1)
    throw invalidParameter('maxLabelLength', 'an integer ≥ 1', maxLength);
  const clean = text
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
    .normalize('NFC')
    .replace(/[\t\n\v\f\r\u0085\u2028\u2029]/g, ' ')
    .replace(/[\p{Cc}\u202A-\u202E\u2066-\u2069\uFFFE\uFFFF]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
  const graphemes = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(clean)];
  if (graphemes.length <= maxLength) return clean;
  return `${graphemes
    .slice(0, maxLength - 1)
    .map((g) => g.segment)
    .join('')
    .trimEnd()}…`;
}

/**
 * The size of the rectangle a label of `text` gets at `fontSize`: the text's width as Pango lays
 * it out with {@link LABEL_FONT_FAMILY}, plus padding; the height depends on the font size only.
 * `text` should already be sanitized.
 *
 * @returns integer pixels.
 */
export async function measureLabel(text: string, fontSize = 16): Promise<{ width: number; height: number }> {
  checkFontSize(fontSize);
  const pad = labelPadding(fontSize);
  const height = Math.round(fontSize * 1.5);
  if (text === '') return { width: 2 * pad, height };
  let inkWidth: number;
  try {
    const meta = await sharp({
      text: { text: escapeXml(text), font: `${PANGO_FAMILIES} ${fontSize}px`, dpi: 72 },
    }).metadata();
    inkWidth = meta.width;
  } catch {
    // A font problem must not prevent drawing: assume full-width characters.
    inkWidth = [...text].length * fontSize;
  }
  return { width: Math.ceil(inkWidth) + 2 * pad, height };
}

/**
 * Where a label rectangle of `size` goes: at `at` by `anchor`, then moved inside the
 * `imageWidth × imageHeight` image (a rectangle wider or taller than the image starts at 0 and
 * is cut by the image edge).
 */
export function placeLabel(
  at: Point,
  anchor: 'top-left' | 'bottom-left',
  size: { readonly width: number; readonly height: number },
  imageWidth: number,
  imageHeight: number,
): LabelRect {
  let x = Math.round(at[0]);
  let y = Math.round(anchor === 'bottom-left' ? at[1] - size.height : at[1]);
  x = Math.max(0, Math.min(x, imageWidth - size.width));
  y = Math.max(0, Math.min(y, imageHeight - size.height));
  return { x, y, width: Math.min(size.width, imageWidth), height: Math.min(size.height, imageHeight) };
}

/** The SVG of the annotations, covering only the part of the image they touch. */
interface Overlay {
  readonly svg: string;
  /** Where the SVG canvas sits in the image, whole pixels, inside the image. */
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Render the overlay SVG to straight (non-premultiplied) RGBA pixels with sharp (librsvg). */
async function renderSvg(overlay: Overlay): Promise<Uint8Array> {
  const { data, info } = await sharp(Buffer.from(overlay.svg, 'utf8'))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== overlay.width || info.height !== overlay.height || info.channels !== 4) {
    throw new Error(
      `overlay rendered as ${info.width}×${info.height}×${info.channels}, expected ${overlay.width}×${overlay.height}×4`,
    );
  }
  return data;
}

/**
 * Alpha-blend the rendered overlay `rgba` onto the RGB pixels `dst` (an image `width` pixels
 * wide) at the overlay's position: `dst = dst·(1 − a) + src·a`, rounded. Only the overlay's
 * rectangle is visited, which is why this is done here rather than by a full-frame composite.
 */
function blendOver(dst: Uint8Array, width: number, overlay: Overlay, rgba: Uint8Array): void {
  for (let y = 0; y < overlay.height; y++) {
    let s = y * overlay.width * 4;
    let d = ((overlay.top + y) * width + overlay.left) * 3;
    for (let x = 0; x < overlay.width; x++, s += 4, d += 3) {
      const a = rgba[s + 3]!;
      if (a === 0) continue;
      const keep = 255 - a;
      dst[d] = (dst[d]! * keep + rgba[s]! * a + 127) / 255;
      dst[d + 1] = (dst[d + 1]! * keep + rgba[s + 1]! * a + 127) / 255;
      dst[d + 2] = (dst[d + 2]! * keep + rgba[s + 2]! * a + 127) / 255;
    }
  }
}

/**
 * The SVG document for `items` on a `W × H` image, its canvas cut to the bounding rectangle of
 * what is drawn (rendering and blending cost grow with the canvas area), or undefined when
 * nothing visible remains.
 */
async function buildOverlay(
  W: number,
  H: number,
  items: readonly Annotation[],
  opts: DrawOptions,
): Promise<Overlay | undefined> {
  const color = checkColor(opts.color ?? '#00ff00', 'color');
  const lineWidth = checkPositive(opts.lineWidth ?? 2, 'lineWidth');
  const pointRadius = checkPositive(opts.pointRadius ?? 2, 'pointRadius');
  const fontSize = opts.fontSize ?? 16;
  checkFontSize(fontSize);
  const textColor = checkColor(opts.textColor ?? '#ffffff', 'textColor');
  const labelBackground = checkColor(opts.labelBackground ?? '#000000', 'labelBackground');
  const maxLength = opts.maxLabelLength ?? 64;

  const parts: string[] = [];
  let clipId = 0;
  // Bounding rectangle of everything drawn, with a pixel of margin for antialiasing.
  let bx1 = Number.POSITIVE_INFINITY;
  let by1 = Number.POSITIVE_INFINITY;
  let bx2 = Number.NEGATIVE_INFINITY;
  let by2 = Number.NEGATIVE_INFINITY;
  const extend = (x1: number, y1: number, x2: number, y2: number, margin: number) => {
    bx1 = Math.min(bx1, x1 - margin);
    by1 = Math.min(by1, y1 - margin);
    bx2 = Math.max(bx2, x2 + margin);
    by2 = Math.max(by2, y2 + margin);
  };
  for (const item of items) {
    switch (item?.kind) {
      case 'box': {
        const [x1, y1, x2, y2] = checkCoords(item.box, 4, 'box');
        const c = checkColor(item.color ?? color, 'box color');
        const w = checkPositive(item.lineWidth ?? lineWidth, 'lineWidth');
        extend(x1, y1, x2, y2, w / 2 + 1);
        parts.push(
          `<rect x="${num(x1)}" y="${num(y1)}" width="${num(Math.max(0, x2 - x1))}" height="${num(Math.max(0, y2 - y1))}" fill="none" stroke="${c}" stroke-width="${num(w)}"/>`,
        );
        break;
      }
      case 'points': {
        if (!Array.isArray(item.points))
          throw invalidParameter('points', 'an array of [x, y] points', item.points);
        const c = checkColor(item.color ?? color, 'point color');
        const r = checkPositive(item.radius ?? pointRadius, 'radius');
        for (const p of item.points) {
          const [x, y] = checkCoords(p, 2, 'point');
          extend(x, y, x, y, r + 1);
          parts.push(`<circle cx="${num(x)}" cy="${num(y)}" r="${num(r)}" fill="${c}"/>`);
        }
        break;
      }
      case 'label': {
        const text = sanitizeLabel(item.text, maxLength);
        if (text === '') break;
        const [ax, ay] = checkCoords(item.at, 2, 'label position');
        const size = item.fontSize ?? fontSize;
        checkFontSize(size);
        const fg = checkColor(item.color ?? textColor, 'label color');
        const bg = checkColor(item.background ?? labelBackground, 'label background');
        const anchor = item.anchor ?? 'bottom-left';
        if (anchor !== 'bottom-left' && anchor !== 'top-left') {
          throw invalidParameter('anchor', "'top-left' or 'bottom-left'", anchor);
        }
        const rect = placeLabel([ax, ay], anchor, await measureLabel(text, size), W, H);
        extend(rect.x, rect.y, rect.x + rect.width, rect.y + rect.height, 0);
        const id = `l${clipId++}`;
        const baseline = rect.y + Math.round(rect.height / 2 + size * 0.35);
        parts.push(
          `<clipPath id="${id}"><rect x="${rect.x}" y="${rect.y}" width="${rect.width}" height="${rect.height}"/></clipPath>` +
            `<rect x="${rect.x}" y="${rect.y}" width="${rect.width}" height="${rect.height}" fill="${bg}"/>` +
            `<text clip-path="url(#${id})" x="${rect.x + labelPadding(size)}" y="${baseline}" font-family="${escapeXml(LABEL_FONT_FAMILY)}" font-size="${size}" fill="${fg}">${escapeXml(text)}</text>`,
        );
        break;
      }
      default:
        throw invalidParameter(
          'annotation kind',
          "'box', 'points' or 'label'",
          (item as { kind?: unknown })?.kind,
        );
    }
  }
  const left = Math.max(0, Math.floor(bx1));
  const top = Math.max(0, Math.floor(by1));
  const width = Math.min(W, Math.ceil(bx2)) - left;
  const height = Math.min(H, Math.ceil(by2)) - top;
  if (parts.length === 0 || width <= 0 || height <= 0) return undefined;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="${left} ${top} ${width} ${height}">${parts.join('')}</svg>`;
  return { svg, left, top, width, height };
}

/** Escape the five XML special characters (text and attribute values alike). */
function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c);
}

const XML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

const COLOR_PATTERN = /^(#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})|[a-z]{3,24})$/i;

function checkColor(c: string, name: string): string {
  if (typeof c !== 'string' || !COLOR_PATTERN.test(c)) {
    throw invalidParameter(name, 'a colour #rgb, #rgba, #rrggbb, #rrggbbaa or a CSS colour name', c);
  }
  return c;
}

function checkPositive(v: number, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw invalidParameter(name, 'a finite number > 0', v);
  return v;
}

function checkFontSize(v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 4 || v > 512) {
    throw invalidParameter('fontSize', 'a number of pixels from 4 to 512', v);
  }
}

function checkCoords(v: Box, n: 4, name: string): Box;
function checkCoords(v: Point, n: 2, name: string): Point;
function checkCoords(v: readonly number[], n: number, name: string): readonly number[] {
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw invalidParameter(name, `${n} finite numbers`, v);
  }
  return v;
}

function labelPadding(fontSize: number): number {
  return Math.max(2, Math.round(fontSize * 0.3));
}

/** A number for an SVG attribute: at most two decimals. */
function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}
