/**
 * A small benchmark harness: warm up, run, report median and min–max in milliseconds.
 * Benchmarks compare ratios measured in the same run (ours against the peer), never absolute
 * times against a fixed budget.
 */

/** One measured figure. */
export interface Timing {
  readonly name: string;
  /** Median wall time per iteration, ms. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Iterations measured (after warm-up). */
  readonly n: number;
  /** Work items per iteration (e.g. faces in a batch), so per-item figures can be derived. */
  readonly items: number;
  /** Median per item, ms. */
  readonly medianPerItem: number;
}

export interface MeasureOptions {
  readonly warmup?: number;
  readonly iterations?: number;
  /** Stop early once this many ms have been spent measuring (at least 3 iterations run). */
  readonly budgetMs?: number;
  readonly items?: number;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Time `fn` after `warmup` calls. */
export async function measure(
  name: string,
  fn: () => unknown | Promise<unknown>,
  opts: MeasureOptions = {},
): Promise<Timing> {
  const { warmup = 2, iterations = 15, budgetMs = 20000, items = 1 } = opts;
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
    if (i >= 2 && performance.now() - start > budgetMs) break;
  }
  const med = median(times);
  return {
    name,
    median: round(med),
    min: round(Math.min(...times)),
    max: round(Math.max(...times)),
    n: times.length,
    items,
    medianPerItem: round(med / items),
  };
}

/** Round to 3 decimals for printing. */
export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A benchmark suite: a named async function returning a JSON-serializable report. */
export interface Suite {
  readonly name: string;
  readonly run: (log: (line: string) => void) => Promise<Record<string, unknown>>;
}
