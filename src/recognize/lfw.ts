/**
 * Labeled Faces in the Wild pair lists (`pairs.txt`, View 2; also the View 1 files
 * `pairsDevTrain.txt` / `pairsDevTest.txt`).
 *
 * Format (LFW README, "pairs.txt file format"): the first line gives the number of sets (folds)
 * and the number of matched pairs per set, `10<TAB>300`; then, for each set, that many matched
 * lines `name<TAB>n1<TAB>n2` followed by as many mismatched lines `name1<TAB>n1<TAB>name2<TAB>n2`.
 * The View 1 files have a single number on the first line, the matched pairs of their one set;
 * a single-number header is read as "pairs per set", with the number of sets taken from the
 * line count (one set for the View 1 files). Image `n` of person `Name` is
 * `Name/Name_000n.jpg` (four-digit, zero-padded).
 */

import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../core/index.js';

/** One pair of the list. */
export interface LfwPair {
  /** First image, relative to the LFW root, e.g. `Abel_Pacheco/Abel_Pacheco_0001.jpg`. */
  readonly a: string;
  /** Second image, relative to the LFW root. */
  readonly b: string;
  /** True for a matched (same person) pair. */
  readonly same: boolean;
  /** Fold index, 0 … folds − 1 (fold 0 is the README's set 1). */
  readonly fold: number;
  /** 1-based line number in the file (for messages). */
  readonly line: number;
}

/** A parsed pair list. */
export interface LfwPairs {
  /** Number of folds (sets). */
  readonly folds: number;
  /**
   * Matched pairs per fold, as in the header; each fold also has as many mismatched pairs, so a
   * fold holds `2 · pairsPerFold` pairs (300 → 600 for the standard file).
   */
  readonly pairsPerFold: number;
  /** All pairs in file order: fold by fold, matched then mismatched. */
  readonly pairs: readonly LfwPair[];
  /** Every image the pairs use, once each, in order of first use: embed these once. */
  readonly images: readonly string[];
}

/** The path of image `n` (1-based) of `name`, relative to the LFW root: `Name/Name_0001.jpg`. */
export function lfwImagePath(name: string, n: number): string {
  return `${name}/${name}_${String(n).padStart(4, '0')}.jpg`;
}

/**
 * Parses the text of an LFW pair list (see the module comment). Blank lines at the end and
 * `\r\n` line ends are accepted; anything else malformed throws `InvalidInputError` naming the
 * line.
 *
 * @param text - the file contents.
 * @param source - the file name used in error messages (default `pairs.txt`).
 */
export function parseLfwPairs(text: string, source = 'pairs.txt'): LfwPairs {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  function fail(line: number, msg: string): never {
    throw new InvalidInputError(`${source} line ${line}: ${msg}`, { input: source });
  }
  if (lines.length === 0) fail(1, 'the file is empty; expected a header "<folds> <pairs per fold>"');

  const header = lines[0]!.trim().split(/\s+/);
  const body = lines.length - 1;
  let folds: number;
  let perFold: number;
  if (header.length === 2) {
    folds = positiveInt(header[0]!);
    perFold = positiveInt(header[1]!);
    if (folds === 0 || perFold === 0) {
      fail(1, `expected "<folds> <pairs per fold>" (positive integers) but found "${lines[0]!.trim()}"`);
    }
  } else if (header.length === 1) {
    perFold = positiveInt(header[0]!);
    if (perFold === 0)
      fail(1, `expected "<pairs per fold>" (a positive integer) but found "${lines[0]!.trim()}"`);
    folds = body / (2 * perFold);
    if (!Number.isInteger(folds) || folds < 1) {
      fail(
        1,
        `the header gives ${perFold} matched pairs per set, so the file should hold a multiple of ` +
          `${2 * perFold} pair lines, but it holds ${body}`,
      );
    }
  } else {
    fail(1, `expected a header "<folds> <pairs per fold>" but found "${lines[0]!.trim()}"`);
  }
  const expected = folds * 2 * perFold;
  if (body !== expected) {
    fail(
      body < expected ? lines.length + 1 : expected + 2,
      `the header announces ${folds} folds × (${perFold} matched + ${perFold} mismatched) = ${expected} ` +
        `pair lines, but the file has ${body}`,
    );
  }

  const pairs: LfwPair[] = [];
  const images: string[] = [];
  const seen = new Set<string>();
  const use = (p: string): void => {
    if (!seen.has(p)) {
      seen.add(p);
      images.push(p);
    }
  };
  for (let k = 0; k < expected; k++) {
    const lineNo = k + 2;
    const raw = lines[k + 1]!;
    const f = raw.trim().split(/\s+/);
    const fold = Math.floor(k / (2 * perFold));
    const same = k % (2 * perFold) < perFold;
    let a: string;
    let b: string;
    if (same) {
      const n1 = f.length === 3 ? positiveInt(f[1]!) : 0;
      const n2 = f.length === 3 ? positiveInt(f[2]!) : 0;
      if (f.length !== 3 || !validName(f[0]!) || n1 === 0 || n2 === 0) {
        fail(lineNo, `expected a matched pair "name n1 n2" (fold ${fold + 1}) but found "${raw.trim()}"`);
      }
      a = lfwImagePath(f[0]!, n1);
      b = lfwImagePath(f[0]!, n2);
    } else {
      const n1 = f.length === 4 ? positiveInt(f[1]!) : 0;
      const n2 = f.length === 4 ? positiveInt(f[3]!) : 0;
      if (f.length !== 4 || !validName(f[0]!) || !validName(f[2]!) || n1 === 0 || n2 === 0) {
        fail(
          lineNo,
          `expected a mismatched pair "name1 n1 name2 n2" (fold ${fold + 1}) but found "${raw.trim()}"`,
        );
      }
      a = lfwImagePath(f[0]!, n1);
      b = lfwImagePath(f[2]!, n2);
    }
    use(a);
    use(b);
    pairs.push({ a, b, same, fold, line: lineNo });
  }
  return { folds, pairsPerFold: perFold, pairs, images };
}

/** Reads and parses an LFW pair list file (see {@link parseLfwPairs}). */
export async function loadLfwPairs(file: string): Promise<LfwPairs> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`Cannot read the LFW pair list ${file}`, { input: file, cause: err });
  }
  return parseLfwPairs(text, file);
}

/** A positive decimal integer, or 0 when `s` is not one. */
function positiveInt(s: string): number {
  if (!/^\d{1,9}$/.test(s)) return 0;
  return Number(s);
}

/** A person name usable as a folder name: no path separators, not `.`/`..`, not a number. */
function validName(s: string): boolean {
  return s.length > 0 && !/[/\\]/.test(s) && s !== '.' && s !== '..' && !/^\d+$/.test(s);
}
