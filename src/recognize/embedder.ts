/**
 * Face embeddings: each face aligned (align/) into a batch for the descriptor network (embed/),
 * averaged over views and normalized, stamped with provenance.
 */
import type { ChipTemplate, FaceGeometry } from '../align/index.js';
import { defaultTemplate, mirrorCHW, writeAlignedCHW } from '../align/index.js';
import type { Embedding, EmbeddingProvenance, Paths, RawImage, RuntimeOptions } from '../core/index.js';
import { invalidParameter } from '../core/index.js';
import { DESCRIPTOR_INPUT, DESCRIPTOR_LENGTH, FaceDescriptorNet, l2normalize } from '../embed/index.js';

/** How embeddings are made. Part of their provenance: change it and old vectors no longer compare. */
export interface EmbedderOptions {
  /** The chip template (default {@link defaultTemplate}: dlib's layout, padding 0.25, 150 px). */
  readonly template?: ChipTemplate;
  /**
   * Flip test-time augmentation: embed the chip and its mirror image and average the two.
   * Costs a second network pass per face; default true (LFW dev folds: 99.03 % against
   * 98.80 % without, see docs/accuracy.md).
   */
  readonly flip?: boolean;
  /** L2-normalize the vectors (default true). */
  readonly normalize?: boolean;
  /** Most chips per network run (default 16; bounds memory at 1.1 MB of input per chip). */
  readonly batchSize?: number;
}

/** A chip source: an image and the faces to cut from it. */
export interface ChipRequest {
  readonly image: RawImage;
  readonly face: FaceGeometry;
}

/** The descriptor network, as far as the embedder needs it (the real class, or a fake in tests). */
export interface DescriptorNet {
  readonly modelId: string;
  run(input: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

const PER_CHIP = 3 * DESCRIPTOR_INPUT * DESCRIPTOR_INPUT;

/**
 * Turns detected faces into 128-number embeddings: each face is aligned to the template
 * (similarity transform of its five landmarks), written into a batch, and described by the
 * network in one run per batch.
 *
 * @example
 * const embedder = await FaceEmbedder.load(resolvePaths(), resolveRuntimeOptions());
 * const [e] = await embedder.embed(photo, [faces[0]]);
 */
export class FaceEmbedder {
  /** Provenance stamped on every embedding this embedder makes. */
  readonly provenance: EmbeddingProvenance;
  readonly template: ChipTemplate;
  readonly #net: DescriptorNet;
  readonly #flip: boolean;
  readonly #batchSize: number;

  /** Wrap a loaded network; see {@link FaceEmbedder.load}. */
  constructor(net: DescriptorNet, options: EmbedderOptions = {}) {
    const batchSize = options.batchSize ?? 16;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 256) {
      throw invalidParameter('batchSize', 'an integer between 1 and 256', batchSize);
    }
    this.#net = net;
    this.template = options.template ?? defaultTemplate();
    if (this.template.size !== DESCRIPTOR_INPUT) {
      throw invalidParameter(
        'template size',
        `${DESCRIPTOR_INPUT} (the network's input)`,
        this.template.size,
      );
    }
    this.#flip = options.flip ?? true;
    this.#batchSize = batchSize;
    this.provenance = Object.freeze({
      model: net.modelId,
      template: this.#flip ? `${this.template.id}+flip` : this.template.id,
      normalized: options.normalize ?? true,
    });
  }

  /** Build the model if needed and open its session. */
  static async load(
    paths: Paths,
    runtime: RuntimeOptions,
    options: EmbedderOptions = {},
  ): Promise<FaceEmbedder> {
    return new FaceEmbedder(await FaceDescriptorNet.load(paths, runtime), options);
  }

  /**
   * Embeddings of `faces` (in `image` pixels), in the same order.
   *
   * @throws InvalidInputError for degenerate landmarks.
   */
  async embed(image: RawImage, faces: readonly FaceGeometry[]): Promise<Embedding[]> {
    return this.embedMany(faces.map((face) => ({ image, face })));
  }

  /** Embeddings of faces from several images, batched together, in request order. */
  async embedMany(requests: readonly ChipRequest[]): Promise<Embedding[]> {
    const out: Embedding[] = [];
    const views = this.#flip ? 2 : 1;
    const perBatch = Math.max(1, Math.floor(this.#batchSize / views));
    for (let start = 0; start < requests.length; start += perBatch) {
      const chunk = requests.slice(start, start + perBatch);
      const n = chunk.length * views;
      const input = new Float32Array(n * PER_CHIP);
      chunk.forEach((r, i) => {
        writeAlignedCHW(r.image, r.face, this.template, input, i * views);
        if (this.#flip) mirrorCHW(input, i * views, i * views + 1, this.template.size);
      });
      const vectors = await this.#net.run(input, n);
      for (let i = 0; i < chunk.length; i++) {
        out.push(this.#finish(vectors, i * views, views));
      }
    }
    return out;
  }

  /** Average the views of one face and normalize as configured. */
  #finish(vectors: Float32Array, first: number, views: number): Embedding {
    const v = new Float32Array(DESCRIPTOR_LENGTH);
    for (let k = 0; k < views; k++) {
      const base = (first + k) * DESCRIPTOR_LENGTH;
      // Each view is normalized before averaging when the result is to be normalized, so
      // that a view with a larger norm does not dominate.
      const view = vectors.subarray(base, base + DESCRIPTOR_LENGTH);
      const src = this.provenance.normalized && views > 1 ? l2normalize(view) : view;
      for (let j = 0; j < DESCRIPTOR_LENGTH; j++) v[j]! += src[j]! / views;
    }
    const vector = this.provenance.normalized ? l2normalize(v) : v;
    return { vector, ...this.provenance };
  }

  /** Release the network session. */
  async dispose(): Promise<void> {
    await this.#net.dispose();
  }
}
