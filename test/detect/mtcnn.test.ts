import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type DetectedFace,
  LANDMARK,
  type RawImage,
  resolvePaths,
  resolveRuntimeOptions,
} from '../../src/core/index.js';
import { iou } from '../../src/detect/boxes.js';
import { MtcnnDetector, type MtcnnNets } from '../../src/detect/mtcnn.js';
import { pnetOutputSize } from '../../src/detect/nets.js';
import { decodeImage } from '../../src/image/decode.js';
import { demoPhoto, sharedPath, sharedSkip } from '../helpers.js';

// ---------------------------------------------------------------------------------------------
// The cascade's bookkeeping, with fake networks whose outputs we choose.

interface Calls {
  pnet: { n: number; h: number; w: number; first: number }[];
  rnet: number[];
  onet: number[];
}

/**
 * Fake nets: P-Net reports one face cell (col 0, row 0) on 24-pixel levels only; R-Net passes
 * everything; O-Net passes with the given regression and landmark fractions.
 */
function fakeNets(calls: Calls, onetReg: number[], landmarks: number[]): MtcnnNets {
  const done = async () => {};
  return {
    pnet: {
      async run(input, n, h, w) {
        calls.pnet.push({ n, h, w, first: input[0]! });
        const oh = pnetOutputSize(h);
        const ow = pnetOutputSize(w);
        const plane = oh * ow;
        // Logits (not face, face): face probability 0.9 for cell 0 of 24-pixel levels, else 0.1.
        const logits = new Float32Array(2 * plane).fill(Math.log(9));
        for (let i = 0; i < plane; i++) logits[plane + i] = 0;
        if (h === 24) [logits[0], logits[plane]] = [0, Math.log(9)];
        return { logits, reg: new Float32Array(4 * plane), outH: oh, outW: ow };
      },
      dispose: done,
    },
    rnet: {
      async run(input, n) {
        assert.equal(input.length, n * 3 * 24 * 24);
        calls.rnet.push(n);
        const prob = new Float32Array(2 * n);
        for (let k = 0; k < n; k++) prob[k * 2 + 1] = 0.9;
        return { prob, reg: new Float32Array(4 * n) };
      },
      dispose: done,
    },
    onet: {
      async run(input, n) {
        assert.equal(input.length, n * 3 * 48 * 48);
        calls.onet.push(n);
        const prob = new Float32Array(2 * n);
        const reg = new Float32Array(4 * n);
        const lm = new Float32Array(10 * n);
        for (let k = 0; k < n; k++) {
          prob[k * 2 + 1] = 0.95;
          reg.set(onetReg, k * 4);
          lm.set(landmarks, k * 10);
        }
        return { prob, reg, landmarks: lm };
      },
      dispose: done,
    },
  };
}

function grayImage(width: number, height: number, value: number): RawImage {
  return { data: new Uint8Array(width * height * 3).fill(value), width, height, channels: 3 };
}

describe('detect/mtcnn: cascade bookkeeping (fake nets)', () => {
  // 100×100 at min size 50: m = 0.24, levels 24×24, 18×18, 13×13. The face cell (0, 0) of the
  // first level is the box [fix(1/0.24), fix(1/0.24), fix(12/0.24), fix(12/0.24)] = [4, 4, 50, 50].
  const img = grayImage(100, 100, 200);

  it('runs P-Net on each level, transposed and normalized, and places landmarks in the O-Net box', async () => {
    const calls: Calls = { pnet: [], rnet: [], onet: [] };
    const det = new MtcnnDetector(fakeNets(calls, [0, 0, 0, 0], [0, 0.5, 1, 0.25, 0.75, 0, 0, 0.5, 1, 1]));
    const { faces, stats } = await det.detectWithStats(img, { minSize: 50 });
    assert.deepEqual(
      calls.pnet.map((c) => [c.n, c.h, c.w]),
      [
        [1, 24, 24],
        [1, 18, 18],
        [1, 13, 13],
      ],
    );
    assert.equal(calls.pnet[0]!.first, (200 - 127.5) * 0.0078125);
    assert.deepEqual(calls.rnet, [1]);
    assert.deepEqual(calls.onet, [1]);
    assert.equal(faces.length, 1);
    const f = faces[0]!;
    assert.deepEqual(f.box, [4, 4, 50, 50]);
    assert.equal(f.score, Math.fround(0.95));
    // O-Net saw [4, 4, 50, 50]: w = h = 47, x = 47·p + 4 − 1.
    assert.deepEqual(f.landmarks, [
      [3, 3],
      [26.5, 3],
      [50, 26.5],
      [14.75, 50],
      [38.25, 50],
    ]);
    assert.equal(stats.levels, 3);
    assert.deepEqual(stats.candidates, { rnet: 1, onet: 1, final: 1 });
    assert.ok(stats.jsMs >= 0 && stats.totalMs >= stats.pnetMs + stats.rnetMs + stats.onetMs);
  });

  it('clips the final box to the image unless rawBoxes', async () => {
    const calls: Calls = { pnet: [], rnet: [], onet: [] };
    // O-Net moves x1 by −0.2 · 47 = −9.4: raw x1 = −5.4.
    const det = new MtcnnDetector(fakeNets(calls, [-0.2, 0, 0, 0], new Array(10).fill(0)), { minSize: 50 });
    const [clipped] = await det.detect(img);
    const [raw] = await det.detect(img, { rawBoxes: true });
    assert.ok(Math.abs(raw!.box[0] - -5.4) < 1e-6);
    assert.deepEqual(clipped!.box, [0, 4, 50, 50]);
  });

  it('an image smaller than the min size runs no network and finds nothing', async () => {
    const calls: Calls = { pnet: [], rnet: [], onet: [] };
    const det = new MtcnnDetector(fakeNets(calls, [0, 0, 0, 0], new Array(10).fill(0)));
    assert.deepEqual(await det.detect(grayImage(19, 300, 0)), []);
    assert.deepEqual(calls, { pnet: [], rnet: [], onet: [] });
  });

  it('rejects bad images and parameters with the standard message', async () => {
    const det = new MtcnnDetector(fakeNets({ pnet: [], rnet: [], onet: [] }, [0, 0, 0, 0], []));
    const gray1: RawImage = { data: new Uint8Array(4), width: 2, height: 2, channels: 1 };
    await assert.rejects(det.detect(gray1), /Expected 3 \(RGB\) for image.channels but received 1/);
    const short: RawImage = { data: new Uint8Array(5), width: 2, height: 2, channels: 3 };
    await assert.rejects(det.detect(short), /Expected 12 bytes \(width × height × 3\) for image.data/);
    await assert.rejects(det.detect(grayImage(30, 30, 0), { factor: 2 }), /for factor but received 2/);
    assert.throws(
      () => new MtcnnDetector(fakeNets({ pnet: [], rnet: [], onet: [] }, [], []), { minSize: -1 }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Seed parity on real photos with the real networks.

interface RefFace {
  box: [number, number, number, number];
  score: number;
  landmarks: [number, number][];
}
interface RefImage {
  image: string;
  width: number;
  height: number;
  faces: RefFace[];
}

/**
 * Photos where our output is known to differ from the reference, and why. The reference's
 * float32 networks round differently from onnxruntime in the last bits; where two P-Net cells
 * have exactly the same probability for us, the reference may order them the other way in the
 * per-level NMS (see `nms` in src/detect/boxes.ts), and a nearly identical but different
 * candidate survives to O-Net.
 */
const KNOWN_DIFFERENCES: Record<string, string> = {
  'Andy_Bryant/Andy_Bryant_0001.jpg':
    'two P-Net cells of the 0.152 level tie at probability 0.99967253 for us; the reference keeps the ' +
    'other one, and its final box for the main face (score 0.99990) is our second-best candidate (IoU 0.92)',
};

function readJsonl(path: string): RefImage[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RefImage);
}

/** Differences between our faces and the reference's, as readable lines (empty = parity). */
function compare(ours: readonly DetectedFace[], ref: RefImage): string[] {
  const problems: string[] = [];
  for (const e of ref.faces) {
    if (e.score < 0.9) continue;
    let best: DetectedFace | undefined;
    let bestIou = 0;
    for (const f of ours) {
      const v = iou(f.box, e.box);
      if (v > bestIou) {
        bestIou = v;
        best = f;
      }
    }
    const lm = best
      ? Math.max(
          ...e.landmarks.map((p, i) =>
            Math.hypot(p[0] - best.landmarks[i]![0], p[1] - best.landmarks[i]![1]),
          ),
        )
      : Number.POSITIVE_INFINITY;
    if (bestIou < 0.95 || lm > 2) {
      problems.push(
        `expected face ${e.box.map(Math.round)} (score ${e.score.toFixed(4)}): best IoU ${bestIou.toFixed(3)}, landmarks off ${lm.toFixed(2)} px`,
      );
    }
  }
  for (const f of ours) {
    if (f.score < 0.9) continue;
    const bestIou = Math.max(0, ...ref.faces.map((e) => iou(f.box, e.box)));
    if (bestIou < 0.95)
      problems.push(
        `extra face ${f.box.map(Math.round)} (score ${f.score.toFixed(4)}): best IoU ${bestIou.toFixed(3)}`,
      );
  }
  return problems;
}

let detector: MtcnnDetector | undefined;

async function getDetector(): Promise<MtcnnDetector> {
  detector ??= await MtcnnDetector.load(resolvePaths(), resolveRuntimeOptions(), { rawBoxes: true });
  return detector;
}

async function parity(
  refs: RefImage[],
  dir: string,
): Promise<{ failures: Map<string, string[]>; stats: string }> {
  const det = await getDetector();
  const failures = new Map<string, string[]>();
  let expected = 0;
  let worstLm = 0;
  let worstIou = 1;
  for (const ref of refs) {
    const img = await decodeImage(join(dir, ref.image));
    assert.deepEqual([img.width, img.height], [ref.width, ref.height], ref.image);
    const faces = await det.detect(img);
    const problems = compare(faces, ref);
    if (problems.length > 0) failures.set(ref.image, problems);
    else {
      for (const e of ref.faces.filter((x) => x.score >= 0.9)) {
        expected++;
        const f = faces.reduce((a, b) => (iou(a.box, e.box) >= iou(b.box, e.box) ? a : b));
        worstIou = Math.min(worstIou, iou(f.box, e.box));
        e.landmarks.forEach((p, i) => {
          worstLm = Math.max(worstLm, Math.hypot(p[0] - f.landmarks[i]![0], p[1] - f.landmarks[i]![1]));
        });
      }
    }
  }
  return {
    failures,
    stats: `${refs.length} photos, ${expected} faces ≥ 0.9 matched: worst IoU ${worstIou.toFixed(6)}, worst landmark ${worstLm.toFixed(5)} px`,
  };
}

function assertParity(result: { failures: Map<string, string[]> }, t: { diagnostic(s: string): void }): void {
  const unexplained: string[] = [];
  for (const [image, problems] of result.failures) {
    const why = KNOWN_DIFFERENCES[image];
    if (why) t.diagnostic(`known difference ${image}: ${problems.join('; ')} — ${why}`);
    else unexplained.push(`${image}: ${problems.join('; ')}`);
  }
  assert.deepEqual(unexplained, [], `seed parity failures:\n${unexplained.join('\n')}`);
}

describe('detect/mtcnn: seed parity (real networks)', () => {
  after(async () => {
    await detector?.dispose();
    detector = undefined;
  });

  it('the six demo photos', { skip: sharedSkip('reference/seed-mtcnn/demo-photos.jsonl') }, async (t) => {
    // The expected outputs stay in ../shared (they are not ours to commit); the photos ship in
    // @vladmandic/face-api.
    const refs = readJsonl(sharedPath('reference', 'seed-mtcnn', 'demo-photos.jsonl'));
    assert.equal(refs.length, 6);
    const dir = join(demoPhoto(1), '..');
    const r = await parity(refs, dir);
    t.diagnostic(r.stats);
    assertParity(r, t);
    assert.equal(r.failures.size, 0);
  });

  it('the 37 scenes photos', {
    skip: sharedSkip('reference/seed-mtcnn/scenes.jsonl') || sharedSkip('data/faces/scenes'),
  }, async (t) => {
    const refs = readJsonl(sharedPath('reference', 'seed-mtcnn', 'scenes.jsonl'));
    const r = await parity(refs, sharedPath('data', 'faces', 'scenes'));
    t.diagnostic(r.stats);
    assertParity(r, t);
  });

  it('the 554 LFW photos of the reference sample', {
    skip: sharedSkip('reference/seed-mtcnn/lfw-dev-sample.jsonl') || sharedSkip('data/faces/lfw'),
  }, async (t) => {
    const refs = readJsonl(sharedPath('reference', 'seed-mtcnn', 'lfw-dev-sample.jsonl'));
    const r = await parity(refs, sharedPath('data', 'faces', 'lfw'));
    t.diagnostic(r.stats);
    assertParity(r, t);
    // Every photo of the sample yields at least one face.
    assert.ok(refs.every((ref) => ref.faces.length > 0));
  });
});

describe('detect/mtcnn: real photos', () => {
  before(async () => {
    await getDetector();
  });
  after(async () => {
    await detector?.dispose();
    detector = undefined;
  });

  it('landmark left is image left: left eye and left mouth corner have the smaller x', async () => {
    const det = await getDetector();
    const img = await decodeImage(demoPhoto(1));
    const faces = await det.detect(img);
    assert.ok(faces.length >= 3);
    let upright = 0;
    for (const f of faces) {
      const l = f.landmarks;
      // Skip strongly tilted heads (one face of sample1 is turned ~45°): compare only where
      // the eyes are roughly level.
      if (
        Math.abs(l[LANDMARK.leftEye][1] - l[LANDMARK.rightEye][1]) >
        0.5 * Math.abs(l[LANDMARK.leftEye][0] - l[LANDMARK.rightEye][0])
      )
        continue;
      upright++;
      assert.ok(l[LANDMARK.leftEye][0] < l[LANDMARK.rightEye][0]);
      assert.ok(l[LANDMARK.leftMouth][0] < l[LANDMARK.rightMouth][0]);
      assert.ok(
        l[LANDMARK.nose][1] > l[LANDMARK.leftEye][1] && l[LANDMARK.nose][1] < l[LANDMARK.leftMouth][1],
      );
    }
    assert.ok(upright >= 1);
  });

  it('a flipped photo swaps the landmark sides (left stays image left)', async () => {
    const det = await getDetector();
    const img = await decodeImage(demoPhoto(1));
    const flipped = new Uint8Array(img.data.length);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const s = (y * img.width + x) * 3;
        const d = (y * img.width + (img.width - 1 - x)) * 3;
        flipped[d] = img.data[s]!;
        flipped[d + 1] = img.data[s + 1]!;
        flipped[d + 2] = img.data[s + 2]!;
      }
    }
    const a = (await det.detect(img))[0]!;
    const b = await det.detect({ ...img, data: flipped });
    const mirror = b.find(
      (f) => iou([img.width - f.box[2], f.box[1], img.width - f.box[0], f.box[3]], a.box) > 0.8,
    );
    assert.ok(mirror, 'the mirrored face is found');
    // Our left eye is the mirror of the flipped photo's right eye.
    const le = a.landmarks[LANDMARK.leftEye];
    const re = mirror.landmarks[LANDMARK.rightEye];
    assert.ok(Math.abs(le[0] - (img.width - re[0])) < 6 && Math.abs(le[1] - re[1]) < 6);
  });

  it('photos without a human face (scenes.csv category non-face) yield none with score ≥ 0.95', {
    skip: sharedSkip('data/faces/scenes/scenes.csv'),
  }, async (t) => {
    const det = await getDetector();
    const rows = readFileSync(sharedPath('data', 'faces', 'scenes', 'scenes.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    const nonFace = rows.filter((r) => r[1] === 'non-face').map((r) => r[0]!);
    assert.ok(nonFace.length >= 5);
    const hits: string[] = [];
    for (const name of nonFace) {
      const faces = await det.detect(await decodeImage(sharedPath('data', 'faces', 'scenes', name)));
      const strong = faces.filter((f) => f.score >= 0.95);
      if (strong.length > 0) hits.push(`${name}: ${strong.map((f) => f.score.toFixed(4)).join(', ')}`);
    }
    t.diagnostic(`${nonFace.length} non-face photos checked`);
    assert.deepEqual(hits, []);
  });

  it('a blank image yields no face', async () => {
    const det = await getDetector();
    assert.deepEqual(await det.detect(grayImage(320, 240, 128)), []);
  });
});
