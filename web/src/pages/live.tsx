/** Live: the cameras' annotated streams, and this device's own camera. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Camera, LiveFace, LiveFrame } from '../api.js';
import { Empty, ErrorNotice, Loading, Notice } from '../components/ui.js';
import { useApp } from '../context.js';
import {
  cameraErrorMessage,
  cameraUnavailableReason,
  type DeviceStatus,
  DeviceStreamer,
  RateMeter,
} from '../device.js';
import { useAsync, useInterval } from '../hooks.js';
import { drawFaces, faceLabel } from '../overlay.js';

export function LivePage() {
  const { health } = useApp();
  return (
    <>
      <h1>Live</h1>
      {health.setup?.empty_gallery && (
        <Notice tone="warn">
          <p>
            No one enrolled yet — add a person from a few photos on the <a href="#/people">People</a> page,
            and faces here will get names.
          </p>
        </Notice>
      )}
      <DeviceCamera />
      <Cameras />
    </>
  );
}

const STATE_TONE: Record<string, string> = { live: 'ok', connecting: 'warn', stalled: 'warn' };

/**
 * Names in view per camera id, from the live WebSocket (subscribed to every camera), updated at most
 * twice a second: the text twin of the annotated streams, for screen readers and quick reading.
 */
function useCameraNames(active: boolean): Map<number, string[]> {
  const { api } = useApp();
  const [names, setNames] = useState<Map<number, string[]>>(new Map());
  useEffect(() => {
    if (!active) return;
    let ws: WebSocket | null = null;
    let closed = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let flush: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    const latest = new Map<number, string[]>();
    const connect = () => {
      ws = new WebSocket(api.liveUrl());
      ws.onopen = () => {
        attempt = 0;
        ws?.send(JSON.stringify({ type: 'subscribe', cameras: 'all' }));
      };
      ws.onmessage = (ev) => {
        if (typeof ev.data !== 'string') return;
        let msg: Partial<LiveFrame> & { type?: string };
        try {
          msg = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (msg.type !== 'frame' || msg.source !== 'camera' || msg.camera_id == null) return;
        latest.set(msg.camera_id, (msg.faces ?? []).map(faceLabel));
        flush ??= setTimeout(() => {
          flush = undefined;
          setNames(new Map(latest));
        }, 500);
      };
      ws.onclose = (ev) => {
        if (closed || ev.code === 1008) return;
        attempt++;
        retry = setTimeout(connect, Math.min(30_000, 1000 * 2 ** attempt));
      };
    };
    connect();
    return () => {
      closed = true;
      clearTimeout(retry);
      clearTimeout(flush);
      ws?.close(1000);
    };
  }, [api, active]);
  return names;
}

function Cameras() {
  const { api } = useApp();
  const cams = useAsync(() => api.listCameras(), []);
  useInterval(cams.reload, 5000);
  const list = cams.data?.cameras ?? [];
  const names = useCameraNames(list.length > 0);
  return (
    <section class="panel" aria-labelledby="cams-title">
      <h2 id="cams-title">Cameras</h2>
      {cams.loading && !cams.data && <Loading label="Loading cameras…" />}
      <ErrorNotice error={cams.data ? undefined : cams.error} onRetry={cams.reload} />
      {cams.data && list.length === 0 && (
        <Empty title="No camera added">
          <p>
            Add an IP camera by its URL in <a href="#/settings">Settings</a> (for example a phone running an
            IP-camera app, <code>http://192.168.0.107:8081/</code>), or use this device's camera above.
          </p>
        </Empty>
      )}
      <div class="grid">
        {list.map((c) => (
          <CameraTile key={c.id} camera={c} names={names.get(c.id)} />
        ))}
      </div>
    </section>
  );
}

function CameraTile({ camera: c, names }: { camera: Camera; names: string[] | undefined }) {
  const { api } = useApp();
  const live = c.enabled && c.state !== 'unavailable';
  return (
    <figure class="camera-tile">
      <div class="viewer" style={{ aspectRatio: '4 / 3' }}>
        {live ? (
          <img src={api.mediaUrl(c.stream_url)} alt={`Live view of ${c.name}, with names on faces`} />
        ) : (
          <div class="empty" style={{ color: '#ccc' }}>
            {c.enabled ? 'Not available' : 'Disabled'}
          </div>
        )}
      </div>
      <figcaption>
        <span>
          <strong>{c.name}</strong>
          <br />
          <span class="muted small">{c.url}</span>
        </span>
        <span style={{ textAlign: 'right' }}>
          <span class={`badge ${STATE_TONE[c.state] ?? 'error'}`}>{c.state}</span>
          {c.stats && c.state === 'live' && (
            <span class="small muted stats" style={{ justifyContent: 'flex-end' }}>
              <span>{c.stats.fps.toFixed(1)} fps</span>
              {c.stats.latency_ms != null && <span>{Math.round(c.stats.latency_ms)} ms</span>}
            </span>
          )}
        </span>
      </figcaption>
      {c.state === 'live' && names && (
        <p class="small" aria-live="polite">
          {names.length === 0 ? 'No face in view' : `In view: ${[...new Set(names)].join(', ')}`}
        </p>
      )}
      {c.last_error && c.state !== 'live' && <p class="small notice warn">{c.last_error}</p>}
    </figure>
  );
}

/** The device's camera, streamed to the server; boxes and names drawn here. */
function DeviceCamera() {
  const { api } = useApp();
  const video = useRef<HTMLVideoElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const streamer = useRef<DeviceStreamer | null>(null);
  const [status, setStatus] = useState<DeviceStatus>({ state: 'stopped', message: null });
  const [error, setError] = useState<string | null>(null);
  const [faces, setFaces] = useState<LiveFace[]>([]);
  const [stats, setStats] = useState<{ fps: number; latency: number; server: number } | null>(null);
  const [facing, setFacing] = useState<'user' | 'environment'>('user');
  const [aspect, setAspect] = useState('4 / 3');
  const unavailable = cameraUnavailableReason();
  const running = status.state !== 'stopped' && status.state !== 'error';

  useEffect(() => () => streamer.current?.stop(), []);

  const start = async (which: 'user' | 'environment') => {
    streamer.current?.stop();
    setError(null);
    setFaces([]);
    setStats(null);
    const v = video.current;
    const cv = canvas.current;
    if (!v || !cv) return;
    const meter = new RateMeter();
    let latency = 0;
    const s = new DeviceStreamer({
      url: api.liveUrl(),
      video: v,
      facing: which,
      onStatus: setStatus,
      onFrame: (f, rtt) => {
        latency = latency === 0 ? rtt : latency * 0.8 + rtt * 0.2;
        if (v.videoWidth > 0) setAspect(`${v.videoWidth} / ${v.videoHeight}`);
        drawFaces(cv, f.width, f.height, f.faces, which === 'user');
        setFaces(f.faces);
        setStats({ fps: meter.tick(performance.now()), latency, server: f.latency_ms });
      },
    });
    streamer.current = s;
    try {
      await s.start();
    } catch (err) {
      s.stop();
      streamer.current = null;
      setError(cameraErrorMessage(err));
    }
  };

  const stop = () => {
    streamer.current?.stop();
    streamer.current = null;
    setFaces([]);
    setStats(null);
    const cv = canvas.current;
    cv?.getContext('2d')?.clearRect(0, 0, cv.width, cv.height);
  };

  const names = faces.map(faceLabel);
  const summary = names.length === 0 ? 'No face in view' : `In view: ${[...new Set(names)].join(', ')}`;

  return (
    <section class="panel" aria-labelledby="device-title">
      <div class="row spread">
        <h2 id="device-title">This device's camera</h2>
        <div class="row">
          {running ? (
            <>
              <button
                type="button"
                onClick={() => {
                  const next = facing === 'user' ? 'environment' : 'user';
                  setFacing(next);
                  void start(next);
                }}
              >
                Switch camera
              </button>
              <button type="button" onClick={stop}>
                Stop
              </button>
            </>
          ) : (
            <button
              type="button"
              class="primary"
              disabled={unavailable !== null}
              onClick={() => void start(facing)}
            >
              Use this device's camera
            </button>
          )}
        </div>
      </div>
      {unavailable && !running && (
        <Notice tone="warn">
          <p>{unavailable}</p>
        </Notice>
      )}
      {!running && !unavailable && !error && (
        <p class="muted small">
          Frames go to the facerec server, which answers with the faces it finds; nothing is recorded unless
          the server keeps snapshots. On a phone: open this page on the phone (over HTTPS) and point it at
          people.
        </p>
      )}
      {error && (
        <div class="notice error" role="alert">
          <p>{error}</p>
        </div>
      )}
      {status.message && (
        <Notice tone={status.state === 'error' ? 'error' : 'warn'}>
          <p>{status.message}</p>
        </Notice>
      )}
      <div class="viewer device" style={{ aspectRatio: aspect, display: running ? 'block' : 'none' }}>
        <video
          ref={video}
          muted
          playsInline
          autoplay
          aria-label="This device's camera"
          style={{ transform: facing === 'user' ? 'scaleX(-1)' : undefined }}
        />
        <canvas ref={canvas} data-testid="device-overlay" />
      </div>
      {running && (
        <div class="stack" style={{ marginTop: '0.75rem' }}>
          <div class="stats small" data-testid="device-stats">
            <span class="badge">{status.state}</span>
            {stats ? (
              <>
                <span>{stats.fps.toFixed(1)} fps</span>
                <span>{Math.round(stats.latency)} ms round trip</span>
                <span class="muted">{Math.round(stats.server)} ms on the server</span>
              </>
            ) : (
              <span class="muted">waiting for the first result…</span>
            )}
          </div>
          <p class="visually-hidden" aria-live="polite">
            {summary}
          </p>
          <ul class="names" data-testid="device-names" aria-label="Faces in view">
            {faces.map((f) => (
              <li key={f.track} class={f.name === null ? 'unknown' : ''}>
                {faceLabel(f)}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
