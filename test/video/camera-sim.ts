/**
 * An IP camera simulator for tests: an HTTP server that serves JPEG frames of real face photos
 * as MJPEG (three framing styles seen on real cameras), a still image at /shot.jpg, with Basic
 * auth, and modes that stall the stream or drop every connection for a while.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RawImage } from '../../src/core/index.js';
import { decodeImage, encodeJpeg, resize } from '../../src/image/index.js';

/** How the simulated camera frames its stream. */
export type MjpegStyle =
  /** mjpg-streamer: `boundary=boundarydonotcross`, parts `--boundarydonotcross` with Content-Length. */
  | 'mjpg-streamer'
  /** `boundary="--myboundary"` (quoted, dashes declared), parts `--myboundary`, no Content-Length, LF line ends. */
  | 'quoted-no-length'
  /** `image/jpeg` then JPEG files back to back, no multipart at all. */
  | 'bare-jpeg';

export interface CameraSimOptions {
  /** JPEG frames, sent in a loop. */
  readonly frames: readonly Buffer[];
  /** Frames per second. Default 15. */
  readonly fps?: number;
  readonly style?: MjpegStyle;
  /** Require these credentials (Basic auth). */
  readonly auth?: { readonly user: string; readonly password: string };
}

/** A running simulated camera. */
export class CameraSim {
  readonly #opts: CameraSimOptions;
  readonly #server: http.Server;
  readonly #clients = new Set<http.ServerResponse>();
  readonly #sockets = new Set<Socket>();
  #timer: NodeJS.Timeout | undefined;
  #port = 0;
  #index = 0;
  #stalled = false;
  /** Frames written (counting each client). */
  framesSent = 0;
  /** Requests refused with 401. */
  unauthorized = 0;
  /** Authorization headers received (to check what the client sent). */
  readonly authHeaders: string[] = [];

  constructor(opts: CameraSimOptions) {
    this.#opts = opts;
    this.#server = http.createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  /** Listen on a free loopback port (or `port`). */
  async start(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    const fps = this.#opts.fps ?? 15;
    this.#timer ??= setInterval(() => this.#tick(), 1000 / fps);
  }

  get port(): number {
    return this.#port;
  }

  /** The stream URL, with the credentials when the camera has some (or `auth` to override). */
  url(path = '/video', auth?: { user: string; password: string }): string {
    const a = auth ?? this.#opts.auth;
    const userinfo = a ? `${encodeURIComponent(a.user)}:${encodeURIComponent(a.password)}@` : '';
    return `http://${userinfo}127.0.0.1:${this.#port}${path}`;
  }

  /** Open connections to the stream. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Keep connections open but send nothing. */
  stall(): void {
    this.#stalled = true;
  }

  resume(): void {
    this.#stalled = false;
  }

  /** Drop every connection and stop listening (connections refused) until {@link comeBack}. */
  async drop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    this.#clients.clear();
    await closed;
  }

  /** Listen again on the same port. */
  async comeBack(): Promise<void> {
    await this.start(this.#port);
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const s of this.#sockets) s.destroy();
    this.#clients.clear();
    if (this.#server.listening) await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const auth = this.#opts.auth;
    if (req.headers.authorization) this.authHeaders.push(req.headers.authorization);
    if (auth) {
      const want = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        this.unauthorized++;
        res.writeHead(401, { 'www-authenticate': 'Basic realm="camera"', 'content-type': 'text/plain' });
        res.end('401 Unauthorized');
        return;
      }
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/shot.jpg') {
      const frame = this.#frame();
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': frame.length });
      res.end(frame);
      return;
    }
    if (path !== '/video') {
      res.writeHead(404);
      res.end();
      return;
    }
    const style = this.#opts.style ?? 'mjpg-streamer';
    const type =
      style === 'mjpg-streamer'
        ? 'multipart/x-mixed-replace;boundary=boundarydonotcross'
        : style === 'quoted-no-length'
          ? 'multipart/x-mixed-replace; boundary="--myboundary"'
          : 'image/jpeg';
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache', connection: 'close' });
    this.#clients.add(res);
    res.once('close', () => this.#clients.delete(res));
  }

  #frame(): Buffer {
    const frames = this.#opts.frames;
    return frames[this.#index % frames.length]!;
  }

  #tick(): void {
    if (this.#stalled || this.#clients.size === 0) return;
    this.#index++;
    const frame = this.#frame();
    const style = this.#opts.style ?? 'mjpg-streamer';
    for (const res of this.#clients) {
      if (style === 'mjpg-streamer') {
        res.write(
          `--boundarydonotcross\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.length}\r\nX-Timestamp: ${Date.now() / 1000}\r\n\r\n`,
        );
        res.write(frame);
        res.write('\r\n');
      } else if (style === 'quoted-no-length') {
        res.write('--myboundary\nContent-Type: image/jpeg\n\n');
        res.write(frame);
        res.write('\n');
      } else {
        res.write(frame);
      }
      this.framesSent++;
    }
  }
}

/** `img` scaled to fit `w × h` and centred on a gray background. */
export async function fitOnCanvas(img: RawImage, w = 640, h = 480, gray = 96): Promise<RawImage> {
  const k = Math.min(w / img.width, h / img.height);
  const sw = Math.max(1, Math.round(img.width * k));
  const sh = Math.max(1, Math.round(img.height * k));
  const scaled = await resize(img, sw, sh, { kernel: 'linear' });
  const out = new Uint8Array(w * h * 3).fill(gray);
  const ox = Math.floor((w - sw) / 2);
  const oy = Math.floor((h - sh) / 2);
  for (let y = 0; y < sh; y++) {
    out.set(scaled.data.subarray(y * sw * 3, (y + 1) * sw * 3), ((oy + y) * w + ox) * 3);
  }
  return { data: out, width: w, height: h, channels: 3 };
}

/** Place `tiles` (e.g. 150×150 face crops) side by side, scaled to `tileSize`, on a `w × h` gray canvas. */
export async function tileOnCanvas(
  tiles: readonly RawImage[],
  tileSize = 180,
  w = 640,
  h = 480,
  gray = 96,
): Promise<RawImage> {
  const out = new Uint8Array(w * h * 3).fill(gray);
  const gap = Math.floor((w - tiles.length * tileSize) / (tiles.length + 1));
  const oy = Math.floor((h - tileSize) / 2);
  for (let i = 0; i < tiles.length; i++) {
    const t = await resize(tiles[i]!, tileSize, tileSize, { kernel: 'linear' });
    const ox = gap + i * (tileSize + gap);
    for (let y = 0; y < tileSize; y++) {
      out.set(t.data.subarray(y * tileSize * 3, (y + 1) * tileSize * 3), ((oy + y) * w + ox) * 3);
    }
  }
  return { data: out, width: w, height: h, channels: 3 };
}

/** A demo photo (or any image file) as a 640×480 JPEG frame. */
export async function photoFrame(path: string, quality = 85): Promise<Buffer> {
  return encodeJpeg(await fitOnCanvas(await decodeImage(path)), quality);
}
