/**
 * The service records every store must keep (records.ts): API keys, cameras, events, unknown
 * faces and clusters, audit log. Registered by {@link storeSuite} for SQLite and Postgres.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ConflictError, InvalidInputError, NotFoundError } from '../../src/core/index.js';
import { type GalleryStore, toSqlitePlaceholders } from '../../src/gallery/index.js';
import { embedding, facesFrom, randomUnitVectors, rng, row } from './fixtures.js';
import type { StoreHarness } from './store-suite.js';

const DIMS = 128;
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const JPEG = { mime: 'image/jpeg', bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]) };

/** Register the records tests for one backend. */
export function recordsSuite(name: string, h: StoreHarness): void {
  describe(`service records: ${name}`, () => {
    let open: GalleryStore[] = [];
    const fresh = async (options?: { now?: () => number }) => {
      const s = await h.open(options);
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open) await s.close();
      open = [];
    });

    it('API keys: create, find by hash, touch, revoke (idempotent), unique names', async () => {
      let t = 5000;
      const s = await fresh({ now: () => t++ });
      assert.equal(await s.countActiveApiKeys(), 0);
      const k = await s.createApiKey({ name: ' phone ', hash: SHA_A, readOnly: true });
      assert.equal(k.name, 'phone');
      assert.equal(k.readOnly, true);
      assert.equal(k.revokedAt, null);
      await s.createApiKey({ name: 'admin', hash: SHA_B, readOnly: false });
      await assert.rejects(
        s.createApiKey({ name: 'phone', hash: 'c'.repeat(64), readOnly: false }),
        ConflictError,
      );
      await assert.rejects(s.createApiKey({ name: 'other', hash: SHA_A, readOnly: false }), ConflictError);
      await assert.rejects(s.createApiKey({ name: 'x', hash: 'nothex', readOnly: false }), InvalidInputError);
      await assert.rejects(
        s.createApiKey({ name: '  ', hash: 'd'.repeat(64), readOnly: false }),
        InvalidInputError,
      );
      assert.equal(await s.countActiveApiKeys(), 2);
      const found = await s.findApiKeyByHash(SHA_A);
      assert.equal(found?.id, k.id);
      assert.equal(await s.findApiKeyByHash('e'.repeat(64)), null);
      assert.equal(await s.findApiKeyByHash("' OR 1=1 --"), null);
      await s.touchApiKey(k.id, 123456);
      assert.equal((await s.findApiKeyByHash(SHA_A))?.lastUsedAt, 123456);
      const revoked = await s.revokeApiKey('phone');
      assert.ok(revoked.revokedAt !== null);
      const again = await s.revokeApiKey(k.id);
      assert.equal(again.revokedAt, revoked.revokedAt);
      assert.equal(await s.countActiveApiKeys(), 1);
      assert.ok((await s.findApiKeyByHash(SHA_A))?.revokedAt !== null);
      await assert.rejects(s.revokeApiKey(999), NotFoundError);
      await assert.rejects(s.revokeApiKey('nobody'), NotFoundError);
      assert.deepEqual(
        (await s.listApiKeys()).map((x) => [x.name, x.readOnly, x.revokedAt !== null]),
        [
          ['phone', true, true],
          ['admin', false, false],
        ],
      );
    });

    it('cameras: add, list, update, remove; names unique; options validated', async () => {
      const s = await fresh();
      const a = await s.addCamera({
        name: 'Front door',
        url: 'http://u:p@10.0.0.2/video',
        options: { every: 3 },
      });
      assert.deepEqual(
        [a.name, a.url, a.enabled, a.options],
        ['Front door', 'http://u:p@10.0.0.2/video', true, { every: 3 }],
      );
      const b = await s.addCamera({ name: 'Yard', url: 'rtsp://10.0.0.3/live', enabled: false });
      assert.equal(b.enabled, false);
      await assert.rejects(s.addCamera({ name: 'Yard', url: 'rtsp://x/' }), ConflictError);
      await assert.rejects(
        s.addCamera({ name: 'Bad', url: 'http://x/', options: { every: 0 } }),
        InvalidInputError,
      );
      await assert.rejects(s.addCamera({ name: 'Bad', url: 'http://x/\n-i' }), InvalidInputError);
      assert.deepEqual(
        (await s.listCameras()).map((c) => c.id),
        [a.id, b.id],
      );
      const u = await s.updateCamera(b.id, { enabled: true, options: { every: 2 }, name: 'Back yard' });
      assert.deepEqual([u.name, u.enabled, u.options], ['Back yard', true, { every: 2 }]);
      assert.deepEqual(await s.getCamera(b.id), u);
      await assert.rejects(s.updateCamera(b.id, { name: 'Front door' }), ConflictError);
      await assert.rejects(s.getCamera(999), NotFoundError);
      const removed = await s.removeCamera(a.id);
      assert.equal(removed.name, 'Front door');
      await assert.rejects(s.removeCamera(a.id), NotFoundError);
      assert.equal((await s.listCameras()).length, 1);
    });

    it('events: add with snapshot, filter, page newest first; person deletion removes theirs', async () => {
      const s = await fresh();
      const cam = await s.addCamera({ name: 'Door', url: 'http://10.0.0.2/' });
      const { person } = await s.ensurePerson('Alice');
      const { person: bob } = await s.ensurePerson('Bob');
      const ids: number[] = [];
      for (let i = 0; i < 6; i++) {
        const e = await s.addEvent({
          kind: i % 2 === 0 ? 'appeared' : 'left',
          time: 1000 + i * 100,
          cameraId: i < 4 ? cam.id : null,
          track: `1:${i}`,
          personId: i < 3 ? person.id : i === 3 ? bob.id : null,
          distance: i < 4 ? 0.2 : 0.6,
          box: [1, 2, 3, 4],
          snapshot: i === 0 ? JPEG : null,
        });
        ids.push(e.id);
      }
      const first = await s.getEvent(ids[0]!);
      assert.deepEqual(
        [first.kind, first.cameraName, first.personName, first.hasSnapshot, first.box],
        ['appeared', 'Door', 'Alice', true, [1, 2, 3, 4]],
      );
      assert.deepEqual(await s.getEventSnapshot(ids[0]!), JPEG);
      assert.equal(await s.getEventSnapshot(ids[1]!), null);
      await assert.rejects(s.getEventSnapshot(99999), NotFoundError);
      const all = await s.listEvents();
      assert.deepEqual(
        all.map((e) => e.id),
        [...ids].reverse(),
      );
      const page1 = await s.listEvents({ limit: 2 });
      const page2 = await s.listEvents({ limit: 2, before: page1[1]!.id });
      assert.deepEqual(
        [...page1, ...page2].map((e) => e.id),
        [ids[5], ids[4], ids[3], ids[2]],
      );
      assert.deepEqual(
        (await s.listEvents({ personId: person.id })).map((e) => e.id),
        [ids[2], ids[1], ids[0]],
      );
      assert.deepEqual(
        (await s.listEvents({ cameraId: cam.id, kind: 'left' })).map((e) => e.id),
        [ids[3], ids[1]],
      );
      assert.deepEqual(
        (await s.listEvents({ from: 1100, to: 1300 })).map((e) => e.id),
        [ids[2], ids[1]],
      );
      assert.deepEqual(
        (await s.listEvents({ unknown: true })).map((e) => e.id),
        [ids[5], ids[4]],
      );
      await assert.rejects(
        s.addEvent({
          kind: 'appeared',
          time: 1,
          cameraId: null,
          track: 't',
          personId: 4242,
          distance: null,
          box: null,
        }),
        NotFoundError,
      );
      await s.removePerson(person.id);
      assert.deepEqual(
        (await s.listEvents()).map((e) => e.id),
        [ids[5], ids[4], ids[3]],
      );
      await s.removeCamera(cam.id);
      const e3 = await s.getEvent(ids[3]!);
      assert.deepEqual([e3.cameraId, e3.cameraName, e3.personName], [null, null, 'Bob']);
      assert.equal(await s.purgeEvents(1500), 2);
      assert.deepEqual(
        (await s.listEvents()).map((e) => e.id),
        [ids[5]],
      );
    });

    it('unknown faces: clusters, merges, listing, thumbnails, removal with event relabel', async () => {
      const s = await fresh({ now: () => 7000 });
      const m = randomUnitVectors(6, DIMS, rng(3));
      const add = (i: number, cluster: number | 'new', merge: number[] = [], time = 100 + i) =>
        s.addUnknownFace(
          {
            embedding: embedding(row(m, i, DIMS)),
            box: [0, 0, 10 + i, 10 + i],
            score: 0.9 + i / 100,
            time,
            thumbnail: i === 1 ? JPEG : null,
          },
          { cluster, merge },
        );
      const a = await add(0, 'new');
      const b = await add(1, a.clusterId);
      assert.equal(b.clusterId, a.clusterId);
      const c = await add(2, 'new');
      assert.notEqual(c.clusterId, a.clusterId);
      const ev = await s.addEvent({
        kind: 'appeared',
        time: 50,
        cameraId: null,
        track: 'x',
        personId: null,
        clusterId: c.clusterId,
        distance: 0.9,
        box: null,
      });
      const d = await add(3, a.clusterId, [c.clusterId]);
      assert.deepEqual(d.merged, [c.clusterId]);
      assert.equal((await s.getEvent(ev.id)).clusterId, a.clusterId);
      const lone = await add(4, 9999);
      assert.notEqual(lone.clusterId, a.clusterId, 'a deleted target cluster is replaced by a new one');
      assert.equal(await s.countUnknownFaces(), 5);

      const list = await s.listUnknownClusters();
      assert.equal(list.total, 2);
      assert.deepEqual(
        list.clusters.map((x) => [x.id, x.size]),
        [
          [lone.clusterId, 1],
          [a.clusterId, 4],
        ],
      );
      const big = list.clusters[1]!;
      assert.equal(big.firstSeen, 100);
      assert.equal(big.lastSeen, 103);
      assert.deepEqual(big.cameraIds, [null]);
      assert.deepEqual(
        big.samples.map((f) => f.id),
        [d.face.id, c.face.id, b.face.id, a.face.id],
      );
      assert.equal((await s.listUnknownClusters({ minSize: 2 })).total, 1);
      const one = await s.getUnknownCluster(a.clusterId);
      assert.equal(one.faces.length, 4);
      const faces = await s.unknownClusterFaces(a.clusterId);
      assert.equal(faces.length, 4);
      assert.deepEqual(Array.from(faces[0]!.embedding.vector), Array.from(row(m, 0, DIMS)));
      assert.deepEqual(faces[1]!.thumbnail, JPEG);
      assert.deepEqual(await s.getUnknownFaceThumbnail(b.face.id), JPEG);
      assert.equal(await s.getUnknownFaceThumbnail(a.face.id), null);
      await assert.rejects(s.getUnknownFaceThumbnail(424242), NotFoundError);
      const seen: number[] = [];
      for await (const f of s.iterateUnknownFaces(embedding(row(m, 0, DIMS)))) seen.push(f.id);
      assert.equal(seen.length, 5);

      const { person } = await s.ensurePerson('Carol');
      await s.addFaces(person.id, facesFrom(m, [5]));
      assert.deepEqual(await s.removeUnknownCluster(a.clusterId, { personId: person.id }), { faces: 4 });
      assert.equal((await s.getEvent(ev.id)).personId, person.id);
      await assert.rejects(s.getUnknownCluster(a.clusterId), NotFoundError);
      await assert.rejects(s.removeUnknownCluster(a.clusterId), NotFoundError);
      assert.equal(await s.countUnknownFaces(), 1);
      assert.equal(await s.purgeUnknownFaces(1000), 1);
      assert.equal((await s.listUnknownClusters()).total, 0);
      const check = await s.verify();
      assert.equal(check.ok, true, check.problems.join('; '));
    });

    it('audit log: append and list newest first; fields validated', async () => {
      let t = 1;
      const s = await fresh({ now: () => t++ });
      await s.appendAudit({
        actor: 'key:admin',
        action: 'person.create',
        subjectKind: 'person',
        subjectId: 3,
      });
      await s.appendAudit({ action: 'key.revoke', detail: 'revoked' });
      const log = await s.listAudit();
      assert.deepEqual(
        log.map((e) => [e.action, e.actor, e.subjectId, e.detail]),
        [
          ['key.revoke', null, null, 'revoked'],
          ['person.create', 'key:admin', 3, null],
        ],
      );
      await assert.rejects(s.appendAudit({ action: '' }), InvalidInputError);
    });
  });
}

describe('toSqlitePlaceholders', () => {
  const cases: [string, unknown[], string, unknown[]][] = [
    ['SELECT $1', [5], 'SELECT ?', [5]],
    ['a = $2 AND b = $1 OR c = $2', ['x', 'y'], 'a = ? AND b = ? OR c = ?', ['y', 'x', 'y']],
    ['VALUES ($1, $10)', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'VALUES (?, ?)', [1, 10]],
  ];
  for (const [sql, params, want, wantParams] of cases) {
    it(sql, () => assert.deepEqual(toSqlitePlaceholders(sql, params), { sql: want, params: wantParams }));
  }
  it('refuses a placeholder without a parameter', () => {
    assert.throws(() => toSqlitePlaceholders('SELECT $2', [1]), RangeError);
  });
});
