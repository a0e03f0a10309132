/**
 * The facerec service: HTTP API, live WebSocket, metrics, the web UI, API keys and TLS.
 */
export * from './app.js';
export * from './auth.js';
export * from './cameras.js';
export * from './context.js';
export * from './errors.js';
export * from './json.js';
export * from './live.js';
export * from './metrics.js';
export * from './openapi.js';
export * from './routes-admin.js';
export * from './routes-video.js';
export * from './settings.js';
export * from './tls.js';
export * from './uploads.js';
