/** What every page gets from the app: the API client, the server's health, and a way to refresh it. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api, Health } from './api.js';

export interface AppContext {
  api: Api;
  health: Health;
  /** Re-read the health (after enrolling the first person, adding a camera …). */
  refreshHealth: () => void;
  /** True when the key in use is read-only: hide or disable changing actions. */
  readOnly: boolean;
}

export const Ctx = createContext<AppContext | null>(null);

/** The app context; throws outside the app (a bug). */
export function useApp(): AppContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error('useApp outside <App>');
  return ctx;
}
