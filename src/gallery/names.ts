/**
 * Person names and notes: the one place that decides what a valid name is.
 *
 * A name is any Unicode text a person would write on a label, stored in NFC form with the
 * surrounding white space (and invisible zero-width characters) trimmed, 1–200 code points long. Uniqueness is decided on that stored
 * form, **case-sensitively** ("Anna" and "anna" are two people): case folding depends on the
 * language (Turkish dotted I, German ß) and the gallery cannot know it, so the CLI or the UI may
 * warn about near-duplicates but the store does not merge them. NFC and NFD spellings of the same
 * name (é as one code point or as e + combining acute) are the same person.
 *
 * Rejected, because they make a label lie about what it says or break the line it is drawn on:
 * - C0 and C1 control characters (U+0000–U+001F, U+007F–U+009F), including NUL, tab and newline;
 * - the line and paragraph separators U+2028 and U+2029;
 * - the bidirectional embedding, override and isolate controls U+202A–U+202E and U+2066–U+2069
 *   ("\u202Eecila" would display as "alice");
 * - lone surrogates (text that is not valid UTF-16, which no database stores faithfully).
 *
 * Accepted: every letter of every script (right-to-left Arabic and Hebrew included), emoji and
 * emoji sequences (ZWJ U+200D, variation selectors, skin tones, tag sequences of subdivision
 * flags), the zero-width non-joiner U+200C that Persian and Indic names need, the directional
 * marks U+200E, U+200F and U+061C (they change no stored character's meaning), interior spaces,
 * and text that looks like a path or SQL (`../../etc/passwd` is a valid name; names are never used
 * to build a file path and always reach SQL as bound parameters).
 */
import { invalidParameter } from '../core/index.js';

/** The longest accepted person name, in Unicode code points after NFC normalization. */
export const MAX_PERSON_NAME_LENGTH = 200;

/** The longest accepted note, in Unicode code points after NFC normalization. */
export const MAX_NOTE_LENGTH = 2000;

const LONE_SURROGATE = /\p{Cs}/u;
/**
 * Invisible characters that mean nothing at either end of a name (zero-width space, non-joiner
 * and joiner, directional marks, word joiner, BOM, Mongolian vowel separator): trimmed with the
 * white space so that a pasted "Bob\u200B" is Bob. Variation selectors and tag characters are
 * not in the list: they end emoji (❤️) and subdivision flags.
 */
const EDGE_INVISIBLE =
  /^[\s\u200b-\u200f\u2060\ufeff\u180e\u061c]+|[\s\u200b-\u200f\u2060\ufeff\u180e\u061c]+$/gu;
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/u;

/**
 * The first control character in `s` — C0 (U+0000–U+001F), DEL, C1 (U+0080–U+009F) and, unless
 * `multiline`, the line and paragraph separators U+2028/U+2029; with `multiline`, tab, line feed
 * and carriage return are allowed — or undefined.
 */
export function findControlCharacter(s: string, multiline = false): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f) || (!multiline && (c === 0x2028 || c === 0x2029));
    if (control && !(multiline && (c === 0x09 || c === 0x0a || c === 0x0d))) return s[i];
  }
  return undefined;
}

/**
 * The stored form of a person name: NFC-normalized, trimmed, validated.
 *
 * @param raw - The name as typed or taken from a file name.
 * @returns The name to store and to compare (two names are the same person when the results are
 *   equal as strings).
 * @throws InvalidInputError (`input: 'name'`) for a non-string, an empty or white-space-only name,
 *   more than {@link MAX_PERSON_NAME_LENGTH} code points, control characters, bidirectional
 *   override/isolate characters or lone surrogates.
 *
 * @example
 * normalizePersonName('  Zoe\u0308 ') // → 'Zoë' (one code point for ë)
 * normalizePersonName('\u202Eecila')  // throws: bidirectional control U+202E
 */
export function normalizePersonName(raw: unknown): string {
  if (typeof raw !== 'string') throw invalidParameter('name', 'a string', raw);
  if (LONE_SURROGATE.test(raw)) {
    throw invalidParameter('name', 'a name of valid Unicode text (it has a lone surrogate)', raw);
  }
  const name = raw.normalize('NFC').replace(EDGE_INVISIBLE, '');
  if (name === '') throw invalidParameter('name', 'a non-empty name (not only white space)', raw);
  const control = findControlCharacter(name);
  if (control !== undefined) {
    throw invalidParameter('name', `a name without control characters (found ${codePoint(control)})`, raw);
  }
  const bidi = BIDI_CONTROL.exec(name);
  if (bidi) {
    throw invalidParameter(
      'name',
      `a name without bidirectional override or isolate characters (found ${codePoint(bidi[0])})`,
      raw,
    );
  }
  const length = codePointLength(name);
  if (length > MAX_PERSON_NAME_LENGTH) {
    throw invalidParameter(
      'name',
      `a name of at most ${MAX_PERSON_NAME_LENGTH} characters (it has ${length})`,
      raw,
    );
  }
  return name;
}

/**
 * The stored form of a free-text note about a person: NFC-normalized and trimmed; `null` when
 * absent or empty. Line breaks and tabs are kept; other control characters, bidirectional
 * overrides and lone surrogates are rejected as in names.
 *
 * @param raw - The note, or `null`/`undefined` to clear it.
 * @throws InvalidInputError (`input: 'note'`) for a non-string, more than {@link MAX_NOTE_LENGTH}
 *   code points, or a forbidden character.
 */
export function normalizeNote(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'string') throw invalidParameter('note', 'a string or null', raw);
  if (LONE_SURROGATE.test(raw)) {
    throw invalidParameter('note', 'a note of valid Unicode text (it has a lone surrogate)', raw);
  }
  const note = raw.normalize('NFC').trim();
  if (note === '') return null;
  const control = findControlCharacter(note, true);
  if (control !== undefined) {
    throw invalidParameter('note', `a note without control characters (found ${codePoint(control)})`, raw);
  }
  const bidi = BIDI_CONTROL.exec(note);
  if (bidi) {
    throw invalidParameter(
      'note',
      `a note without bidirectional override or isolate characters (found ${codePoint(bidi[0])})`,
      raw,
    );
  }
  const length = codePointLength(note);
  if (length > MAX_NOTE_LENGTH) {
    throw invalidParameter('note', `a note of at most ${MAX_NOTE_LENGTH} characters (it has ${length})`, raw);
  }
  return note;
}

/** Number of Unicode code points in `s` (a surrogate pair counts once). */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function codePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}
