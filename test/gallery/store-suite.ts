/**
 * The test suite every {@link GalleryStore} must pass, run against SQLite and Postgres by
 * `sqlite-store.test.ts` and `postgres-store.test.ts`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  ConflictError,
  type EmbeddingProvenance,
  InvalidInputError,
  NotFoundError,
  StoreError,
} from '../../src/core/index.js';
import {
  type GalleryStore,
  type NewFace,
  SqliteStore,
  type SqliteStoreOptions,
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
  TEST_PROVENANCE,
} from './fixtures.js';
import { recordsSuite } from './records-suite.js';

/** How the suite gets stores of one backend. */
export interface StoreHarness {
  /** A fresh, empty store (the database of any earlier store of this harness is discarded). */
  open(options?: { now?: () => number }): Promise<GalleryStore>;
  /** Close `store` and open the same database again. */
  reopen(store: GalleryStore): Promise<GalleryStore>;
  /** Make the database reject (with its own error) any face row whose source name is `sourceName`. */
  failInsertsNamed(store: GalleryStore, sourceName: string): Promise<void>;
  /** True when search is exact (brute-force equal); false for approximate (pgvector HNSW). */
  readonly exactSearch: boolean;
}

/**
 * The harness of a SQLite store: each `open` a fresh file in a folder from `newDir`, with
 * `extra` options (e.g. an embedding key); failures injected by a trigger.
 */
export function sqliteHarness(
  newDir: () => string,
  extra: Omit<Partial<SqliteStoreOptions>, 'path' | 'now'> = {},
): StoreHarness {
  const opened = new WeakMap<GalleryStore, SqliteStoreOptions>();
  return {
    exactSearch: true,
    async open(options) {
      const o: SqliteStoreOptions = {
        ...extra,
        path: join(newDir(), 'gallery.sqlite'),
        ...(options?.now ? { now: options.now } : {}),
      };
      const s = await SqliteStore.open(o);
      opened.set(s, o);
      return s;
    },
    async reopen(store) {
      const o = opened.get(store)!;
      await store.close();
      const s = await SqliteStore.open(o);
      opened.set(s, o);
      return s;
    },
    async failInsertsNamed(store, sourceName) {
      const raw = new Database(opened.get(store)!.path);
      raw.exec(`CREATE TRIGGER test_fail BEFORE INSERT ON face WHEN NEW.source_name = '${sourceName.replace(/'/g, "''")}'
      BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
      raw.close();
    },
  };
}

const DIMS = 128;
const OTHER: EmbeddingProvenance = { model: 'other-model@2', template: 'test-template', normalized: true };

/** Register the shared store tests for one backend. */
export function storeSuite(name: string, h: StoreHarness): void {
  recordsSuite(name, h);
  describe(`gallery store contract: ${name}`, () => {
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

    it('ensurePerson creates once; NFC/NFD spellings are one person; names are case-sensitive', async () => {
      let t = 1000;
      const s = await fresh({ now: () => t++ });
      const a = await s.ensurePerson('  Zoe\u0308 ');
      assert.equal(a.created, true);
      assert.equal(a.person.name, 'Zo\u00eb');
      assert.equal(a.person.faceCount, 0);
      assert.equal(a.person.note, null);
      assert.ok(a.person.createdAt >= 1000 && a.person.updatedAt === a.person.createdAt);
      const b = await s.ensurePerson('Zo\u00eb');
      assert.deepEqual(b, { person: a.person, created: false });
      assert.equal((await s.getPerson('Zoe\u0308')).id, a.person.id);
      assert.equal((await s.getPerson(a.person.id)).name, 'Zo\u00eb');
      const lower = await s.ensurePerson('zo\u00eb');
      assert.equal(lower.created, true);
      assert.notEqual(lower.person.id, a.person.id);
      assert.equal(await s.countPeople(), 2);
      assert.equal(await s.findPerson('Nobody'), null);
      assert.equal(await s.findPerson(999999), null);
      await assert.rejects(s.getPerson('Nobody'), NotFoundError);
      await assert.rejects(s.getPerson(424242), /No person with id 424242/);
      await assert.rejects(s.ensurePerson('  '), InvalidInputError);
      await assert.rejects(s.ensurePerson('a\u0000b'), InvalidInputError);
      await assert.rejects(s.getPerson(0), InvalidInputError);
      await assert.rejects(s.getPerson(1.5), InvalidInputError);
    });

    it('stores hostile-looking names verbatim and finds them again', async () => {
      const s = await fresh();
      const names = [
        '../../etc/passwd',
        'a/b',
        "x'); DROP TABLE person;--",
        '<img src=x onerror=alert(1)>',
        '👨‍👩‍👧‍👦',
        'محمد',
        '%_\\',
      ];
      for (const n of names) await s.ensurePerson(n);
      for (const n of names) assert.equal((await s.getPerson(n)).name, n);
      assert.equal(await s.countPeople(), names.length);
      // LIKE wildcards are not patterns: '%_\\' finds only itself.
      assert.equal(await s.findPerson('%'), null);
    });

    it('100 concurrent ensurePerson calls of one name make one person', async () => {
      const s = await fresh();
      const results = await Promise.all(Array.from({ length: 100 }, () => s.ensurePerson('Race Condition')));
      const ids = new Set(results.map((r) => r.person.id));
      assert.equal(ids.size, 1);
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.equal(await s.countPeople(), 1);
    });

    it('lists people by name in code-point order, with paging and a total', async () => {
      const s = await fresh();
      for (const n of ['b', '李', 'A', 'Émile', 'a']) await s.ensurePerson(n);
      const all = await s.listPeople();
      assert.deepEqual(
        all.people.map((p) => p.name),
        ['A', 'a', 'b', 'Émile', '李'],
      );
      assert.equal(all.total, 5);
      const page = await s.listPeople({ offset: 1, limit: 2 });
      assert.deepEqual(
        page.people.map((p) => p.name),
        ['a', 'b'],
      );
      assert.equal(page.total, 5);
      const byId = await s.listPeople({ orderBy: 'id' });
      assert.deepEqual(
        byId.people.map((p) => p.name),
        ['b', '李', 'A', 'Émile', 'a'],
      );
      await assert.rejects(s.listPeople({ limit: 0 }), InvalidInputError);
      await assert.rejects(s.listPeople({ offset: -1 }), InvalidInputError);
    });

    it('renames (conflicts and unknown people are user errors) and sets notes', async () => {
      let t = 5000;
      const s = await fresh({ now: () => t++ });
      const { person: ann } = await s.ensurePerson('Ann');
      await s.ensurePerson('Bob');
      const renamed = await s.renamePerson('Ann', 'Anne Marie');
      assert.equal(renamed.id, ann.id);
      assert.equal(renamed.name, 'Anne Marie');
      assert.ok(renamed.updatedAt > ann.updatedAt);
      assert.equal((await s.renamePerson(ann.id, 'Anne Marie')).name, 'Anne Marie');
      await assert.rejects(s.renamePerson(ann.id, ' Bob '), ConflictError);
      await assert.rejects(s.renamePerson('Nobody', 'X'), NotFoundError);
      await assert.rejects(s.renamePerson(ann.id, '\u202eevil'), InvalidInputError);
      assert.equal(await s.findPerson('Ann'), null);
      const noted = await s.setNote('Anne Marie', '  met at\nthe lab ');
      assert.equal(noted.note, 'met at\nthe lab');
      assert.equal((await s.setNote(ann.id, '   ')).note, null);
      await assert.rejects(s.setNote(777777, 'x'), NotFoundError);
    });

    it('adds faces in one batch, reports duplicates (same person, photo and model), keeps thumbnails only when given', async () => {
      const s = await fresh();
      const m = randomUnitVectors(10, DIMS, rng(5));
      const { person: p } = await s.ensurePerson('Dedupe');
      const { person: q } = await s.ensurePerson('Other');
      const first = facesFrom(m, [0, 1, 2], { sha: (r) => (r === 2 ? null : fakeSha(r + 1)) });
      const withThumb: NewFace = {
        ...first[0]!,
        thumbnail: { mime: 'image/jpeg', bytes: new Uint8Array([255, 216, 1, 2]) },
      };
      const r1 = await s.addFaces(p.id, [withThumb, first[1]!, first[2]!]);
      assert.equal(r1.added.length, 3);
      assert.deepEqual(r1.duplicates, []);
      const [f0, f1, f2] = r1.added;
      assert.ok(f0!.id < f1!.id && f1!.id < f2!.id);
      assert.equal(f0!.personId, p.id);
      assert.deepEqual(f0!.provenance, { ...TEST_PROVENANCE, dims: DIMS });
      assert.deepEqual(f0!.box, [10, 20, 110, 140]);
      assert.equal(f0!.hasThumbnail, true);
      assert.equal(f2!.sourceSha256, null);

      // Again: photo 0 (duplicate), photo 3 (new), photo 0 again in the same batch, an upper-case hash of photo 1.
      const again = facesFrom(m, [0, 3, 0]);
      const upper: NewFace = { ...facesFrom(m, [1])[0]!, sourceSha256: fakeSha(2).toUpperCase() };
      const r2 = await s.addFaces('Dedupe', [...again, upper]);
      assert.deepEqual(
        r2.added.map((f) => f.sourceSha256),
        [fakeSha(4)],
      );
      assert.deepEqual(r2.duplicates, [
        { index: 0, existingFaceId: f0!.id },
        { index: 2, existingFaceId: f0!.id },
        { index: 3, existingFaceId: f1!.id },
      ]);
      // Within one new batch, a repeated photo points at the face added earlier in the batch.
      const r3 = await s.addFaces(p.id, facesFrom(m, [5, 5]));
      assert.equal(r3.added.length, 1);
      assert.deepEqual(r3.duplicates, [{ index: 1, existingFaceId: r3.added[0]!.id }]);
      // Same photo for another person, or from another model: not duplicates.
      assert.equal((await s.addFaces(q.id, facesFrom(m, [0]))).added.length, 1);
      assert.equal((await s.addFaces(p.id, facesFrom(m, [0], { provenance: OTHER }))).added.length, 1);

      const faces = await s.listFaces(p.id);
      assert.equal(faces.length, 6);
      assert.deepEqual(
        faces.map((f) => f.id),
        [...faces.map((f) => f.id)].sort((a, b) => a - b),
      );
      assert.equal((await s.getPerson(p.id)).faceCount, 6);
      assert.deepEqual(await s.getThumbnail(f0!.id), {
        mime: 'image/jpeg',
        bytes: new Uint8Array([255, 216, 1, 2]),
      });
      assert.equal(await s.getThumbnail(f1!.id), null);
      await assert.rejects(s.getThumbnail(987654), NotFoundError);
      assert.equal(await s.countFaces(), 7);
      assert.equal(await s.countFaces(TEST_PROVENANCE), 6);
      assert.equal(await s.countFaces(OTHER), 1);
      assert.equal(await s.countFaces({ ...OTHER, model: 'never' }), 0);
      const provs = await s.listProvenances();
      assert.deepEqual(
        provs.map((x) => [x.model, x.faces, x.dims]),
        [
          [TEST_PROVENANCE.model, 6, DIMS],
          [OTHER.model, 1, DIMS],
        ],
      );
    });

    it('validates every face before writing anything', async () => {
      const s = await fresh();
      const m = randomUnitVectors(4, DIMS, rng(6));
      await s.ensurePerson('V');
      await s.addFaces('V', facesFrom(m, [0]));
      const good = facesFrom(m, [1])[0]!;
      const bad: [string, NewFace, RegExp][] = [
        [
          'dims differ from the provenance',
          { ...good, embedding: embedding(new Float32Array(64).fill(0.125)) },
          /128 values/,
        ],
        ['NaN', { ...good, embedding: embedding(new Float32Array(DIMS).fill(Number.NaN)) }, /finite values/],
        ['not unit length', { ...good, embedding: embedding(new Float32Array(DIMS).fill(1)) }, /unit-length/],
        ['box', { ...good, box: [10, 10, 5, 20] }, /x2 ≥ x1/],
        ['score', { ...good, score: 1.5 }, /score/],
        ['hash', { ...good, sourceSha256: 'abc' }, /SHA-256/],
        [
          'thumbnail type',
          { ...good, thumbnail: { mime: 'text/html', bytes: new Uint8Array(3) } },
          /image\/jpeg/,
        ],
        ['model id', { ...good, embedding: { ...good.embedding, model: '' } }, /model/],
      ];
      for (const [what, face, msg] of bad) {
        await assert.rejects(
          s.addFaces('V', [facesFrom(m, [2])[0]!, face]),
          (err: unknown) => err instanceof InvalidInputError && msg.test(err.message),
          what,
        );
      }
      assert.equal(await s.countFaces(), 1, 'nothing of the rejected batches was written');
      await assert.rejects(s.addFaces('Nobody', facesFrom(m, [3])), NotFoundError);
      await assert.rejects(s.addFaces('V', 'nope' as unknown as NewFace[]), InvalidInputError);
      assert.deepEqual(await s.addFaces('V', []), { added: [], duplicates: [] });
    });

    it('rolls back a multi-row insert that fails in the database: nothing half-written', async () => {
      const s = await fresh();
      const m = randomUnitVectors(260, DIMS, rng(7));
      await s.ensurePerson('Rollback');
      const base = (await s.addFaces('Rollback', facesFrom(m, [0, 1]))).added.map((f) => f.id);
      await h.failInsertsNamed(s, 'boom.jpg');
      const batch = facesFrom(
        m,
        Array.from({ length: 250 }, (_, i) => i + 2),
        {
          sourceName: (r) => (r === 232 ? 'boom.jpg' : `photo-${r}.jpg`),
        },
      ).map((f, i) => (i === 0 ? { ...f, thumbnail: { mime: 'image/png', bytes: new Uint8Array([1]) } } : f));
      await assert.rejects(
        s.addFaces('Rollback', batch),
        (err: unknown) => err instanceof StoreError && !(err instanceof InvalidInputError),
      );
      assert.equal(await s.countFaces(), 2);
      assert.equal((await s.listFaces('Rollback')).length, 2);
      const hits = await s.search(embedding(row(m, 100, DIMS)), 1);
      assert.ok(base.includes(hits[0]!.faceId), 'no face of the failed batch is searchable');
      assert.equal((await s.verify()).ok, true);
      // The same batch without the bad row goes in completely.
      const ok = await s.addFaces(
        'Rollback',
        batch.filter((f) => f.sourceName !== 'boom.jpg'),
      );
      assert.equal(ok.added.length, 249);
    });

    it('search returns the nearest faces with names and Euclidean distances (vs brute force)', async () => {
      const s = await fresh();
      const rand = rng(8);
      const centres = randomUnitVectors(30, DIMS, rand);
      const n = 300;
      const m = clusteredVectors(n, centres, DIMS, 0.04, rand);
      const ids: number[] = [];
      const names = new Map<number, string>();
      for (let p = 0; p < 30; p++) {
        const rows = Array.from({ length: 10 }, (_, j) => p + 30 * j);
        const { added } = await s.addFaces((await s.ensurePerson(`P${p}`)).person.id, facesFrom(m, rows));
        added.forEach((f, j) => {
          ids[rows[j]!] = f.id;
          names.set(f.id, `P${p}`);
        });
      }
      const queries = clusteredVectors(25, centres, DIMS, 0.04, rand);
      let agree = 0;
      for (let qi = 0; qi < 25; qi++) {
        const q = row(queries, qi, DIMS);
        const want = bruteForce(m, ids, DIMS, q, 5);
        const got = await s.search(embedding(q), 5);
        assert.equal(got.length, 5);
        assert.equal(got[0]!.faceId, want[0]!.id, 'nearest face');
        assert.equal(got[0]!.name, `P${qi % 30}`);
        for (let i = 1; i < got.length; i++) assert.ok(got[i]!.distance >= got[i - 1]!.distance);
        for (const g of got) {
          assert.equal(g.name, names.get(g.faceId));
          const w = want.find((x) => x.id === g.faceId);
          if (w)
            assert.ok(Math.abs(g.distance - Math.sqrt(w.d2)) < 1e-4, `${g.distance} vs ${Math.sqrt(w.d2)}`);
        }
        const gotIds = got.map((g) => g.faceId);
        if (h.exactSearch)
          assert.deepEqual(
            gotIds,
            want.map((w) => w.id),
          );
        agree += want.filter((w) => gotIds.includes(w.id)).length;
      }
      assert.ok(agree >= 0.95 * 25 * 5, `top-5 agreement ${agree}/125`);
      // maxDistance keeps only close faces; an enrolled vector finds itself at distance 0.
      const self = await s.search(embedding(row(m, 17, DIMS)), 3, { maxDistance: 1e-6 });
      assert.deepEqual(
        self.map((x) => x.faceId),
        [ids[17]],
      );
      assert.ok(self[0]!.distance < 1e-6);
      const far = await s.search(embedding(randomUnitVectors(1, DIMS, rand)), 3, { maxDistance: 0.1 });
      assert.deepEqual(far, []);
      await assert.rejects(s.search(embedding(row(m, 0, DIMS)), 0), InvalidInputError);
      await assert.rejects(s.search(embedding(row(m, 0, DIMS)), 1, { maxDistance: -1 }), InvalidInputError);
    });

    it('refuses queries from another pipeline; an empty gallery returns nothing', async () => {
      const s = await fresh();
      const m = randomUnitVectors(3, DIMS, rng(9));
      assert.deepEqual(await s.search(embedding(row(m, 0, DIMS)), 3), []);
      await s.ensurePerson('Prov');
      await s.addFaces('Prov', facesFrom(m, [0, 1]));
      await assert.rejects(
        s.search(embedding(row(m, 0, DIMS), OTHER), 3),
        (err: unknown) =>
          err instanceof InvalidInputError &&
          err.message.includes(TEST_PROVENANCE.model) &&
          err.message.includes(OTHER.model) &&
          err.message.includes('--descriptor'),
      );
      // Same model, other normalization: refused, without the hint about the descriptor model.
      await assert.rejects(
        s.search(embedding(row(m, 0, DIMS), { ...TEST_PROVENANCE, normalized: false }), 3),
        (err: unknown) => err instanceof InvalidInputError && !err.message.includes('--descriptor'),
      );
      await assert.rejects(s.search(embedding(new Float32Array(64).fill(0.125)), 3), /128 values/);
    });

    it('removes one face and whole people, with everything they own', async () => {
      const s = await fresh();
      const m = randomUnitVectors(6, DIMS, rng(10));
      const { person: a } = await s.ensurePerson('Keep');
      const { person: b } = await s.ensurePerson('Remove Me');
      const fa = (await s.addFaces(a.id, facesFrom(m, [0, 1]))).added;
      const thumbFaces = facesFrom(m, [2, 3, 4]).map((f) => ({
        ...f,
        thumbnail: { mime: 'image/webp', bytes: new Uint8Array([9, 9]) },
      }));
      const fb = (await s.addFaces(b.id, thumbFaces)).added;
      await assert.rejects(s.removeFace(fa[0]!.id, { personId: b.id }), NotFoundError);
      assert.deepEqual(await s.removeFace(fa[0]!.id, { personId: a.id }), { personId: a.id });
      await assert.rejects(s.removeFace(fa[0]!.id), NotFoundError);
      const hit = await s.search(embedding(row(m, 0, DIMS)), 1);
      assert.notEqual(hit[0]!.faceId, fa[0]!.id);
      const removed = await s.removePerson('Remove Me');
      assert.deepEqual(removed, { personId: b.id, name: 'Remove Me', faces: 3 });
      await assert.rejects(s.getPerson(b.id), NotFoundError);
      await assert.rejects(s.removePerson(b.id), NotFoundError);
      await assert.rejects(s.getThumbnail(fb[0]!.id), NotFoundError);
      assert.equal(await s.countFaces(), 1);
      const hits = await s.search(embedding(row(m, 3, DIMS)), 5);
      assert.deepEqual(
        hits.map((x) => x.faceId),
        [fa[1]!.id],
      );
      // The name is free again; a new person gets a new id.
      const again = await s.ensurePerson('Remove Me');
      assert.equal(again.created, true);
      assert.ok(again.person.id > b.id);
      assert.equal((await s.verify()).ok, true);
    });

    it('iterates embeddings exactly, in id order, in batches', async () => {
      const s = await fresh();
      const m = randomUnitVectors(23, DIMS, rng(13));
      const { person } = await s.ensurePerson('Iter');
      const { added } = await s.addFaces(
        person.id,
        facesFrom(
          m,
          Array.from({ length: 23 }, (_, i) => i),
        ),
      );
      await s.addFaces(person.id, facesFrom(m, [0], { provenance: OTHER }));
      const seen: number[] = [];
      for await (const e of s.iterateEmbeddings(TEST_PROVENANCE, { batchSize: 5 })) {
        const i = seen.length;
        seen.push(e.faceId);
        assert.equal(e.personId, person.id);
        assert.deepEqual(e.vector, row(m, i, DIMS));
      }
      assert.deepEqual(
        seen,
        added.map((f) => f.id),
      );
      let none = 0;
      for await (const _ of s.iterateEmbeddings({ ...OTHER, model: 'absent' })) none++;
      assert.equal(none, 0);
    });

    it('persists across reopen; a closed store refuses calls', async () => {
      const s1 = await fresh();
      const m = randomUnitVectors(5, DIMS, rng(14));
      const { person } = await s1.ensurePerson('Persist');
      await s1.setNote(person.id, 'note');
      const { added } = await s1.addFaces(person.id, facesFrom(m, [0, 1, 2, 3, 4]));
      const s2 = await h.reopen(s1);
      open.push(s2);
      await assert.rejects(s1.countPeople(), StoreError);
      await s1.close();
      const p = await s2.getPerson('Persist');
      assert.equal(p.note, 'note');
      assert.equal(p.faceCount, 5);
      const hit = await s2.search(embedding(row(m, 3, DIMS)), 1);
      assert.equal(hit[0]!.faceId, added[3]!.id);
      const check = await s2.verify();
      assert.deepEqual(check, { ok: true, problems: [], faces: 5, indexed: 5 });
    });
  });
}
