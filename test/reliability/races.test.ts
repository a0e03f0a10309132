/**
 * Concurrency and erasure through the real server (`facerec serve` in its own process, over
 * HTTP): 100 clients creating the same person at once (one 201, the others 409), the same photo
 * enrolled by 20 clients at once (one face), enrollments racing deletions (consistent, and a
 * deleted person never comes back), and a deleted person leaving no trace: not their name, not
 * their embedding's bytes, not their thumbnail in any file of the data directory (database, WAL,
 * index) nor in the server's log, while the audit log keeps the deletion without biometric data.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/gallery/index.js';
import { disposeRecognizer, facePhoto, multipart } from '../server/harness.js';
import { type ServeChild, startServe } from './serve-child.js';

after(disposeRecognizer);

type Json = Record<string, unknown>;

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('races and erasure through the real server', () => {
  let root = '';
  let data = '';
  let server: ServeChild;
  let photos: Buffer[] = [];

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (Buffer.isBuffer(body)) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(`${server.url}${path}`, init);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json };
  };
  const enroll = (id: number, images: Buffer[]) => {
    const m = multipart(
      images.map((data, i) => ({ name: 'photos', filename: `p${i}.jpg`, type: 'image/jpeg', data })),
    );
    return api('POST', `/api/v1/people/${id}/faces`, m.payload, m.headers);
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'facerec-races-'));
    data = join(root, 'data');
    photos = [
      await facePhoto(1, 0),
      await facePhoto(1, 1),
      await facePhoto(1, 0, 0.8),
      await facePhoto(1, 1, 0.8),
    ];
    server = await startServe(['--data', data], ['--keep-thumbnails', '--log-requests'], {
      timeoutMs: 60_000,
    });
  });
  after(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('100 clients create the same person at once (NFC and NFD spellings): one 201, 99 × 409', async () => {
    const spellings = ['Zoë Ångström', 'Zoe\u0308 A\u030angstro\u0308m', '  Zoë Ångström  '];
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => api('POST', '/api/v1/people', { name: spellings[i % 3] })),
    );
    const byStatus = new Map<number, number>();
    for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(byStatus), { 201: 1, 409: 99 });
    for (const r of results.filter((x) => x.status === 409)) {
      assert.equal((r.body.error as Json).code, 'conflict');
      assert.match(String((r.body.error as Json).message), /already exists/);
    }
    const list = await api('GET', `/api/v1/people?q=${encodeURIComponent('Zoë')}`);
    assert.equal((list.body.people as Json[]).length, 1);
    assert.equal((list.body.people as Json[])[0]!.name, 'Zoë Ångström'.normalize('NFC'));
  });

  it('20 clients enroll the same photo into one person at once: one face, the rest duplicates', async () => {
    const p = await api('POST', '/api/v1/people', { name: 'Same Photo' });
    const id = p.body.id as number;
    const results = await Promise.all(Array.from({ length: 20 }, () => enroll(id, [photos[0]!])));
    assert.deepEqual(
      results.map((r) => r.status),
      Array(20).fill(200),
    );
    assert.equal(
      results.reduce((n, r) => n + (r.body.added as number), 0),
      1,
    );
    assert.equal(
      results.reduce((n, r) => n + (r.body.duplicates as number), 0),
      19,
    );
    assert.equal(((await api('GET', `/api/v1/people/${id}`)).body.faces as Json[]).length, 1);
  });

  it('enrollments racing deletions end consistent; a deleted person never comes back', async () => {
    const deleted: number[] = [];
    for (let round = 0; round < 8; round++) {
      const p = await api('POST', '/api/v1/people', { name: `Racer ${round}` });
      const id = p.body.id as number;
      // Deletion fired at different moments of the enrollment (before, during, after analysis).
      const enrolling = enroll(id, photos);
      await new Promise((r) => setTimeout(r, round * 60));
      const [e, d] = await Promise.all([enrolling, api('DELETE', `/api/v1/people/${id}`)]);
      assert.equal(d.status, 200, JSON.stringify(d.body));
      assert.ok(
        e.status === 200 || e.status === 404,
        `round ${round}: enrollment ${e.status} ${JSON.stringify(e.body)}`,
      );
      assert.equal(
        (await api('GET', `/api/v1/people/${id}`)).status,
        404,
        `round ${round}: the person is gone`,
      );
      deleted.push(id);
    }
    // Later enrollments into a deleted person are refused; they do not recreate anyone.
    const late = await enroll(deleted[0]!, [photos[1]!]);
    assert.equal(late.status, 404);
    const people = (await api('GET', '/api/v1/people?limit=1000')).body.people as Json[];
    assert.deepEqual(
      people.filter((x) => String(x.name).startsWith('Racer')),
      [],
    );
  });

  it('a deleted person leaves no trace in the data directory or the log; the audit log keeps the act', async () => {
    const name = 'Wilhelmina Trace-Finder';
    const p = await api('POST', '/api/v1/people', { name, note: 'likes tea' });
    const id = p.body.id as number;
    assert.equal((await enroll(id, [photos[2]!, photos[3]!])).body.added, 2);
    // The embeddings and thumbnails as stored (read while the server runs: WAL allows readers).
    const db = new Database(join(data, 'gallery.sqlite'), { readonly: true, fileMustExist: true });
    const blobs = db
      .prepare(
        'SELECT f.embedding AS e, t.bytes AS t FROM face f LEFT JOIN face_thumbnail t ON t.face_id = f.id WHERE f.person_id = ?',
      )
      .all(id) as { e: Buffer; t: Buffer | null }[];
    db.close();
    assert.equal(blobs.length, 2);
    assert.ok(
      blobs.every((b) => b.t !== null && b.t.length > 100),
      'thumbnails were kept (--keep-thumbnails)',
    );
    // Seen by identification too, so the name goes through the request path.
    const m = multipart([{ name: 'image', filename: 'x.jpg', type: 'image/jpeg', data: photos[2]! }]);
    const seen = await api('POST', '/api/v1/identify', m.payload, m.headers);
    assert.equal(((seen.body.faces as Json[])[0]!.name as string) ?? '', name);

    const del = await api('DELETE', `/api/v1/people/${id}`);
    assert.equal(del.status, 200);
    const audit = await api('GET', '/api/v1/audit?limit=1000');
    assert.equal(audit.status, 200);
    const logged = (audit.body.entries as Json[]).filter(
      (e) => e.subject_kind === 'person' && e.subject_id === id,
    );
    assert.deepEqual(logged.map((e) => e.action).sort(), ['person.create', 'person.delete', 'person.enroll']);
    assert.equal(await server.stop(), 0);

    const needles: [string, Buffer][] = [
      ['name (UTF-8)', Buffer.from(name, 'utf8')],
      ['name (UTF-16)', Buffer.from(name, 'utf16le')],
      ['note', Buffer.from('likes tea')],
      ...blobs.flatMap((b, i): [string, Buffer][] => [
        [`embedding ${i}`, b.e],
        [`embedding ${i}, first 64 bytes`, b.e.subarray(0, 64)],
        [`thumbnail ${i}`, b.t!.subarray(0, 256)],
      ]),
    ];
    const files = filesUnder(data);
    assert.ok(files.some((f) => f.endsWith('gallery.sqlite')));
    const found: string[] = [];
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const [what, needle] of needles) if (bytes.includes(needle)) found.push(`${what} in ${f}`);
    }
    const log = server.stdout() + server.stderr();
    assert.match(log, /DELETE \/api\/v1\/people\/:id 200/, 'requests were logged (by route pattern)');
    if (log.includes(name)) found.push('name in the server log');
    assert.deepEqual(found, [], 'traces of the deleted person');

    // The audit log: the enrollment and the deletion, by id, with no name or biometric data.
    const store = await SqliteStore.open({ path: join(data, 'gallery.sqlite') });
    try {
      const audit = await store.listAudit(1000);
      const mine = audit.filter((a) => a.subjectKind === 'person' && a.subjectId === id).map((a) => a.action);
      assert.deepEqual(mine.sort(), ['person.create', 'person.delete', 'person.enroll']);
      assert.ok(!JSON.stringify(audit).includes(name), 'no name in the audit log');
      const check = await store.verify();
      assert.deepEqual(check.problems, []);
      assert.equal(check.indexed, check.faces);
    } finally {
      await store.close();
    }
  });
});
