/**
 * facerec: the library entry point. The CLI and the server are thin clients of what is
 * exported here.
 */
export * from './core/index.js';
