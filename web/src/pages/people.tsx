/** People: the gallery. Add a person from photos, add photos, rename, delete. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Person, type PersonDetail, type PhotoResult } from '../api.js';
import { ChosenFiles, enrollAll, PhotoResults } from '../components/enroll.js';
import { Avatar, Confirm, Dropzone, Empty, ErrorNotice, Loading, Notice } from '../components/ui.js';
import { useApp } from '../context.js';
import { formatDateTime, plural } from '../format.js';
import { useAsync, useDebounced } from '../hooks.js';

export function PeoplePage() {
  const { api, readOnly, refreshHealth } = useApp();
  const [selected, setSelected] = useState<number | null>(null);
  const [filter, setFilter] = useState('');
  const q = useDebounced(filter.trim(), 250);
  // The server filters (case-insensitive substring), so that search works on any gallery size.
  const list = useAsync(() => api.listPeople(q ? { q } : {}), [q]);
  const [everyone, setEveryone] = useState(0);
  useEffect(() => {
    if (!q && list.data) setEveryone(list.data.total);
  }, [q, list.data]);

  const shown = list.data?.people ?? [];
  const count = !q && list.data ? list.data.total : everyone;
  const changed = () => {
    list.reload();
    refreshHealth();
  };

  return (
    <>
      <div class="row spread">
        <h1>People</h1>
        {list.data && <span class="muted">{plural(count, 'person', 'people')}</span>}
      </div>
      {!readOnly && (
        <AddPerson
          onAdded={(p) => {
            changed();
            setSelected(p.id);
          }}
        />
      )}
      {selected !== null && (
        <PersonPanel
          key={selected}
          id={selected}
          onClose={() => setSelected(null)}
          onChanged={changed}
          onDeleted={() => {
            setSelected(null);
            changed();
          }}
        />
      )}
      <section class="panel" aria-labelledby="people-title">
        <div class="row spread">
          <h2 id="people-title">Enrolled</h2>
          {(count > 6 || filter !== '') && (
            <input
              type="search"
              placeholder="Find a person"
              aria-label="Find a person by name"
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
            />
          )}
        </div>
        {list.loading && !list.data && <Loading label="Loading people…" />}
        <ErrorNotice error={list.error} onRetry={list.reload} />
        {list.data && !q && shown.length === 0 && (
          <Empty title="No one enrolled yet — add a person from a few photos">
            <p>
              Give their name above and drop 3–5 photos where their face is clearly visible. Then open Live
              and point a camera at them.
            </p>
          </Empty>
        )}
        {list.data && q && shown.length === 0 && <p class="muted">No one matches “{q}”.</p>}
        {list.data && list.data.total > shown.length && (
          <p class="muted small">
            Showing {shown.length} of {list.data.total}: type a name above to find someone.
          </p>
        )}
        <ul class="person-list" data-testid="people">
          {shown.map((p) => (
            <li key={p.id}>
              <button
                type="button"
                aria-expanded={selected === p.id}
                onClick={() => setSelected(selected === p.id ? null : p.id)}
              >
                <span class="person-card">
                  <Avatar name={p.name} faceId={p.thumbnail_face_id} />
                  <span>
                    <span class="name" data-testid="person-name">
                      {p.name}
                    </span>
                    <br />
                    <span class="muted small">{plural(p.faces, 'face')}</span>
                  </span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}

/** Name + photos → a new person with their faces enrolled. */
function AddPerson({ onAdded }: { onAdded: (p: Person) => void }) {
  const { api } = useApp();
  const [name, setName] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [results, setResults] = useState<{ name: string; rows: PhotoResult[] } | null>(null);

  const submit = async () => {
    const trimmed = name.trim();
    if (!trimmed) {
      setError(new Error('Give the person a name first.'));
      return;
    }
    setError(undefined);
    setResults(null);
    setBusy('Creating…');
    let person: Person;
    try {
      person = await api.createPerson(trimmed);
    } catch (err) {
      setBusy(null);
      setError(
        err instanceof ApiError && err.status === 409
          ? new Error(`${err.message} Open them in the list below to add photos, or choose another name.`)
          : err,
      );
      return;
    }
    let rows: PhotoResult[] = [];
    if (files.length > 0) {
      setBusy(`Enrolling ${plural(files.length, 'photo')}…`);
      try {
        rows = await enrollAll(api, person.id, files, (done) =>
          setBusy(`Enrolling… ${done} of ${files.length} photos done`),
        );
      } catch (err) {
        setError(err);
      }
    }
    setBusy(null);
    setResults({ name: person.name, rows });
    setName('');
    setFiles([]);
    onAdded(person);
  };

  return (
    <section class="panel" aria-labelledby="add-title">
      <h2 id="add-title">Add a person</h2>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label class="field">
          Name
          <input
            name="name"
            autocomplete="off"
            maxLength={200}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            disabled={busy !== null}
            placeholder="e.g. Alice Martin"
          />
        </label>
        <Dropzone
          id="add-photos"
          label="Drop photos of their face here"
          disabled={busy !== null}
          onFiles={(f) => setFiles((cur) => [...cur, ...f])}
        />
        <ChosenFiles files={files} onRemove={(i) => setFiles((cur) => cur.filter((_, j) => j !== i))} />
        <div class="row">
          <button type="submit" class="primary" disabled={busy !== null}>
            {busy ? <span class="spinner" aria-hidden="true" /> : null}
            {busy ?? (files.length > 0 ? `Add person with ${plural(files.length, 'photo')}` : 'Add person')}
          </button>
        </div>
      </form>
      <ErrorNotice error={error} />
      {results && (
        <div data-testid="add-results">
          <Notice tone="ok">
            <p>
              Added <strong>{results.name}</strong>.
              {results.rows.length === 0 &&
                ' Add a few photos of their face below so that they can be recognized.'}
            </p>
          </Notice>
          <PhotoResults rows={results.rows} />
        </div>
      )}
    </section>
  );
}

/** One person: faces, more photos, rename, delete. */
function PersonPanel({
  id,
  onClose,
  onChanged,
  onDeleted,
}: {
  id: number;
  onClose: () => void;
  onChanged: () => void;
  onDeleted: () => void;
}) {
  const { api, readOnly } = useApp();
  const detail = useAsync(() => api.getPerson(id), [id]);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [rows, setRows] = useState<PhotoResult[]>([]);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const ref = useRef<HTMLElement>(null);

  useEffect(() => {
    ref.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }, []);

  const p: PersonDetail | undefined = detail.data;

  const addPhotos = async (files: File[]) => {
    setError(undefined);
    setRows([]);
    setBusy(`Enrolling ${plural(files.length, 'photo')}…`);
    try {
      setRows(
        await enrollAll(api, id, files, (done) => setBusy(`Enrolling… ${done} of ${files.length} done`)),
      );
      detail.reload();
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const rename = async (name: string) => {
    setError(undefined);
    setBusy('Renaming…');
    try {
      await api.renamePerson(id, name.trim());
      setRenaming(null);
      detail.reload();
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const remove = async () => {
    setBusy('Deleting…');
    try {
      await api.deletePerson(id);
      setConfirmDelete(false);
      onDeleted();
    } catch (err) {
      setConfirmDelete(false);
      setError(err);
      setBusy(null);
    }
  };

  const removeFace = async (faceId: number) => {
    setError(undefined);
    try {
      await api.deleteFace(id, faceId);
      detail.reload();
      onChanged();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section
      class="panel"
      ref={ref}
      aria-label={p ? `Person: ${p.name}` : 'Person'}
      data-testid="person-panel"
    >
      {detail.loading && !p && <Loading />}
      <ErrorNotice error={detail.error} onRetry={detail.reload} />
      {p && (
        <div class="stack">
          <div class="row spread">
            <div class="person-card">
              <Avatar name={p.name} faceId={p.thumbnail_face_id} large />
              <div>
                <h2 style={{ overflowWrap: 'anywhere' }}>{p.name}</h2>
                <span class="muted small">
                  {plural(p.faces.length, 'face')} · added {formatDateTime(Date.parse(p.created_at))}
                </span>
              </div>
            </div>
            <button type="button" onClick={onClose} aria-label="Close this person">
              Close
            </button>
          </div>

          {renaming !== null ? (
            <form
              class="row"
              onSubmit={(e) => {
                e.preventDefault();
                if (renaming.trim()) void rename(renaming);
              }}
            >
              <label class="visually-hidden" for="rename-input">
                New name
              </label>
              <input
                id="rename-input"
                value={renaming}
                maxLength={200}
                onInput={(e) => setRenaming(e.currentTarget.value)}
                style={{ flex: 1 }}
              />
              <button type="submit" class="primary" disabled={busy !== null}>
                Save name
              </button>
              <button type="button" onClick={() => setRenaming(null)}>
                Cancel
              </button>
            </form>
          ) : (
            !readOnly && (
              <div class="row">
                <button type="button" onClick={() => setRenaming(p.name)}>
                  Rename
                </button>
                <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>
                  Delete…
                </button>
              </div>
            )
          )}

          <ErrorNotice error={error} />

          <h3>Faces</h3>
          {p.faces.length === 0 ? (
            <p class="muted">No face enrolled yet: add photos below so that they can be recognized.</p>
          ) : (
            <div class="faces">
              {p.faces.map((f) => (
                <div class="face-tile" key={f.id}>
                  {f.thumbnail ? (
                    <img
                      src={api.mediaUrl(`/api/v1/faces/${f.id}/thumbnail`)}
                      alt={`Face from ${f.source_name ?? 'a photo'}`}
                    />
                  ) : (
                    <span class="placeholder" title={f.source_name ?? undefined}>
                      {f.source_name ?? `face ${f.id}`}
                    </span>
                  )}
                  {!readOnly && (
                    <button
                      type="button"
                      onClick={() => void removeFace(f.id)}
                      aria-label={`Delete the face from ${f.source_name ?? `face ${f.id}`}`}
                    >
                      Remove
                    </button>
                  )}
                </div>
              ))}
            </div>
          )}
          {!p.faces.some((f) => f.thumbnail) && p.faces.length > 0 && (
            <p class="muted small">
              Thumbnails are not kept (start the server with <code>--keep-thumbnails</code> to keep a small
              crop of each face).
            </p>
          )}

          {!readOnly && (
            <>
              <Dropzone
                id={`photos-${id}`}
                label={`Drop more photos of ${p.name}`}
                disabled={busy !== null}
                onFiles={(f) => void addPhotos(f)}
              />
              {busy && <Loading label={busy} />}
              <PhotoResults rows={rows} />
            </>
          )}
        </div>
      )}
      {confirmDelete && p && (
        <Confirm
          title={`Delete ${p.name}?`}
          confirmLabel="Delete for good"
          busy={busy === 'Deleting…'}
          onCancel={() => setConfirmDelete(false)}
          onConfirm={() => void remove()}
        >
          <p>
            Their {plural(p.faces.length, 'enrolled face')}, thumbnails and events are erased from the server.
            This cannot be undone.
          </p>
        </Confirm>
      )}
    </section>
  );
}
