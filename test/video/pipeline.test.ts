/**
 * The per-stream pipeline on a video file read frame by frame (every frame kept, so the counts
 * are exact): tracking keeps ids and spares embeddings, `every` skips frames, snapshots are kept
 * only when asked, the tracks leave at the end.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeImage, saveImage } from '../../src/image/index.js';
import { FaceRecognizer } from '../../src/recognize/index.js';
import {
  type FrameResult,
  type Identifier,
  openSource,
  type PipelineOptions,
  StreamPipeline,
  type TrackEvent,
} from '../../src/video/index.js';
import { demoPhoto } from '../helpers.js';
import { fitOnCanvas } from './camera-sim.js';
import { ffmpegSkip } from './support.js';

describe('StreamPipeline', { skip: ffmpegSkip() }, () => {
  let dir = '';
  let clip = '';
  let fr: FaceRecognizer;
  /** Names the face nearest to a reference embedding "Ada", everything else unknown. */
  let identifier: Identifier;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-pipeline-'));
    fr = await FaceRecognizer.load();
    const frame = await fitOnCanvas(await decodeImage(demoPhoto(3)));
    const still = join(dir, 'faces.png');
    await saveImage(frame, still);
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
          '12',
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
    const faces = await fr.detectFaces(frame, { minSize: 40 });
    const [ref] = await fr.embedFaces(frame, [faces[0]!]);
    identifier = {
      async identify(embeddings) {
        return embeddings.map((e) => {
          const d = fr.compare(e, ref!).distance;
          return d < fr.compareThreshold()
            ? { personId: 1, name: 'Ada', distance: d }
            : { personId: null, name: null, distance: d };
        });
      },
    };
  });
  after(async () => {
    await fr?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function run(opts: PipelineOptions) {
    const events: TrackEvent[] = [];
    const results: FrameResult[] = [];
    const p = new StreamPipeline(fr, openSource(clip), {
      identifier,
      events: { appeared: (e) => void events.push(e), left: (e) => void events.push(e) },
      onResult: (r) => void results.push(r),
      ...opts,
    });
    const stats = await p.run();
    return { events, results, stats };
  }

  it('tracking: three faces keep their ids over 12 frames, embedded once each, window re-detection between full passes', async () => {
    const { events, results, stats } = await run({ fullDetectEvery: 4 });
    assert.equal(stats.frames, 12);
    assert.equal(stats.processed, 12);
    assert.equal(stats.fullDetections, 3);
    assert.equal(stats.tracks, 3);
    assert.equal(stats.embedded, 3);
    const ids = results.map((r) =>
      r.faces
        .map((f) => f.track)
        .sort((a, b) => a - b)
        .join(','),
    );
    assert.deepEqual(new Set(ids), new Set(['1,2,3']));
    assert.equal(results.filter((r) => r.fullDetection).length, 3);
    const appeared = events.filter((e) => e.type === 'appeared');
    const left = events.filter((e) => e.type === 'left');
    assert.equal(appeared.length, 3);
    assert.equal(left.length, 3);
    assert.equal(appeared.filter((e) => e.name === 'Ada').length, 1);
    assert.ok(
      appeared.every((e) => e.snapshot === undefined),
      'no crop kept unless asked',
    );
    assert.ok(results.every((r) => r.timings.totalMs >= r.timings.detectMs));
  });

  it('tracking off: every face embedded on every frame; names the same', async () => {
    const { results, stats } = await run({ tracking: false, every: 3 });
    assert.equal(stats.processed, 4);
    assert.equal(stats.embedded, 12);
    assert.equal(results.filter((r) => r.processed).length, 4);
    // Skipped frames carry the last processed frame's faces (for drawing).
    const skipped = results.filter((r) => !r.processed);
    assert.equal(skipped.length, 8);
    assert.ok(skipped.every((r) => r.faces.length === 3));
    assert.ok(
      results.filter((r) => r.processed).every((r) => r.faces.filter((f) => f.name === 'Ada').length === 1),
    );
  });

  it('keepSnapshots: events carry a JPEG crop of the face', async () => {
    const { events } = await run({ keepSnapshots: true, every: 4 });
    const appeared = events.filter((e) => e.type === 'appeared');
    assert.equal(appeared.length, 3);
    for (const e of appeared) {
      assert.equal(e.snapshot?.mime, 'image/jpeg');
      const crop = await decodeImage(e.snapshot!.bytes);
      // The crop is the face box with a margin: about 1.5 × the box.
      const side = e.box[2] - e.box[0];
      assert.ok(crop.width > side && crop.width < 2 * side, `${crop.width} vs box ${side}`);
    }
  });

  it('rejects bad options with the one message format', () => {
    const src = openSource(clip);
    assert.throws(
      () => new StreamPipeline(fr, src, { every: 0 }),
      /Expected an integer from 1 to 1000 for every but received 0/,
    );
    assert.throws(() => new StreamPipeline(fr, src, { minFaceSize: 2 }), /for minFaceSize/);
    void src.close();
  });
});
