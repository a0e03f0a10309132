/**
 * The OpenAPI 3.1 document, generated from the routes as fastify registers them (their JSON
 * schemas and auth configuration), so it always describes the running server.
 */
import type { RouteOptions } from 'fastify';
import type { Schema } from './schemas.js';

/** What the generator keeps of a route. */
export interface RouteInfo {
  readonly method: string;
  readonly url: string;
  readonly schema: Readonly<Record<string, unknown>> | undefined;
  readonly auth: 'none' | 'read' | 'write';
  readonly body: 'json' | 'images' | 'none';
  readonly queryKey: boolean;
  readonly produces: string | undefined;
  readonly websocket: boolean;
}

/** The route's info, from fastify's `onRoute` options. */
export function routeInfo(r: RouteOptions): RouteInfo[] {
  const methods = (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');
  const config = (r.config ?? {}) as Record<string, unknown>;
  return methods.map((method) => ({
    method,
    url: r.url,
    schema: r.schema as Readonly<Record<string, unknown>> | undefined,
    auth: (config.auth as RouteInfo['auth']) ?? 'read',
    body: (config.body as RouteInfo['body']) ?? 'none',
    queryKey: config.queryKey === true,
    produces: typeof config.produces === 'string' ? config.produces : undefined,
    websocket: (r as { websocket?: boolean }).websocket === true,
  }));
}

/** Strip fastify-only keywords (`$id`) from a schema, recursively. */
function clean(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(clean);
  if (typeof s !== 'object' || s === null) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) if (k !== '$id') out[k] = clean(v);
  return out;
}

/** Build the OpenAPI document. */
export function openApiDocument(routes: readonly RouteInfo[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (!r.url.startsWith('/api/') && r.url !== '/metrics') continue;
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const s = r.schema ?? {};
    const parameters: Record<string, unknown>[] = [];
    for (const [where, key] of [
      ['path', 'params'],
      ['query', 'querystring'],
    ] as const) {
      const obj = s[key] as Schema | undefined;
      const props = (obj?.properties ?? {}) as Record<string, unknown>;
      const required = new Set((obj?.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries(props)) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || required.has(name),
          schema: clean(schema),
          ...(name === 'key' ? { description: 'API key (only for images, streams and the WebSocket)' } : {}),
        });
      }
    }
    const op: Record<string, unknown> = {
      summary: s.summary ?? `${r.method} ${path}`,
      tags: s.tags ?? [],
      ...(parameters.length ? { parameters } : {}),
      security: r.auth === 'none' ? [] : [{ bearer: [] }, { apiKey: [] }],
      'x-facerec-auth': r.auth,
    };
    if (r.body === 'json' && s.body) {
      op.requestBody = { required: true, content: { 'application/json': { schema: clean(s.body) } } };
    } else if (r.body === 'images') {
      op.requestBody = {
        required: true,
        content: {
          'multipart/form-data': {
            schema: { type: 'object', properties: { image: { type: 'string', format: 'binary' } } },
          },
          'image/*': { schema: { type: 'string', format: 'binary' } },
        },
      };
    }
    const responses: Record<string, unknown> = {};
    const resp = (s.response ?? {}) as Record<string, Schema>;
    for (const [code, schema] of Object.entries(resp)) {
      const status = code.replace('xx', 'XX');
      const binary = schema.format === 'binary';
      const type = binary
        ? (r.produces ?? (path.endsWith('/stream') ? 'multipart/x-mixed-replace' : 'image/jpeg'))
        : 'application/json';
      responses[status] = {
        description: status.startsWith('2') ? 'OK' : 'Error: {"error": {"code", "message"}}',
        content: { [type]: { schema: clean(schema) } },
      };
    }
    if (r.produces && !Object.keys(responses).some((c) => c.startsWith('2'))) {
      responses['200'] = { description: 'OK', content: { [r.produces]: { schema: { type: 'string' } } } };
    }
    if (r.websocket) responses['101'] = { description: 'Switching protocols (WebSocket)' };
    op.responses = responses;
    paths[path] = { ...(paths[path] ?? {}), [r.method.toLowerCase()]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'facerec',
      version,
      description: 'Face recognition service: people, cameras, events, unknown faces. See docs/api.md.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
    },
    paths,
  };
}
