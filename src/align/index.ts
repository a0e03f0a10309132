/** Face alignment: similarity fit to a chip template and the warped chip. Imports core and image only. */
export * from './chip.js';
export * from './similarity.js';
export * from './templates.js';
