/**
 * The reference face descriptor: @vladmandic/face-api's own network (`face-api.node-wasm.js`, on
 * @tensorflow/tfjs with the wasm backend, its .wasm files loaded from node_modules — no network),
 * weights loaded by face-api from its model folder. Used by parity tests and the benchmark.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The parts of face-api's tfjs namespace used here. */
interface TfLike {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  tensor3d(values: Float32Array, shape: [number, number, number], dtype: 'float32'): TensorLike;
}

interface TensorLike {
  dispose(): void;
}

interface FaceApiLike {
  tf: TfLike;
  nets: {
    faceRecognitionNet: {
      loadFromDisk(dir: string): Promise<void>;
      computeFaceDescriptor(input: TensorLike | TensorLike[]): Promise<Float32Array | Float32Array[]>;
    };
  };
}

/** face-api's descriptor on tfjs-wasm. */
export interface FaceApiReference {
  /** The tfjs backend in use (`wasm`). */
  readonly backend: string;
  /**
   * Descriptors of `n` 150×150 RGB chips given NHWC (0..255 floats), computed as one batch by
   * face-api's `computeFaceDescriptor`; n×128 values.
   */
  describe(nhwc: Float32Array, n: number): Promise<Float32Array>;
}

/** Load face-api on the wasm backend with its face recognition weights. */
export async function loadFaceApiReference(): Promise<FaceApiReference> {
  const require = createRequire(import.meta.url);
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiLike;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void };
  wasm.setWasmPaths(
    `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`,
  );
  await faceapi.tf.setBackend('wasm');
  await faceapi.tf.ready();
  const net = faceapi.nets.faceRecognitionNet;
  await net.loadFromDisk(join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model'));
  const size = 150 * 150 * 3;
  return {
    backend: faceapi.tf.getBackend(),
    async describe(nhwc, n) {
      const chips = Array.from({ length: n }, (_, i) =>
        faceapi.tf.tensor3d(nhwc.subarray(i * size, (i + 1) * size), [150, 150, 3], 'float32'),
      );
      try {
        const out = await net.computeFaceDescriptor(n === 1 ? chips[0]! : chips);
        const list = Array.isArray(out) ? out : [out];
        const result = new Float32Array(n * 128);
        list.forEach((d, i) => {
          result.set(d, i * 128);
        });
        return result;
      } finally {
        for (const c of chips) c.dispose();
      }
    },
  };
}
