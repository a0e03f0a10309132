import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferenceError, type RawImage, resolvePaths } from '../../src/core/index.js';
import type { MutableBox } from '../../src/detect/boxes.js';
import { type DetectHelper, WorkerHelper } from '../../src/detect/helper.js';
import { MtcnnDetector } from '../../src/detect/mtcnn.js';
import { ONet, PNet, RNet } from '../../src/detect/nets.js';
import { type PyramidLevel, pyramid } from '../../src/detect/pyramid.js';
import {
  type MtcnnNets,
  PlanCache,
  packBoxes,
  packCandidates,
  pnetLevels,
  refineBoxes,
  splitLevels,
  unpackBoxes,
  unpackCandidates,
  Workspace,
} from '../../src/detect/stages.js';
import { decodeImage } from '../../src/image/decode.js';
import { demoPhoto, repoRoot } from '../helpers.js';

describe('detect/stages: splitting a frame between two threads (pure)', () => {
  const cases: { name: string; w: number; h: number; min: number }[] = [
    { name: '640×480 at min 20 (10 levels)', w: 640, h: 480, min: 20 },
    { name: '640×480 at min 40', w: 640, h: 480, min: 40 },
    { name: '150×150 at min 20 (an LFW photo)', w: 150, h: 150, min: 20 },
    { name: '24×24 at min 20 (one level)', w: 24, h: 24, min: 20 },
    { name: '19×300 at min 20 (no level)', w: 19, h: 300, min: 20 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const levels = pyramid(c.w, c.h, c.min, 0.709);
      const { mine, theirs } = splitLevels(levels, c.w, c.h);
      // Every level exactly once, each list ascending, the first level on the main thread.
      assert.deepEqual(
        [...mine, ...theirs].sort((a, b) => a - b),
        levels.map((_, i) => i),
      );
      for (const list of [mine, theirs])
        assert.deepEqual(
          list,
          [...list].sort((a, b) => a - b),
        );
      if (levels.length > 0) assert.equal(mine[0], 0);
      if (levels.length >= 3) {
        assert.ok(theirs.length > 0, 'the helper gets work');
        // Pixels are split roughly evenly (level 0 alone is about half of them).
        const px = (ix: number[]) => ix.reduce((s, i) => s + levels[i]!.width * levels[i]!.height, 0);
        const share = px(mine) / (px(mine) + px(theirs));
        assert.ok(share > 0.3 && share < 0.7, `main thread's pixel share ${share.toFixed(2)}`);
      }
    });
  }

  it('candidates and boxes cross threads unchanged', () => {
    const cands = [
      {
        box: [1, 2, 30, 40] as MutableBox,
        score: Math.fround(0.987654),
        reg: [0.1, -0.2, 0.3, -0.4] as const,
      },
      { box: [0, 0, 11, 11] as MutableBox, score: 0.6, reg: [0, 0, 0, 0] as const },
    ];
    assert.deepEqual(unpackCandidates(packCandidates(cands)), cands);
    assert.deepEqual(unpackCandidates(packCandidates([])), []);
    const boxes: MutableBox[] = [
      [-5, 3, 200, 400],
      [7, 7, 7, 7],
    ];
    assert.deepEqual(unpackBoxes(packBoxes(boxes)), boxes);
  });
});

/** A helper that runs its part on this thread with its own nets (optionally failing at a stage). */
class InThreadHelper implements DetectHelper {
  readonly #nets: MtcnnNets;
  readonly #plans = new PlanCache();
  readonly #frames = new Map<number, { ws: Workspace; img: RawImage }>();
  readonly failAt: 'pnet' | 24 | 48 | undefined;
  calls: string[] = [];
  disposed = false;

  constructor(nets: MtcnnNets, failAt?: 'pnet' | 24 | 48) {
    this.#nets = nets;
    this.failAt = failAt;
  }

  async pnet(
    frame: number,
    img: RawImage,
    levels: readonly PyramidLevel[],
    threshold: number,
    flipQuirk: boolean,
  ) {
    this.calls.push(`pnet ${levels.length}`);
    if (this.failAt === 'pnet') throw new InferenceError('injected failure in P-Net');
    const ws = new Workspace();
    ws.resampler.load(img);
    this.#frames.set(frame, { ws, img });
    const time = { netMs: 0, jsMs: 0 };
    return {
      cands: await pnetLevels(this.#nets.pnet, ws, this.#plans, img, levels, threshold, flipQuirk, time),
      time,
    };
  }

  async refine(frame: number, boxes: readonly MutableBox[], size: 24 | 48) {
    this.calls.push(`refine ${size} ${boxes.length}`);
    if (this.failAt === size) throw new InferenceError(`injected failure in the ${size}×${size} stage`);
    const f = this.#frames.get(frame)!;
    const run = (x: Float32Array, n: number) =>
      size === 24 ? this.#nets.rnet.run(x, n) : this.#nets.onet.run(x, n);
    const time = { netMs: 0, jsMs: 0 };
    return { out: await refineBoxes(f.ws, this.#plans, f.img, boxes, size, run, time), time };
  }

  release(frame: number): void {
    this.#frames.delete(frame);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

describe('detect/mtcnn: frames split with a helper (real networks)', () => {
  const paths = resolvePaths();
  const photos: RawImage[] = [];
  let unsplit: MtcnnDetector;
  let split: MtcnnDetector;
  let nets: MtcnnNets;

  before(async () => {
    for (const n of [1, 2, 3, 4, 5, 6] as const)
      photos.push(await decodeImage(demoPhoto(n), { maxWidth: 640 }));
    // A small photo: few levels, and fewer R-Net boxes than are worth splitting.
    photos.push(await decodeImage(demoPhoto(2), { maxWidth: 96 }));
    unsplit = await MtcnnDetector.load(paths, { threads: 2 }, {}, { split: false });
    split = await MtcnnDetector.load(paths, { threads: 2 });
    const [pnet, rnet, onet] = await Promise.all([
      PNet.load(paths, { threads: 1 }),
      RNet.load(paths, { threads: 1 }),
      ONet.load(paths, { threads: 1 }),
    ]);
    nets = { pnet, rnet, onet };
  });

  after(async () => {
    await Promise.all([unsplit?.dispose(), split?.dispose()]);
    await Promise.all([nets?.pnet.dispose(), nets?.rnet.dispose(), nets?.onet.dispose()]);
  });

  it('with two threads the detector splits frames with its worker thread, and finds exactly the same faces', async () => {
    assert.equal(split.split, true);
    assert.equal(unsplit.split, false);
    const off = await MtcnnDetector.load(paths, { threads: 2, splitDetection: false });
    const one = await MtcnnDetector.load(paths, { threads: 1 });
    assert.deepEqual(
      [off.split, one.split],
      [false, false],
      'FACEREC_DETECT_SPLIT=0 and one thread run unsplit',
    );
    await Promise.all([off.dispose(), one.dispose()]);
    let faces = 0;
    for (const [i, img] of photos.entries()) {
      for (const minSize of [20, 40]) {
        const a = await unsplit.detectWithStats(img, { minSize });
        const b = await split.detectWithStats(img, { minSize });
        assert.deepEqual(b.faces, a.faces, `photo ${i}, min size ${minSize}`);
        assert.equal(a.stats.split, false);
        assert.equal(b.stats.split, true, `photo ${i} was split`);
        assert.ok(b.stats.waitMs >= 0 && b.stats.waitMs <= b.stats.totalMs);
        faces += a.faces.length;
      }
    }
    assert.ok(faces > 20, `${faces} faces compared`);
    // Frames in flight at once (a server with several cameras) keep their own images.
    const together = await Promise.all(photos.map((img) => split.detect(img)));
    for (const [i, img] of photos.entries())
      assert.deepEqual(together[i], await unsplit.detect(img), `photo ${i}`);
  });

  for (const failAt of ['pnet', 24, 48] as const) {
    it(`a helper that fails at ${failAt === 'pnet' ? 'P-Net' : `the ${failAt}×${failAt} stage`} costs no frame: its part runs here, and later frames are not split`, async () => {
      const helper = new InThreadHelper(nets, failAt);
      const det = new MtcnnDetector(nets, {}, helper);
      const img = photos[0]!;
      const expected = await unsplit.detect(img);
      const first = await det.detectWithStats(img);
      assert.deepEqual(first.faces, expected);
      assert.equal(first.stats.split, failAt !== 'pnet', 'split only where the helper did its part');
      assert.equal(helper.disposed, true);
      assert.equal(det.split, false);
      const calls = helper.calls.length;
      assert.deepEqual(await det.detect(img), expected);
      assert.equal(helper.calls.length, calls, 'the failed helper is not called again');
    });
  }

  it('a working helper on this thread gives the same faces (the merge keeps level and box order)', async () => {
    const helper = new InThreadHelper(nets);
    const det = new MtcnnDetector(nets, {}, helper);
    for (const img of photos) assert.deepEqual(await det.detect(img), await unsplit.detect(img));
    assert.ok(helper.calls.some((c) => c.startsWith('refine 24')));
    assert.ok(helper.calls.some((c) => c.startsWith('refine 48')));
  });

  it('the worker rejects calls with an InferenceError once stopped', async () => {
    const helper = await WorkerHelper.start(paths, 1);
    const img = photos[6]!;
    const levels = pyramid(img.width, img.height, 20, 0.709);
    const r = await helper.pnet(1, img, levels, 0.6, true);
    assert.equal(r.cands.length, levels.length);
    await assert.rejects(helper.refine(2, [[0, 0, 10, 10]], 24), /frame 2 has no image/);
    await helper.dispose();
    await assert.rejects(helper.pnet(3, img, levels, 0.6, true), (err: unknown) => {
      assert.ok(err instanceof InferenceError);
      assert.match(err.message, /detection helper thread/);
      return true;
    });
  });

  it('an idle worker does not keep the process alive', () => {
    // A script that detects once and never disposes: it must still exit on its own.
    const script = `
      import { MtcnnDetector } from ${JSON.stringify(join(repoRoot, 'dist', 'src', 'detect', 'index.js'))};
      import { decodeImage } from ${JSON.stringify(join(repoRoot, 'dist', 'src', 'image', 'decode.js'))};
      const det = await MtcnnDetector.load({ dataDir: '.', modelsDir: ${JSON.stringify(paths.modelsDir)} }, { threads: 2 });
      const faces = await det.detect(await decodeImage(${JSON.stringify(demoPhoto(1))}, { maxWidth: 320 }));
      console.log(det.split, faces.length > 0);
    `;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 60_000,
      encoding: 'utf8',
    });
    assert.equal(res.signal, null, `the process had to be killed: ${res.stderr}`);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout.trim(), 'true true');
  });
});
