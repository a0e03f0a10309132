/** Small shared pieces: loading, errors, empty states, avatars, confirmation, file drop. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage } from '../api.js';
import { useApp } from '../context.js';
import { colorFor, initials } from '../format.js';

/** A spinner with a label for screen readers and eyes. */
export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

/** An error with the server's message and, when given, a retry button. */
export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (error === undefined || error === null) return null;
  const status = error instanceof ApiError ? error.status : undefined;
  return (
    <div class="notice error" role="alert">
      <p>{errorMessage(error)}</p>
      {status === 403 && (
        <p class="small">
          Ask for a key that is not read-only (Settings → API keys), or use this page on the server.
        </p>
      )}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** A notice with a tone. */
export function Notice({ tone, children }: { tone?: 'ok' | 'warn' | 'error'; children: ComponentChildren }) {
  return (
    <div class={`notice ${tone ?? ''}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** An empty state: a title and what to do. */
export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <strong>{title}</strong>
      {children}
    </div>
  );
}

/** A person's face thumbnail when one was kept, else their initials on a colour. */
export function Avatar({
  name,
  faceId,
  large,
}: {
  name: string;
  faceId: number | null | undefined;
  large?: boolean;
}) {
  const { api } = useApp();
  const [failed, setFailed] = useState(false);
  const cls = `avatar${large ? ' large' : ''}`;
  if (faceId != null && !failed) {
    return (
      <img
        class={cls}
        src={api.mediaUrl(`/api/v1/faces/${faceId}/thumbnail`)}
        alt=""
        loading="lazy"
        onError={() => setFailed(true)}
      />
    );
  }
  return (
    <span class={cls} style={{ background: colorFor(name) }} aria-hidden="true">
      {initials(name)}
    </span>
  );
}

/** A modal confirmation (native `<dialog>`: focus trap and Escape for free). */
export function Confirm({
  title,
  children,
  confirmLabel,
  busy,
  onConfirm,
  onCancel,
}: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby="confirm-title"
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      <h2 id="confirm-title">{title}</h2>
      <div class="stack">{children}</div>
      <div class="row" style={{ justifyContent: 'flex-end', marginTop: '1rem' }}>
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="button" class="danger solid" onClick={onConfirm} disabled={busy}>
          {busy ? <span class="spinner" aria-hidden="true" /> : null}
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/**
 * A drop area for photos that is also a file picker (tap on a phone: the camera or the gallery).
 */
export function Dropzone({
  onFiles,
  disabled,
  label = 'Drop photos here',
  id,
}: {
  onFiles: (files: File[]) => void;
  disabled?: boolean;
  label?: string;
  id: string;
}) {
  const [over, setOver] = useState(false);
  const pick = (list: FileList | null | undefined) => {
    const files = Array.from(list ?? []);
    if (files.length > 0) onFiles(files);
  };
  return (
    <label
      class={`dropzone${over ? ' over' : ''}`}
      for={id}
      onDragOver={(e) => {
        e.preventDefault();
        if (!disabled) setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        if (!disabled) pick(e.dataTransfer?.files);
      }}
    >
      <strong>{label}</strong>
      <br />
      <span class="small">
        or tap to choose them — several photos of the face, one person per photo works best
      </span>
      <input
        id={id}
        class="visually-hidden"
        type="file"
        accept="image/*"
        multiple
        disabled={disabled}
        onChange={(e) => {
          const input = e.currentTarget;
          pick(input.files);
          input.value = '';
        }}
      />
    </label>
  );
}
