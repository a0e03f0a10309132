/**
 * IP cameras over HTTP, in-process (node:http/https, no ffmpeg): MJPEG streams as phone apps
 * (IP Webcam, DroidCam), mjpg-streamer and ESP32-CAM serve them, and still-image URLs polled at
 * a set rate. Credentials in the URL are sent as HTTP Basic auth and never shown.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidParameter } from '../core/index.js';
import { DEFAULT_MAX_PART_BYTES, MjpegParser } from './mjpeg-parser.js';
import { Redactor, redactUrl } from './redact.js';
import {
  type DecodeFrameOptions,
  ReconnectingSource,
  type SessionContext,
  type SessionEnd,
} from './source-core.js';
import type { HttpMode } from './spec.js';
import type { SourceOptions } from './types.js';

/** Options of {@link HttpSource}. */
export interface HttpSourceOptions extends SourceOptions, DecodeFrameOptions {
  /** How to read the URL; default `'auto'` (MJPEG, or polling when it answers with one still image). */
  readonly mode?: HttpMode;
  /** Polling rate for still-image URLs, frames per second, 0.1–60. Default 10. */
  readonly snapshotFps?: number;
  /** Largest frame (JPEG part or still image) accepted, bytes. Default 16 MiB. */
  readonly maxFrameBytes?: number;
  /** Redirects followed per request (http/https only; credentials dropped on another host). Default 3. */
  readonly maxRedirects?: number;
}

/**
 * An MJPEG or still-image camera over HTTP.
 *
 * @example
 * const cam = new HttpSource('http://admin:admin@192.168.0.107:8081/');
 * cam.onState((s) => process.stderr.write(`${s.state} ${s.reason ?? ''}\n`));
 * for await (const frame of cam) { … }
 */
export class HttpSource extends ReconnectingSource {
  readonly #url: URL;
  readonly #redactor: Redactor;
  readonly #auth: string | undefined;
  readonly #fps: number;
  readonly #maxBytes: number;
  readonly #maxRedirects: number;
  #mode: HttpMode;

  /**
   * @param url - an http:// or https:// URL, credentials allowed (`http://user:pass@host:port/path`).
   * @throws InvalidInputError for another scheme or a bad option.
   */
  constructor(url: URL | string, opts: HttpSourceOptions = {}) {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw invalidParameter('url', 'an http:// or https:// URL', redactUrl(u.href));
    }
    const description = redactUrl(u.href);
    super(opts.id ?? description, description, opts);
    this.#redactor = Redactor.forUrl(u);
    this.#auth = basicAuth(u);
    u.username = '';
    u.password = '';
    this.#url = u;
    this.#mode = opts.mode ?? 'auto';
    this.#fps = opts.snapshotFps ?? 10;
    if (!(Number.isFinite(this.#fps) && this.#fps >= 0.1 && this.#fps <= 60)) {
      throw invalidParameter('snapshotFps', 'a rate from 0.1 to 60 frames per second', opts.snapshotFps);
    }
    this.#maxBytes = opts.maxFrameBytes ?? DEFAULT_MAX_PART_BYTES;
    if (!(Number.isInteger(this.#maxBytes) && this.#maxBytes >= 1024)) {
      throw invalidParameter('maxFrameBytes', 'an integer ≥ 1024', opts.maxFrameBytes);
    }
    this.#maxRedirects = opts.maxRedirects ?? 3;
  }

  /** How the URL is read now (`'auto'` turns into `'snapshot'` when the URL serves one still image). */
  get mode(): HttpMode {
    return this.#mode;
  }

  protected async session(ctx: SessionContext): Promise<SessionEnd> {
    if (this.#mode === 'snapshot') return this.#poll(ctx);
    const res = await this.#get(ctx.signal, undefined);
    ctx.connected();
    const type = res.headers['content-type'];
    if (this.#mode === 'auto' && isStillImage(res)) {
      this.#mode = 'snapshot';
      return this.#poll(ctx, res);
    }
    const parser = new MjpegParser(type, { maxPartBytes: this.#maxBytes });
    let parts = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        for (const part of parser.push(chunk)) {
          parts++;
          ctx.jpeg(part.data);
        }
        if (parser.ended) break;
      }
    } catch (err) {
      throw this.#error(err);
    } finally {
      res.destroy();
    }
    if (this.#mode === 'auto' && parts === 1 && parser.mode === 'jpeg') this.#mode = 'snapshot';
    return 'ended';
  }

  /** Fetch the still image repeatedly at the polling rate, on one keep-alive connection. */
  async #poll(ctx: SessionContext, first?: IncomingMessage): Promise<SessionEnd> {
    const agent =
      this.#url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 1 })
        : new http.Agent({ keepAlive: true, maxSockets: 1 });
    const interval = 1000 / this.#fps;
    let res = first;
    try {
      for (;;) {
        const t0 = performance.now();
        res ??= await this.#get(ctx.signal, agent);
        ctx.connected();
        const body = await readBody(res, this.#maxBytes).catch((err: unknown) => {
          throw this.#error(err);
        });
        res = undefined;
        ctx.jpeg(body);
        const wait = interval - (performance.now() - t0);
        if (wait > 0) await sleep(wait, undefined, { signal: ctx.signal });
      }
    } finally {
      res?.destroy();
      agent.destroy();
    }
  }

  /** GET the URL (following redirects), checking the status. */
  async #get(signal: AbortSignal, agent: http.Agent | undefined): Promise<IncomingMessage> {
    let target = this.#url;
    let auth = this.#auth;
    for (let hop = 0; ; hop++) {
      const res = await request(target, auth, signal, agent).catch((err: unknown) => {
        throw this.#error(err);
      });
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return res;
      res.resume();
      res.destroy();
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(status) && location && hop < this.#maxRedirects) {
        let next: URL;
        try {
          next = new URL(location, target);
        } catch {
          throw new Error(`HTTP ${status}: bad redirect location`);
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          throw new Error(`HTTP ${status}: redirect to a ${next.protocol} URL refused`);
        }
        if (next.origin !== target.origin) auth = undefined;
        next.username = '';
        next.password = '';
        target = next;
        continue;
      }
      throw new Error(this.#redactor.text(statusMessage(status, res, this.#auth !== undefined)));
    }
  }

  /** An error with a message a person can act on, credentials removed. */
  #error(err: unknown): Error {
    if (err instanceof Error && err.name === 'AbortError') return err;
    const code = (err as { code?: string } | null)?.code;
    const where = `${this.#url.hostname}:${this.#url.port || (this.#url.protocol === 'https:' ? 443 : 80)}`;
    let message: string;
    switch (code) {
      case 'ECONNREFUSED':
        message = `connection refused by ${where} (is the camera app running, and the port right?)`;
        break;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        message = `unknown host ${this.#url.hostname}`;
        break;
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        message = `${where} is unreachable (same network?)`;
        break;
      case 'ECONNRESET':
        message = `the connection to ${where} was reset`;
        break;
      case 'ETIMEDOUT':
        message = `the connection to ${where} timed out`;
        break;
      default:
        message = err instanceof Error ? err.message : String(err);
    }
    return new Error(this.#redactor.text(message), { cause: err });
  }
}

/** The `Authorization: Basic …` value for a URL's userinfo, or undefined without one. */
export function basicAuth(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return `Basic ${Buffer.from(`${dec(url.username)}:${dec(url.password)}`, 'utf8').toString('base64')}`;
}

function request(
  url: URL,
  auth: string | undefined,
  signal: AbortSignal,
  agent: http.Agent | undefined,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = {
      'user-agent': 'facerec',
      accept: 'multipart/x-mixed-replace, image/jpeg, image/*;q=0.8, */*;q=0.5',
    };
    if (auth) headers.authorization = auth;
    let req: ClientRequest;
    try {
      req = mod.request(
        {
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port || undefined,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          headers,
          signal,
          agent: agent ?? false,
        },
        resolve,
      );
    } catch (err) {
      reject(err);
      return;
    }
    req.on('error', reject);
    req.end();
  });
}

/** True when the response is one still image (an image type with a length), not a stream. */
function isStillImage(res: IncomingMessage): boolean {
  const type = (res.headers['content-type'] ?? '').toLowerCase();
  return type.startsWith('image/') && res.headers['content-length'] !== undefined;
}

/** The whole body, refusing more than `max` bytes. */
async function readBody(res: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    res.destroy();
    throw new Error(`a still image of ${declared} bytes exceeds the ${max}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      res.destroy();
      throw new Error(`a still image exceeds the ${max}-byte limit`);
    }
    chunks.push(chunk);
  }
  if (total === 0) throw new Error('the camera sent an empty image');
  return Buffer.concat(chunks, total);
}

function statusMessage(status: number, res: IncomingMessage, hadCredentials: boolean): string {
  const text = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
  if (status === 401) {
    const scheme = String(res.headers['www-authenticate'] ?? '').split(/\s/)[0] ?? '';
    if (scheme !== '' && !/^basic$/i.test(scheme)) {
      return `${text}: the camera asks for ${scheme} authentication; only Basic is supported`;
    }
    return hadCredentials
      ? `${text}: wrong user name or password`
      : `${text}: the camera wants a user name and password (http://user:password@host:port/…)`;
  }
  if (status === 404) return `${text}: no stream at this path (check the URL in the camera app)`;
  return text;
}
