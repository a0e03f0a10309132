/**
 * The annotated stream as MJPEG over HTTP (`multipart/x-mixed-replace`, a `Content-Length` on
 * every part), which browsers show in an `<img>` and ffmpeg and VLC play. Any number of clients;
 * a slow client gets fewer frames (its frames are dropped while its socket is still busy) and
 * never slows the others or the recognition.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { invalidParameter } from '../core/index.js';

/** The multipart boundary of the stream (without the leading `--`). */
export const MJPEG_BOUNDARY = 'facerec-frame';

/** The part of an HTTP response the broadcaster writes to (a ServerResponse, or fastify's `reply.raw`). */
export type MjpegClientResponse = Pick<
  ServerResponse,
  'writeHead' | 'flushHeaders' | 'write' | 'end' | 'once' | 'on' | 'off' | 'destroyed' | 'writableEnded'
>;

interface Client {
  readonly res: MjpegClientResponse;
  busy: boolean;
  sent: number;
  dropped: number;
}

/**
 * Sends each published JPEG to every attached client as one multipart part.
 *
 * @example
 * const stream = new MjpegBroadcaster();
 * server.on('request', (req, res) => stream.attach(res));
 * renderer = new FrameRenderer({ onFrame: (f) => stream.publish(f.jpeg) });
 */
export class MjpegBroadcaster {
  readonly #clients = new Set<Client>();
  #latest: Buffer | undefined;
  #published = 0;
  #dropped = 0;
  #closed = false;

  /** Clients attached now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** The last JPEG published, if any. */
  get latest(): Buffer | undefined {
    return this.#latest;
  }

  /** Frames published, and per-client frames dropped (summed over clients). */
  stats(): { clients: number; published: number; dropped: number } {
    return { clients: this.#clients.size, published: this.#published, dropped: this.#dropped };
  }

  /**
   * Start streaming to `res`: writes the response head, then the latest frame (if any) and every
   * later one. The client is forgotten when its connection closes.
   */
  attach(res: MjpegClientResponse): void {
    if (this.#closed) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('stream closed\n');
      return;
    }
    res.writeHead(200, {
      'content-type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
      'cache-control': 'no-cache, no-store, must-revalidate',
      pragma: 'no-cache',
      connection: 'close',
      'x-content-type-options': 'nosniff',
    });
    const client: Client = { res, busy: false, sent: 0, dropped: 0 };
    this.#clients.add(client);
    const forget = () => {
      this.#clients.delete(client);
      res.off('drain', onDrain);
    };
    const onDrain = () => {
      client.busy = false;
    };
    res.on('drain', onDrain);
    res.once('close', forget);
    res.once('error', forget);
    if (this.#latest) this.#send(client, this.#latest);
    // Send the head now: a player waits for it before the first frame.
    else res.flushHeaders();
  }

  /** Send `jpeg` to every client whose previous frame has been written out; skip the others. */
  publish(jpeg: Buffer): void {
    if (this.#closed) return;
    this.#latest = jpeg;
    this.#published++;
    for (const c of this.#clients) this.#send(c, jpeg);
  }

  /** End every client's response and refuse new ones. */
  close(): void {
    this.#closed = true;
    for (const c of this.#clients) {
      if (!c.res.writableEnded) c.res.end();
    }
    this.#clients.clear();
  }

  #send(c: Client, jpeg: Buffer): void {
    if (c.res.destroyed || c.res.writableEnded) {
      this.#clients.delete(c);
      return;
    }
    if (c.busy) {
      c.dropped++;
      this.#dropped++;
      return;
    }
    const head = `--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`;
    c.res.write(head);
    c.res.write(jpeg);
    c.busy = !c.res.write('\r\n');
    c.sent++;
  }
}

/** Options of {@link serveMjpeg}. */
export interface ServeMjpegOptions {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Address to listen on. Default `127.0.0.1` (loopback only). */
  readonly host?: string;
}

/** A running MJPEG server. */
export interface MjpegServer {
  /** `http://host:port/`. */
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  /** Stop listening, end the streams, close every connection. */
  close(): Promise<void>;
}

/**
 * Serve `broadcaster` over HTTP: the stream at `/` (and `/stream.mjpg`), the latest frame at
 * `/snapshot.jpg`, a minimal viewer page at `/view`. On a loopback address, requests whose `Host`
 * header is not a loopback name are refused (no DNS rebinding onto the local stream).
 *
 * @throws InvalidInputError for a bad port; the listen error (EADDRINUSE …) otherwise.
 */
export async function serveMjpeg(
  broadcaster: MjpegBroadcaster,
  opts: ServeMjpegOptions,
): Promise<MjpegServer> {
  const { port } = opts;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw invalidParameter('port', 'an integer from 0 to 65535', port);
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => handle(req, res));
  let actualPort = port;
  const allowedHosts = () =>
    new Set([
      `${host}:${actualPort}`,
      `localhost:${actualPort}`,
      `127.0.0.1:${actualPort}`,
      `[::1]:${actualPort}`,
    ]);
  const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (loopback && !allowedHosts().has(hostHeader)) {
      res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('misdirected request\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/' || path === '/stream.mjpg') {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}` });
        res.end();
        return;
      }
      broadcaster.attach(res);
      return;
    }
    if (path === '/snapshot.jpg') {
      const jpeg = broadcaster.latest;
      if (!jpeg) {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
        res.end('no frame yet\n');
        return;
      }
      res.writeHead(200, {
        'content-type': 'image/jpeg',
        'content-length': jpeg.length,
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : jpeg);
      return;
    }
    if (path === '/view') {
      const page =
        '<!doctype html><meta charset="utf-8"><title>facerec</title>' +
        '<style>body{margin:0;background:#111;display:grid;place-items:center;height:100vh}img{max-width:100%;max-height:100vh}</style>' +
        '<img src="/stream.mjpg" alt="annotated camera stream">';
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'self'; style-src 'unsafe-inline'",
      });
      res.end(page);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found: the stream is at /\n');
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  actualPort = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actualPort}/`,
    port: actualPort,
    server,
    close: async () => {
      broadcaster.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
