/**
 * The gallery commands end to end through the built CLI: enroll, identify, people, eval gallery,
 * on SQLite and on PostgreSQL (pglite over the wire); two processes enrolling one name; a process
 * killed in the middle of a large enrollment.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/gallery/index.js';
import { decodeImage } from '../../src/image/index.js';
import { DemoPhotos } from '../gallery/photos.js';
import { demoPhoto, sharedPath, sharedSkip } from '../helpers.js';
import { CLI, runCli } from '../support/cli.js';
import { type PgliteServer, startPglite } from '../support/pglite.js';

/** People of the tests: a demo face index and a distinctive name (so that grepping for it means something). */
const PEOPLE = [
  { face: 0, name: 'Ada Quillfeather' },
  { face: 1, name: 'Benedikt Zwyrtlowski' },
  { face: 5, name: 'Fay Oyelaran-Voss' },
] as const;

let dir = '';
let train = '';
const demo = new DemoPhotos();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'facerec-gallery-cli-'));
  train = join(dir, 'train_dir');
  for (const p of PEOPLE) {
    for (let v = 0; v < 3; v++) await demo.writeFace(join(train, p.name, `${v}.jpg`), p.face, v);
  }
  await writeFile(join(train, 'README.txt'), 'not a photo');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let dataDirs = 0;
/** A fresh data folder inside the test's temporary folder (call it inside tests or hooks). */
const newData = () => {
  assert.ok(dir !== '', 'newData() called before the temporary folder exists');
  return join(dir, `data-${++dataDirs}`);
};

/** Run the CLI on a data folder and parse its JSON output. */
async function json<T>(
  data: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: T; stderr: string }> {
  const r = await runCli(['--data', data, ...args, '--json'], env);
  let out: T;
  try {
    out = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, out, stderr: r.stderr };
}

interface EnrollJson {
  people: { name: string; person_id: number; created: boolean; added: number; duplicates: number }[];
  added: number;
  duplicates: number;
  no_face: number;
  errors: number;
  skipped: { path: string; reason: string; error: boolean }[];
  photos: { file: string; status: string; faces: number | null; face_id?: number; error?: string }[];
}

interface IdentifyJson {
  image: string;
  width: number;
  height: number;
  faces: {
    box: number[];
    name: string | null;
    person_id: number | null;
    distance: number | null;
    candidates: unknown[];
  }[];
}

/** Files of a folder (recursively) that contain `pattern`. */
async function filesContaining(folder: string, pattern: Uint8Array): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    if ((await readFile(path)).indexOf(pattern) >= 0) out.push(path);
  }
  return out;
}

describe('facerec enroll / identify / people (SQLite)', () => {
  let data = '';
  before(() => {
    data = newData();
  });

  it('enroll <train_dir>: one person per folder, other files reported; re-running adds nothing', async () => {
    const first = await json<EnrollJson>(data, ['enroll', train]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.out.added, 9);
    assert.deepEqual(
      first.out.people.map((p) => [p.name, p.created, p.added]),
      PEOPLE.map((p) => [p.name, true, 3]),
    );
    assert.deepEqual(
      first.out.skipped.map((s) => [s.reason, s.error]),
      [['not_image', false]],
    );
    const again = await runCli(['--data', data, 'enroll', train]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /enrolled 0 faces/);
    assert.match(again.stdout, /9 already enrolled/);
    assert.match(again.stdout, /README\.txt: not a photo/);
  });

  it('enroll: unreadable photos and non-photos given by name exit 2 and are named; the rest is enrolled', async () => {
    const jpeg = await readFile(join(train, PEOPLE[0].name, '0.jpg'));
    const cut = join(dir, 'cut.jpg');
    await writeFile(cut, jpeg.subarray(0, 500));
    const notes = join(dir, 'notes.txt');
    await writeFile(notes, 'hello');
    const group = join(dir, 'group.jpg');
    await writeFile(group, await readFile(demoPhoto(1)));
    const r = await json<EnrollJson>(newData(), ['enroll', cut, notes, group, '--name', 'Someone']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cut\.jpg/);
    assert.match(r.stderr, /notes\.txt: not a photo/);
    assert.match(r.stderr, /3 faces found in .*group\.jpg: the largest was enrolled/);
    assert.deepEqual(
      r.out.photos.map((p) => [p.status, p.faces]),
      [
        ['error', null],
        ['enrolled', 3],
      ],
    );
    const bad = await runCli(['--data', newData(), 'enroll', group, '--name', '\u202Eevil']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /name/);
  });

  it('identify --json --out: enrolled people named (green), others unknown (red)', async () => {
    const out = join(dir, 'annotated.jpg');
    const r = await json<IdentifyJson[]>(data, ['identify', demoPhoto(1), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.length, 1);
    const faces = [...r.out[0]!.faces].sort((a, b) => a.box[0]! - b.box[0]!);
    assert.deepEqual(
      faces.map((f) => f.name),
      [PEOPLE[0].name, PEOPLE[1].name, null],
    );
    assert.ok(faces[0]!.distance! < 0.3757 && faces[0]!.person_id! > 0);
    assert.ok(faces[2]!.distance! > 0.3757 && faces[2]!.person_id === null);
    assert.equal(faces[0]!.candidates.length, 3);
    // The drawn boxes: green for a named face, red for the unknown one (top edge, middle).
    const img = await decodeImage(out);
    assert.deepEqual([img.width, img.height], [r.out[0]!.width, r.out[0]!.height]);
    const px = (x: number, y: number) => {
      const i = (Math.round(y) * img.width + Math.round(x)) * 3;
      return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
    };
    for (const [f, green] of [
      [faces[0]!, true],
      [faces[2]!, false],
    ] as const) {
      const [rr = 0, g = 0] = px((f.box[0]! + f.box[2]!) / 2, f.box[1]!);
      assert.ok(green ? g > 180 && rr < 110 : rr > 180 && g < 110, `box colour ${rr},${g}`);
    }
    // --k, --threshold and --vote reach the decision: with a tiny threshold everyone is unknown.
    const strict = await json<IdentifyJson[]>(data, [
      'identify',
      demoPhoto(1),
      '--threshold',
      '0.01',
      '--k',
      '1',
    ]);
    assert.deepEqual(
      strict.out[0]!.faces.map((f) => f.name),
      [null, null, null],
    );
    const bad = await runCli(['--data', data, 'identify', demoPhoto(1), '--vote', 'loudest']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Expected one of distance, majority, nearest for --vote/);
  });

  it('identify: an empty gallery says so; an unreadable image exits 2 and the others are still identified', async () => {
    const empty = newData();
    const cut = join(dir, 'cut2.jpg');
    await writeFile(cut, (await readFile(demoPhoto(2))).subarray(0, 800));
    const r = await json<IdentifyJson[]>(empty, ['identify', cut, demoPhoto(3)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /gallery is empty/);
    assert.match(r.stderr, /cut2\.jpg/);
    assert.equal(r.out.length, 1);
    assert.ok(r.out[0]!.faces.length > 0);
    assert.ok(r.out[0]!.faces.every((f) => f.name === null && f.distance === null));
  });

  it('people list / show / rename', async () => {
    const list = await json<{ people: { id: number; name: string; faces: number }[]; total: number }>(data, [
      'people',
      'list',
    ]);
    assert.equal(list.code, 0);
    assert.equal(list.out.total, 3);
    assert.deepEqual(
      list.out.people.map((p) => [p.name, p.faces]),
      PEOPLE.map((p) => [p.name, 3]),
    );
    const show = await json<{
      name: string;
      faces: { source_name: string; source_sha256: string; thumbnail: boolean }[];
    }>(data, ['people', 'show', PEOPLE[2].name]);
    assert.deepEqual(
      show.out.faces.map((f) => f.source_name),
      ['0.jpg', '1.jpg', '2.jpg'],
    );
    const sha = createHash('sha256')
      .update(await readFile(join(train, PEOPLE[2].name, '0.jpg')))
      .digest('hex');
    assert.equal(show.out.faces[0]!.source_sha256, sha);
    assert.equal(show.out.faces[0]!.thumbnail, false);
    const text = await runCli(['--data', data, 'people', 'list']);
    assert.match(text.stdout, /3 people, 9 faces/);
    const byId = `#${list.out.people[2]!.id}`;
    const renamed = await json<{ name: string }>(data, ['people', 'rename', byId, 'Fay Renamed']);
    assert.equal(renamed.out.name, 'Fay Renamed');
    const clash = await runCli(['--data', data, 'people', 'rename', 'Fay Renamed', PEOPLE[0].name]);
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, /already named/);
    const missing = await runCli(['--data', data, 'people', 'show', 'Nobody At All']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /No person named "Nobody At All"/);
  });

  it('people remove: refused without --yes off a terminal; with --yes no file keeps the name or the embeddings', async () => {
    const name = PEOPLE[1].name;
    const db = new Database(join(data, 'gallery.sqlite'), { readonly: true });
    const vectors = db
      .prepare('SELECT f.embedding FROM face f JOIN person p ON p.id = f.person_id WHERE p.name = ?')
      .pluck()
      .all(name) as Buffer[];
    db.close();
    assert.equal(vectors.length, 3);
    // Control: the bytes are there while enrolled.
    assert.ok((await filesContaining(data, vectors[0]!)).length > 0);
    assert.ok((await filesContaining(data, Buffer.from(name))).length > 0);

    const refused = await runCli(['--data', data, 'people', 'remove', name]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /without --yes/);
    const still = await json<{ total: number }>(data, ['people', 'list']);
    assert.equal(still.out.total, 3);

    const removed = await json<{ removed: { name: string; faces: number } }>(data, [
      'people',
      'remove',
      name,
      '--yes',
    ]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(removed.out.removed.faces, 3);
    for (const v of vectors) assert.deepEqual(await filesContaining(data, v), [], 'embedding bytes erased');
    assert.deepEqual(await filesContaining(data, Buffer.from(name)), [], 'name erased');
    const after = await json<IdentifyJson[]>(data, ['identify', demoPhoto(1)]);
    assert.ok(!after.out[0]!.faces.some((f) => f.name === name));
    // The audit log keeps the enrollment and the deletion by id, without the name.
    const audit = await json<{
      entries: { action: string; actor: string; subject_id: number; detail: string }[];
    }>(data, ['audit', '--limit', '1000']);
    assert.equal(audit.code, 0, audit.stderr);
    const id = (removed.out.removed as unknown as { id: number }).id;
    const mine = audit.out.entries.filter((e) => e.subject_id === id);
    assert.deepEqual(mine.map((e) => e.action).sort(), ['person.create', 'person.delete', 'person.enroll']);
    assert.ok(mine.every((e) => e.actor === 'cli'));
    assert.equal(mine.find((e) => e.action === 'person.delete')?.detail, '3 faces');
    assert.ok(!JSON.stringify(audit.out).includes(name), 'no name in the audit log');
  });

  it('people remove asks on a terminal: "n" keeps the person, "y" removes them', {
    skip: existsSync('/usr/bin/script') ? false : 'needs script(1) (util-linux) to give the CLI a terminal',
  }, async () => {
    const tty = newData();
    const photo = join(train, PEOPLE[2].name, '0.jpg');
    assert.equal((await runCli(['--data', tty, 'enroll', photo, '--name', 'Tty Person'])).code, 0);
    // script(1) runs the command on a pseudo-terminal and forwards our stdin to it.
    const ask = (answer: string) =>
      new Promise<string>((resolve, reject) => {
        const cmd = `'${process.execPath}' '${CLI}' --data '${tty}' people remove 'Tty Person'`;
        const c = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        c.stdout.on('data', (d) => {
          out += d;
        });
        c.on('error', reject);
        c.on('exit', () => resolve(out));
        c.stdin.end(`${answer}\n`);
      });
    const no = await ask('n');
    assert.match(no, /Remove Tty Person and 1 face\? This cannot be undone\. \[y\/N\]/);
    assert.match(no, /cancelled: nothing removed/);
    assert.equal((await json<{ total: number }>(tty, ['people', 'list'])).out.total, 1);
    const yes = await ask('y');
    assert.match(yes, /removed Tty Person/);
    assert.equal((await json<{ total: number }>(tty, ['people', 'list'])).out.total, 0);
  });

  it('eval gallery <train_dir> --json: the documented keys', async () => {
    const r = await json<Record<string, unknown>>(newData(), [
      'eval',
      'gallery',
      train,
      '--test-split',
      '0.34',
      '--unknown-fraction',
      '0.34',
      '--seed',
      '4',
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (const key of ['people', 'probes', 'rank1', 'fpir', 'fnir', 'threshold', 'per_person']) {
      assert.ok(key in r.out, key);
    }
    assert.equal(r.out.people, 3);
    assert.equal(r.out.strangers, 1);
    assert.equal(r.out.rank1, 1);
    assert.equal(r.out.fpir, 0);
    assert.equal((r.out.per_person as unknown[]).length, 3);
    const flat = await runCli(['--data', newData(), 'eval', 'gallery', join(train, PEOPLE[0].name)]);
    assert.equal(flat.code, 2);
    assert.match(flat.stderr, /No person has two photos/);
  });
});

describe('facerec with --db postgres:// (pglite over the wire)', () => {
  let pglite: PgliteServer | undefined;
  let url = '';
  before(async () => {
    pglite = await startPglite('pg-secret');
    url = pglite.url;
  });
  after(async () => {
    await pglite?.stop();
  });

  it('enroll, identify, people through --db and FACEREC_DB; nothing goes to the SQLite file', async () => {
    const data = newData();
    const enrolled = await json<EnrollJson>(data, ['--db', url, 'enroll', train]);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    assert.equal(enrolled.out.added, 9);
    const ids = await json<IdentifyJson[]>(data, ['identify', demoPhoto(1)], { FACEREC_DB: url });
    assert.deepEqual(
      [...ids.out[0]!.faces].sort((a, b) => a.box[0]! - b.box[0]!).map((f) => f.name),
      [PEOPLE[0].name, PEOPLE[1].name, null],
    );
    const removed = await json<{ removed: { faces: number } }>(
      data,
      ['people', 'remove', PEOPLE[0].name, '--yes'],
      {
        FACEREC_DB: url,
      },
    );
    assert.equal(removed.out.removed.faces, 3);
    assert.match(removed.stderr, /VACUUM FULL/);
    const list = await json<{ total: number }>(data, ['--db', url, 'people', 'list']);
    assert.equal(list.out.total, 2);
    const rows = await pglite!.db.query<{ n: number }>('SELECT count(*)::int AS n FROM face');
    assert.equal(rows.rows[0]!.n, 6);
    await assert.rejects(readFile(join(data, 'gallery.sqlite')), /ENOENT/);
    const bad = await runCli(['--data', data, '--db', 'mysql://root:pw@localhost/x', 'people', 'list']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /postgres/);
    assert.ok(!bad.stderr.includes(':pw@'));
  });
});

describe('facerec enroll: several processes, and a process killed mid-way', () => {
  it('two processes enrolling the same name at once make one person with both sets of faces', async () => {
    const data = newData();
    const sets = [join(dir, 'set-a'), join(dir, 'set-b')];
    for (const [k, set] of sets.entries()) {
      for (let v = 0; v < 4; v++) await demo.writeFace(join(set, `${v}.jpg`), 3, 4 * k + v);
    }
    const [a, b] = await Promise.all(
      sets.map((set) => json<EnrollJson>(data, ['enroll', set, '--name', 'Same Person'])),
    );
    assert.equal(a!.code, 0, a!.stderr);
    assert.equal(b!.code, 0, b!.stderr);
    const created = [a!, b!].filter((r) => r.out.people[0]!.created).length;
    assert.equal(created, 1, 'exactly one process created the person');
    assert.equal(a!.out.people[0]!.person_id, b!.out.people[0]!.person_id);
    const list = await json<{ people: { name: string; faces: number }[] }>(data, ['people', 'list']);
    assert.deepEqual(
      list.out.people.map((p) => [p.name, p.faces]),
      [['Same Person', a!.out.added + b!.out.added]],
    );
    assert.equal(a!.out.added + b!.out.added, 8);
  });

  it('SIGKILL during a large enrollment (LFW people with ≥ 4 photos): consistent, each photo whole or absent, resumable', {
    skip: sharedSkip('data/faces/lfw'),
    timeout: 300_000,
  }, async (t) => {
    const lfw = sharedPath('data', 'faces', 'lfw');
    const root = join(dir, 'lfw4');
    await mkdir(root);
    let people = 0;
    for (const name of (await readdir(lfw)).sort()) {
      if (people >= 80 || name.includes('.')) continue;
      const files = await readdir(join(lfw, name)).catch(() => []);
      if (files.length < 4) continue;
      await symlink(join(lfw, name), join(root, name));
      people++;
    }
    const data = newData();
    const path = join(data, 'gallery.sqlite');
    const child = spawn(process.execPath, [CLI, '--data', data, 'enroll', root, '--keep-thumbnails'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: process.env,
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let killedAt = -1;
    for (let waited = 0; waited < 120_000 && killedAt < 0; waited += 50) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
      let n = 0;
      try {
        const raw = new Database(path, { readonly: true, fileMustExist: true });
        n = raw.prepare('SELECT count(*) FROM face').pluck().get() as number;
        raw.close();
      } catch {
        continue;
      }
      if (n >= 120) {
        child.kill('SIGKILL');
        killedAt = n;
      }
    }
    const code = await exited;
    assert.ok(killedAt > 0, `killed mid-way (exit ${code}): ${stderr}`);

    const raw = new Database(path);
    assert.deepEqual(raw.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(raw.pragma('foreign_key_check'), []);
    const rows = raw
      .prepare(
        `SELECT p.name, f.source_name, f.source_sha256, length(f.embedding) AS bytes,
             (SELECT length(t.bytes) FROM face_thumbnail t WHERE t.face_id = f.id) AS thumb
           FROM face f JOIN person p ON p.id = f.person_id`,
      )
      .all() as {
      name: string;
      source_name: string;
      source_sha256: string;
      bytes: number;
      thumb: number | null;
    }[];
    raw.close();
    const total = (await Promise.all((await readdir(root)).map((p) => readdir(join(root, p))))).flat().length;
    t.diagnostic(`killed after ${killedAt} faces; ${rows.length} faces committed of ${total} photos`);
    assert.ok(rows.length >= killedAt && rows.length < total, `${rows.length} of ${total}`);
    for (const r of rows) {
      // Whole: the embedding (128 float32), the thumbnail, and the photo it came from.
      assert.equal(r.bytes, 512);
      assert.ok(r.thumb !== null && r.thumb > 100, `${r.name}/${r.source_name} has its thumbnail`);
      const bytes = await readFile(join(root, r.name, r.source_name));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), r.source_sha256);
    }
    const store = await SqliteStore.open({ path });
    const check = await store.verify();
    await store.close();
    assert.deepEqual(check.problems, []);
    assert.equal(check.faces, rows.length);
    assert.equal(check.indexed, rows.length);

    // Running it again finishes the job: what was committed is recognised, the rest added.
    const again = await json<EnrollJson>(data, ['enroll', root, '--keep-thumbnails']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.out.duplicates, rows.length);
    assert.equal(again.out.added + again.out.duplicates + again.out.no_face, total);
    const final = await SqliteStore.open({ path });
    assert.equal((await final.verify()).ok, true);
    assert.equal(await final.countFaces(), again.out.added + rows.length);
    await final.close();
  });
});
