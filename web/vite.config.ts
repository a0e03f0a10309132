/**
 * Builds the web UI (web/) into dist/web, which the server serves at `/`. Everything is bundled:
 * the page loads nothing from elsewhere (the server may have no internet access).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2020',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      '/api': { target: process.env.FACEREC_API ?? 'http://127.0.0.1:8080', ws: true },
      '/metrics': process.env.FACEREC_API ?? 'http://127.0.0.1:8080',
    },
  },
});
