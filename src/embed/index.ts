/**
 * Face embeddings: the descriptor network and distances between embeddings.
 */
export * from './distance.js';
export * from './net.js';
