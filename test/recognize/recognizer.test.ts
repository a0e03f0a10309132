import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type DetectedFace,
  InvalidInputError,
  type RawImage,
  resolvePaths,
  resolveRuntimeOptions,
} from '../../src/core/index.js';
import { euclidean, l2norm } from '../../src/embed/index.js';
import { crop, decodeImage } from '../../src/image/index.js';
import {
  calibratedThreshold,
  embeddingDistance,
  FaceRecognizer,
  largestFace,
  pipelineKey,
} from '../../src/recognize/index.js';
import { demoPhoto, sharedPath, sharedSkip } from '../helpers.js';
import { orientedJpeg } from '../support/orient.js';

let fr: FaceRecognizer;

before(async () => {
  fr = await FaceRecognizer.load({ paths: resolvePaths(), runtime: resolveRuntimeOptions() });
});
after(async () => {
  await fr?.dispose();
});

/** Faces of the first demo photos, with their photos, at most `n`. */
async function demoFaces(n: number): Promise<{ image: RawImage; face: DetectedFace }[]> {
  const out: { image: RawImage; face: DetectedFace }[] = [];
  for (const k of [1, 2, 3, 4, 5, 6] as const) {
    const image = await decodeImage(demoPhoto(k));
    for (const face of await fr.detectFaces(image)) {
      if (out.length < n) out.push({ image, face });
    }
  }
  return out;
}

describe('recognize/recognizer: embeddings', () => {
  it('the default pipeline has a calibrated threshold and produces unit vectors', async () => {
    assert.ok(calibratedThreshold(fr.provenance), `no threshold for ${pipelineKey(fr.provenance)}`);
    assert.equal(fr.threshold, calibratedThreshold(fr.provenance)!.threshold);
    const { image, face } = (await demoFaces(1))[0]!;
    const [e] = await fr.embedFaces(image, [face]);
    assert.equal(e!.vector.length, 128);
    assert.ok(Math.abs(l2norm(e!.vector) - 1) < 1e-5);
    assert.equal(e!.model, fr.provenance.model);
    assert.match(e!.template, /^dlib5-150-p0\.25\+flip$/);
  });

  it('a face embedded alone and inside a batch of 8 agrees within 1e-5', async () => {
    const faces = await demoFaces(8);
    assert.equal(faces.length, 8);
    const batch = await fr.embedder.embedMany(faces);
    for (let i = 0; i < faces.length; i++) {
      const [alone] = await fr.embedFaces(faces[i]!.image, [faces[i]!.face]);
      let max = 0;
      for (let j = 0; j < 128; j++) max = Math.max(max, Math.abs(alone!.vector[j]! - batch[i]!.vector[j]!));
      assert.ok(max <= 1e-5, `face ${i}: max difference ${max}`);
    }
  });

  it('the people of one group photo: a face is at 0 from itself, nearly every other face beyond the threshold', async (t) => {
    // Within one photo every face is a different person (across the demo photos people recur).
    // At FAR 1e-3 a few look-alike pairs may still fall under the threshold: count them.
    let pairs = 0;
    let accepted = 0;
    for (const k of [1, 2, 3, 4, 5, 6] as const) {
      const es = (await fr.analyze(await decodeImage(demoPhoto(k)))).map((f) => f.embedding);
      for (let i = 0; i < es.length; i++) {
        assert.equal(fr.compare(es[i]!, es[i]!).distance, 0);
        for (let j = i + 1; j < es.length; j++) {
          const c = fr.compare(es[i]!, es[j]!);
          pairs++;
          if (c.same) {
            accepted++;
            t.diagnostic(
              `sample${k}.jpg faces ${i} and ${j}: distance ${c.distance.toFixed(4)} ≤ ${c.threshold}`,
            );
          }
        }
      }
    }
    t.diagnostic(`${accepted} of ${pairs} pairs of different people under the threshold`);
    assert.ok(pairs >= 20);
    assert.ok(accepted <= pairs * 0.1, `${accepted} of ${pairs}`);
  });

  it('the same portrait under EXIF orientations 1–8 gives embeddings within 0.05', async () => {
    const photo = await decodeImage(demoPhoto(1));
    const face = largestFace(await fr.detectFaces(photo))!;
    const [x1, y1, x2, y2] = face.box;
    const w = x2 - x1;
    const h = y2 - y1;
    // An asymmetric portrait: more room on the right and below than on the left and above.
    const portrait = crop(photo, [x1 - 0.4 * w, y1 - 0.5 * h, x2 + 0.8 * w, y2 + 0.9 * h]);
    const vectors: Float32Array[] = [];
    for (let k = 1; k <= 8; k++) {
      const img = await decodeImage(await orientedJpeg(portrait, k), { name: `orientation-${k}.jpg` });
      assert.deepEqual([img.width, img.height], [portrait.width, portrait.height], `orientation ${k} size`);
      const faces = await fr.detectFaces(img);
      assert.ok(faces.length >= 1, `orientation ${k}: no face`);
      const [e] = await fr.embedFaces(img, [largestFace(faces)!]);
      vectors.push(e!.vector);
    }
    for (let k = 1; k < 8; k++) {
      const d = euclidean(vectors[0]!, vectors[k]!);
      assert.ok(d < 0.05, `orientation ${k + 1} vs 1: distance ${d}`);
    }
  });

  it('refuses to compare embeddings of different pipelines', async () => {
    const { image, face } = (await demoFaces(1))[0]!;
    const [e] = await fr.embedFaces(image, [face]);
    const other = { ...e!, template: 'arcface5-150' };
    assert.throws(() => embeddingDistance(e!, other), InvalidInputError);
    assert.throws(() => fr.compare(e!, { ...e!, normalized: false }), /different pipelines/);
  });
});

describe('recognize/recognizer: labelled pairs', () => {
  it('deepface pairs (398 labelled pairs) at the shipped threshold', {
    skip: sharedSkip('data/faces/identities/deepface_pairs.csv'),
  }, async (t) => {
    const root = sharedPath('data', 'faces', 'identities');
    const lines = readFileSync(join(root, 'deepface_pairs.csv'), 'utf8').trim().split('\n').slice(1);
    const cache = new Map<string, Float32Array | null>();
    const embed = async (rel: string) => {
      if (!cache.has(rel)) {
        const img = await decodeImage(join(root, rel));
        const f = largestFace(await fr.detectFaces(img));
        cache.set(rel, f ? (await fr.embedFaces(img, [f]))[0]!.vector : null);
      }
      return cache.get(rel)!;
    };
    let correct = 0;
    let scored = 0;
    let noFace = 0;
    for (const line of lines) {
      const [a, b, same] = line.split(',');
      const [ea, eb] = [await embed(a!), await embed(b!)];
      if (!ea || !eb) {
        noFace++;
        continue;
      }
      scored++;
      if (euclidean(ea, eb) <= fr.threshold! === (same === '1')) correct++;
    }
    const accuracy = correct / scored;
    t.diagnostic(
      `deepface pairs: accuracy ${(accuracy * 100).toFixed(2)}% at threshold ${fr.threshold} ` +
        `(${scored} pairs scored, ${noFace} with a photo without a face)`,
    );
    assert.ok(accuracy >= 0.9, `accuracy ${accuracy}`);
  });
});
