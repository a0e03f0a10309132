/**
 * Image I/O and pixel operations: the only part of facerec that imports sharp.
 */
export * from './decode.js';
export * from './draw.js';
export * from './encode.js';
export * from './ops.js';
export * from './resample.js';
export { ACCEPTED_FORMATS, type ImageFormat, looksTruncated, type SniffResult, sniffImage } from './sniff.js';
export * from './warp.js';
