/**
 * Drawing a frame's result onto the frame (boxes, landmarks, names and track ids) with the
 * drawing of src/image, and the renderer that keeps annotation off the recognition path: one
 * rendering at a time, newer frames replacing older ones while it runs.
 */
import type { RawImage } from '../core/index.js';
import { type Annotation, drawAnnotations, encodeJpeg, faceAnnotations } from '../image/index.js';
import type { FrameFace, FrameResult } from './pipeline.js';

/** Box colour of a named face. */
export const KNOWN_COLOR = '#00e050';
/** Box colour of an unknown face. */
export const UNKNOWN_COLOR = '#ffa000';

/** The label of a face: `Name #track` or `unknown #track`. */
export function faceLabel(face: Pick<FrameFace, 'name' | 'track'>): string {
  return `${face.name ?? 'unknown'} #${face.track}`;
}

/** The annotations of a result: per face, its box, landmarks and label, coloured by known/unknown. */
export function resultAnnotations(result: Pick<FrameResult, 'faces'>): Annotation[] {
  return result.faces.flatMap((f) =>
    faceAnnotations(f, faceLabel(f), f.name === null ? UNKNOWN_COLOR : KNOWN_COLOR),
  );
}

/** `image` with the result drawn on it (a new image). */
export function annotateFrame(image: RawImage, result: Pick<FrameResult, 'faces'>): Promise<RawImage> {
  return drawAnnotations(image, resultAnnotations(result));
}

/** An annotated frame, as pixels and as JPEG. */
export interface AnnotatedFrame {
  readonly image: RawImage;
  readonly jpeg: Buffer;
  /** The result drawn on it. */
  readonly result: FrameResult;
}

/** Options of {@link FrameRenderer}. */
export interface FrameRendererOptions {
  /** JPEG quality, 1–100. Default 80. */
  readonly quality?: number;
  /** Called with each rendered frame (publish to the MJPEG clients, write to the recording). */
  readonly onFrame: (frame: AnnotatedFrame) => void;
  /** Called when rendering fails. */
  readonly onError?: (err: unknown) => void;
}

/**
 * Renders annotated frames off the recognition path: {@link offer} returns at once; while a
 * rendering runs, the newest offer waits in a one-frame slot (older ones are dropped and counted).
 */
export class FrameRenderer {
  readonly #quality: number;
  readonly #opts: FrameRendererOptions;
  #pending: { image: RawImage; result: FrameResult } | undefined;
  #busy: Promise<void> | undefined;
  #rendered = 0;
  #dropped = 0;

  constructor(opts: FrameRendererOptions) {
    this.#opts = opts;
    this.#quality = opts.quality ?? 80;
  }

  /** Frames rendered, and offers dropped because a newer one came while rendering. */
  stats(): { rendered: number; dropped: number } {
    return { rendered: this.#rendered, dropped: this.#dropped };
  }

  /** Offer a frame and its result for rendering. Never waits. */
  offer(image: RawImage, result: FrameResult): void {
    if (this.#pending) this.#dropped++;
    this.#pending = { image, result };
    this.#busy ??= this.#drain();
  }

  /** Resolves when nothing is pending or rendering. */
  async idle(): Promise<void> {
    while (this.#busy) await this.#busy;
  }

  async #drain(): Promise<void> {
    try {
      for (let p = this.#pending; p; p = this.#pending) {
        this.#pending = undefined;
        try {
          const image = await annotateFrame(p.image, p.result);
          const jpeg = await encodeJpeg(image, this.#quality);
          this.#rendered++;
          this.#opts.onFrame({ image, jpeg, result: p.result });
        } catch (err) {
          this.#opts.onError?.(err);
        }
      }
    } finally {
      this.#busy = undefined;
    }
  }
}
