/**
 * `facerec watch`, the built CLI as a user runs it: against a simulated phone camera with an
 * enrolled person, on a video file with a recording, with the annotated stream served, and
 * stopped by SIGINT.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/gallery/index.js';
import { decodeImage, saveImage } from '../../src/image/index.js';
import { FaceRecognizer } from '../../src/recognize/index.js';
import { demoPhoto } from '../helpers.js';
import { CLI, runCli } from '../support/cli.js';
import { CameraSim, fitOnCanvas, photoFrame } from './camera-sim.js';
import { enroll, ffmpegSkip, waitFor } from './support.js';

interface JsonLine {
  type: string;
  [k: string]: unknown;
}

function jsonLines(stdout: string): JsonLine[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as JsonLine);
}

/** Start the CLI; collect its output. */
function startCli(args: readonly string[]): {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  done: Promise<number>;
} {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out.stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out.stderr += s));
  const done = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  return { child, out, done };
}

describe('facerec watch', { skip: ffmpegSkip() }, () => {
  let dir = '';
  let data = '';
  let clip = '';
  let sim: CameraSim;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-watch-'));
    data = join(dir, 'data');
    const fr = await FaceRecognizer.load();
    const store = await openStore({ dataDir: data });
    try {
      await enroll(fr, store, 'Ada', [demoPhoto(1)], [404, 354, 597, 598]);
    } finally {
      await store.close();
      await fr.dispose();
    }
    sim = new CameraSim({
      frames: [await photoFrame(demoPhoto(1))],
      fps: 15,
      auth: { user: 'admin', password: 'admin' },
    });
    await sim.start();
    const still = join(dir, 'faces.png');
    await saveImage(await fitOnCanvas(await decodeImage(demoPhoto(1))), still);
    clip = join(dir, 'clip.mp4');
    await new Promise<void>((resolve, reject) =>
      execFile(
        'ffmpeg',
        [
          '-nostdin',
          '-loglevel',
          'error',
          '-loop',
          '1',
          '-i',
          still,
          '-t',
          '1',
          '-r',
          '15',
          '-vf',
          'format=yuv420p',
          '-c:v',
          'libx264',
          '-preset',
          'veryfast',
          clip,
        ],
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  });
  after(async () => {
    await sim?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--json --json-frames --duration: names the enrolled person, frames with latency, a summary', async () => {
    const r = await runCli([
      '--data',
      data,
      'watch',
      sim.url(),
      '--json',
      '--json-frames',
      '--duration',
      '3',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    const appeared = lines.filter((l) => l.type === 'appeared');
    assert.deepEqual(appeared.map((l) => l.name).sort(), ['Ada', null, null].sort());
    const ada = appeared.find((l) => l.name === 'Ada')!;
    assert.equal(typeof ada.distance, 'number');
    assert.match(String(ada.time), /^\d{4}-\d\d-\d\dT/);
    assert.equal(ada.camera, 'http://***@127.0.0.1:' + sim.port + '/video');
    const frames = lines.filter((l) => l.type === 'frame');
    assert.ok(frames.length >= 5, `${frames.length} frame lines`);
    for (const f of frames) {
      assert.equal(typeof f.latency_ms, 'number');
      const faces = f.faces as { track: number; box: number[]; name: string | null }[];
      for (const face of faces) assert.equal(face.box.length, 4);
    }
    // At the end, the tracks leave.
    assert.equal(lines.filter((l) => l.type === 'left').length, 3);
    const summary = lines.at(-1)!;
    assert.equal(summary.type, 'summary');
    assert.ok((summary.received as number) >= (summary.processed as number));
    assert.ok((summary.processed as number) > 0 && (summary.fps as number) > 0);
    assert.ok(!r.stdout.includes('admin:admin') && !r.stderr.includes('admin:admin'));
    // The events are in the gallery too (no crop: --keep-snapshots was not given).
    const store = await openStore({ dataDir: data });
    try {
      const stored = (await store.listEvents({ limit: 1000 })).filter(
        (e) => e.time >= Date.parse(String(ada.time)),
      );
      assert.equal(stored.filter((e) => e.kind === 'appeared').length, 3);
      assert.equal(stored.filter((e) => e.kind === 'left').length, 3);
      assert.deepEqual(
        stored
          .filter((e) => e.personName === 'Ada')
          .map((e) => e.kind)
          .sort(),
        ['appeared', 'left'],
      );
      assert.ok(stored.every((e) => !e.hasSnapshot && /^watch\.\d+\.\d+$/.test(e.track)));
    } finally {
      await store.close();
    }
  });

  it('a video file: events as text lines, an annotated recording, the end of the video ends the watch', async () => {
    const rec = join(dir, 'out.mp4');
    const before = Date.now();
    const r = await runCli([
      '--data',
      data,
      'watch',
      clip,
      '--record',
      rec,
      '--every',
      '3',
      '--keep-snapshots',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const store = await openStore({ dataDir: data });
    try {
      const appeared = (await store.listEvents({ kind: 'appeared', from: before, limit: 100 })).filter(
        (e) => e.time >= before,
      );
      assert.equal(appeared.length, 3);
      for (const e of appeared) {
        assert.ok(e.hasSnapshot);
        const snap = await store.getEventSnapshot(e.id);
        assert.equal(snap?.mime, 'image/jpeg');
        assert.ok((await decodeImage(snap!.bytes)).width > 20);
      }
    } finally {
      await store.close();
    }
    assert.match(r.stdout, /appeared {2}Ada \(distance 0\.\d+\) {2}track \d+ {2}clip\.mp4/);
    assert.match(r.stdout, /clip\.mp4: 15 frames received, 5 processed, 0 dropped/);
    assert.match(r.stderr, /end of the video/);
    assert.ok((await stat(rec)).size > 1000);
  });

  it('--serve: ffmpeg plays the annotated stream; SIGINT stops cleanly, its ffmpeg child reaped', async () => {
    const run = startCli(['--data', data, 'watch', clip, '--realtime', '--loop', '--serve', '0']);
    try {
      await waitFor(
        () => /annotated stream at (http:\/\/127\.0\.0\.1:\d+\/)/.test(run.out.stderr),
        20_000,
        'the stream URL',
      );
      const url = /annotated stream at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.out.stderr)![1]!;
      const decoded = await new Promise<string>((resolve, reject) =>
        execFile(
          'ffmpeg',
          ['-nostdin', '-loglevel', 'error', '-i', url, '-frames:v', '10', '-f', 'null', '-'],
          { timeout: 30_000 },
          (err, _o, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stderr)),
        ),
      );
      assert.equal(decoded.trim(), '');
      // The CLI's own ffmpeg (decoding the file) is running; SIGINT must take it down too.
      const ffmpegPids = () => childrenOf(run.child.pid!).filter((p) => commandName(p) === 'ffmpeg');
      await waitFor(() => ffmpegPids().length === 1, 5000, 'the CLI ffmpeg child');
      const ffmpegPid = ffmpegPids()[0]!;
      run.child.kill('SIGINT');
      assert.equal(await run.done, 0, run.out.stderr);
      assert.match(run.out.stdout, /frames received/);
      await waitFor(() => !processExists(ffmpegPid), 3000, 'the ffmpeg child to be gone');
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it('in a terminal: space saves the annotated frame, q quits', {
    skip: existsSync('/usr/bin/script')
      ? false
      : 'needs script(1) (util-linux) to run the CLI on a pseudo-terminal',
  }, async () => {
    const cwd = await mkdtemp(join(dir, 'tty-'));
    const cmd = [process.execPath, CLI, '--data', data, 'watch', clip, '--realtime', '--loop']
      .map((a) => `'${a}'`)
      .join(' ');
    // script(1) runs the command on a pseudo-terminal and forwards our writes as key presses.
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: process.env,
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t));
    const done = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
    try {
      await waitFor(() => out.includes('appeared'), 20_000, 'the first event');
      child.stdin!.write(' ');
      await waitFor(() => /saved (\S+\.jpg)/.test(out), 10_000, 'the saved frame');
      child.stdin!.write('q');
      assert.equal(await done, 0, out);
      const saved = /saved (\S+\.jpg)/.exec(out)![1]!;
      const img = await decodeImage(saved);
      assert.deepEqual([img.width, img.height], [640, 480]);
      assert.match(out, /frames received/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses unsafe or unknown sources with exit code 2 and says what is accepted', async () => {
    for (const bad of ['file:///etc/passwd', '-i', join(dir, 'missing.mp4'), 'concat:a|b']) {
      const r = await runCli(['--data', data, 'watch', '--', bad]);
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /Cannot use video source/);
    }
  });
});

/** The pids of the children of `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((x) => x !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** The command name of a process, or '' when it is gone. */
function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** True while `pid` exists and is not a zombie. */
function processExists(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
