/**
 * Face detection: the seed's MTCNN cascade (see `mtcnn.ts`), its parameters, its pure geometry.
 */
export * from './boxes.js';
export * from './mtcnn.js';
export * from './nets.js';
export * from './params.js';
export * from './pyramid.js';
