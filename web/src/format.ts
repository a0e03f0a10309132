/** Small pure helpers for what the page shows: initials, colours, times, rates. */

/**
 * Up to two initials of a name, by grapheme (so emoji and CJK names give whole characters):
 * "Ada Lovelace" → "AL", "张伟" → "张", "  " → "?".
 */
export function initials(name: string): string {
  const words = name
    .trim()
    .split(/\s+/u)
    .filter((w) => w !== '');
  const first = (w: string | undefined): string => {
    if (w === undefined) return '';
    if (typeof Intl.Segmenter !== 'function') return (Array.from(w)[0] ?? '').toLocaleUpperCase();
    const seg = new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(w);
    for (const s of seg) return s.segment.toLocaleUpperCase();
    return '';
  };
  if (words.length === 0) return '?';
  if (words.length === 1) return first(words[0]);
  return first(words[0]) + first(words[words.length - 1]);
}

/** A stable background colour for a name (HSL hue from a string hash, dark enough for white text). */
export function colorFor(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  const hue = (h >>> 0) % 360;
  return `hsl(${hue} 55% 38%)`;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, {
  weekday: 'long',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
});
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Clock time of an epoch-ms instant, e.g. "14:03:27". */
export function formatTime(ms: number): string {
  return timeFmt.format(new Date(ms));
}

/** The day of an epoch-ms instant, e.g. "Monday, 3 March 2025". */
export function formatDay(ms: number): string {
  return dayFmt.format(new Date(ms));
}

/** Date and time of an epoch-ms instant. */
export function formatDateTime(ms: number): string {
  return dateTimeFmt.format(new Date(ms));
}

/** "3 s ago", "5 min ago", "2 h ago", or the date for older instants. */
export function formatAgo(ms: number, now: number = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return formatDateTime(ms);
}

/**
 * A rate in [0, 1] for a person: "0.1 % (1 in 1,000)"; "0 %" for 0; two significant digits.
 */
export function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return '—';
  if (rate <= 0) return '0 %';
  const pct = rate * 100;
  const digits = pct >= 10 ? 0 : pct >= 1 ? 1 : Math.min(6, 1 - Math.floor(Math.log10(pct)));
  const text = `${pct.toFixed(digits)} %`;
  if (rate >= 0.05) return text;
  const oneIn = Math.round(1 / rate);
  return `${text} (1 in ${oneIn.toLocaleString()})`;
}

/** Bytes for a person: "512 B", "1.4 MB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** "1 face", "3 faces". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
