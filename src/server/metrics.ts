/**
 * Prometheus metrics in the text exposition format (0.0.4): request counts and durations by
 * route, per-camera video figures, gallery sizes. No client library: a few counters and gauges.
 */

/** Escape a label value (backslash, double quote, newline). */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `{a="1",b="2"}` (empty string for no labels). */
export function labels(l: Readonly<Record<string, string | number>>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** A number in the exposition format (`+Inf`, `NaN`, plain otherwise). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

/** One sample of a gauge family. */
export interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** A metric family to print. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly samples: readonly Sample[];
}

/** Print families in the text format. */
export function exposition(families: readonly Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${f.name}${labels(s.labels)} ${formatValue(s.value)}`);
  }
  return `${out.join('\n')}\n`;
}

/** HTTP request counters kept by the server. */
export class RequestMetrics {
  readonly #counts = new Map<string, number>();
  readonly #durations = new Map<string, { sum: number; count: number }>();

  /** Record one request: method, route pattern (not the raw URL), status, seconds. */
  record(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    const d = this.#durations.get(route) ?? { sum: 0, count: 0 };
    d.sum += seconds;
    d.count++;
    this.#durations.set(route, d);
  }

  /** The request families. */
  families(): Family[] {
    return [
      {
        name: 'facerec_http_requests_total',
        help: 'HTTP requests by method, route and status.',
        type: 'counter',
        samples: [...this.#counts].map(([k, v]) => {
          const [method, route, status] = k.split('\u0000') as [string, string, string];
          return { labels: { method, route, status }, value: v };
        }),
      },
      {
        name: 'facerec_http_request_duration_seconds_sum',
        help: 'Total time spent answering requests, by route, seconds.',
        type: 'counter',
        samples: [...this.#durations].map(([route, d]) => ({ labels: { route }, value: d.sum })),
      },
      {
        name: 'facerec_http_request_duration_seconds_count',
        help: 'Requests timed, by route.',
        type: 'counter',
        samples: [...this.#durations].map(([route, d]) => ({ labels: { route }, value: d.count })),
      },
    ];
  }
}
