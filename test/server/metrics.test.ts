/**
 * The process gauges of /metrics: the event-loop lag sees a blocked loop and each reading starts
 * a new interval; the request metrics carry the lag and memory families.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventLoopLag, exposition, RequestMetrics } from '../../src/server/index.js';

/** Keep the event loop busy for `ms`. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('event-loop lag', () => {
  it('sees a blocked loop, then resets at each reading', async () => {
    const lag = new EventLoopLag(5);
    try {
      await tick(50);
      block(200);
      await tick(30);
      const s = lag.snapshot();
      assert.ok(s.samples > 0);
      // The timer due during the 200 ms block ran at least ~150 ms late.
      assert.ok(s.max >= 0.15, `max ${s.max} s`);
      assert.ok(s.p99 <= s.max && s.p50 <= s.p99);
      const next = lag.snapshot();
      assert.ok(next.max < 0.15, `after a reset: max ${next.max} s`);
    } finally {
      lag.close();
      lag.close();
    }
  });

  it('an interval without samples reads as 0', () => {
    const lag = new EventLoopLag();
    try {
      lag.snapshot();
      const s = lag.snapshot();
      assert.deepEqual(s, { p50: 0, p99: 0, max: 0, samples: 0 });
    } finally {
      lag.close();
    }
  });

  it('the request metrics print the lag and memory families after the request families', () => {
    const m = new RequestMetrics();
    try {
      m.record('GET', '/api/v1/people', 200, 0.004);
      const text = exposition(m.families());
      assert.match(
        text,
        /^facerec_http_requests_total\{method="GET",route="\/api\/v1\/people",status="200"\} 1$/m,
      );
      assert.match(text, /^# TYPE facerec_event_loop_lag_seconds gauge$/m);
      assert.match(text, /^facerec_event_loop_lag_seconds\{quantile="0\.5"\} \d/m);
      assert.match(text, /^facerec_event_loop_lag_seconds\{quantile="0\.99"\} \d/m);
      assert.match(text, /^facerec_event_loop_lag_max_seconds \d/m);
      const heap = /^facerec_process_memory_bytes\{kind="heap_used"\} (\d+)$/m.exec(text);
      assert.ok(heap && Number(heap[1]) > 1e6, 'the heap in use, bytes');
      assert.match(text, /^facerec_process_memory_bytes\{kind="array_buffers"\} \d+$/m);
    } finally {
      m.close();
    }
  });
});
