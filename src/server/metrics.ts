/**
 * Prometheus metrics in the text exposition format (0.0.4): request counts and durations by
 * route, event-loop lag, per-camera video figures, gallery sizes. No client library: a few
 * counters and gauges.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

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

/** Default sampling interval of {@link EventLoopLag}, ms (perf_hooks' default). */
export const EVENT_LOOP_RESOLUTION_MS = 10;

/**
 * Event-loop lag of this process: how late a timer firing every `resolutionMs` runs, from
 * perf_hooks `monitorEventLoopDelay` (a native, unref'd timer: it never keeps the process
 * alive). Each {@link families} call reports the interval since the previous call and starts a
 * new one, so a scraper sees the lag between its scrapes (as prom-client does).
 */
export class EventLoopLag {
  readonly #hist: IntervalHistogram;
  readonly #resolutionNs: number;
  #closed = false;

  /** @param resolutionMs - sampling interval, ms (1 or more). Default 10. */
  constructor(resolutionMs = EVENT_LOOP_RESOLUTION_MS) {
    const r = Math.max(1, Math.round(resolutionMs));
    this.#resolutionNs = r * 1e6;
    this.#hist = monitorEventLoopDelay({ resolution: r });
    this.#hist.enable();
  }

  /**
   * The lag since the previous call, seconds: p50, p99 and max (a recorded delay minus the
   * sampling interval, never below 0; all 0 when no timer fired in between). Resets the histogram.
   */
  snapshot(): { p50: number; p99: number; max: number; samples: number } {
    const h = this.#hist;
    const lag = (ns: number) => (h.count > 0 ? Math.max(0, ns - this.#resolutionNs) / 1e9 : 0);
    const out = { p50: lag(h.percentile(50)), p99: lag(h.percentile(99)), max: lag(h.max), samples: h.count };
    h.reset();
    return out;
  }

  /** The lag families (see {@link snapshot}); resets the histogram. */
  families(): Family[] {
    const s = this.snapshot();
    return [
      {
        name: 'facerec_event_loop_lag_seconds',
        help: 'Event-loop lag since the previous scrape (p50, p99), seconds.',
        type: 'gauge',
        samples: [
          { labels: { quantile: '0.5' }, value: s.p50 },
          { labels: { quantile: '0.99' }, value: s.p99 },
        ],
      },
      {
        name: 'facerec_event_loop_lag_max_seconds',
        help: 'Largest event-loop lag since the previous scrape, seconds.',
        type: 'gauge',
        samples: [{ labels: {}, value: s.max }],
      },
    ];
  }

  /** Stop sampling (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#hist.disable();
  }
}

/**
 * This process's memory by kind, bytes (`process.memoryUsage()`): `heap_used` and `heap_total`
 * (the JavaScript heap), `external` (memory of C++ objects tied to JavaScript ones, buffers
 * included) and `array_buffers` (ArrayBuffers and Buffers, part of external). With the RSS it
 * tells a JavaScript leak from native growth.
 */
export function memoryFamilies(): Family[] {
  const m = process.memoryUsage();
  return [
    {
      name: 'facerec_process_memory_bytes',
      help: 'Memory of the JavaScript heap and of external buffers, bytes.',
      type: 'gauge',
      samples: [
        { labels: { kind: 'heap_used' }, value: m.heapUsed },
        { labels: { kind: 'heap_total' }, value: m.heapTotal },
        { labels: { kind: 'external' }, value: m.external },
        { labels: { kind: 'array_buffers' }, value: m.arrayBuffers },
      ],
    },
  ];
}

/**
 * Counters kept by the server: HTTP requests, the event-loop lag ({@link EventLoopLag}) and
 * the memory by kind ({@link memoryFamilies}).
 */
export class RequestMetrics {
  readonly #counts = new Map<string, number>();
  readonly #durations = new Map<string, { sum: number; count: number }>();
  readonly #lag = new EventLoopLag();

  /** Record one request: method, route pattern (not the raw URL), status, seconds. */
  record(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    const d = this.#durations.get(route) ?? { sum: 0, count: 0 };
    d.sum += seconds;
    d.count++;
    this.#durations.set(route, d);
  }

  /** The request families, then the event-loop lag since the previous call, then the memory. */
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
      ...this.#lag.families(),
      ...memoryFamilies(),
    ];
  }

  /** Stop the event-loop sampling (the service calls it when it closes). */
  close(): void {
    this.#lag.close();
  }
}
