/** Events: who was seen when, on which camera, as lanes on a time axis and as a list. */
import { useState } from 'preact/hooks';
import type { FaceEvent } from '../api.js';
import { Empty, ErrorNotice, Loading } from '../components/ui.js';
import { useApp } from '../context.js';
import { formatDateTime, formatDay, formatTime } from '../format.js';
import { useAsync } from '../hooks.js';

const RANGES = [
  { id: 'hour', label: 'Last hour', ms: 3600_000 },
  { id: 'day', label: 'Last 24 hours', ms: 86400_000 },
  { id: 'week', label: 'Last 7 days', ms: 7 * 86400_000 },
] as const;

type RangeId = (typeof RANGES)[number]['id'];

/** The lane an event belongs to when grouping by person or by camera. */
function laneOf(e: FaceEvent, by: 'person' | 'camera'): string {
  if (by === 'camera') return cameraLabel(e);
  if (e.name !== null) return e.name;
  return e.cluster_id !== null ? `unknown (group ${e.cluster_id})` : 'unknown';
}

/** Where an event was seen, for a person. */
function cameraLabel(e: FaceEvent): string {
  return e.camera ?? (e.camera_id === null ? 'a removed camera' : `camera ${e.camera_id}`);
}

export function EventsPage() {
  const { api } = useApp();
  const [range, setRange] = useState<RangeId>('day');
  const [person, setPerson] = useState('');
  const [camera, setCamera] = useState('');
  const [by, setBy] = useState<'person' | 'camera'>('person');
  const [more, setMore] = useState<FaceEvent[]>([]);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(undefined);

  const people = useAsync(() => api.listPeople(), []);
  const cams = useAsync(() => api.listCameras(), []);
  const span = RANGES.find((r) => r.id === range)?.ms ?? 86400_000;
  const [to, setTo] = useState(() => Date.now());
  const query = {
    from: to - span,
    person_id: person === 'unknown' ? undefined : person || undefined,
    unknown: person === 'unknown' ? true : undefined,
    camera_id: camera || undefined,
    kind: 'appeared',
    limit: 200,
  };
  const page = useAsync(async () => {
    const p = await api.listEvents(query);
    setMore([]);
    setNextBefore(p.next_before);
    return p;
  }, [range, person, camera, to]);

  const loadMore = async () => {
    if (nextBefore === null) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const p = await api.listEvents({ ...query, before: nextBefore });
      setMore((m) => [...m, ...p.events]);
      setNextBefore(p.next_before);
    } catch (err) {
      setMoreError(err);
    } finally {
      setLoadingMore(false);
    }
  };

  const events = [...(page.data?.events ?? []), ...more];
  const from = to - span;

  const lanes = new Map<string, FaceEvent[]>();
  for (const e of events) {
    const k = laneOf(e, by);
    const list = lanes.get(k);
    if (list) list.push(e);
    else lanes.set(k, [e]);
  }

  const days: { day: string; events: FaceEvent[] }[] = [];
  for (const e of events) {
    const day = formatDay(Date.parse(e.time));
    const last = days[days.length - 1];
    if (last && last.day === day) last.events.push(e);
    else days.push({ day, events: [e] });
  }

  return (
    <>
      <h1>Events</h1>
      <section class="panel" aria-label="Filters">
        <div class="row">
          <label class="field">
            When
            <select value={range} onChange={(e) => setRange(e.currentTarget.value as RangeId)}>
              {RANGES.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.label}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            Person
            <select value={person} onChange={(e) => setPerson(e.currentTarget.value)}>
              <option value="">Everyone</option>
              <option value="unknown">Unknown faces</option>
              {(people.data?.people ?? []).map((p) => (
                <option key={p.id} value={String(p.id)}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            Camera
            <select value={camera} onChange={(e) => setCamera(e.currentTarget.value)}>
              <option value="">All cameras</option>
              {(cams.data?.cameras ?? []).map((c) => (
                <option key={c.id} value={String(c.id)}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            Lanes
            <select value={by} onChange={(e) => setBy(e.currentTarget.value as 'person' | 'camera')}>
              <option value="person">One per person</option>
              <option value="camera">One per camera</option>
            </select>
          </label>
          <button type="button" onClick={() => setTo(Date.now())} style={{ alignSelf: 'flex-end' }}>
            Refresh
          </button>
        </div>
      </section>

      {page.loading && !page.data && <Loading label="Loading events…" />}
      <ErrorNotice error={page.error} onRetry={page.reload} />

      {page.data && events.length === 0 && (
        <section class="panel">
          <Empty title="Nothing seen in this period">
            <p>
              Events appear when a camera or a device on the <a href="#/live">Live</a> page sees a face. Try a
              longer period, or another person or camera.
            </p>
          </Empty>
        </section>
      )}

      {events.length > 0 && (
        <section class="panel" aria-labelledby="timeline-title">
          <h2 id="timeline-title">Timeline</h2>
          <div class="axis" aria-hidden="true">
            <span>{span > 3600_000 ? formatDateTime(from) : formatTime(from)}</span>
            <span>now</span>
          </div>
          <div class="lanes" data-testid="lanes">
            {[...lanes].map(([name, list]) => (
              <div class="lane" key={name}>
                <span class="label" title={name}>
                  {name} <span class="muted small">({list.length})</span>
                </span>
                <div class="track" role="img" aria-label={`${name}: seen ${list.length} times`}>
                  {list.map((e) => (
                    <span
                      key={e.id}
                      class={`tick${e.person_id === null ? ' unknown' : ''}`}
                      style={{
                        left: `${Math.max(0, Math.min(100, ((Date.parse(e.time) - from) / span) * 100))}%`,
                      }}
                      title={`${laneOf(e, 'person')} · ${cameraLabel(e)} · ${formatTime(Date.parse(e.time))}`}
                    />
                  ))}
                </div>
              </div>
            ))}
          </div>
        </section>
      )}

      {days.map((d) => (
        <section class="panel" key={d.day} aria-label={d.day}>
          <h2 class="day">{d.day}</h2>
          <ul class="event-list" data-testid="events">
            {d.events.map((e) => (
              <EventRow key={e.id} e={e} />
            ))}
          </ul>
        </section>
      ))}

      <ErrorNotice error={moreError} />
      {nextBefore !== null && events.length > 0 && (
        <button type="button" onClick={() => void loadMore()} disabled={loadingMore}>
          {loadingMore ? 'Loading…' : 'Older events'}
        </button>
      )}
    </>
  );
}

function EventRow({ e }: { e: FaceEvent }) {
  const { api } = useApp();
  const [broken, setBroken] = useState(false);
  const who = e.name ?? 'Unknown face';
  return (
    <li>
      {e.snapshot && !broken ? (
        <img
          src={api.mediaUrl(`/api/v1/events/${e.id}/snapshot`)}
          alt={`Snapshot of ${who}`}
          loading="lazy"
          onError={() => setBroken(true)}
        />
      ) : (
        <span class="placeholder" aria-hidden="true" />
      )}
      <span style={{ minWidth: 0 }}>
        <span class="who">{who}</span>
        <br />
        <span class="muted small">
          {formatTime(Date.parse(e.time))} · {cameraLabel(e)}
          {e.distance !== null && e.name !== null && ` · distance ${e.distance.toFixed(2)}`}
          {e.name === null && e.cluster_id !== null && (
            <>
              {' · '}
              <a href="#/unknowns">name them</a>
            </>
          )}
        </span>
      </span>
    </li>
  );
}
