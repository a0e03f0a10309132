/** Settings: the decision threshold and its error rates, cameras, API keys, what is stored. */
import { useEffect, useState } from 'preact/hooks';
import type { ApiKey, Camera, CurvePoint, Settings, SettingsPatch } from '../api.js';
import { Confirm, Empty, ErrorNotice, Loading, Notice } from '../components/ui.js';
import { useApp } from '../context.js';
import { formatDateTime, formatRate, plural } from '../format.js';
import { useAsync } from '../hooks.js';
import { loadKey, saveKey } from '../keystore.js';

/**
 * FAR and FRR at `t` from the calibrated curve: FAR interpolated on a log scale (it spans orders of
 * magnitude), FRR linearly; clamped to the curve's ends. Undefined for an empty curve.
 */
export function ratesAt(curve: readonly CurvePoint[], t: number): { far: number; frr: number } | undefined {
  const pts = [...curve].sort((a, b) => a.threshold - b.threshold);
  const first = pts[0];
  const last = pts[pts.length - 1];
  if (!first || !last) return undefined;
  if (t <= first.threshold) return { far: first.far, frr: first.frr };
  if (t >= last.threshold) return { far: last.far, frr: last.frr };
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1];
    const b = pts[i];
    if (!a || !b || t > b.threshold) continue;
    const u = (t - a.threshold) / (b.threshold - a.threshold || 1);
    const far =
      a.far > 0 && b.far > 0
        ? Math.exp(Math.log(a.far) + u * (Math.log(b.far) - Math.log(a.far)))
        : a.far + u * (b.far - a.far);
    return { far, frr: a.frr + u * (b.frr - a.frr) };
  }
  return { far: last.far, frr: last.frr };
}

export function SettingsPage() {
  return (
    <>
      <h1>Settings</h1>
      <ThresholdSection />
      <CamerasSection />
      <KeysSection />
    </>
  );
}

const FPIR_CHOICES = [0.001, 0.01, 0.05] as const;

/** A retention in days as text ("30 days", "until removed"). */
function days(d: number | null): string {
  return d === null ? 'until removed' : plural(d, 'day');
}

function ThresholdSection() {
  const { api, readOnly } = useApp();
  const settings = useAsync(() => api.getSettings(), []);
  const [value, setValue] = useState<number | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState<string | null>(null);
  const s: Settings | undefined = settings.data;

  useEffect(() => {
    if (s) setValue(s.threshold);
  }, [s]);

  const save = async (patch: SettingsPatch, done: string) => {
    setSaving(true);
    setError(undefined);
    setSaved(null);
    try {
      const next = await api.patchSettings(patch);
      setValue(next.threshold);
      settings.reload();
      setSaved(done);
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  const curve = s?.curve ?? [];
  const t = value ?? s?.threshold ?? 0;
  const changed = s !== undefined && value !== null && Math.abs(value - s.threshold) > 1e-9;
  const rates = changed
    ? ratesAt(curve, t)
    : s && s.far !== null && s.frr !== null
      ? { far: s.far, frr: s.frr }
      : undefined;
  const ref = s?.default_threshold ?? s?.verify_threshold ?? 0.4;
  // Ends on whole hundredths, so that the slider's 0.001 steps land on round values.
  const lo = Math.max(0.05, Math.floor(Math.min(...curve.map((p) => p.threshold), ref * 0.6) * 100) / 100);
  const hi = Math.min(1.5, Math.ceil(Math.max(...curve.map((p) => p.threshold), ref * 1.5) * 100) / 100);

  return (
    <section class="panel" aria-labelledby="threshold-title">
      <h2 id="threshold-title">Recognition threshold</h2>
      {settings.loading && !s && <Loading />}
      <ErrorNotice error={settings.error} onRetry={settings.reload} />
      {s && (
        <div class="stack">
          <p class="muted small">
            A face is named as someone when it is closer than this distance to one of their photos. Lower is
            stricter: fewer strangers taken for someone you enrolled (false accepts), but people are missed
            more often (false rejects).
          </p>
          <p data-testid="threshold-mode">
            {s.threshold_mode === 'auto' ? (
              <>
                <strong>Automatic</strong>: the threshold tightens as the gallery grows (
                {plural(s.gallery_faces, 'face')} enrolled now), so that a stranger is named as someone in at
                most {formatRate(s.target_fpir)} of sightings.
              </>
            ) : (
              <>
                <strong>Fixed</strong> at the value set here, for identification and 1:1 verification.
              </>
            )}
          </p>
          <label class="field">
            <span>
              Threshold: <span data-testid="threshold-value">{t.toFixed(3)}</span>
              {changed && <span class="muted small"> (not saved)</span>}
            </span>
            <input
              type="range"
              min={lo}
              max={hi}
              step={0.001}
              value={t}
              disabled={readOnly || saving}
              onInput={(e) => {
                setSaved(null);
                setValue(Number(e.currentTarget.value));
              }}
            />
          </label>
          {rates ? (
            <div class="rates">
              <div class="rate">
                <div class="muted small">False accepts (FAR)</div>
                <div class="value" data-testid="far">
                  {formatRate(rates.far)}
                </div>
                <div class="small muted">of pairs of different people taken as one</div>
              </div>
              <div class="rate">
                <div class="muted small">False rejects (FRR)</div>
                <div class="value" data-testid="frr">
                  {formatRate(rates.frr)}
                </div>
                <div class="small muted">of pairs of photos of one person not matched</div>
              </div>
            </div>
          ) : (
            <p class="muted small">
              This embedding pipeline has no calibration, so the error rates are not known.
            </p>
          )}
          {s.calibration && (
            <p class="muted small">
              Rates per pair of faces, measured on {s.calibration}
              {changed ? ' (interpolated between calibrated points)' : ''}. 1:1 verification uses{' '}
              {s.verify_threshold.toFixed(4)}.
            </p>
          )}
          {!readOnly && (
            <div class="row">
              <button
                type="button"
                class="primary"
                disabled={!changed || saving}
                onClick={() => void save({ threshold: Number(t.toFixed(3)) }, `Fixed at ${t.toFixed(3)}.`)}
              >
                Save threshold
              </button>
              <button
                type="button"
                disabled={saving || s.threshold_mode === 'auto'}
                onClick={() => void save({ threshold: null }, 'Back to automatic.')}
              >
                Back to automatic
              </button>
              {s.threshold_mode === 'auto' && (
                <label class="row small">
                  Strangers named at most
                  <select
                    value={String(s.target_fpir)}
                    disabled={saving}
                    onChange={(e) =>
                      void save({ target_fpir: Number(e.currentTarget.value) }, 'Target saved.')
                    }
                  >
                    {[...new Set([...FPIR_CHOICES, s.target_fpir])]
                      .sort((a, b) => a - b)
                      .map((f) => (
                        <option key={f} value={String(f)}>
                          {formatRate(f)}
                        </option>
                      ))}
                  </select>
                </label>
              )}
            </div>
          )}
          {saved && <Notice tone="ok">{saved} Cameras use it within a second.</Notice>}
          <ErrorNotice error={error} />
          <p class="muted small">
            Stored: {s.keep_thumbnails ? 'face thumbnails' : 'no face thumbnails'},{' '}
            {s.keep_snapshots ? 'snapshots of events and unknown faces' : 'no snapshots'} (server flags{' '}
            <code>--keep-thumbnails</code>, <code>--keep-snapshots</code>). Photos themselves are never
            stored.
          </p>
          <p class="muted small" data-testid="retention">
            Kept: events {days(s.keep_events_days)}, unknown faces {days(s.keep_unknowns_days)} (server flags{' '}
            <code>--keep-events</code>, <code>--keep-unknowns</code>); older ones are purged every hour.
          </p>
        </div>
      )}
    </section>
  );
}

function CamerasSection() {
  const { api, readOnly, refreshHealth } = useApp();
  const cams = useAsync(() => api.listCameras(), []);
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [every, setEvery] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [removing, setRemoving] = useState<Camera | null>(null);

  const add = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.addCamera(name.trim(), url.trim(), every ? Number(every) : undefined);
      setName('');
      setUrl('');
      setEvery('');
      cams.reload();
      refreshHealth();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const act = async (fn: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await fn();
      cams.reload();
    } catch (err) {
      setError(err);
    }
  };

  const list = cams.data?.cameras ?? [];
  return (
    <section class="panel" aria-labelledby="cameras-title">
      <h2 id="cameras-title">Cameras</h2>
      {cams.loading && !cams.data && <Loading />}
      <ErrorNotice error={cams.error} onRetry={cams.reload} />
      {cams.data && list.length === 0 && <Empty title="No camera yet" />}
      {list.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Source</th>
              <th scope="col">State</th>
              {!readOnly && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.id}>
                <td>{c.name}</td>
                <td class="small">{c.url}</td>
                <td>
                  {c.state}
                  {c.last_error && <div class="small muted">{c.last_error}</div>}
                </td>
                {!readOnly && (
                  <td>
                    <div class="row">
                      <button
                        type="button"
                        onClick={() => void act(() => api.setCameraEnabled(c.id, !c.enabled))}
                      >
                        {c.enabled ? 'Disable' : 'Enable'}
                      </button>
                      <button type="button" class="danger" onClick={() => setRemoving(c)}>
                        Remove
                      </button>
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!readOnly && (
        <form
          class="stack"
          style={{ marginTop: '1rem' }}
          onSubmit={(e) => {
            e.preventDefault();
            void add();
          }}
        >
          <h3>Add a camera</h3>
          <div class="grid" style={{ gridTemplateColumns: 'repeat(auto-fit, minmax(200px, 1fr))' }}>
            <label class="field">
              Name
              <input
                value={name}
                required
                maxLength={200}
                placeholder="Front door"
                onInput={(e) => setName(e.currentTarget.value)}
              />
            </label>
            <label class="field">
              URL
              <input
                value={url}
                required
                inputMode="url"
                autocomplete="off"
                spellcheck={false}
                placeholder="http://192.168.0.107:8081/"
                onInput={(e) => setUrl(e.currentTarget.value)}
              />
            </label>
            <label class="field">
              Analyse one frame in
              <input
                type="number"
                min={1}
                max={100}
                value={every}
                placeholder="1"
                onInput={(e) => setEvery(e.currentTarget.value)}
              />
            </label>
          </div>
          <p class="muted small">
            MJPEG over <code>http://</code> or <code>https://</code> (a phone running an IP-camera app:
            <code>http://user:password@192.168.0.107:8081/</code>), <code>rtsp://</code>, a video file on the
            server, or a webcam (<code>/dev/video0</code>). Passwords in URLs are never shown again.
          </p>
          <div class="row">
            <button type="submit" class="primary" disabled={busy}>
              {busy && <span class="spinner" aria-hidden="true" />}
              Add camera
            </button>
          </div>
        </form>
      )}
      <ErrorNotice error={error} />
      {removing && (
        <Confirm
          title={`Remove ${removing.name}?`}
          confirmLabel="Remove camera"
          onCancel={() => setRemoving(null)}
          onConfirm={() => {
            const id = removing.id;
            setRemoving(null);
            void act(() => api.deleteCamera(id));
          }}
        >
          <p>It stops and is not restarted with the server. Its past events are kept.</p>
        </Confirm>
      )}
    </section>
  );
}

function KeysSection() {
  const { api, health, readOnly } = useApp();
  const keys = useAsync(() => (readOnly ? Promise.resolve(null) : api.listKeys()), [readOnly]);
  const [name, setName] = useState('');
  const [ro, setRo] = useState(true);
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const stored = loadKey() !== '';

  const create = async () => {
    setError(undefined);
    try {
      const k = await api.request<ApiKey & { key: string }>('POST', '/api/v1/keys', {
        json: { name: name.trim(), read_only: ro },
      });
      setCreated(k.key);
      setName('');
      keys.reload();
    } catch (err) {
      setError(err);
    }
  };

  const revoke = async (id: number) => {
    setError(undefined);
    try {
      await api.request('DELETE', `/api/v1/keys/${id}`);
      keys.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section class="panel" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys and access</h2>
      <p>
        {health.auth_required
          ? 'This server is reachable from the network: every request needs an API key.'
          : 'This server listens on this machine only (loopback): no key is needed here.'}{' '}
        {health.tls ? 'The connection is encrypted (HTTPS).' : 'The connection is not encrypted (HTTP).'}
      </p>
      <p class="muted small">
        To use a phone as a camera: create a key for it, start the server with{' '}
        <code>facerec serve --host 0.0.0.0 --tls</code>, open{' '}
        <code>https://&lt;this computer's LAN address&gt;:8080/</code> on the phone, accept the self-signed
        certificate once ("Advanced" → "Proceed"; its fingerprint is printed by the server), and enter the
        key. From a terminal: <code>facerec keys create --name phone --read-only</code>.
      </p>
      {stored && (
        <div class="row">
          <span class="small">This browser keeps a key.</span>
          <button
            type="button"
            onClick={() => {
              saveKey('');
              location.reload();
            }}
          >
            Forget the key in this browser
          </button>
        </div>
      )}
      {keys.loading && !keys.data && !readOnly && <Loading />}
      <ErrorNotice error={keys.error} />
      {keys.data && keys.data.keys.length === 0 && <p class="muted">No key has been created.</p>}
      {keys.data && keys.data.keys.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Access</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data.keys.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>{k.revoked_at ? 'revoked' : k.read_only ? 'read-only' : 'full'}</td>
                <td class="small">{k.last_used_at ? formatDateTime(Date.parse(k.last_used_at)) : 'never'}</td>
                <td>
                  {!k.revoked_at && (
                    <button
                      type="button"
                      class="danger"
                      onClick={() => void revoke(k.id)}
                      aria-label={`Revoke ${k.name}`}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!readOnly && (
        <form
          class="row"
          style={{ marginTop: '1rem', alignItems: 'flex-end' }}
          onSubmit={(e) => {
            e.preventDefault();
            if (name.trim()) void create();
          }}
        >
          <label class="field">
            New key name
            <input
              value={name}
              maxLength={100}
              placeholder="phone"
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </label>
          <label class="row small" style={{ minHeight: 'var(--tap)' }}>
            <input
              type="checkbox"
              checked={ro}
              onChange={(e) => setRo(e.currentTarget.checked)}
              style={{ minHeight: 0 }}
            />
            read-only
          </label>
          <button type="submit" disabled={!name.trim()}>
            Create key
          </button>
        </form>
      )}
      <ErrorNotice error={error} />
      {created && (
        <Notice tone="ok">
          <p>Copy this key now: it is shown only once.</p>
          <p>
            <code data-testid="new-key">{created}</code>
          </p>
        </Notice>
      )}
    </section>
  );
}
