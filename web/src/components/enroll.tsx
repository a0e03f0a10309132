/** Uploading photos of a person and showing what became of each one. */
import type { Api, EnrollResult, PhotoResult } from '../api.js';
import { formatBytes } from '../format.js';

/** Photos per request and bytes per request: under the server's limits (20 files, 20 MB). */
const BATCH_FILES = 10;
const BATCH_BYTES = 15 * 1024 * 1024;

/** Split files into upload batches under the server's limits (a single big file is its own batch). */
export function batches(files: readonly File[]): File[][] {
  const out: File[][] = [];
  let cur: File[] = [];
  let bytes = 0;
  for (const f of files) {
    if (cur.length > 0 && (cur.length >= BATCH_FILES || bytes + f.size > BATCH_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(f);
    bytes += f.size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * Enroll `files` for person `id`, batch by batch. A batch that fails as a whole (every photo
 * refused for one reason: the server then answers with that error) gives one error row per file.
 */
export async function enrollAll(
  api: Api,
  id: number,
  files: readonly File[],
  onProgress?: (done: number) => void,
): Promise<PhotoResult[]> {
  const rows: PhotoResult[] = [];
  for (const batch of batches(files)) {
    try {
      const res: EnrollResult = await api.enroll(id, batch);
      rows.push(...res.photos);
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 401 || status === 403 || status === 404 || status === 0) throw err;
      const message = err instanceof Error ? err.message : String(err);
      const code = (err as { code?: string }).code ?? 'error';
      for (const f of batch)
        rows.push({ file: f.name, status: 'error', faces: null, error: { code, message } });
    }
    onProgress?.(rows.length);
  }
  return rows;
}

/** The outcome of one photo for a person: a badge and a sentence. */
export function describePhoto(r: PhotoResult): {
  tone: 'ok' | 'warn' | 'error';
  badge: string;
  text: string;
} {
  switch (r.status) {
    case 'enrolled':
      if ((r.faces ?? 1) > 1) {
        return {
          tone: 'warn',
          badge: 'several faces',
          text:
            r.warning ??
            `${r.faces} faces found: the largest was enrolled. Crop the photo if that is not them.`,
        };
      }
      return { tone: 'ok', badge: 'enrolled', text: 'Face enrolled.' };
    case 'duplicate':
      return { tone: 'ok', badge: 'already enrolled', text: 'This photo was already enrolled for them.' };
    case 'no_face':
      return {
        tone: 'warn',
        badge: 'no face',
        text: 'No face found: use a photo where the face is front-on, lit, and at least 40 pixels wide.',
      };
    default:
      return { tone: 'error', badge: 'error', text: r.error?.message ?? 'This photo could not be read.' };
  }
}

/** The per-photo results list. */
export function PhotoResults({ rows }: { rows: readonly PhotoResult[] }) {
  if (rows.length === 0) return null;
  const enrolled = rows.filter((r) => r.status === 'enrolled').length;
  return (
    <div role="status" aria-live="polite">
      <p class="small" style={{ marginTop: '0.75rem' }}>
        {enrolled} of {rows.length} photo{rows.length === 1 ? '' : 's'} enrolled.
      </p>
      <ul class="results" data-testid="photo-results">
        {rows.map((r, i) => {
          const d = describePhoto(r);
          return (
            <li key={i} data-status={r.status}>
              <span class={`badge ${d.tone}`}>{d.badge}</span>
              <span>
                <strong>{r.file ?? 'photo'}</strong> — {d.text}
              </span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/** The files chosen so far, with a way to drop one. */
export function ChosenFiles({ files, onRemove }: { files: readonly File[]; onRemove: (i: number) => void }) {
  if (files.length === 0) return null;
  return (
    <ul class="results" aria-label="Chosen photos">
      {files.map((f, i) => (
        <li key={i}>
          <span style={{ flex: 1 }}>
            {f.name} <span class="muted small">({formatBytes(f.size)})</span>
          </span>
          <button type="button" onClick={() => onRemove(i)} aria-label={`Remove ${f.name}`}>
            Remove
          </button>
        </li>
      ))}
    </ul>
  );
}
