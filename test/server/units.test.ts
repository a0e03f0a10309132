/**
 * The service's pure parts, table-driven: error mapping, Prometheus text, settings, time query
 * parsing, upload file names, the analysis queue.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConflictError,
  InvalidInputError,
  ModelLoadError,
  NotFoundError,
  StoreError,
} from '../../src/core/index.js';
import { calibratedThreshold, DEFAULT_RETENTION } from '../../src/recognize/index.js';
import {
  AnalysisQueue,
  applyPatch,
  baseName,
  classifyError,
  DEFAULT_SETTINGS,
  escapeLabel,
  exposition,
  HttpError,
  parseTime,
  settingsJson,
} from '../../src/server/index.js';

const PROVENANCE = {
  model: 'face_recognition@@vladmandic/face-api@1.7.15',
  template: 'dlib5-150-p0.25+flip',
  normalized: true,
};

describe('classifyError', () => {
  const cases: [string, unknown, number, string][] = [
    ['HttpError', new HttpError('conflict', 'x'), 409, 'conflict'],
    ['InvalidInputError', new InvalidInputError('bad'), 400, 'invalid_input'],
    ['NotFoundError', new NotFoundError('none'), 404, 'not_found'],
    ['ConflictError', new ConflictError('dup'), 409, 'conflict'],
    ['StoreError', new StoreError('db down'), 503, 'unavailable'],
    [
      'StoreError disk full',
      new StoreError('gallery database error: database or disk is full (SQLITE_FULL)'),
      507,
      'insufficient_storage',
    ],
    [
      'a file write on a full disk (ENOSPC)',
      Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 }),
      507,
      'insufficient_storage',
    ],
    ['ModelLoadError', new ModelLoadError('broken'), 500, 'internal'],
    [
      'validation',
      Object.assign(new Error('body must have required property name'), {
        validation: [{}],
        statusCode: 400,
      }),
      400,
      'bad_request',
    ],
    [
      'body too large',
      Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }),
      413,
      'payload_too_large',
    ],
    [
      'parts limit',
      Object.assign(new Error('reach parts limit'), { code: 'FST_PARTS_LIMIT' }),
      413,
      'payload_too_large',
    ],
    [
      'media type',
      Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }),
      415,
      'unsupported_media_type',
    ],
    [
      'bad JSON',
      Object.assign(new SyntaxError('Unexpected end of JSON input'), { statusCode: 400 }),
      400,
      'bad_request',
    ],
    [
      'other 4xx',
      Object.assign(new Error('Unexpected end of form'), { statusCode: 400 }),
      400,
      'bad_request',
    ],
    ['a bug', new TypeError('undefined is not a function'), 500, 'internal'],
    ['a string', 'boom', 500, 'internal'],
  ];
  for (const [name, err, status, code] of cases) {
    it(`${name} → ${status} ${code}`, () => {
      const c = classifyError(err, 20e6);
      assert.equal(c.status, status);
      assert.equal(c.code, code);
      if (status === 500)
        assert.doesNotMatch(c.message, /undefined is not|boom|broken/, 'no internals in 500 messages');
    });
  }
});

describe('Prometheus text', () => {
  it('escapes label values and prints families', () => {
    assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    const text = exposition([
      {
        name: 'm',
        help: 'help',
        type: 'gauge',
        samples: [
          { labels: { camera: 'Front "door"' }, value: 1.5 },
          { labels: {}, value: Number.NaN },
        ],
      },
    ]);
    assert.equal(text, '# HELP m help\n# TYPE m gauge\nm{camera="Front \\"door\\""} 1.5\nm NaN\n');
  });
});

describe('settings', () => {
  it('patches: fixed threshold, by FAR, auto with a target FPIR; bad values refused', () => {
    const fixed = applyPatch(DEFAULT_SETTINGS, { threshold: 0.3 }, PROVENANCE);
    assert.deepEqual(fixed, { threshold: 0.3, targetFpir: 0.01 });
    const byFar = applyPatch(DEFAULT_SETTINGS, { far: 1e-3 }, PROVENANCE);
    assert.equal(byFar.threshold, calibratedThreshold(PROVENANCE)!.threshold);
    assert.deepEqual(applyPatch(fixed, { threshold: null }, PROVENANCE), {
      threshold: null,
      targetFpir: 0.01,
    });
    assert.deepEqual(applyPatch(fixed, { targetFpir: 0.05 }, PROVENANCE), {
      threshold: null,
      targetFpir: 0.05,
    });
    for (const p of [{ threshold: 0 }, { threshold: 3 }, { far: 0 }, { far: 1 }, { targetFpir: 0.9 }]) {
      assert.throws(() => applyPatch(DEFAULT_SETTINGS, p, PROVENANCE), InvalidInputError, JSON.stringify(p));
    }
    assert.throws(
      () => applyPatch(DEFAULT_SETTINGS, { far: 1e-3 }, { ...PROVENANCE, model: 'other' }),
      /no calibration/,
    );
  });

  it('reports the rates a threshold implies from the calibration curve', () => {
    const cal = calibratedThreshold(PROVENANCE)!;
    const j = settingsJson(DEFAULT_SETTINGS, { identify: cal.threshold, verify: cal.threshold }, PROVENANCE, {
      galleryFaces: 0,
      keepThumbnails: false,
      keepSnapshots: false,
      retention: DEFAULT_RETENTION,
      authRequired: false,
      tls: false,
    });
    assert.equal(j.far, cal.far);
    assert.deepEqual([j.keep_events_days, j.keep_unknowns_days], [90, 30]);
    assert.equal(j.frr, cal.frr);
    assert.equal(j.curve.length, cal.curve.length);
    const none = settingsJson(
      DEFAULT_SETTINGS,
      { identify: 0.4, verify: 0.4 },
      { ...PROVENANCE, model: 'x' },
      {
        galleryFaces: 0,
        keepThumbnails: false,
        keepSnapshots: false,
        retention: { eventsDays: null, unknownFacesDays: 7 },
        authRequired: false,
        tls: false,
      },
    );
    assert.deepEqual([none.keep_events_days, none.keep_unknowns_days], [null, 7]);
    assert.deepEqual([none.far, none.frr, none.curve, none.default_threshold], [null, null, [], null]);
  });
});

describe('small parsers', () => {
  const times: [string | undefined, number | undefined | 'error'][] = [
    [undefined, undefined],
    ['', undefined],
    ['1700000000000', 1700000000000],
    ['2025-01-01T00:00:00Z', Date.UTC(2025, 0, 1)],
    ['2025-01-01', Date.UTC(2025, 0, 1)],
    ['yesterday', 'error'],
    ['-5', 'error'],
  ];
  for (const [v, want] of times) {
    it(`parseTime(${JSON.stringify(v)})`, () => {
      if (want === 'error') assert.throws(() => parseTime(v, 'from'), HttpError);
      else assert.equal(parseTime(v, 'from'), want);
    });
  }
  const names: [string | undefined, string | null][] = [
    [undefined, null],
    ['photo.jpg', 'photo.jpg'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\x.png', 'x.png'],
    ['a\u0000b\nc.jpg', 'abc.jpg'],
    ['dir/', null],
  ];
  for (const [v, want] of names)
    it(`baseName(${JSON.stringify(v)}) = ${want}`, () => assert.equal(baseName(v), want));
});

describe('AnalysisQueue', () => {
  it('runs at most N at once, queues up to Q, refuses more with 503', async () => {
    const q = new AnalysisQueue(1, 1);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const order: number[] = [];
    const a = q.run(async () => {
      order.push(1);
      await gate;
      return 1;
    });
    const b = q.run(async () => {
      order.push(2);
      return 2;
    });
    await assert.rejects(
      q.run(async () => 3),
      (e: unknown) => e instanceof HttpError && e.status === 503,
    );
    assert.deepEqual(q.load, { running: 1, waiting: 1 });
    release();
    assert.deepEqual(await Promise.all([a, b]), [1, 2]);
    assert.deepEqual(order, [1, 2]);
    assert.deepEqual(q.load, { running: 0, waiting: 0 });
    await assert.rejects(
      q.run(async () => Promise.reject(new Error('x'))),
      /x/,
    );
    assert.deepEqual(q.load, { running: 0, waiting: 0 }, 'a failure frees its slot');
  });
});
