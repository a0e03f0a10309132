/**
 * Recognition: the façade over detect → align → embed, thresholds, calibration and evaluation.
 */
export * from './calibrate.js';
export * from './embedder.js';
export * from './enroll.js';
export * from './eval-lfw.js';
export * from './gallery-eval.js';
export * from './identify.js';
export * from './json.js';
export * from './lfw.js';
export * from './media.js';
export * from './metrics.js';
export * from './recognizer.js';
export * from './retention.js';
export * from './roc-plot.js';
export * from './thresholds.js';
export * from './unknowns.js';
