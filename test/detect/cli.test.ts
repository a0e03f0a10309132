import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeImage } from '../../src/image/decode.js';
import { saveImage } from '../../src/image/encode.js';
import { crop } from '../../src/image/ops.js';
import { demoPhoto, repoRoot } from '../helpers.js';

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: process.env, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

describe('facerec detect / crop (the built CLI)', () => {
  let dir = '';
  let bad = '';
  let blank = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-detect-cli-'));
    bad = join(dir, 'broken.jpg');
    await writeFile(bad, 'this is not a JPEG');
    blank = join(dir, 'blank.png');
    await saveImage(
      { data: new Uint8Array(200 * 150 * 3).fill(90), width: 200, height: 150, channels: 3 },
      blank,
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--json: one object per image, a bad file named on stderr, the others processed, exit 2', async () => {
    const photo = demoPhoto(3);
    const r = await run(['detect', '--json', photo, bad, blank]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /broken\.jpg/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const out = JSON.parse(r.stdout) as { image: string; width: number; height: number; faces: unknown[] }[];
    assert.deepEqual(
      out.map((o) => o.image),
      [photo, blank],
    );
    const img = await decodeImage(photo);
    assert.deepEqual([out[0]!.width, out[0]!.height], [img.width, img.height]);
    assert.ok(out[0]!.faces.length >= 1);
    assert.deepEqual(out[1]!.faces, []);
    for (const f of out[0]!.faces as { box: number[]; score: number; landmarks: number[][] }[]) {
      assert.deepEqual(Object.keys(f).sort(), ['box', 'landmarks', 'score']);
      assert.equal(f.box.length, 4);
      // JSON boxes are clipped to the image.
      assert.ok(f.box[0]! >= 0 && f.box[1]! >= 0 && f.box[2]! <= img.width && f.box[3]! <= img.height);
      assert.ok(f.score > 0.7 && f.score <= 1);
      assert.equal(f.landmarks.length, 5);
      assert.ok(f.landmarks.every((p) => p.length === 2));
    }
  });

  it('exit 0 and "faces": [] for a photo without faces', async () => {
    const r = await run(['detect', '--json', blank]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [{ image: blank, width: 200, height: 150, faces: [] }]);
  });

  it('--raw-boxes prints the unclipped boxes; the default clips them to the image', async () => {
    // A face of sample1 (about [404, 354, 597, 598]) cut by the left edge of a crop.
    const src = await decodeImage(demoPhoto(1));
    const edge = join(dir, 'edge.png');
    await saveImage(crop(src, [450, 250, 1000, 750]), edge);
    const raw = JSON.parse((await run(['detect', '--json', '--raw-boxes', edge])).stdout)[0];
    const clipped = JSON.parse((await run(['detect', '--json', edge])).stdout)[0];
    const cut = raw.faces.findIndex((f: { box: number[] }) => f.box[0]! < 0);
    assert.ok(
      cut >= 0,
      `a raw box leaves the image: ${JSON.stringify(raw.faces.map((f: { box: number[] }) => f.box))}`,
    );
    assert.equal(clipped.faces[cut].box[0], 0);
    assert.equal(clipped.faces[cut].box[2], raw.faces[cut].box[2]);
  });

  it('--min-size changes the search', async () => {
    const photo = demoPhoto(1);
    const all = JSON.parse((await run(['detect', '--json', photo])).stdout)[0];
    const big = JSON.parse((await run(['detect', '--json', '--min-size', '600', photo])).stdout)[0];
    assert.ok(all.faces.length >= 3);
    assert.ok(big.faces.length < all.faces.length, 'a min size of 600 px skips the 200-pixel faces');
  });

  it('bad options are refused with the flag named, exit 2', async () => {
    const r = await run(['detect', '--thresholds', '0.6,2,0.7', demoPhoto(1)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /for --thresholds/);
    const r2 = await run(['detect', '--min-size', 'ten', demoPhoto(1)]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /Expected a number for --min-size but received "ten"/);
  });

  it('--out writes the annotated image', async () => {
    const out = join(dir, 'drawn');
    const r = await run(['detect', demoPhoto(2), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sample2\.jpg: \d+×\d+, \d+ faces?/);
    const files = await readdir(out);
    assert.deepEqual(files, ['sample2.jpg']);
    const drawn = await decodeImage(join(out, 'sample2.jpg'));
    const src = await decodeImage(demoPhoto(2));
    assert.deepEqual([drawn.width, drawn.height], [src.width, src.height]);
  });

  it('crop: the largest face per photo, sub-folders kept, no-face photos and bad files reported', async () => {
    const input = join(dir, 'photos');
    await mkdir(join(input, 'team', 'b'), { recursive: true });
    await copyFile(demoPhoto(4), join(input, 'team', 'four.jpg'));
    await copyFile(blank, join(input, 'team', 'b', 'empty.png'));
    await copyFile(bad, join(input, 'broken.jpg'));
    const out = join(dir, 'crops');
    const r = await run(['crop', input, '--out', out, '--size', '96', '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /broken\.jpg/);
    const summary = JSON.parse(r.stdout) as {
      photos: number;
      saved: number;
      noFace: string[];
      failed: { path: string }[];
    };
    assert.equal(summary.photos, 3);
    assert.equal(summary.saved, 1);
    assert.deepEqual(summary.noFace, [join('team', 'b', 'empty.png')]);
    assert.deepEqual(
      summary.failed.map((f) => f.path),
      ['broken.jpg'],
    );
    const chip = await decodeImage(join(out, 'team', 'four.jpg'));
    assert.deepEqual([chip.width, chip.height], [96, 96]);
  });
});
