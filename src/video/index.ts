/**
 * Live video: sources as `AsyncIterable<Frame>` (MJPEG and snapshots over HTTP, ffmpeg for RTSP,
 * files and webcams, frames pushed by a client), the per-stream recognition pipeline with its
 * tracker, and the annotated outputs (MJPEG over HTTP, recordings).
 */
export * from './annotate.js';
export * from './backoff.js';
export * from './ffmpeg.js';
export * from './ffmpeg-source.js';
export * from './http-source.js';
export * from './identity.js';
export * from './mjpeg-parser.js';
export * from './mjpeg-server.js';
export * from './open.js';
export * from './pipeline.js';
export * from './push-source.js';
export * from './quality.js';
export * from './recorder.js';
export * from './redact.js';
export * from './slot.js';
export { type DecodeFrameOptions, FatalSourceError, formatSeconds } from './source-core.js';
export * from './spec.js';
export * from './tracker.js';
export * from './types.js';
