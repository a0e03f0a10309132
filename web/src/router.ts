/** Hash routing (`#/people`): works from any path the server serves the page at, with no server rules. */
import { useEffect, useState } from 'preact/hooks';

export const PAGES = [
  { id: 'live', title: 'Live', short: 'Live' },
  { id: 'people', title: 'People', short: 'People' },
  { id: 'events', title: 'Events', short: 'Events' },
  { id: 'unknowns', title: 'Unknown faces', short: 'Unknown' },
  { id: 'settings', title: 'Settings', short: 'Settings' },
] as const;

export type PageId = (typeof PAGES)[number]['id'];

/** The page named by a hash such as `#/people`, or undefined. */
export function pageOf(hash: string): PageId | undefined {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return PAGES.find((p) => p.id === id)?.id;
}

/** The current page (from the location hash), updated on navigation. */
export function useRoute(fallback: PageId): PageId {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return pageOf(hash) ?? fallback;
}
