/** Unknown faces: clusters of faces that matched nobody; name them ("This is …") or dismiss them. */
import { useState } from 'preact/hooks';
import type { AssignResult, Cluster } from '../api.js';
import { Confirm, Empty, ErrorNotice, Loading, Notice } from '../components/ui.js';
import { useApp } from '../context.js';
import { formatAgo, plural } from '../format.js';
import { useAsync } from '../hooks.js';

export function UnknownsPage() {
  const { api, refreshHealth } = useApp();
  const clusters = useAsync(() => api.listUnknowns(), []);
  const people = useAsync(() => api.listPeople(), []);
  const [done, setDone] = useState<AssignResult | null>(null);

  const list = clusters.data?.clusters ?? [];
  return (
    <>
      <div class="row spread">
        <h1>Unknown faces</h1>
        <button type="button" onClick={clusters.reload}>
          Refresh
        </button>
      </div>
      <p class="muted">
        Faces that matched no one, grouped by likeness. Tell facerec who they are and their faces are
        enrolled, so that they are recognized from now on.
      </p>
      {done && (
        <Notice tone="ok">
          <p data-testid="assign-result">
            {done.created ? 'Added ' : 'Added to '}
            <a href="#/people">
              <strong>{done.person.name}</strong>
            </a>
            {done.created ? ' as a new person' : ''} with {plural(done.added, 'face')}.
          </p>
        </Notice>
      )}
      {clusters.loading && !clusters.data && <Loading label="Loading unknown faces…" />}
      <ErrorNotice error={clusters.error} onRetry={clusters.reload} />
      {clusters.data && list.length === 0 && (
        <section class="panel">
          <Empty title="No unknown faces">
            <p>
              Faces that cameras, this device's camera or uploads see but cannot name will be grouped here.
            </p>
          </Empty>
        </section>
      )}
      <div class="grid" data-testid="clusters">
        {list.map((c) => (
          <ClusterCard
            key={c.id}
            cluster={c}
            names={(people.data?.people ?? []).map((p) => p.name)}
            onAssigned={(r) => {
              setDone(r);
              clusters.reload();
              people.reload();
              refreshHealth();
            }}
            onDismissed={() => clusters.reload()}
          />
        ))}
      </div>
      {clusters.data && clusters.data.total > list.length && (
        <p class="muted small">
          Showing {list.length} of {clusters.data.total} groups (the most recently seen).
        </p>
      )}
      <datalist id="people-names">
        {(people.data?.people ?? []).map((p) => (
          <option key={p.id} value={p.name} />
        ))}
      </datalist>
    </>
  );
}

function ClusterCard({
  cluster: c,
  names,
  onAssigned,
  onDismissed,
}: {
  cluster: Cluster;
  names: readonly string[];
  onAssigned: (r: AssignResult) => void;
  onDismissed: () => void;
}) {
  const { api, readOnly } = useApp();
  const [naming, setNaming] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [confirm, setConfirm] = useState(false);

  const assign = async (target: { name: string } | { person_id: number }) => {
    setBusy(true);
    setError(undefined);
    try {
      onAssigned(await api.assignCluster(c.id, target));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const dismiss = async () => {
    setBusy(true);
    try {
      await api.dismissCluster(c.id);
      setConfirm(false);
      onDismissed();
    } catch (err) {
      setConfirm(false);
      setError(err);
      setBusy(false);
    }
  };

  const typed = naming?.trim() ?? '';
  const existing = names.includes(typed);
  const where = [
    ...new Set(
      c.cameras.map((cam) => cam.name ?? (cam.id === null ? 'browser or upload' : 'a removed camera')),
    ),
  ].join(', ');

  return (
    <article class="panel cluster" aria-label={`Unknown group ${c.id}`} data-testid="cluster">
      <div class="crops">
        {c.samples.map((s) =>
          s.thumbnail ? (
            <img
              key={s.id}
              src={api.mediaUrl(`/api/v1/unknowns/faces/${s.id}/thumbnail`)}
              alt={`Unknown face ${s.id}`}
              loading="lazy"
            />
          ) : (
            <span key={s.id} class="placeholder" aria-hidden="true" />
          ),
        )}
      </div>
      <p>
        <strong>{plural(c.size, 'face')}</strong>
        <br />
        <span class="muted small">
          last seen {formatAgo(Date.parse(c.last_seen))}
          {where && ` · ${where}`}
        </span>
      </p>
      {!c.samples.some((s) => s.thumbnail) && (
        <p class="muted small">No crops kept (start the server with --keep-snapshots to see these faces).</p>
      )}
      {c.nearest && (
        <p class="small">
          Closest enrolled person: <strong>{c.nearest.name}</strong> (distance {c.nearest.distance.toFixed(2)}
          )
        </p>
      )}
      <ErrorNotice error={error} />
      {!readOnly &&
        (naming === null ? (
          <div class="row">
            <button type="button" class="primary" onClick={() => setNaming('')} disabled={busy}>
              This is…
            </button>
            {c.nearest && (
              <button
                type="button"
                onClick={() => c.nearest && void assign({ person_id: c.nearest.person_id })}
                disabled={busy}
              >
                It's {c.nearest.name}
              </button>
            )}
            <button type="button" class="danger" onClick={() => setConfirm(true)} disabled={busy}>
              Forget
            </button>
          </div>
        ) : (
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              if (typed) void assign({ name: typed });
            }}
          >
            <label class="field">
              Who is this?
              <input
                list="people-names"
                value={naming}
                maxLength={200}
                autocomplete="off"
                placeholder="A new name, or pick someone enrolled"
                onInput={(e) => setNaming(e.currentTarget.value)}
                disabled={busy}
              />
            </label>
            <div class="row">
              <button type="submit" class="primary" disabled={busy || !typed}>
                {busy && <span class="spinner" aria-hidden="true" />}
                {existing ? `Add to ${typed}` : 'Save as a new person'}
              </button>
              <button type="button" onClick={() => setNaming(null)} disabled={busy}>
                Cancel
              </button>
            </div>
          </form>
        ))}
      {confirm && (
        <Confirm
          title="Forget these faces?"
          confirmLabel="Forget them"
          busy={busy}
          onCancel={() => setConfirm(false)}
          onConfirm={() => void dismiss()}
        >
          <p>The {plural(c.size, 'face')} of this group are deleted from the server (not enrolled).</p>
        </Confirm>
      )}
    </article>
  );
}
