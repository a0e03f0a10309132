/**
 * The shell: checks the server (health), asks for the API key when one is needed, and shows the
 * navigation and the current page.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api, ApiError, errorMessage, type Health } from './api.js';
import { Loading } from './components/ui.js';
import { type AppContext, Ctx } from './context.js';
import { loadKey, saveKey } from './keystore.js';
import { EventsPage } from './pages/events.js';
import { LivePage } from './pages/live.js';
import { PeoplePage } from './pages/people.js';
import { SettingsPage } from './pages/settings.js';
import { UnknownsPage } from './pages/unknowns.js';
import { PAGES, type PageId, pageOf, useRoute } from './router.js';

type Gate =
  | { kind: 'checking' }
  | { kind: 'down'; message: string }
  | { kind: 'key'; reason: string | null }
  | { kind: 'ready'; health: Health };

export function App() {
  const keyRef = useRef(loadKey());
  const [gate, setGate] = useState<Gate>({ kind: 'checking' });
  const api = useMemo(
    () =>
      new Api({
        getKey: () => keyRef.current,
        onUnauthorized: (err: ApiError) =>
          setGate({
            kind: 'key',
            reason: keyRef.current
              ? `The server refused the saved key (${err.message}). It may have been revoked: enter a valid one.`
              : null,
          }),
      }),
    [],
  );

  const check = useCallback(async () => {
    try {
      const health = await api.health();
      if (health.auth_required && !health.authenticated) {
        setGate({
          kind: 'key',
          reason: keyRef.current ? 'The server did not accept the saved key: enter a valid one.' : null,
        });
      } else {
        setGate({ kind: 'ready', health });
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return; // onUnauthorized asked for a key
      setGate({ kind: 'down', message: errorMessage(err) });
    }
  }, [api]);

  useEffect(() => {
    void check();
  }, [check]);

  const fallback: PageId = gate.kind === 'ready' && gate.health.setup?.empty_gallery ? 'people' : 'live';
  const route = useRoute(fallback);
  const ready = gate.kind === 'ready';
  // Pin the first page in the address (an empty gallery opens People) so that it stays put when the
  // gallery stops being empty.
  useEffect(() => {
    if (ready && !pageOf(location.hash)) location.replace(`#/${fallback}`);
  }, [ready, fallback]);

  useEffect(() => {
    const title = PAGES.find((p) => p.id === route)?.title;
    document.title = gate.kind === 'key' ? 'API key needed · facerec' : `${title ?? 'facerec'} · facerec`;
  }, [route, gate.kind]);

  const ctx = useMemo<AppContext | null>(
    () =>
      gate.kind === 'ready'
        ? {
            api,
            health: gate.health,
            refreshHealth: () => void check(),
            readOnly: gate.health.read_only,
          }
        : null,
    [api, gate, check],
  );

  return (
    <>
      <header class="topbar">
        <span class="brand">facerec</span>
        <nav class="nav" aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.id} href={`#/${p.id}`} aria-current={route === p.id ? 'page' : undefined}>
              <span class="long">{p.title}</span>
              <span class="short">{p.short}</span>
            </a>
          ))}
        </nav>
      </header>
      <main id="main">
        {gate.kind === 'checking' && <Loading label="Connecting to the facerec server…" />}
        {gate.kind === 'down' && (
          <div class="notice error" role="alert">
            <p>{gate.message}</p>
            <p class="small">
              Start it with <code>npm start</code> (or <code>facerec serve</code>) on the machine that holds
              the gallery.
            </p>
            <button type="button" onClick={() => void check()}>
              Try again
            </button>
          </div>
        )}
        {gate.kind === 'key' && (
          <KeyPrompt
            reason={gate.reason}
            onKey={(key) => {
              keyRef.current = key;
              saveKey(key);
              setGate({ kind: 'checking' });
              void check();
            }}
          />
        )}
        {ctx && (
          <Ctx.Provider value={ctx}>
            {ctx.readOnly && (
              <p class="notice warn small">
                This key is read-only: you can look at everything, but not add, change or delete.
              </p>
            )}
            <Page id={route} />
          </Ctx.Provider>
        )}
      </main>
    </>
  );
}

function Page({ id }: { id: PageId }) {
  switch (id) {
    case 'live':
      return <LivePage />;
    case 'people':
      return <PeoplePage />;
    case 'events':
      return <EventsPage />;
    case 'unknowns':
      return <UnknownsPage />;
    case 'settings':
      return <SettingsPage />;
  }
}

/** Asks for the API key once; it is kept in this browser. */
function KeyPrompt({ reason, onKey }: { reason: string | null; onKey: (key: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <section class="panel" aria-labelledby="key-title" style={{ maxWidth: '34rem', margin: '2rem auto' }}>
      <h1 id="key-title">API key needed</h1>
      {reason && (
        <p class="notice error" role="alert">
          {reason}
        </p>
      )}
      <p>
        This facerec server is reachable from the network, so it asks for an API key. Create one on the server
        machine with <code>facerec keys create --name my-phone</code> and paste it here. It is kept in this
        browser only.
      </p>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          const key = value.trim();
          if (key) onKey(key);
        }}
      >
        <label class="field">
          API key
          <input
            type="password"
            name="api-key"
            autocomplete="off"
            spellcheck={false}
            placeholder="fr_…"
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
            required
          />
        </label>
        <button type="submit" class="primary">
          Use this key
        </button>
      </form>
    </section>
  );
}
