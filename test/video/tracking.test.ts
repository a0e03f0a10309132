import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Box, DetectedFace, Landmarks5, RawImage } from '../../src/core/index.js';
import { decodeImage } from '../../src/image/index.js';
import {
  associate,
  decide,
  FaceTracker,
  frontalness,
  galleryIdentifier,
  iou,
  landmarkMotion,
  laplacianVariance,
  voteIdentity,
} from '../../src/video/index.js';
import { demoPhoto } from '../helpers.js';

/** A face with a square box at (x, y) of side s and plausible frontal landmarks. */
function face(x: number, y: number, s: number, score = 0.99): DetectedFace {
  const lm: Landmarks5 = [
    [x + 0.3 * s, y + 0.4 * s],
    [x + 0.7 * s, y + 0.4 * s],
    [x + 0.5 * s, y + 0.6 * s],
    [x + 0.35 * s, y + 0.8 * s],
    [x + 0.65 * s, y + 0.8 * s],
  ];
  return { box: [x, y, x + s, y + s], score, landmarks: lm };
}

describe('tracking geometry', () => {
  const iouTable: [Box, Box, number][] = [
    [[0, 0, 10, 10], [0, 0, 10, 10], 1],
    [[0, 0, 10, 10], [5, 0, 15, 10], 1 / 3],
    [[0, 0, 10, 10], [10, 0, 20, 10], 0],
    [[0, 0, 10, 10], [2, 2, 4, 4], 0.04],
    [[0, 0, 0, 10], [0, 0, 10, 10], 0],
  ];
  for (const [a, b, want] of iouTable) {
    it(`iou([${a}], [${b}]) = ${want.toFixed(3)}`, () => assert.ok(Math.abs(iou(a, b) - want) < 1e-12));
  }

  it('landmark motion is in face sizes', () => {
    const a = face(0, 0, 100).landmarks;
    assert.equal(landmarkMotion(a, a, 100), 0);
    assert.ok(Math.abs(landmarkMotion(a, face(10, 0, 100).landmarks, 100) - 0.1) < 1e-12);
  });

  it('associate: best pairs first, each used once, far faces not matched', () => {
    const tracks = [face(0, 0, 100), face(300, 0, 100)];
    const dets = [face(305, 2, 100), face(600, 0, 100), face(8, 4, 100)];
    assert.deepEqual(associate(tracks, dets), [
      [1, 0],
      [0, 2],
    ]);
    assert.deepEqual(associate([], dets), []);
    assert.deepEqual(associate(tracks, []), []);
  });

  it('associate: a fast face with low IoU still matches on landmark motion', () => {
    // With an IoU gate of 0.9, a face that moved 0.3 face sizes (IoU 0.54) matches by its
    // landmarks; one that moved 0.6 face sizes does not.
    const moved = face(30, 0, 100);
    assert.ok(iou(face(0, 0, 100).box, moved.box) < 0.9);
    assert.deepEqual(associate([face(0, 0, 100)], [moved], { minIou: 0.9, maxLandmarkMotion: 0.35 }), [
      [0, 0],
    ]);
    assert.deepEqual(
      associate([face(0, 0, 100)], [face(60, 0, 100)], { minIou: 0.9, maxLandmarkMotion: 0.35 }),
      [],
    );
  });
});

describe('FaceTracker', () => {
  it('keeps ids across frames, predicts motion, ends tracks after maxMissed', () => {
    const tr = new FaceTracker({ maxMissed: 2 });
    const u1 = tr.update([face(100, 100, 80), face(400, 100, 80)], 0);
    assert.deepEqual(
      u1.created.map((t) => t.id),
      [1, 2],
    );
    // Face 1 walks right 20 px per frame; face 2 stays.
    let x = 100;
    for (let f = 1; f <= 5; f++) {
      x += 20;
      const u = tr.update([face(400, 100, 80), face(x, 100, 80)], f * 66);
      assert.deepEqual(
        u.assigned.map((t) => t.id),
        [2, 1],
        `frame ${f}`,
      );
      assert.equal(u.created.length, 0);
    }
    // The walker's velocity was learned: its prediction is ahead of the last box.
    const walker = tr.tracks.find((t) => t.id === 1)!;
    assert.ok(tr.predict(walker).box[0] > walker.face.box[0] + 10);
    // Face 2 disappears: it survives 2 missed frames, ends at the third.
    let ended: number[] = [];
    for (let f = 6; f <= 8; f++) {
      x += 20;
      ended = tr.update([face(x, 100, 80)], f * 66).ended.map((t) => t.id);
      if (f < 8) assert.deepEqual(ended, []);
    }
    assert.deepEqual(ended, [2]);
    assert.equal(tr.tracks.length, 1);
    assert.equal(tr.tracks[0]!.hits, 9);
    // A new face gets a new id, never a reused one.
    assert.deepEqual(
      tr.update([face(x + 20, 100, 80), face(500, 300, 60)], 600).created.map((t) => t.id),
      [3],
    );
  });
});

describe('view quality', () => {
  it('frontalness: 1 for a frontal face, lower for a turned one, rotation-invariant', () => {
    const f = face(0, 0, 100).landmarks;
    assert.ok(Math.abs(frontalness(f) - 1) < 1e-9);
    const turned: Landmarks5 = [
      f[0],
      f[1],
      [f[2][0] + 15, f[2][1]],
      [f[3][0] + 10, f[3][1]],
      [f[4][0] + 10, f[4][1]],
    ];
    assert.ok(frontalness(turned) < 0.6);
    const profile: Landmarks5 = [
      f[0],
      f[1],
      [f[1][0] + 5, f[2][1]],
      [f[3][0] + 20, f[3][1]],
      [f[4][0] + 20, f[4][1]],
    ];
    assert.equal(frontalness(profile), 0);
    const rot = (p: readonly [number, number]) => [-p[1], p[0]] as const;
    assert.ok(Math.abs(frontalness(turned.map(rot) as unknown as Landmarks5) - frontalness(turned)) < 1e-9);
  });

  it('sharpness: a blurred copy of a face scores lower; a flat region scores 0', async () => {
    const photo = await decodeImage(demoPhoto(1));
    const box: Box = [404, 354, 597, 598];
    const sharp = laplacianVariance(photo, box);
    const blurred = boxBlur(photo, 4);
    const soft = laplacianVariance(blurred, box);
    assert.ok(sharp > 2 * soft, `sharp ${sharp} vs blurred ${soft}`);
    const flat: RawImage = {
      data: new Uint8Array(100 * 100 * 3).fill(128),
      width: 100,
      height: 100,
      channels: 3,
    };
    assert.equal(laplacianVariance(flat, [10, 10, 90, 90]), 0);
    assert.equal(laplacianVariance(flat, [200, 200, 300, 300]), 0);
  });
});

/** A horizontal box blur of radius r (enough to remove fine detail). */
function boxBlur(img: RawImage, r: number): RawImage {
  const { width: w, height: h } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        let n = 0;
        for (let dy = -r; dy <= r; dy++) {
          const yy = Math.min(h - 1, Math.max(0, y + dy));
          for (let dx = -r; dx <= r; dx += r) {
            const xx = Math.min(w - 1, Math.max(0, x + dx));
            s += img.data[(yy * w + xx) * 3 + c]!;
            n++;
          }
        }
        out[(y * w + x) * 3 + c] = s / n;
      }
    }
  }
  return { data: out, width: w, height: h, channels: 3 };
}

describe('naming', () => {
  const hit = (personId: number, name: string, distance: number) => ({ personId, name, distance });

  it('decide: nearest faces within the threshold vote by person; none within → unknown with the distance', () => {
    assert.deepEqual(decide([hit(1, 'Ann', 0.2), hit(2, 'Bob', 0.25), hit(2, 'Bob', 0.3)], 0.35), {
      personId: 2,
      name: 'Bob',
      distance: 0.25,
    });
    assert.deepEqual(decide([hit(1, 'Ann', 0.2), hit(2, 'Bob', 0.25)], 0.35), {
      personId: 1,
      name: 'Ann',
      distance: 0.2,
    });
    assert.deepEqual(decide([hit(1, 'Ann', 0.5)], 0.35), { personId: null, name: null, distance: 0.5 });
    assert.deepEqual(decide([], 0.35), { personId: null, name: null, distance: null });
  });

  it('voteIdentity: weighted by view quality; ties to the smaller distance', () => {
    const ann = { personId: 1, name: 'Ann' };
    const unk = { personId: null, name: null };
    assert.deepEqual(
      voteIdentity([
        { ...ann, distance: 0.3, weight: 0.9 },
        { ...unk, distance: 0.5, weight: 0.2 },
        { ...unk, distance: 0.45, weight: 0.3 },
      ]),
      { personId: 1, name: 'Ann', distance: 0.3 },
    );
    assert.deepEqual(
      voteIdentity([
        { ...ann, distance: 0.34, weight: 0.1 },
        { ...unk, distance: 0.5, weight: 0.6 },
      ]),
      { personId: null, name: null, distance: 0.5 },
    );
    assert.deepEqual(
      voteIdentity([
        { personId: 2, name: 'Bob', distance: 0.31, weight: 0.5 },
        { ...ann, distance: 0.29, weight: 0.5 },
      ]),
      { personId: 1, name: 'Ann', distance: 0.29 },
    );
    assert.deepEqual(voteIdentity([]), { personId: null, name: null, distance: null });
  });

  it('galleryIdentifier asks the gallery for k neighbours per embedding', async () => {
    const asked: number[] = [];
    const gallery = {
      async search(_q: unknown, k: number) {
        asked.push(k);
        return [hit(3, 'Cy', 0.1)];
      },
    };
    const id = galleryIdentifier(gallery, { threshold: 0.4, k: 3 });
    const e = { vector: new Float32Array(128), model: 'm', template: 't', normalized: true };
    assert.deepEqual(await id.identify([e, e]), [
      { personId: 3, name: 'Cy', distance: 0.1 },
      { personId: 3, name: 'Cy', distance: 0.1 },
    ]);
    assert.deepEqual(asked, [3, 3]);
    assert.throws(() => galleryIdentifier(gallery, { threshold: 0 }), /for threshold/);
  });
});
