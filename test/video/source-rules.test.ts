import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidInputError } from '../../src/core/index.js';
import {
  backoffDelay,
  basicAuth,
  ffmpegFrameArgs,
  ffmpegInputArgs,
  LatestSlot,
  parseSource,
  Redactor,
  recorderArgs,
  redactUrl,
  resolveRetry,
} from '../../src/video/index.js';

describe('backoff', () => {
  const s = { backoffInitialMs: 1000, backoffMaxMs: 30_000, backoffJitter: 0 };
  const table: [number, number][] = [
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [5, 16_000],
    [6, 30_000],
    [50, 30_000],
    [5000, 30_000],
  ];
  for (const [failures, want] of table) {
    it(`failure ${failures} → ${want} ms without jitter`, () =>
      assert.equal(backoffDelay(failures, s, 0.3), want));
  }
  it('jitter spreads the delay ±25 % (jitter 0.5) and never passes the cap', () => {
    const j = { ...s, backoffJitter: 0.5 };
    assert.equal(backoffDelay(2, j, 0), 1500);
    assert.equal(backoffDelay(2, j, 0.999999), 2500);
    assert.equal(backoffDelay(10, j, 0.999999), 30_000);
    assert.equal(backoffDelay(10, j, 0), 22_500);
  });
  it('rejects bad settings with the one message format', () => {
    assert.throws(
      () => resolveRetry({ watchdogMs: 0 }),
      /Expected a number of ms ≥ 50 for watchdogMs but received 0/,
    );
    assert.throws(() => resolveRetry({ backoffInitialMs: 5000, backoffMaxMs: 1000 }), /for backoffMaxMs/);
    assert.throws(() => resolveRetry({ backoffJitter: 2 }), /for backoffJitter/);
    assert.deepEqual(
      { ...resolveRetry(), random: undefined },
      {
        watchdogMs: 10_000,
        backoffInitialMs: 1000,
        backoffMaxMs: 30_000,
        backoffJitter: 0.5,
        random: undefined,
      },
    );
  });
});

describe('credentials stay out of messages', () => {
  const table: [string, string][] = [
    ['http://admin:admin@192.168.0.107:8081/', 'http://***@192.168.0.107:8081/'],
    ['rtsp://user:p%40ss@cam.local/stream1', 'rtsp://***@cam.local/stream1'],
    ['see http://a:b@h/x and rtsp://c@d/', 'see http://***@h/x and rtsp://***@d/'],
    ['http://host/no-credentials', 'http://host/no-credentials'],
  ];
  for (const [input, want] of table) it(`redactUrl(${input})`, () => assert.equal(redactUrl(input), want));

  it('Redactor hides decoded and encoded secrets anywhere in a text', () => {
    const r = Redactor.forUrl(new URL('rtsp://cam:s3cr%3Ft@10.0.0.2/'));
    const text = r.text("[rtsp @ 0x1] rtsp://cam:s3cr%3Ft@10.0.0.2/: 401; tried password 's3cr?t' for cam");
    assert.ok(!text.includes('s3cr'), text);
    assert.match(text, /rtsp:\/\/\*\*\*@10\.0\.0\.2/);
  });

  it('basicAuth decodes percent-escapes', () => {
    assert.equal(
      basicAuth(new URL('http://ad%20min:p%40ss@h/')),
      `Basic ${Buffer.from('ad min:p@ss').toString('base64')}`,
    );
    assert.equal(basicAuth(new URL('http://h/')), undefined);
  });
});

describe('parseSource', () => {
  let dir = '';
  let clip = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-spec-'));
    clip = join(dir, 'clip.mp4');
    await writeFile(clip, Buffer.from('not really a video, but a file'));
    await writeFile(join(dir, 'empty.mp4'), Buffer.alloc(0));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('classifies URLs: MJPEG, still images (snapshot polling), RTSP', () => {
    const a = parseSource('http://admin:admin@192.168.0.107:8081/');
    assert.equal(a.kind, 'http');
    assert.equal(a.kind === 'http' && a.mode, 'auto');
    const shot = parseSource('http://192.168.0.107:8080/shot.jpg');
    assert.equal(shot.kind === 'http' && shot.mode, 'snapshot');
    const esp = parseSource('http://10.0.0.9/capture');
    assert.equal(esp.kind === 'http' && esp.mode, 'snapshot');
    const cgi = parseSource('http://10.0.0.9/?action=snapshot');
    assert.equal(cgi.kind === 'http' && cgi.mode, 'snapshot');
    assert.equal(parseSource('https://cam.example/video').kind, 'http');
    assert.equal(parseSource('rtsp://u:p@10.0.0.2:554/stream1').kind, 'rtsp');
  });

  it('resolves an existing file to an absolute path', () => {
    const s = parseSource('clip.mp4', { cwd: dir });
    assert.deepEqual(s, { kind: 'file', path: clip });
  });

  const refused: [string | number, RegExp][] = [
    ['file:///etc/passwd', /scheme "file:" is not supported/],
    ['concat:a.mp4|b.mp4', /scheme "concat:" is not supported/],
    ['pipe:0', /scheme "pipe:" is not supported/],
    ['subfile,,start,0,end,0,,:clip.mp4', /no such file/],
    ['udp://0.0.0.0:1234', /scheme "udp:" is not supported/],
    ['-i', /looks like a command-line option/],
    ['-f lavfi -i testsrc', /looks like a command-line option/],
    ['http://', /not a valid URL|no host/],
    ['http://exa mple.com/', /not a valid URL|spaces/],
    ['rtsp://cam/\nfoo', /control characters/],
    ['', /empty/],
    ['/dev/null', /not a regular file/],
    ['/dev/video99', /no such video device/],
    [999, /integer from 0 to 255/],
    [-1, /integer from 0 to 255/],
  ];
  for (const [input, why] of refused) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseSource(input),
        (e: unknown) => e instanceof InvalidInputError && why.test(e.message),
      );
    });
  }

  it('refuses directories, empty files and FIFOs; never shows a password', async () => {
    assert.throws(() => parseSource(dir), /is a directory/);
    assert.throws(() => parseSource(join(dir, 'empty.mp4')), /empty file/);
    assert.throws(
      () => parseSource('ftp://user:hunter2@host/x'),
      (e: unknown) => {
        assert.ok(e instanceof Error && !e.message.includes('hunter2'), String(e));
        return true;
      },
    );
  });
});

describe('ffmpeg arguments', () => {
  it('rtsp: TCP first, a socket timeout, only RTSP/RTP/UDP/TCP protocols', () => {
    const args = ffmpegInputArgs(
      { kind: 'rtsp', url: new URL('rtsp://u:p@10.0.0.2/live') },
      { ioTimeoutMs: 5000 },
    );
    const at = (flag: string) => args[args.indexOf(flag) + 1];
    assert.equal(at('-protocol_whitelist'), 'rtsp,rtp,udp,tcp');
    assert.equal(at('-rtsp_transport'), 'tcp');
    assert.equal(at('-timeout'), '5000000');
    assert.equal(args.at(-1), 'rtsp://u:p@10.0.0.2/live');
    assert.equal(args.at(-2), '-i');
  });

  it('files: file: protocol only, the path behind file: (never an option or another protocol)', () => {
    const args = ffmpegInputArgs(
      { kind: 'file', path: '/tmp/-i concat:x|y.mp4' },
      { realtime: true, loop: true },
    );
    assert.deepEqual(args, [
      '-protocol_whitelist',
      'file',
      '-re',
      '-stream_loop',
      '-1',
      '-i',
      'file:/tmp/-i concat:x|y.mp4',
    ]);
  });

  it('raw RGB frames of exactly the chosen size on stdout', () => {
    const args = ffmpegFrameArgs({ kind: 'v4l2', device: '/dev/video0' }, { width: 320, height: 240 });
    assert.deepEqual(args.slice(args.indexOf('-vf')), [
      '-vf',
      'scale=320:240:force_original_aspect_ratio=decrease,pad=320:240:(ow-iw)/2:(oh-ih)/2',
      '-pix_fmt',
      'rgb24',
      '-f',
      'rawvideo',
      'pipe:1',
    ]);
    assert.throws(
      () => ffmpegFrameArgs({ kind: 'v4l2', device: '/dev/video0' }, { width: 8, height: 240 }),
      RangeError,
    );
  });

  it('recording: frames on stdin, wall-clock timestamps, the output behind file:', () => {
    const args = recorderArgs('/tmp/out.mp4', { width: 640, height: 480 });
    assert.equal(args[args.indexOf('-s') + 1], '640x480');
    assert.equal(args[args.indexOf('-i') + 1], 'pipe:0');
    assert.equal(args.at(-1), 'file:/tmp/out.mp4');
    assert.throws(() => recorderArgs('/tmp/out.gif', { width: 640, height: 480 }), /unknown extension/);
  });
});

describe('LatestSlot', () => {
  it('keeps the newest item and counts the overwritten ones', async () => {
    const released: number[] = [];
    const slot = new LatestSlot<number>((n) => released.push(n));
    slot.put(1);
    slot.put(2);
    slot.put(3);
    assert.equal(await slot.take(), 3);
    assert.equal(slot.dropped, 2);
    assert.deepEqual(released, [1, 2]);
  });

  it('hands an item straight to a waiting taker, and ends with undefined', async () => {
    const slot = new LatestSlot<string>();
    const waiting = slot.take();
    slot.put('a');
    assert.equal(await waiting, 'a');
    assert.equal(slot.dropped, 0);
    const pending = slot.take();
    slot.close();
    assert.equal(await pending, undefined);
    slot.put('late');
    assert.equal(await slot.take(), undefined);
  });

  it('end() lets the kept item be taken first; whenEmpty() waits for the taker', async () => {
    const slot = new LatestSlot<number>();
    slot.put(7);
    let emptied = false;
    const w = slot.whenEmpty().then(() => {
      emptied = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(emptied, false);
    slot.end();
    assert.equal(await slot.take(), 7);
    await w;
    assert.equal(emptied, true);
    assert.equal(await slot.take(), undefined);
  });
});
