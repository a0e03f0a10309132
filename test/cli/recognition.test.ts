import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RawImage } from '../../src/core/index.js';
import { crop, decodeImage, resize, saveImage } from '../../src/image/index.js';
import { calibratedThreshold } from '../../src/recognize/index.js';
import { demoPhoto } from '../helpers.js';
import { runCli } from '../support/cli.js';

const int8Provenance = {
  model: 'face_recognition_int8@@vladmandic/face-api@1.7.15',
  template: 'dlib5-150-p0.25+flip',
  normalized: true,
};

/** Faces of the demo photos (boxes from the seed detector's output, rounded): different people. */
const PEOPLE: { name: string; photo: 1 | 3 | 4; box: [number, number, number, number] }[] = [
  { name: 'Ada_One', photo: 1, box: [404, 354, 597, 598] },
  { name: 'Ben_Two', photo: 1, box: [827, 422, 1038, 660] },
  { name: 'Cy_Three', photo: 3, box: [584, 325, 795, 598] },
  { name: 'Di_Four', photo: 4, box: [979, 188, 1157, 414] },
];

/** An LFW-style 150×150 crop around a face, shifted and scaled a little per variant. */
async function lfwStyle(photo: RawImage, box: readonly number[], variant: number): Promise<RawImage> {
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  const side = Math.max(x2 - x1, y2 - y1) * (2.2 + 0.1 * variant);
  const cx = (x1 + x2) / 2 + (variant - 1) * 4;
  const cy = (y1 + y2) / 2 - (variant - 1) * 3;
  return resize(crop(photo, [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]), 150, 150);
}

describe('facerec embed / verify / eval lfw (the built CLI)', () => {
  let dir = '';
  const same: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-recognition-cli-'));
    const photos = new Map<number, RawImage>();
    for (const p of PEOPLE) {
      if (!photos.has(p.photo)) photos.set(p.photo, await decodeImage(demoPhoto(p.photo)));
      await mkdir(join(dir, 'lfw', p.name), { recursive: true });
      for (let v = 1; v <= 3; v++) {
        const file = join(dir, 'lfw', p.name, `${p.name}_000${v}.jpg`);
        await saveImage(await lfwStyle(photos.get(p.photo)!, p.box, v), file);
      }
    }
    same.push(
      join(dir, 'lfw', 'Ada_One', 'Ada_One_0001.jpg'),
      join(dir, 'lfw', 'Ada_One', 'Ada_One_0002.jpg'),
    );
    // Two folds of 4 matched and 4 mismatched pairs.
    const names = PEOPLE.map((p) => p.name);
    const lines = ['2\t4'];
    for (let fold = 0; fold < 2; fold++) {
      for (const n of names) lines.push(`${n}\t${1 + fold}\t${2 + fold}`);
      for (let i = 0; i < names.length; i++) {
        lines.push(`${names[i]}\t${1 + fold}\t${names[(i + 1 + fold) % names.length]}\t${3 - fold}`);
      }
    }
    await writeFile(join(dir, 'pairs.txt'), `${lines.join('\n')}\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('embed --json: every face with a unit-length 128-number embedding and its provenance', async () => {
    const r = await runCli(['embed', '--json', demoPhoto(1)]);
    assert.equal(r.code, 0, r.stderr);
    const [out] = JSON.parse(r.stdout) as {
      faces: { box: number[]; embedding: number[]; landmarks: number[][] }[];
      model: string;
      template: string;
    }[];
    assert.equal(out!.faces.length, 3);
    for (const f of out!.faces) {
      assert.equal(f.embedding.length, 128);
      assert.ok(Math.abs(Math.hypot(...f.embedding) - 1) < 1e-4);
      assert.equal(f.landmarks.length, 5);
    }
    assert.match(out!.model, /^face_recognition@/);
    assert.match(out!.template, /^dlib5-150-p0\.25/);
  });

  it('--descriptor int8: the int8 model, its own calibrated threshold, the same verdicts', async () => {
    const emb = await runCli(['--descriptor', 'int8', 'embed', '--json', demoPhoto(1)]);
    assert.equal(emb.code, 0, emb.stderr);
    assert.match((JSON.parse(emb.stdout) as { model: string }[])[0]!.model, /^face_recognition_int8@/);
    const yes = await runCli(['--descriptor', 'int8', 'verify', '--json', same[0]!, same[1]!]);
    assert.equal(yes.code, 0, yes.stderr);
    const a = JSON.parse(yes.stdout) as { distance: number; threshold: number; same: boolean };
    assert.equal(a.threshold, calibratedThreshold(int8Provenance)!.threshold);
    assert.equal(a.same, true, `distance ${a.distance}`);
    const other = join(dir, 'lfw', 'Cy_Three', 'Cy_Three_0001.jpg');
    const no = JSON.parse(
      (await runCli(['--descriptor', 'int8', 'verify', '--json', same[0]!, other])).stdout,
    );
    assert.equal(no.same, false, `distance ${no.distance}`);
    const bad = await runCli(['--descriptor', 'fp16', 'verify', same[0]!, other]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Expected fp32 or int8 for descriptor but received "?fp16"?/);
  });

  it('verify: two photos of one person are the same; two people are not; notes name extra faces', async () => {
    const yes = await runCli(['verify', '--json', same[0]!, same[1]!]);
    assert.equal(yes.code, 0, yes.stderr);
    const a = JSON.parse(yes.stdout) as {
      distance: number;
      threshold: number;
      same: boolean;
      faces: number[];
    };
    assert.equal(a.same, true, `distance ${a.distance}`);
    assert.deepEqual(a.faces, [1, 1]);
    const other = join(dir, 'lfw', 'Cy_Three', 'Cy_Three_0001.jpg');
    const no = await runCli(['verify', '--json', same[0]!, other]);
    const b = JSON.parse(no.stdout) as { distance: number; threshold: number; same: boolean };
    assert.equal(b.same, false, `distance ${b.distance}`);
    assert.ok(b.distance > b.threshold);
    const group = await runCli(['verify', '--json', demoPhoto(1), same[0]!]);
    const c = JSON.parse(group.stdout) as { faces: number[]; notes: string[] };
    assert.equal(c.faces[0], 3);
    assert.match(c.notes.join(' '), /3 faces in .*sample1\.jpg: the largest was used/);
  });

  it('verify: --threshold overrides; an unreadable photo is named and exits 2', async () => {
    const r = await runCli(['verify', '--json', '--threshold', '0.0001', same[0]!, same[1]!]);
    const out = JSON.parse(r.stdout) as { same: boolean; threshold: number };
    assert.equal(out.threshold, 0.0001);
    assert.equal(out.same, false);
    const bad = join(dir, 'not-a-photo.jpg');
    await writeFile(bad, 'hello');
    const e = await runCli(['verify', bad, same[0]!]);
    assert.equal(e.code, 2);
    assert.match(e.stderr, /not-a-photo\.jpg/);
    const t = await runCli(['verify', '--threshold', 'abc', same[0]!, same[1]!]);
    assert.equal(t.code, 2);
    assert.match(t.stderr, /Expected a positive distance for --threshold but received "abc"/);
  });

  it('eval lfw --json --roc: the protocol figures and a ROC curve', async () => {
    const svg = join(dir, 'roc.svg');
    const png = join(dir, 'roc.png');
    const r = await runCli([
      'eval',
      'lfw',
      '--root',
      join(dir, 'lfw'),
      '--pairs',
      join(dir, 'pairs.txt'),
      '--json',
      '--roc',
      svg,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown> & {
      accuracy: { mean: number; std: number };
      tar_at_far: Record<string, number>;
    };
    for (const key of [
      'pairs',
      'folds',
      'accuracy',
      'auc',
      'eer',
      'tar_at_far',
      'threshold',
      'no_face',
      'pairs_per_second',
    ]) {
      assert.ok(key in out, `missing ${key}`);
    }
    assert.equal(out.pairs, 16);
    assert.equal(out.folds, 2);
    assert.equal(out.no_face, 0);
    assert.ok(out.accuracy.mean >= 0.9, `accuracy ${out.accuracy.mean}`);
    assert.deepEqual(Object.keys(out.tar_at_far).sort(), ['0.001', '0.01']);
    const text = await readFile(svg, 'utf8');
    assert.match(text, /^(<\?xml[^>]*>\s*)?<svg[\s\S]*<\/svg>\s*$/);
    const p = await runCli([
      'eval',
      'lfw',
      '--root',
      join(dir, 'lfw'),
      '--pairs',
      join(dir, 'pairs.txt'),
      '--roc',
      png,
    ]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /accuracy/);
    const img = await decodeImage(png);
    assert.ok(img.width >= 600);
    const bad = await runCli([
      'eval',
      'lfw',
      '--root',
      dir,
      '--pairs',
      join(dir, 'pairs.txt'),
      '--roc',
      'x.gif',
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /\.svg or \.png/);
  });
});
