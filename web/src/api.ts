/**
 * The REST client of the page: the shapes of docs/api.md and one request function that sends the
 * API key, turns every failure into an {@link ApiError} with a message a person can act on, and
 * reports a 401 so that the page asks for the key again.
 */

/** Boxes are `[x1, y1, x2, y2]` in image pixels. */
export type Box = [number, number, number, number];

export interface Health {
  status: string;
  version: string;
  auth_required: boolean;
  authenticated: boolean;
  read_only: boolean;
  tls: boolean;
  uptime_s: number;
  setup?: {
    empty_gallery: boolean;
    people: number;
    faces: number;
    cameras: number;
    next_step: string | null;
  };
}

export interface Person {
  id: number;
  name: string;
  faces: number;
  note: string | null;
  created_at: string;
  updated_at: string;
  thumbnail_face_id: number | null;
}

export interface PeoplePage {
  people: Person[];
  total: number;
  offset: number;
  limit: number;
}

export interface Face {
  id: number;
  source_name: string | null;
  box: Box;
  score: number;
  created_at: string;
  thumbnail: boolean;
}

export interface PersonDetail extends Omit<Person, 'faces'> {
  faces: Face[];
}

export interface ErrorBody {
  code: string;
  message: string;
}

export interface PhotoResult {
  file: string | null;
  status: 'enrolled' | 'duplicate' | 'no_face' | 'error';
  faces: number | null;
  face_id?: number;
  warning?: string;
  error?: ErrorBody;
}

export interface EnrollResult {
  person: Person;
  added: number;
  duplicates: number;
  no_face: number;
  errors: number;
  photos: PhotoResult[];
}

export interface CameraStats {
  fps: number;
  latency_ms: number | null;
  faces: number;
  frames: number;
  processed: number;
  dropped: number;
}

export interface Camera {
  id: number;
  name: string;
  url: string;
  enabled: boolean;
  every: number;
  state: 'connecting' | 'live' | 'stalled' | 'offline' | 'disabled' | 'unavailable' | 'closed';
  last_error: string | null;
  stream_url: string;
  snapshot_url: string;
  stats: CameraStats | null;
}

export interface FaceEvent {
  id: number;
  kind: 'appeared' | 'left';
  time: string;
  camera_id: number | null;
  /** The camera's name, "browser" for a device camera, null when the camera was removed. */
  camera: string | null;
  person_id: number | null;
  name: string | null;
  cluster_id: number | null;
  distance: number | null;
  box: Box | null;
  track: string;
  snapshot: boolean;
}

export interface EventsPage {
  events: FaceEvent[];
  next_before: number | null;
}

export interface UnknownSample {
  id: number;
  time: string;
  camera_id: number | null;
  box: Box;
  score: number;
  thumbnail: boolean;
}

export interface Cluster {
  id: number;
  size: number;
  first_seen: string;
  last_seen: string;
  /** Where the faces were seen: a camera, or id null for a browser camera or an upload. */
  cameras: { id: number | null; name: string | null }[];
  samples: UnknownSample[];
  nearest: { person_id: number; name: string; distance: number } | null;
}

export interface ClustersPage {
  clusters: Cluster[];
  total: number;
}

export interface AssignResult {
  person: Person;
  created: boolean;
  added: number;
}

export interface CurvePoint {
  threshold: number;
  far: number;
  frr: number;
}

export interface Settings {
  /** The identification threshold in effect (distance). */
  threshold: number;
  /** `auto`: follows the gallery size to keep strangers named at `target_fpir`; `fixed`: set by the user. */
  threshold_mode: 'auto' | 'fixed';
  target_fpir: number;
  gallery_faces: number;
  /** Per-pair rates at `threshold` from the calibration; null without one. */
  far: number | null;
  frr: number | null;
  verify_threshold: number;
  default_threshold: number | null;
  curve: CurvePoint[];
  calibration: string | null;
  keep_thumbnails: boolean;
  keep_snapshots: boolean;
  /** Days events are kept; null: until removed. */
  keep_events_days: number | null;
  /** Days unknown faces are kept; null: until removed. */
  keep_unknowns_days: number | null;
  auth_required: boolean;
  tls: boolean;
}

/** One change of `PATCH /api/v1/settings`. */
export type SettingsPatch = { threshold: number | null } | { far: number } | { target_fpir: number };

export interface ApiKey {
  id: number;
  name: string;
  read_only: boolean;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** A live face of a `frame` WebSocket message. */
export interface LiveFace {
  track: number;
  box: Box;
  score: number;
  person_id: number | null;
  name: string | null;
  distance: number | null;
}

/** A `frame` WebSocket message. */
export interface LiveFrame {
  type: 'frame';
  source: 'camera' | 'device';
  camera_id: number | null;
  camera: string;
  seq: number;
  time: number;
  width: number;
  height: number;
  processed: boolean;
  latency_ms: number;
  dropped: number;
  faces: LiveFace[];
}

/** A failed request: `status` 0 when the server could not be reached. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The message to show for any error thrown by a request or by the page's own code. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

const FALLBACK: Record<number, string> = {
  401: 'This server needs an API key.',
  403: 'This API key is not allowed to do that (it is read-only).',
  404: 'Not found: it may have been deleted meanwhile. Reload the page.',
  413: 'The upload is too large for the server.',
  415: 'That file is not an image facerec can read (JPEG, PNG, WebP, GIF, TIFF or AVIF).',
  429: 'Too many attempts with a wrong key: wait a minute and try again.',
  500: 'The server hit a bug; its log has the details.',
  502: 'A proxy in front of facerec could not reach it.',
  503: 'The server is busy or shutting down: try again in a moment.',
  507: "The server's disk is full: free some space on it.",
};

/** Options of {@link Api}. */
export interface ApiOptions {
  /** Reads the stored key (empty when none). */
  getKey: () => string;
  /** Called on every 401 (the page then asks for the key). */
  onUnauthorized: (err: ApiError) => void;
  /** The server's origin and path prefix; default '' (same origin). */
  base?: string;
}

type Query = Record<string, string | number | boolean | null | undefined>;

/** The REST API of one facerec server. */
export class Api {
  readonly #opts: ApiOptions;

  constructor(opts: ApiOptions) {
    this.#opts = opts;
  }

  /** `path` (from `/api/v1/…`) with the query parameters that are set. */
  url(path: string, query: Query = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    }
    const qs = params.toString();
    return `${this.#opts.base ?? ''}${path}${qs ? `?${qs}` : ''}`;
  }

  /**
   * A URL usable as `<img src>` (thumbnails, snapshots, streams): browsers cannot set headers
   * there, so the key goes as `?key=` (the server accepts it on image routes only).
   */
  mediaUrl(path: string, query: Query = {}): string {
    const key = this.#opts.getKey();
    return this.url(path, key ? { ...query, key } : query);
  }

  /** The WebSocket URL of `/api/v1/live` (wss on https pages), with the key. */
  liveUrl(): string {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const base = this.#opts.base || `${proto}//${location.host}`;
    const key = this.#opts.getKey();
    const url = `${base.replace(/^http/, 'ws')}/api/v1/live`;
    return key ? `${url}?key=${encodeURIComponent(key)}` : url;
  }

  /** Send one request and parse its JSON answer. */
  async request<T>(
    method: string,
    path: string,
    init: { query?: Query; json?: unknown; form?: FormData } = {},
  ) {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const key = this.#opts.getKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    let body: BodyInit | undefined;
    if (init.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.form) {
      body = init.form;
    }
    let res: Response;
    try {
      res = await fetch(this.url(path, init.query), { method, headers, body, credentials: 'same-origin' });
    } catch {
      throw new ApiError(
        0,
        'network',
        'Cannot reach the facerec server. Check that it is still running and that this device is on its network, then try again.',
      );
    }
    const type = res.headers.get('content-type') ?? '';
    let data: unknown;
    if (type.includes('json')) {
      try {
        data = await res.json();
      } catch {
        data = undefined;
      }
    }
    if (!res.ok) {
      const e = (data as { error?: Partial<ErrorBody> } | undefined)?.error;
      const err = new ApiError(
        res.status,
        e?.code ?? `http_${res.status}`,
        e?.message ?? FALLBACK[res.status] ?? `The server answered ${res.status} ${res.statusText}.`,
      );
      if (res.status === 401) this.#opts.onUnauthorized(err);
      throw err;
    }
    return data as T;
  }

  health(): Promise<Health> {
    return this.request('GET', '/api/v1/health');
  }

  listPeople(query: { q?: string; offset?: number; limit?: number } = {}): Promise<PeoplePage> {
    return this.request('GET', '/api/v1/people', { query: { limit: 1000, ...query } });
  }

  getPerson(id: number): Promise<PersonDetail> {
    return this.request('GET', `/api/v1/people/${id}`);
  }

  createPerson(name: string): Promise<Person> {
    return this.request('POST', '/api/v1/people', { json: { name } });
  }

  renamePerson(id: number, name: string): Promise<Person> {
    return this.request('PATCH', `/api/v1/people/${id}`, { json: { name } });
  }

  deletePerson(id: number): Promise<{ removed: { id: number; name: string; faces: number } }> {
    return this.request('DELETE', `/api/v1/people/${id}`);
  }

  enroll(id: number, files: readonly File[]): Promise<EnrollResult> {
    const form = new FormData();
    for (const f of files) form.append('photos', f, f.name);
    return this.request('POST', `/api/v1/people/${id}/faces`, { form });
  }

  deleteFace(personId: number, faceId: number): Promise<unknown> {
    return this.request('DELETE', `/api/v1/people/${personId}/faces/${faceId}`);
  }

  listCameras(): Promise<{ cameras: Camera[] }> {
    return this.request('GET', '/api/v1/cameras');
  }

  addCamera(name: string, url: string, every?: number): Promise<Camera> {
    return this.request('POST', '/api/v1/cameras', { json: every ? { name, url, every } : { name, url } });
  }

  setCameraEnabled(id: number, enabled: boolean): Promise<Camera> {
    return this.request('PATCH', `/api/v1/cameras/${id}`, { json: { enabled } });
  }

  deleteCamera(id: number): Promise<unknown> {
    return this.request('DELETE', `/api/v1/cameras/${id}`);
  }

  listEvents(query: Query): Promise<EventsPage> {
    return this.request('GET', '/api/v1/events', { query });
  }

  listUnknowns(query: Query = {}): Promise<ClustersPage> {
    return this.request('GET', '/api/v1/unknowns', { query: { limit: 100, ...query } });
  }

  assignCluster(id: number, target: { name: string } | { person_id: number }): Promise<AssignResult> {
    return this.request('POST', `/api/v1/unknowns/${id}/assign`, { json: target });
  }

  dismissCluster(id: number): Promise<unknown> {
    return this.request('DELETE', `/api/v1/unknowns/${id}`);
  }

  getSettings(): Promise<Settings> {
    return this.request('GET', '/api/v1/settings');
  }

  patchSettings(patch: SettingsPatch): Promise<Settings> {
    return this.request('PATCH', '/api/v1/settings', { json: patch });
  }

  listKeys(): Promise<{ keys: ApiKey[] }> {
    return this.request('GET', '/api/v1/keys');
  }
}
