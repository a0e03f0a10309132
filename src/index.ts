/**
 * facerec: the library entry point. The CLI and the server are thin clients of what is
 * exported here.
 *
 * @example
 * import { FaceRecognizer, decodeImage } from 'facerec';
 * const fr = await FaceRecognizer.load();
 * const faces = await fr.analyze(await decodeImage('group.jpg'));
 */
export * from './core/index.js';
export { type GalleryStore, openStore } from './gallery/index.js';
export { decodeImage, encodeJpeg, encodePng, probeImage, saveImage } from './image/index.js';
export * from './recognize/index.js';
export { openSource, StreamPipeline } from './video/index.js';
