/** The API key kept in this browser (localStorage; some private modes refuse storage: then memory only). */
const SLOT = 'facerec.apiKey';

export function loadKey(): string {
  try {
    return localStorage.getItem(SLOT) ?? '';
  } catch {
    return '';
  }
}

export function saveKey(key: string): void {
  try {
    if (key) localStorage.setItem(SLOT, key);
    else localStorage.removeItem(SLOT);
  } catch {
    // Storage refused (private browsing): the key lives until the page is closed.
  }
}
