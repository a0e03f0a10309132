import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  InvalidInputError,
  NotFoundError,
  resolvePaths,
  resolveRuntimeOptions,
} from '../../src/core/index.js';
import { type GalleryStore, openStore } from '../../src/gallery/index.js';
import { decodeImage, saveImage } from '../../src/image/index.js';
import {
  type EnrollPhoto,
  enrollPhotos,
  FaceRecognizer,
  faceThumbnail,
  isImagePath,
  type PhotoResult,
  planEnrollment,
} from '../../src/recognize/index.js';
import { blankImage, DemoPhotos } from '../gallery/photos.js';
import { demoPhoto } from '../helpers.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'facerec-enroll-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirs = 0;
/** Create empty files (paths relative to a fresh folder); returns the folder. */
async function tree(files: readonly string[]): Promise<string> {
  const dir = join(root, `tree-${++dirs}`);
  for (const f of files) {
    await mkdir(join(dir, f, '..'), { recursive: true });
    await writeFile(join(dir, f), '');
  }
  return dir;
}

const rel = (dir: string) => (p: string) => p.slice(dir.length + 1);

describe('recognize/enroll: planEnrollment (the seed layouts)', () => {
  it('isImagePath: the decoder formats by extension, any case', () => {
    const table: [string, boolean][] = [
      ['a.jpg', true],
      ['a.JPEG', true],
      ['b.Png', true],
      ['c.webp', true],
      ['d.tiff', true],
      ['e.avif', true],
      ['f.gif', true],
      ['notes.txt', false],
      ['jpg', false],
      ['photo.jpg.bak', false],
      ['.DS_Store', false],
    ];
    for (const [p, want] of table) assert.equal(isImagePath(p), want, p);
  });

  it('test_img layout: each photo is a person named by its file name; other files are reported', async () => {
    const dir = await tree(['alice.jpg', 'Bob.PNG', 'notes.txt']);
    const plan = await planEnrollment([dir]);
    assert.deepEqual(
      plan.items.map((i) => [i.person, rel(dir)(i.file)]),
      [
        ['Bob', 'Bob.PNG'],
        ['alice', 'alice.jpg'],
      ],
    );
    assert.deepEqual(
      plan.skipped.map((s) => [rel(dir)(s.path), s.reason, s.error]),
      [['notes.txt', 'not_image', false]],
    );
    assert.deepEqual(plan.notes, []);
  });

  it('train_dir layout: each folder is a person; folders inside a person folder are not entered', async () => {
    const dir = await tree(['carol/1.jpg', 'carol/2.jpg', 'dave/a.webp', 'dave/sub/x.jpg', 'dave/readme.md']);
    const plan = await planEnrollment([dir]);
    assert.deepEqual(
      plan.items.map((i) => [i.person, rel(dir)(i.file)]),
      [
        ['carol', 'carol/1.jpg'],
        ['carol', 'carol/2.jpg'],
        ['dave', 'dave/a.webp'],
      ],
    );
    assert.deepEqual(
      plan.skipped.map((s) => [rel(dir)(s.path), s.reason, s.error]),
      [
        ['dave/readme.md', 'not_image', false],
        ['dave/sub', 'outside_layout', false],
      ],
    );
  });

  it('a folder mixing both is read both ways, with a note; a photo and a folder of one name are one person', async () => {
    const dir = await tree(['erin.jpg', 'erin/1.jpg', 'frank/1.jpg']);
    const plan = await planEnrollment([dir]);
    assert.deepEqual(
      plan.items.map((i) => [i.person, rel(dir)(i.file)]),
      [
        ['erin', 'erin.jpg'],
        ['erin', 'erin/1.jpg'],
        ['frank', 'frank/1.jpg'],
      ],
    );
    assert.equal(plan.notes.length, 1);
    assert.match(plan.notes[0]!, /both photos and folders/);
  });

  it('depth 2 names people <group>/<name> (no merging across groups); photos above them are reported', async () => {
    const dir = await tree([
      'src1/amy/1.jpg',
      'src2/amy/1.png',
      'src2/amy/2.jpg',
      'top.jpg',
      'src1/stray.jpg',
    ]);
    const plan = await planEnrollment([dir], { depth: 2 });
    assert.deepEqual(
      plan.items.map((i) => [i.person, rel(dir)(i.file)]),
      [
        ['src1/amy', 'src1/amy/1.jpg'],
        ['src2/amy', 'src2/amy/1.png'],
        ['src2/amy', 'src2/amy/2.jpg'],
      ],
    );
    assert.deepEqual(plan.skipped.map((s) => [rel(dir)(s.path), s.reason]).sort(), [
      ['src1/stray.jpg', 'outside_layout'],
      ['top.jpg', 'outside_layout'],
    ]);
    // At depth 1 the groups are the people: src1's own photo is enrolled as "src1", nothing of amy.
    const flat = await planEnrollment([dir]);
    assert.deepEqual(
      flat.items.map((i) => [i.person, rel(dir)(i.file)]),
      [
        ['src1', 'src1/stray.jpg'],
        ['top', 'top.jpg'],
      ],
    );
  });

  it('--name: single files and whole folders (recursively) as one person; explicit non-photos and missing paths are errors', async () => {
    const dir = await tree(['x/1.jpg', 'x/deep/2.jpg', 'x/deep/notes.txt', 'single.png', 'doc.pdf']);
    const plan = await planEnrollment(
      [join(dir, 'x'), join(dir, 'single.png'), join(dir, 'doc.pdf'), join(dir, 'missing.jpg')],
      { name: '  Zoe\u0308 ' },
    );
    assert.deepEqual(
      plan.items.map((i) => [i.person, rel(dir)(i.file)]),
      [
        ['Zoë', 'single.png'],
        ['Zoë', 'x/1.jpg'],
        ['Zoë', 'x/deep/2.jpg'],
      ],
    );
    assert.deepEqual(
      plan.skipped.map((s) => [rel(dir)(s.path), s.reason, s.error]),
      [
        ['x/deep/notes.txt', 'not_image', false],
        ['doc.pdf', 'not_image', true],
        ['missing.jpg', 'missing', true],
      ],
    );
    // A single file without --name is a person named by the file.
    const one = await planEnrollment([join(dir, 'single.png')]);
    assert.deepEqual(
      one.items.map((i) => i.person),
      ['single'],
    );
  });

  it('names come from file and folder names, NFC-normalized; invalid ones are reported, never used', async () => {
    const dir = await tree([
      'Zoe\u0308/1.jpg',
      '\u202Eecila/1.jpg',
      'tab\tname/1.jpg',
      ' .jpg',
      'dotdot..escape.jpg',
    ]);
    const plan = await planEnrollment([dir]);
    assert.deepEqual(
      plan.items.map((i) => i.person),
      ['Zoë', 'dotdot..escape'],
    );
    const bad = plan.skipped.filter((s) => s.reason === 'bad_name');
    assert.equal(bad.length, 3);
    assert.ok(bad.every((s) => s.error));
    assert.ok(bad.some((s) => s.message.includes('U+202E') || /bidirectional/i.test(s.message)));
  });

  it('each (person, photo) once; symlink loops do not hang; bad options throw', async () => {
    const dir = await tree(['p/1.jpg']);
    await symlink(join(dir, 'p'), join(dir, 'p', 'loop'));
    const plan = await planEnrollment([join(dir, 'p'), join(dir, 'p', '1.jpg'), join(dir, 'p')], {
      name: 'P',
    });
    assert.deepEqual(
      plan.items.map((i) => rel(dir)(i.file)),
      ['p/1.jpg'],
    );
    await assert.rejects(planEnrollment([]), InvalidInputError);
    await assert.rejects(planEnrollment([dir], { depth: 0 }), /depth/);
    await assert.rejects(planEnrollment([dir], { name: '\u0000' }), InvalidInputError);
  });
});

describe('recognize/enroll: enrollPhotos with the real models', () => {
  let fr: FaceRecognizer;
  const demo = new DemoPhotos();
  let photos = '';
  let galleries = 0;
  const open: GalleryStore[] = [];
  const fresh = async () => {
    const s = await openStore({ dataDir: join(root, `gallery-${++galleries}`) });
    open.push(s);
    return s;
  };

  before(async () => {
    fr = await FaceRecognizer.load({ paths: resolvePaths(), runtime: resolveRuntimeOptions() });
    photos = join(root, 'photos');
    for (let v = 0; v < 3; v++) await demo.writeFace(join(photos, 'ada', `ada-${v}.jpg`), 0, v);
    for (let v = 0; v < 2; v++) await demo.writeFace(join(photos, 'ben', `ben-${v}.jpg`), 1, v);
    await demo.writeFace(join(photos, 'cy', 'cy-0.jpg'), 5, 0);
    await saveImage(blankImage(), join(photos, 'cy', 'wall.png'));
    await mkdir(join(photos, 'nobody'), { recursive: true });
    await saveImage(blankImage(), join(photos, 'nobody', 'wall.png'));
    const jpeg = await readFile(join(photos, 'ada', 'ada-0.jpg'));
    await mkdir(join(photos, 'broken'), { recursive: true });
    await writeFile(join(photos, 'broken', 'cut.jpg'), jpeg.subarray(0, 600));
  });
  after(async () => {
    for (const s of open) await s.close();
    await fr?.dispose();
  });

  it('enrolls one face per photo; no face, unreadable photos and group photos are reported; nobody is created for nothing', async () => {
    const store = await fresh();
    const plan = await planEnrollment([photos]);
    const items: EnrollPhoto[] = [...plan.items, { person: 'Group', file: demoPhoto(1) }];
    const seen: [string, number][] = [];
    const report = await enrollPhotos(fr, store, items, {
      batchSize: 3,
      onResult: (r, done, total) => {
        assert.equal(total, items.length);
        seen.push([r.file, done]);
      },
    });
    // Results in input order, reported once each, in order.
    assert.deepEqual(
      report.results.map((r) => r.file),
      items.map((i) => i.file),
    );
    assert.deepEqual(
      seen,
      items.map((i, n) => [i.file, n + 1]),
    );
    const by = (suffix: string) => report.results.find((r) => r.file.endsWith(suffix))!;
    for (const f of ['ada-0.jpg', 'ada-1.jpg', 'ada-2.jpg', 'ben-0.jpg', 'ben-1.jpg', 'cy-0.jpg']) {
      const r = by(f);
      assert.equal(r.status, 'enrolled', `${f}: ${r.error}`);
      assert.equal(r.faces, 1);
      assert.match(r.sha256!, /^[0-9a-f]{64}$/);
      assert.ok(r.faceId! > 0 && r.score! > 0.9);
    }
    assert.equal(by('cy/wall.png').status, 'no_face');
    assert.equal(by('cy/wall.png').faces, 0);
    assert.equal(by('nobody/wall.png').status, 'no_face');
    assert.equal(by('cut.jpg').status, 'error');
    assert.match(by('cut.jpg').error!, /cut\.jpg/);
    const group = by('sample1.jpg');
    assert.equal(group.status, 'enrolled');
    assert.equal(group.faces, 3);
    assert.match(group.warning!, /3 faces found in .*sample1\.jpg: the largest was enrolled/);
    assert.equal(report.added, 7);
    assert.equal(report.noFace, 2);
    assert.equal(report.errors, 1);
    assert.equal(report.severalFaces, 1);
    assert.equal(await store.findPerson('nobody'), null, 'no person without a face');
    assert.equal(await store.findPerson('broken'), null);
    assert.deepEqual(
      (await store.listPeople()).people.map((p) => [p.name, p.faceCount]),
      [
        ['Group', 1],
        ['ada', 3],
        ['ben', 2],
        ['cy', 1],
      ],
    );
    const cy = report.people.find((p) => p.name === 'cy')!;
    assert.deepEqual(
      { created: cy.created, added: cy.added, noFace: cy.noFace },
      { created: true, added: 1, noFace: 1 },
    );
    // Results settled before their person existed carry the final id.
    assert.equal(by('cy/wall.png').personId, cy.personId);
    // Every face went to its own person: each enrolled photo's embedding finds its own face first.
    for (const f of ['ada-1.jpg', 'ben-0.jpg', 'cy-0.jpg']) {
      const img = await decodeImage(by(f).file);
      const [face] = await fr.detectFaces(img);
      const [e] = await fr.embedFaces(img, [face!]);
      const [hit] = await store.search(e!, 1);
      assert.equal(hit!.faceId, by(f).faceId, f);
      assert.ok(hit!.distance < 0.01);
    }
    // No thumbnail unless asked for.
    assert.equal(await store.getThumbnail(by('ada-0.jpg').faceId!), null);
    assert.equal((await store.verify()).ok, true);
  });

  it('re-enrolling adds nothing (same photo bytes, same person, same pipeline), without analysing again', async () => {
    const store = await fresh();
    const items = (await planEnrollment([photos])).items.filter(
      (i) => i.person === 'ada' || i.person === 'ben',
    );
    const first = await enrollPhotos(fr, store, items);
    assert.equal(first.added, 5);
    const again = await enrollPhotos(fr, store, [...items, items[0]!]);
    assert.equal(again.added, 0);
    assert.equal(again.duplicates, 6);
    for (const r of again.results) {
      assert.equal(r.status, 'duplicate');
      assert.equal(r.faces, null, 'not analysed');
    }
    assert.deepEqual(
      again.results.slice(0, 5).map((r) => r.faceId),
      first.results.map((r) => r.faceId),
    );
    assert.deepEqual(
      again.people.map((p) => [p.name, p.created, p.duplicates]),
      [
        ['ada', false, 4],
        ['ben', false, 2],
      ],
    );
    // The same photo twice in one run: enrolled once.
    const twice = await enrollPhotos(fr, await fresh(), [items[0]!, { ...items[0]! }]);
    assert.deepEqual(
      twice.results.map((r) => r.status),
      ['enrolled', 'duplicate'],
    );
    // The same photo for another person is not a duplicate.
    const other = await enrollPhotos(fr, store, [{ person: 'Someone Else', file: items[0]!.file }]);
    assert.equal(other.added, 1);
    assert.equal(await store.countFaces(), 6);
  });

  it('keeps a small JPEG thumbnail only with keepThumbnails', async () => {
    const store = await fresh();
    const report = await enrollPhotos(
      fr,
      store,
      [{ person: 'Ada', file: join(photos, 'ada', 'ada-0.jpg') }],
      {
        keepThumbnails: true,
        thumbnailSize: 96,
      },
    );
    const t = await store.getThumbnail(report.results[0]!.faceId!);
    assert.equal(t?.mime, 'image/jpeg');
    const img = await decodeImage(t!.bytes);
    assert.deepEqual([img.width, img.height], [96, 96]);
    assert.ok(t!.bytes.length < 20000);
    // The thumbnail shows the face: the detector finds one in it.
    assert.equal((await fr.detectFaces(img)).length, 1);
    const direct = await faceThumbnail(
      await decodeImage(join(photos, 'ada', 'ada-0.jpg')),
      [40, 40, 90, 100],
    );
    assert.deepEqual([direct.bytes[0], direct.bytes[1]], [0xff, 0xd8]);
  });

  it('enrolls uploaded bytes into an existing person by id; an unknown id or a bad name is refused', async () => {
    const store = await fresh();
    const { person } = await store.ensurePerson('Ben');
    const bytes = await readFile(join(photos, 'ben', 'ben-1.jpg'));
    const report = await enrollPhotos(fr, store, [
      { person: person.id, file: 'upload-1', bytes, sourceName: 'phone.jpg' },
    ]);
    const r: PhotoResult = report.results[0]!;
    assert.equal(r.status, 'enrolled');
    assert.equal(r.personId, person.id);
    assert.equal(r.person, 'Ben');
    assert.equal(report.people[0]!.created, false);
    assert.equal((await store.listFaces(person.id))[0]!.sourceName, 'phone.jpg');
    await assert.rejects(enrollPhotos(fr, store, [{ person: 9999, file: 'x', bytes }]), NotFoundError);
    await assert.rejects(enrollPhotos(fr, store, [{ person: ' ', file: 'x', bytes }]), InvalidInputError);
    await assert.rejects(
      enrollPhotos(fr, store, [{ person: 'Ben', file: 'x', bytes }], { batchSize: 0 }),
      /batchSize/,
    );
    assert.equal(await store.countFaces(), 1);
  });
});
