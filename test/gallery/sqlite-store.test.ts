import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/core/index.js';
import {
  encodeVector,
  type GalleryStore,
  type IndexEvent,
  openStore,
  SqliteStore,
} from '../../src/gallery/index.js';
import {
  bruteForce,
  clusteredVectors,
  embedding,
  facesFrom,
  fakeSha,
  randomUnitVectors,
  rng,
  row,
} from './fixtures.js';
import { sqliteHarness, storeSuite } from './store-suite.js';

const DIMS = 128;
const root = mkdtempSync(join(tmpdir(), 'facerec-sqlite-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const newDir = () => join(root, `g${++dirCount}`);
const childScript = fileURLToPath(new URL('./store-child.js', import.meta.url));

storeSuite('SQLite', sqliteHarness(newDir));

/** Every file of a folder with whether it contains any of the patterns. */
function filesContaining(dir: string, patterns: readonly Uint8Array[]): string[] {
  return readdirSync(dir).filter((f) => {
    const bytes = readFileSync(join(dir, f));
    return patterns.some((p) => bytes.indexOf(p) >= 0);
  });
}

function events(): { list: IndexEvent[]; hook: (e: IndexEvent) => void } {
  const list: IndexEvent[] = [];
  return { list, hook: (e) => list.push(e) };
}

/** Run a child; resolve with its stdout once it exits with 0. */
function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [childScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => {
      out += d;
    });
    c.stderr.on('data', (d) => {
      err += d;
    });
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

describe('SqliteStore: files, settings, schema', () => {
  it('creates gallery.sqlite owner-only in WAL mode with the pragmas set, schema versions 1 to 3', async () => {
    const dir = newDir();
    const s = await openStore({ dataDir: dir });
    assert.equal(s.kind, 'sqlite');
    assert.equal(s.location, join(dir, 'gallery.sqlite'));
    await s.ensurePerson('x');
    assert.equal(statSync(join(dir, 'gallery.sqlite')).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const raw = new Database(join(dir, 'gallery.sqlite'), { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.deepEqual(
      raw.prepare('SELECT version FROM schema_version ORDER BY version').pluck().all(),
      [1, 2, 3],
    );
    const tables = raw
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .pluck()
      .all() as string[];
    for (const t of [
      'person',
      'face',
      'face_thumbnail',
      'camera',
      'event',
      'unknown_face',
      'api_key',
      'audit_log',
      'gallery_setting',
    ]) {
      assert.ok(tables.includes(t), t);
    }
    raw.close();
    await s.close();
    await s.close();
  });

  it('refuses a database from a newer facerec and a file that is not a database', async () => {
    const dir = newDir();
    const path = join(dir, 'gallery.sqlite');
    await (await SqliteStore.open({ path })).close();
    const raw = new Database(path);
    raw.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (99, ?, 0)').run('future');
    raw.close();
    await assert.rejects(
      SqliteStore.open({ path }),
      (e: unknown) => e instanceof StoreError && /version 99/.test(e.message),
    );
    const junk = join(newDir(), 'gallery.sqlite');
    rmSync(join(junk, '..'), { recursive: true, force: true });
    await (await SqliteStore.open({ path: junk })).close();
    writeFileSync(junk, 'this is not a database, just text that is long enough to have a header'.repeat(20));
    rmSync(`${junk}-wal`, { force: true });
    rmSync(`${junk}-shm`, { force: true });
    await assert.rejects(SqliteStore.open({ path: junk }), StoreError);
  });

  it('openStore rejects a db value that is not a Postgres URL, without echoing credentials', async () => {
    await assert.rejects(openStore({ dataDir: newDir(), db: 'mysql://root:hunter2@h/db' }), (e: unknown) => {
      return e instanceof Error && /postgres/.test(e.message) && !e.message.includes('hunter2');
    });
  });
});

describe('SqliteStore: deletion leaves no trace', () => {
  for (const threshold of [20000, 40]) {
    it(`removed names and embeddings are in no file (database, WAL, SHM, index) — threshold ${threshold}`, async () => {
      const dir = newDir();
      const path = join(dir, 'gallery.sqlite');
      const ev = events();
      const opts = { path, hnswThreshold: threshold, onIndexEvent: ev.hook };
      let s = await SqliteStore.open(opts);
      const others = randomUnitVectors(60, DIMS, rng(20));
      for (let p = 0; p < 6; p++) {
        const { person } = await s.ensurePerson(`Other ${p}`);
        await s.addFaces(
          person.id,
          facesFrom(
            others,
            Array.from({ length: 10 }, (_, j) => p * 10 + j),
          ),
        );
      }
      const secret = randomUnitVectors(3, DIMS, rng(21));
      const name = 'Zbigniew Qwxyzzy-Distinctive';
      const loneVector = randomUnitVectors(1, DIMS, rng(22));
      const lone = facesFrom(loneVector, [0], { sha: () => fakeSha(999) });
      const { person } = await s.ensurePerson(name);
      await s.addFaces(person.id, facesFrom(secret, [0, 1, 2], { sha: (r) => fakeSha(500 + r) }));
      const loneFace = (await s.addFaces('Other 1', lone)).added[0]!;
      await s.search(embedding(row(secret, 0, DIMS)), 3);
      const patterns = [0, 1, 2].map((r) => encodeVector(row(secret, r, DIMS)));
      const nameBytes = Buffer.from(name, 'utf8');
      await s.close();
      s = await SqliteStore.open(opts);
      assert.equal((await s.search(embedding(row(secret, 1, DIMS)), 1))[0]!.name, name);
      // Control: the test can see the bytes while they are enrolled.
      assert.ok(filesContaining(dir, patterns).length > 0, 'embeddings found before removal');
      assert.ok(filesContaining(dir, [nameBytes]).length > 0, 'name found before removal');
      if (threshold === 40)
        assert.ok(
          readdirSync(dir).some((f) => f.endsWith('.usearch')),
          'HNSW index saved',
        );

      await s.removePerson(name);
      await s.removeFace(loneFace.id);
      const gone = [...patterns, encodeVector(loneVector), nameBytes];
      // While the store is still open (a server keeps running after a deletion) …
      assert.deepEqual(
        filesContaining(dir, gone),
        [],
        'no file holds a removed embedding or name (store open)',
      );
      assert.ok(
        filesContaining(dir, [encodeVector(row(others, 1, DIMS))]).length > 0,
        'kept faces still stored',
      );
      const hit = await s.search(embedding(row(secret, 0, DIMS)), 1);
      assert.notEqual(hit[0]!.name, name);
      assert.equal((await s.verify()).ok, true);
      await s.close();
      // … and after closing.
      assert.deepEqual(filesContaining(dir, gone), [], 'no file holds a removed embedding or name (closed)');
    });
  }
});

describe('SqliteStore: the vector index beside the database', () => {
  const rand = rng(30);
  const centres = randomUnitVectors(12, DIMS, rand);
  const m = clusteredVectors(120, centres, DIMS, 0.04, rand);

  async function enroll(s: GalleryStore, rows: number[]): Promise<Map<number, number>> {
    const ids = new Map<number, number>();
    for (const r of rows) {
      const { person } = await s.ensurePerson(`C${r % 12}`);
      ids.set(r, (await s.addFaces(person.id, facesFrom(m, [r])))!.added[0]!.id);
    }
    return ids;
  }

  async function assertSearchExact(s: GalleryStore, ids: Map<number, number>): Promise<void> {
    const rowsIn = [...ids.keys()];
    const matrix = new Float32Array(rowsIn.length * DIMS);
    rowsIn.forEach((r, i) => {
      matrix.set(row(m, r, DIMS), i * DIMS);
    });
    const faceIds = rowsIn.map((r) => ids.get(r)!);
    let agree = 0;
    for (let qi = 0; qi < 24; qi++) {
      const q = clusteredVectors(1, row(centres, qi % 12, DIMS), DIMS, 0.04, rand);
      const want = bruteForce(matrix, faceIds, DIMS, q, 1)[0]!.id;
      if ((await s.search(embedding(q), 1))[0]!.faceId === want) agree++;
    }
    assert.ok(agree >= 23, `nearest face agrees with brute force in ${agree}/24`);
  }

  it('switches exact → HNSW at the threshold and back below half of it', async () => {
    const dir = newDir();
    const ev = events();
    const s = await SqliteStore.open({
      path: join(dir, 'gallery.sqlite'),
      hnswThreshold: 40,
      onIndexEvent: ev.hook,
    });
    const ids = await enroll(
      s,
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.ok(!readdirSync(dir).some((f) => f.endsWith('.usearch')), 'no index file below the threshold');
    for (const [r, id] of await enroll(
      s,
      Array.from({ length: 20 }, (_, i) => 30 + i),
    ))
      ids.set(r, id);
    assert.ok(ev.list.some((e) => e.kind === 'hnsw' && e.action === 'built'));
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.usearch')).length, 1);
    assert.ok(existsSync(join(dir, 'gallery-m1.usearch.json')));
    await assertSearchExact(s, ids);
    for (let r = 0; r < 35; r++) {
      await s.removeFace(ids.get(r)!);
      ids.delete(r);
    }
    await s.search(embedding(row(m, 40, DIMS)), 1);
    assert.equal(ev.list.at(-1)?.kind, 'exact');
    assert.ok(!readdirSync(dir).some((f) => f.includes('.usearch')), 'index files erased when back to exact');
    await assertSearchExact(s, ids);
    assert.equal((await s.verify()).ok, true);
    await s.close();
  });

  it('rebuilds from the database when the index file is missing or altered', async () => {
    const dir = newDir();
    const path = join(dir, 'gallery.sqlite');
    let s = await SqliteStore.open({ path, hnswThreshold: 40 });
    const ids = await enroll(
      s,
      Array.from({ length: 60 }, (_, i) => i),
    );
    await s.close();
    const indexFile = () => readdirSync(dir).find((f) => f.endsWith('.usearch'))!;

    rmSync(join(dir, indexFile()));
    let ev = events();
    s = await SqliteStore.open({ path, hnswThreshold: 40, onIndexEvent: ev.hook });
    await assertSearchExact(s, ids);
    assert.deepEqual(
      ev.list.filter((e) => e.action === 'built').map((e) => e.reason),
      ['index file missing'],
    );
    assert.ok(indexFile(), 'a new index file was saved');
    await s.close();

    const f = join(dir, indexFile());
    const bytes = readFileSync(f);
    bytes[Math.floor(bytes.length / 2)] = bytes[Math.floor(bytes.length / 2)]! ^ 0xff;
    writeFileSync(f, bytes);
    ev = events();
    s = await SqliteStore.open({ path, hnswThreshold: 40, onIndexEvent: ev.hook });
    await assertSearchExact(s, ids);
    assert.deepEqual(
      ev.list.filter((e) => e.action === 'built').map((e) => e.reason),
      ['index file checksum mismatch'],
    );
    await s.close();

    const rec = join(dir, 'gallery-m1.usearch.json');
    writeFileSync(rec, '{ not json');
    ev = events();
    s = await SqliteStore.open({ path, hnswThreshold: 40, onIndexEvent: ev.hook });
    assert.equal((await s.verify()).ok, true);
    assert.deepEqual(
      ev.list.filter((e) => e.action === 'built').map((e) => e.reason),
      ['unreadable index record'],
    );
    await s.close();
  });

  it('catches up a stale saved index (older copy restored) and scrubs faces removed since', async () => {
    const dir = newDir();
    const path = join(dir, 'gallery.sqlite');
    let s = await SqliteStore.open({ path, hnswThreshold: 40 });
    const ids = await enroll(
      s,
      Array.from({ length: 60 }, (_, i) => i),
    );
    await s.close();
    const backup = join(root, `backup-${dirCount}`);
    const indexName = readdirSync(dir).find((f) => f.endsWith('.usearch'))!;
    copyFileSync(join(dir, indexName), `${backup}.usearch`);
    copyFileSync(join(dir, 'gallery-m1.usearch.json'), `${backup}.json`);

    s = await SqliteStore.open({ path, hnswThreshold: 40 });
    for (const [r, id] of await enroll(s, [60, 61, 62, 63, 64])) ids.set(r, id);
    const removedRows = [3, 4, 5];
    for (const r of removedRows) {
      await s.removeFace(ids.get(r)!);
      ids.delete(r);
    }
    await s.close();
    // Put the old index back: it lacks 5 faces and still holds 3 removed ones.
    for (const f of readdirSync(dir)) if (f.includes('.usearch')) rmSync(join(dir, f));
    copyFileSync(`${backup}.usearch`, join(dir, indexName));
    copyFileSync(`${backup}.json`, join(dir, 'gallery-m1.usearch.json'));
    rmSync(`${backup}.usearch`);
    const removedBytes = removedRows.map((r) => encodeVector(row(m, r, DIMS)));
    assert.ok(
      filesContaining(dir, removedBytes).length > 0,
      'control: the restored index holds removed faces',
    );

    const ev = events();
    s = await SqliteStore.open({ path, hnswThreshold: 40, onIndexEvent: ev.hook });
    await assertSearchExact(s, ids);
    const actions = ev.list.map((e) => e.action);
    assert.equal(actions[0], 'loaded');
    assert.ok(actions.includes('caught-up'));
    assert.ok(!actions.includes('built'), `caught up without a rebuild: ${actions}`);
    for (const r of removedRows) {
      const hit = await s.search(embedding(row(m, r, DIMS)), 1);
      assert.notEqual(hit[0]!.faceId, undefined);
      assert.ok(hit[0]!.distance > 1e-6, 'a removed face is not found');
    }
    assert.deepEqual(filesContaining(dir, removedBytes), [], 'the caught-up index was saved without them');
    assert.deepEqual(await s.verify(), { ok: true, problems: [], faces: 62, indexed: 62 });
    await s.close();
  });
});

describe('SqliteStore: several processes on one file', () => {
  it('two processes racing ensurePerson/addFaces make one person; a third sees their faces', async () => {
    const dir = newDir();
    const path = join(dir, 'gallery.sqlite');
    const watcher = await SqliteStore.open({ path });
    assert.deepEqual(await watcher.search(embedding(randomUnitVectors(1, DIMS, rng(1))), 1), []);
    const [a, b] = await Promise.all([
      runChild(['race', path, 'Same Name', '25', '41']),
      runChild(['race', path, 'Same Name', '25', '42']),
    ]);
    const ra = JSON.parse(a) as { created: number; added: number };
    const rb = JSON.parse(b) as { created: number; added: number };
    assert.equal(ra.created + rb.created, 1, 'exactly one process created the person');
    assert.equal(ra.added + rb.added, 50);
    assert.equal(await watcher.countPeople(), 1);
    assert.equal(await watcher.countFaces(), 50);
    // The long-lived store's index catches up with faces other processes added.
    const q = randomUnitVectors(25, DIMS, rng(42));
    const hit = await watcher.search(embedding(row(q, 7, DIMS)), 1);
    assert.ok(hit[0]!.distance < 1e-6);
    assert.deepEqual((await watcher.verify()).ok, true);
    await watcher.close();
  });

  it('a process killed (SIGKILL) mid-enrollment leaves a consistent gallery: whole batches or nothing', async () => {
    const dir = newDir();
    const path = join(dir, 'gallery.sqlite');
    const child: ChildProcess = spawn(process.execPath, [childScript, 'enroll', path, '43', '30'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        if ((out.match(/batch \d+/g) ?? []).length >= 7) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${err}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const done = (out.match(/batch (\d+)/g) ?? []).map((x) => Number(x.split(' ')[1]));
    const last = Math.max(...done);

    const s = await SqliteStore.open({ path, hnswThreshold: 30 });
    const check = await s.verify();
    assert.deepEqual(check.problems, []);
    assert.equal(check.faces, check.indexed);
    const raw = new Database(path, { readonly: true });
    const counts = new Map<number, number>();
    for (const name of raw.prepare('SELECT source_name FROM face').pluck().all() as string[]) {
      const b = Number(/^batch-(\d+)-/.exec(name)![1]);
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
    raw.close();
    for (let b = 0; b <= last; b++) assert.equal(counts.get(b), b % 5 === 4 ? 19 : 20, `batch ${b}`);
    const inFlight = counts.get(last + 1) ?? 0;
    assert.ok([0, 20, (last + 1) % 5 === 4 ? 19 : 20].includes(inFlight), `batch in flight has ${inFlight}`);
    assert.ok(!counts.has(last + 2));
    await s.close();
  });
});
