/**
 * "Use this device's camera": getUserMedia → JPEG frames over the live WebSocket → results.
 *
 * Flow control: at most {@link DeviceOptions.maxInFlight} frames are waiting for an answer; the
 * next frame is captured only when a slot is free (and no faster than `maxFps`), so a slow server
 * or network lowers the frame rate instead of building a queue. The server answers each analysed
 * frame with `seq` = the number of the binary message; frames it dropped are never answered, so an
 * answer for `seq` frees every slot up to it.
 */
import type { LiveFrame } from './api.js';

/** Why the camera cannot start, in words a person can act on. */
export function cameraUnavailableReason(): string | null {
  if (!window.isSecureContext) {
    return (
      `Browsers give a page the camera only over HTTPS (or on localhost), and this page is ${location.protocol}//${location.host}. ` +
      'Start the server with --tls (facerec serve --host 0.0.0.0 --tls) and open https://' +
      `${location.hostname}:${location.port || '8080'}/ on this device; accept the self-signed certificate once ("Advanced" → "Proceed").`
    );
  }
  if (!navigator.mediaDevices?.getUserMedia) {
    return 'This browser does not let pages use the camera (no getUserMedia). Try a current Chrome, Firefox or Safari.';
  }
  return null;
}

/** A getUserMedia failure explained. */
export function cameraErrorMessage(err: unknown): string {
  const name = (err as { name?: string })?.name ?? '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera access was refused. Allow the camera for this site (the camera icon in the address bar, or the browser’s site settings), then start again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found on this device.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera could not be opened: another app may be using it. Close it and start again.';
    default:
      return `The camera could not be started: ${(err as Error)?.message ?? String(err)}`;
  }
}

/** Options of {@link DeviceStreamer}. */
export interface DeviceOptions {
  /** WebSocket URL of `/api/v1/live` (with `?key=` when needed). */
  url: string;
  /** The `<video>` element that shows the camera. */
  video: HTMLVideoElement;
  /** `user` (front) or `environment` (back) camera. */
  facing: 'user' | 'environment';
  /** Width of the frames sent, px (height keeps the aspect ratio). Default 640. */
  width?: number;
  /** JPEG quality 0–1. Default 0.75. */
  quality?: number;
  /** Highest frame rate sent. Default 12. */
  maxFps?: number;
  /** Frames sent and not answered yet, at most. Default 2. */
  maxInFlight?: number;
  /** Label of this camera in events (default: the server's "browser"). */
  deviceName?: string;
  /** A result arrived: the frame, and the round trip from capture to answer, ms. */
  onFrame: (frame: LiveFrame, roundTripMs: number) => void;
  /** The state for the page. */
  onStatus: (status: DeviceStatus) => void;
}

/** What the page shows about the device camera. */
export interface DeviceStatus {
  state: 'starting' | 'connecting' | 'live' | 'reconnecting' | 'stopped' | 'error';
  message: string | null;
}

/** Streams a device camera to the server and hands back the results. Call {@link stop} to release it. */
export class DeviceStreamer {
  readonly #o: Required<Omit<DeviceOptions, 'deviceName'>> & { deviceName: string };
  #stream: MediaStream | null = null;
  #ws: WebSocket | null = null;
  #canvas = document.createElement('canvas');
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #encoding = false;
  #sent = 0;
  #answered = 0;
  #sentAt = new Map<number, number>();
  #lastSend = 0;
  #retries = 0;
  /** A server error message is on screen (cleared by the next good answer). */
  #warned = false;

  constructor(opts: DeviceOptions) {
    this.#o = { width: 640, quality: 0.75, maxFps: 12, maxInFlight: 2, deviceName: '', ...opts };
  }

  /** Open the camera, then the WebSocket. Rejects with a getUserMedia error (see {@link cameraErrorMessage}). */
  async start(): Promise<void> {
    this.#o.onStatus({ state: 'starting', message: null });
    const video: MediaTrackConstraints = {
      facingMode: { ideal: this.#o.facing },
      width: { ideal: 1280 },
      height: { ideal: 720 },
    };
    this.#stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    if (this.#stopped) {
      this.#release();
      return;
    }
    const v = this.#o.video;
    v.srcObject = this.#stream;
    v.muted = true;
    v.playsInline = true;
    await v.play().catch(() => undefined);
    this.#connect();
  }

  /** Stop capturing, close the socket and release the camera. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#ws?.close(1000);
    this.#ws = null;
    this.#release();
    this.#o.onStatus({ state: 'stopped', message: null });
  }

  #release(): void {
    for (const t of this.#stream?.getTracks() ?? []) t.stop();
    this.#stream = null;
    this.#o.video.srcObject = null;
  }

  #connect(): void {
    if (this.#stopped) return;
    this.#o.onStatus({ state: this.#retries > 0 ? 'reconnecting' : 'connecting', message: null });
    const ws = new WebSocket(this.#o.url);
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    this.#sent = 0;
    this.#answered = 0;
    this.#sentAt.clear();
    ws.onopen = () => {
      this.#retries = 0;
      if (this.#o.deviceName) ws.send(JSON.stringify({ type: 'device', name: this.#o.deviceName }));
      this.#o.onStatus({ state: 'live', message: null });
      this.#schedule(0);
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let msg: { type?: string; seq?: number; error?: { message?: string } };
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.type === 'frame' && (msg as LiveFrame).source === 'device') {
        const f = msg as LiveFrame;
        const at = this.#sentAt.get(f.seq);
        this.#answer(f.seq);
        if (this.#warned) {
          this.#warned = false;
          this.#o.onStatus({ state: 'live', message: null });
        }
        this.#o.onFrame(f, at === undefined ? f.latency_ms : performance.now() - at);
        this.#schedule(0);
      } else if (msg.type === 'error') {
        if (typeof msg.seq === 'number') this.#answer(msg.seq);
        this.#warned = true;
        this.#o.onStatus({ state: 'live', message: msg.error?.message ?? 'The server refused a frame.' });
        this.#schedule(0);
      }
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws || this.#stopped) return;
      clearTimeout(this.#timer);
      if (ev.code === 1008) {
        this.#o.onStatus({
          state: 'error',
          message:
            'The server closed the connection: the API key was revoked or is not valid. Reload the page.',
        });
        this.#release();
        return;
      }
      this.#retries++;
      const delay = Math.min(10_000, 500 * 2 ** Math.min(this.#retries, 5));
      this.#o.onStatus({
        state: 'reconnecting',
        message:
          ev.code === 1001
            ? 'The server is restarting; reconnecting…'
            : `Lost the connection to the server; retrying in ${Math.round(delay / 1000)} s…`,
      });
      this.#timer = setTimeout(() => this.#connect(), delay);
    };
  }

  /** Mark every frame up to `seq` as answered. */
  #answer(seq: number): void {
    if (seq > this.#answered) this.#answered = Math.min(seq, this.#sent);
    for (const k of this.#sentAt.keys()) if (k <= seq) this.#sentAt.delete(k);
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.#tick(), ms);
  }

  #tick(): void {
    const ws = this.#ws;
    if (this.#stopped || !ws || ws.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    const minGap = 1000 / this.#o.maxFps;
    const inFlight = this.#sent - this.#answered;
    if (inFlight >= this.#o.maxInFlight) {
      // Answers should come; if none has for 5 s (lost, or the server restarted its pipeline), free the slots.
      const oldest = Math.min(...this.#sentAt.values());
      if (Number.isFinite(oldest) && now - oldest > 5000) this.#answer(this.#sent);
      this.#schedule(100);
      return;
    }
    if (this.#encoding || now - this.#lastSend < minGap) {
      this.#schedule(Math.max(5, minGap - (now - this.#lastSend)));
      return;
    }
    const v = this.#o.video;
    if (v.readyState < 2 || v.videoWidth === 0) {
      this.#schedule(50);
      return;
    }
    const scale = Math.min(1, this.#o.width / v.videoWidth);
    const w = Math.round(v.videoWidth * scale);
    const h = Math.round(v.videoHeight * scale);
    const c = this.#canvas;
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
    }
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.drawImage(v, 0, 0, w, h);
    this.#encoding = true;
    this.#lastSend = now;
    c.toBlob(
      (blob) => {
        if (!blob || this.#stopped || this.#ws !== ws || ws.readyState !== WebSocket.OPEN) {
          this.#encoding = false;
          this.#schedule(minGap);
          return;
        }
        void blob.arrayBuffer().then((buf) => {
          this.#encoding = false;
          if (this.#stopped || this.#ws !== ws || ws.readyState !== WebSocket.OPEN) return;
          ws.send(buf);
          this.#sent++;
          this.#sentAt.set(this.#sent, now);
          this.#schedule(minGap);
        });
      },
      'image/jpeg',
      this.#o.quality,
    );
  }
}

/** Results per second over a sliding window. */
export class RateMeter {
  readonly #times: number[] = [];
  readonly #windowMs: number;
  constructor(windowMs = 2000) {
    this.#windowMs = windowMs;
  }
  /** Record an event at `now` (ms) and return the current rate per second. */
  tick(now: number): number {
    this.#times.push(now);
    while (this.#times.length > 0 && (this.#times[0] ?? now) < now - this.#windowMs) this.#times.shift();
    if (this.#times.length < 2) return 0;
    const span = now - (this.#times[0] ?? now);
    return span > 0 ? ((this.#times.length - 1) * 1000) / span : 0;
  }
}
