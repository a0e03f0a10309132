/**
 * The ffmpeg side, against real programs: an RTSP server (rtsp-streaming-server, which refuses
 * TCP transport) fed by an ffmpeg publisher, ffmpeg as a client of facerec's annotated MJPEG
 * stream, recordings, and children reaped whatever happens.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RawImage } from '../../src/core/index.js';
import { decodeImage, saveImage } from '../../src/image/index.js';
import { FaceRecognizer } from '../../src/recognize/index.js';
import {
  FfmpegSource,
  FrameRenderer,
  type FrameResult,
  MjpegBroadcaster,
  openSource,
  parseSource,
  type StateChange,
  serveMjpeg,
  VideoRecorder,
} from '../../src/video/index.js';
import { demoPhoto } from '../helpers.js';
import { fitOnCanvas } from './camera-sim.js';
import { ffmpegChildren, ffmpegSkip, openSockets, waitFor } from './support.js';

/** Run ffmpeg to completion; resolve its stderr, reject on a non-zero exit. */
function ffmpeg(args: readonly string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ffmpeg', ['-hide_banner', '-nostdin', ...args], { timeout: timeoutMs }, (err, _out, stderr) => {
      if (err) reject(new Error(`ffmpeg ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stderr);
    });
  });
}

/** A free TCP port on loopback (closed again before use). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('ffmpeg sources and outputs', { skip: ffmpegSkip() }, () => {
  let dir = '';
  let clip = '';
  let frame640: RawImage;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-ffmpeg-'));
    // A 2-second 640×480 H.264 clip at 15 fps of a group photo with three faces.
    frame640 = await fitOnCanvas(await decodeImage(demoPhoto(1)));
    const still = join(dir, 'faces.png');
    await saveImage(frame640, still);
    clip = join(dir, 'clip.mp4');
    await ffmpeg([
      '-loglevel',
      'error',
      '-loop',
      '1',
      '-i',
      still,
      '-t',
      '2',
      '-r',
      '15',
      '-vf',
      'format=yuv420p',
      '-c:v',
      'libx264',
      '-g',
      '15',
      '-preset',
      'veryfast',
      clip,
    ]);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads a file as fast as possible (every frame kept) or in real time', async () => {
    const fast = openSource(clip);
    let n = 0;
    for await (const f of fast) {
      assert.equal(f.image.width, 640);
      assert.equal(f.image.height, 480);
      n++;
    }
    assert.equal(n, 30);
    assert.equal(fast.stats().dropped, 0);
    assert.equal(fast.state, 'closed');
    assert.deepEqual(ffmpegChildren(), []);
  });

  it('a missing ffmpeg is a clear error, not a retry loop', async () => {
    const src = new FfmpegSource(parseSource(clip), { ffmpegPath: join(dir, 'no-such-ffmpeg') });
    await assert.rejects(
      (async () => {
        for await (const _ of src) {
          // no frame expected
        }
      })(),
      /ffmpeg not found .*install it/,
    );
  });

  describe('RTSP (server refusing TCP)', () => {
    // biome-ignore lint/suspicious/noExplicitAny: rtsp-streaming-server ships no usable types for its internals
    let server: any;
    let publisher: ChildProcess | undefined;
    let clientPort = 0;

    before(async () => {
      const require = createRequire(import.meta.url);
      const RtspServer = (require('rtsp-streaming-server') as { default: new (c: object) => unknown })
        .default;
      const publishPort = await freePort();
      clientPort = await freePort();
      const rtpPortStart = 20_000 + 2 * Math.floor(Math.random() * 10_000);
      server = new RtspServer({ serverPort: publishPort, clientPort, rtpPortStart, rtpPortCount: 40 });
      await server.start();
      publisher = spawn(
        'ffmpeg',
        [
          '-hide_banner',
          '-nostdin',
          '-loglevel',
          'error',
          '-re',
          '-stream_loop',
          '-1',
          '-i',
          clip,
          '-c',
          'copy',
          '-f',
          'rtsp',
          `rtsp://127.0.0.1:${publishPort}/live`,
        ],
        { stdio: 'ignore' },
      );
      // Wait until the server has the mount (the publisher's ANNOUNCE went through).
      await waitFor(
        () => server.Mounts.mounts.size > 0 || Object.keys(server.Mounts.mounts).length > 0,
        10_000,
        'the publisher',
      );
    });
    after(async () => {
      if (publisher && publisher.exitCode === null) {
        publisher.kill('SIGTERM');
        await new Promise((r) => publisher!.once('exit', r));
      }
      // The client whose ffmpeg was killed sent no TEARDOWN: the server would keep its session
      // (and a 60-second keepalive timer) alive; end the sessions.
      for (const wrapper of Object.values(server?.ClientServer?.clients ?? {})) {
        (wrapper as { close?: () => void } | undefined)?.close?.();
      }
      for (const s of [server?.PublishServer?.server, server?.ClientServer?.server]) {
        if (s?.listening) await new Promise<void>((r) => s.close(() => r()));
      }
    });

    it('falls back from TCP to UDP and delivers frames a recognizer finds faces in', async () => {
      const states: StateChange[] = [];
      const src = new FfmpegSource(parseSource(`rtsp://127.0.0.1:${clientPort}/live`), {
        watchdogMs: 8000,
        onState: (s) => states.push(s),
      });
      const fr = await FaceRecognizer.load();
      try {
        let last: RawImage | undefined;
        let n = 0;
        for await (const f of src) {
          last = f.image;
          if (++n === 5) break;
        }
        assert.equal(src.transport, 'udp');
        assert.equal(src.stats().connects, 2, 'one TCP attempt refused, one UDP attempt');
        const faces = await fr.detectFaces(last!, { minSize: 40 });
        assert.equal(faces.length, 3);
      } finally {
        await src.close();
        await fr.dispose();
      }
      assert.deepEqual(ffmpegChildren([publisher?.pid]), []);
    });

    it('an ffmpeg child killed mid-stream is reaped and replaced; closing leaves no child and no socket', async () => {
      // This process also runs the RTSP server, whose TCP/UDP sockets live on their own
      // schedule: the source's own sockets are the Unix-domain pipes to its ffmpeg children.
      const baseline = openSockets(true);
      const states: StateChange[] = [];
      const src = new FfmpegSource(parseSource(`rtsp://127.0.0.1:${clientPort}/live`), {
        transport: 'udp',
        watchdogMs: 8000,
        backoffInitialMs: 100,
        onState: (s) => states.push(s),
      });
      let frames = 0;
      const consume = (async () => {
        for await (const _ of src) frames++;
      })();
      try {
        await waitFor(() => frames >= 3, 15_000, 'frames');
        const first = src.pid!;
        process.kill(first, 'SIGKILL');
        await waitFor(() => src.pid !== undefined && src.pid !== first, 10_000, 'a new ffmpeg child');
        // The killed child is gone from the process table (reaped, not a zombie).
        await waitFor(
          () => !ffmpegChildren([publisher?.pid]).some((c) => c.pid === first),
          2000,
          'the killed child to be reaped',
        );
        assert.ok(states.some((s) => s.state === 'offline'));
        const f = frames;
        await waitFor(() => frames > f, 15_000, 'frames from the new child');
        assert.equal(ffmpegChildren([publisher?.pid]).length, 1);
      } finally {
        await src.close();
        await consume;
      }
      assert.deepEqual(ffmpegChildren([publisher?.pid]), []);
      await waitFor(
        () => [...openSockets(true)].filter((s) => !baseline.has(s)).length === 0,
        2000,
        'no pipe to an ffmpeg child left',
      );
    });
  });

  it('ffmpeg decodes 100 frames of the annotated MJPEG output while a stuck client gets nothing', async () => {
    const fr = await FaceRecognizer.load();
    const faces = await fr.detectFaces(frame640, { minSize: 40 });
    await fr.dispose();
    const result = (n: number): FrameResult => ({
      camera: 'test',
      frame: n,
      seq: n,
      time: Date.now(),
      width: 640,
      height: 480,
      processed: true,
      fullDetection: true,
      latencyMs: 0,
      faces: faces.map((f, i) => ({
        track: i + 1,
        box: f.box,
        landmarks: f.landmarks,
        score: f.score,
        personId: i === 0 ? 1 : null,
        name: i === 0 ? 'Ada' : null,
        distance: 0.2,
        embedded: false,
      })),
      timings: { detectMs: 0, embedMs: 0, identifyMs: 0, totalMs: 0 },
    });
    const broadcaster = new MjpegBroadcaster();
    const served = await serveMjpeg(broadcaster, { port: 0 });
    const renderer = new FrameRenderer({ onFrame: (f) => broadcaster.publish(f.jpeg) });
    // A client that connects and never reads: it must not hold the others back.
    const stuck = net.connect(served.port, '127.0.0.1');
    stuck.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\n\r\n`);
    stuck.pause();
    const source = openSource(clip, { loop: true, realtime: true });
    let n = 0;
    const feeding = (async () => {
      for await (const f of source) renderer.offer(f.image, result(++n));
    })();
    try {
      const stderr = await ffmpeg(
        ['-loglevel', 'error', '-i', served.url, '-frames:v', '100', '-f', 'null', '-'],
        60_000,
      );
      assert.equal(stderr.trim(), '');
      // The Host check refuses another name for the same address.
      const refused = await new Promise<number>((resolve, reject) => {
        http
          .get(
            {
              host: '127.0.0.1',
              port: served.port,
              path: '/',
              headers: { host: `evil.example:${served.port}` },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          )
          .on('error', reject);
      });
      assert.equal(refused, 421);
      const snap = await fetch(`${served.url}snapshot.jpg`);
      assert.equal(snap.headers.get('content-type'), 'image/jpeg');
      assert.equal((await decodeImage(new Uint8Array(await snap.arrayBuffer()))).width, 640);
    } finally {
      stuck.destroy();
      await source.close();
      await feeding;
      await renderer.idle();
      await served.close();
    }
  });

  it('a client that stops reading has frames dropped; another client still gets every frame', async () => {
    const broadcaster = new MjpegBroadcaster();
    const served = await serveMjpeg(broadcaster, { port: 0 });
    const stuck = net.connect(served.port, '127.0.0.1');
    stuck.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\n\r\n`);
    stuck.pause();
    const reader = await fetch(served.url);
    const body = reader.body!.getReader();
    let received = 0;
    const reading = (async () => {
      for (;;) {
        const { done, value } = await body.read();
        if (done) return;
        received += value.length;
      }
    })();
    await waitFor(() => broadcaster.clients === 2, 2000, 'two clients');
    // 40 frames of 1 MiB: far more than the socket buffers of the stuck client hold.
    const frame = Buffer.alloc(1 << 20, 0x5a);
    for (let i = 0; i < 40; i++) {
      broadcaster.publish(frame);
      await new Promise((r) => setTimeout(r, 15));
    }
    try {
      await waitFor(() => broadcaster.stats().dropped > 0, 5000, 'frames dropped for the stuck client');
      // The reading client was not held back: it received (nearly) every frame.
      await waitFor(() => received >= 30 * (1 << 20), 5000, 'the reading client to get its frames');
    } finally {
      stuck.destroy();
      await body.cancel();
      await reading.catch(() => undefined);
      await served.close();
    }
  });

  it('records annotated frames to an MP4 file that ffmpeg can read back', async () => {
    const out = join(dir, 'rec.mp4');
    const rec = VideoRecorder.open(out, { size: { width: 320, height: 240 } });
    const small: RawImage = {
      data: new Uint8Array(320 * 240 * 3).fill(80),
      width: 320,
      height: 240,
      channels: 3,
    };
    for (let i = 0; i < 20; i++) {
      rec.write(i % 2 ? frame640 : small); // other sizes are resized
      await new Promise((r) => setTimeout(r, 20));
    }
    await rec.close();
    assert.ok((await stat(out)).size > 1000);
    const probe = await ffmpeg(['-loglevel', 'error', '-i', out, '-f', 'null', '-']);
    assert.equal(probe.trim(), '');
    assert.ok(rec.stats().written >= 10);
    assert.deepEqual(ffmpegChildren(), []);
  });
});
