/**
 * Retention: the option parsing (table-driven) and the schedule, on a real SQLite gallery with a
 * fake clock: node:test's mock timers drive the hourly interval, an injected `now` the date.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { InvalidInputError } from '../../src/core/index.js';
import { SqliteStore } from '../../src/gallery/index.js';
import {
  DEFAULT_RETENTION,
  type PurgeResult,
  parseRetentionDays,
  RetentionScheduler,
  retentionFromOptions,
  UnknownFaces,
} from '../../src/recognize/index.js';
import { embedding, randomUnitVectors, rng, row, TEST_PROVENANCE } from '../gallery/fixtures.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('parseRetentionDays', () => {
  const cases: [string, number | null][] = [
    ['30', 30],
    [' 7 ', 7],
    ['0.5', 0.5],
    ['0', null],
    ['forever', null],
    ['Never', null],
    ['off', null],
    ['36500', 36500],
  ];
  for (const [text, want] of cases) {
    it(`${JSON.stringify(text)} → ${want}`, () =>
      assert.equal(parseRetentionDays(text, '--keep-events'), want));
  }
  for (const bad of ['', '-1', 'abc', '36501', 'Infinity', 'NaN', '1e9']) {
    it(`${JSON.stringify(bad)} is refused, naming the option`, () => {
      assert.throws(
        () => parseRetentionDays(bad, '--keep-events'),
        (e: unknown) => e instanceof InvalidInputError && /--keep-events/.test(e.message),
      );
    });
  }
  it('retentionFromOptions: absent options take the defaults', () => {
    assert.deepEqual(retentionFromOptions({}), DEFAULT_RETENTION);
    assert.deepEqual(retentionFromOptions({ keepEvents: '7', keepUnknowns: 'forever' }), {
      eventsDays: 7,
      unknownFacesDays: null,
    });
    assert.throws(() => retentionFromOptions({ keepUnknowns: 'x' }), /--keep-unknowns/);
  });
  it('the scheduler refuses a bad policy', () => {
    assert.throws(
      () => new RetentionScheduler({} as never, { eventsDays: -1, unknownFacesDays: null }),
      InvalidInputError,
    );
    assert.throws(
      () => new RetentionScheduler({} as never, DEFAULT_RETENTION, { intervalMs: 0 }),
      InvalidInputError,
    );
  });
});

describe('RetentionScheduler on a real gallery, with a fake clock', () => {
  let dir = '';
  let store: SqliteStore;
  /** The fake date, ms since the epoch. */
  let clock = 0;
  const START = Date.UTC(2026, 0, 1);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'facerec-retention-'));
    store = await SqliteStore.open({ path: join(dir, 'gallery.sqlite') });
    clock = START;
    mock.timers.enable({ apis: ['setInterval'] });
  });
  afterEach(async () => {
    mock.timers.reset();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Let the purge started by a timer run to its end (it awaits the store). */
  const settle = () => new Promise<void>((r) => setImmediate(r));
  const eventAt = (time: number, track: string) =>
    store.addEvent({
      kind: 'appeared',
      time,
      cameraId: null,
      track,
      personId: null,
      distance: null,
      box: null,
    });

  it('purges at start and then every hour, each time what has aged past the policy', async () => {
    // Events 100, 40, 10 and 0 days old at the start; unknown faces 50, 20 and 1 day old.
    for (const [age, track] of [
      [100, 'a'],
      [40, 'b'],
      [10, 'c'],
      [0, 'd'],
    ] as const)
      await eventAt(START - age * DAY, track);
    const m = randomUnitVectors(3, 128, rng(5));
    for (const [i, age] of [50, 20, 1].entries()) {
      await store.addUnknownFace(
        { embedding: embedding(row(m, i, 128)), box: [0, 0, 10, 10], score: 0.9, time: START - age * DAY },
        { cluster: 'new' },
      );
    }
    const unknowns = await UnknownFaces.open(store, TEST_PROVENANCE, { linkDistance: 0.3 });
    assert.equal(unknowns.size, 3);

    const purges: PurgeResult[] = [];
    const r = new RetentionScheduler(
      store,
      { eventsDays: 30, unknownFacesDays: 14 },
      { now: () => clock, unknowns, onPurge: (p) => purges.push(p) },
    );
    r.start();
    await settle();
    await settle();
    // At start: the 100- and 40-day-old events, the 50- and 20-day-old unknown faces.
    assert.deepEqual(
      (await store.listEvents()).map((e) => e.track),
      ['d', 'c'],
    );
    assert.equal(await store.countUnknownFaces(), 1);
    assert.equal(unknowns.size, 1, 'the in-memory clusters follow the purge');
    assert.deepEqual(purges, [{ time: START, events: 2, unknownFaces: 2 }]);

    // 20 days later the 10-day-old event has aged past the policy, but stays until the hourly
    // tick runs: the purge is on the schedule, not on access.
    clock += 20 * DAY + HOUR / 2;
    assert.equal((await store.listEvents()).length, 2);
    mock.timers.tick(HOUR);
    await settle();
    await settle();
    assert.deepEqual(
      (await store.listEvents()).map((e) => e.track),
      ['d'],
      'the event 10 days old at the start, now 30 days old, is gone',
    );
    assert.equal(
      await store.countUnknownFaces(),
      0,
      'the unknown face 1 day old at the start, now 21 days old, is gone',
    );
    assert.equal(purges.length, 2);

    // A tick with nothing to purge does not report.
    mock.timers.tick(HOUR);
    await settle();
    assert.equal(purges.length, 2);
    await r.stop();
    // Stopped: no more purges, whatever the date.
    clock += 365 * DAY;
    mock.timers.tick(10 * HOUR);
    await settle();
    assert.equal((await store.listEvents()).length, 1);
  });

  it('null keeps records forever; a failing purge is reported and retried at the next tick', async () => {
    await eventAt(START - 1000 * DAY, 'old');
    const errors: string[] = [];
    const keep = new RetentionScheduler(
      store,
      { eventsDays: null, unknownFacesDays: null },
      { now: () => clock },
    );
    assert.deepEqual(await keep.purgeNow(), { time: START, events: 0, unknownFaces: 0 });
    assert.equal((await store.listEvents()).length, 1);

    let fail = true;
    const flaky = Object.create(store, {
      purgeEvents: {
        value: (before: number) =>
          fail ? Promise.reject(new Error('disk I/O error')) : store.purgeEvents(before),
      },
    }) as SqliteStore;
    const r = new RetentionScheduler(
      flaky,
      { eventsDays: 1, unknownFacesDays: null },
      {
        now: () => clock,
        onError: (m) => errors.push(m),
      },
    );
    r.start();
    await settle();
    assert.deepEqual(errors, ['disk I/O error']);
    assert.equal((await store.listEvents()).length, 1);
    fail = false;
    mock.timers.tick(HOUR);
    await settle();
    await settle();
    assert.equal((await store.listEvents()).length, 0);
    await r.stop();
  });
});
