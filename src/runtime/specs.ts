/**
 * The declared interface of every model facerec builds: the names and shapes the model classes
 * rely on. Sessions check a loaded file against its spec (strings are dynamic dimensions and
 * match any size; numbers must match exactly).
 */
import type { TensorSignature } from './onnx-graph.js';

/** The models facerec builds, in build order. */
export const MODEL_NAMES = Object.freeze([
  'pnet',
  'rnet',
  'onet',
  'face_recognition',
  'face_recognition_int8',
] as const);

/** The name of a built model. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** What a model must look like: its name, inputs and outputs. */
export interface ModelSpec {
  /** The model name, used in messages. */
  readonly name: string;
  /** The inputs, in order. */
  readonly inputs: readonly TensorSignature[];
  /** The outputs, in order. */
  readonly outputs: readonly TensorSignature[];
}

const t = (name: string, ...shape: (number | string)[]): TensorSignature => Object.freeze({ name, shape });

/**
 * The specs of the models. MTCNN inputs are normalized `(x − 127.5) · 0.0078125` NCHW; the
 * descriptor input (float and int8 graphs alike) is RGB in 0..255 NCHW.
 */
export const MODEL_SPECS: Readonly<Record<ModelName, ModelSpec>> = Object.freeze({
  pnet: {
    name: 'pnet',
    inputs: [t('input', 'N', 3, 'H', 'W')],
    outputs: [t('logits', 'N', 2, 'h', 'w'), t('reg', 'N', 4, 'h', 'w')],
  },
  rnet: {
    name: 'rnet',
    inputs: [t('input', 'N', 3, 24, 24)],
    outputs: [t('prob', 'N', 2), t('reg', 'N', 4)],
  },
  onet: {
    name: 'onet',
    inputs: [t('input', 'N', 3, 48, 48)],
    outputs: [t('prob', 'N', 2), t('reg', 'N', 4), t('landmarks', 'N', 10)],
  },
  face_recognition: {
    name: 'face_recognition',
    inputs: [t('input', 'N', 3, 150, 150)],
    outputs: [t('embedding', 'N', 128)],
  },
  face_recognition_int8: {
    name: 'face_recognition_int8',
    inputs: [t('input', 'N', 3, 150, 150)],
    outputs: [t('embedding', 'N', 128)],
  },
});

/** `N×3×H×W` for messages. */
export function formatShape(shape: readonly (number | string)[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('×');
}
