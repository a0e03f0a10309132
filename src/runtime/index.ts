/**
 * The runtime layer: builds the ONNX models from the registry packages' weights into a cache
 * folder and runs them on onnxruntime-node (the only module of facerec that imports it).
 */

export { buildMatMulModel } from './matmul-graph.js';
export { BUILDER_VERSION, buildModel, ensureModels, type ModelInfo, modelSource } from './models.js';
export type { Dim, GraphSignature, TensorSignature } from './onnx-graph.js';
export { readSignature } from './onnx-graph.js';
export { disableOrtTelemetry, type FloatTensor, OnnxSession, type OutputTensor } from './session.js';
export { formatShape, MODEL_NAMES, MODEL_SPECS, type ModelName, type ModelSpec } from './specs.js';
