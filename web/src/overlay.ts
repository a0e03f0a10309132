/**
 * Boxes and names drawn over the device camera's video. Names are drawn with `fillText`, which
 * paints text and never interprets it (no markup, no injection).
 */
import type { LiveFace } from './api.js';

/** Colour of a named face's box (the same as the server's annotated streams). */
export const KNOWN = '#00e050';
/** Colour of an unknown face's box. */
export const UNKNOWN = '#ffa000';

/** The label of a live face. */
export function faceLabel(f: Pick<LiveFace, 'name'>): string {
  return f.name ?? 'unknown';
}

/**
 * Draw `faces` (boxes in frame pixels of a `width`×`height` frame) on `canvas`, which is sized to
 * the frame and stretched by CSS over the video. `mirror`: the video is shown mirrored (front
 * camera), so boxes are flipped horizontally while text stays readable.
 */
export function drawFaces(
  canvas: HTMLCanvasElement,
  width: number,
  height: number,
  faces: readonly LiveFace[],
  mirror: boolean,
): void {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, width, height);
  // Sizes in frame pixels that come out the same on screen whatever the canvas is scaled to.
  const perCssPx = canvas.clientWidth > 0 ? width / canvas.clientWidth : 1;
  const line = Math.max(1, Math.round(2 * perCssPx));
  const font = Math.max(8, Math.round(15 * perCssPx));
  ctx.font = `600 ${font}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  for (const f of faces) {
    const [bx1, y1, bx2, y2] = f.box;
    const x1 = mirror ? width - bx2 : bx1;
    const x2 = mirror ? width - bx1 : bx2;
    const color = f.name === null ? UNKNOWN : KNOWN;
    ctx.lineWidth = line;
    ctx.strokeStyle = color;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const label = faceLabel(f);
    const pad = Math.round(font / 4);
    const tw = Math.min(ctx.measureText(label).width, width - 2 * pad);
    const th = font + 2 * pad;
    const ty = y1 - th >= 0 ? y1 - th : Math.min(height - th, y2);
    const tx = Math.max(0, Math.min(x1 - line / 2, width - tw - 2 * pad));
    ctx.fillStyle = color;
    ctx.fillRect(tx, ty, tw + 2 * pad, th);
    ctx.fillStyle = '#000';
    ctx.fillText(label, tx + pad, ty + pad, width - 2 * pad);
  }
}
