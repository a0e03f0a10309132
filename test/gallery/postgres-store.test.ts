/**
 * The PostgreSQL store against a real Postgres protocol: PGlite (Postgres compiled to WASM) with
 * pgvector, served on a loopback port by pglite-socket, reached through `pg` like any server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { InvalidInputError } from '../../src/core/index.js';
import { openStore, PostgresStore, parseVector, redactUrl, vectorLiteral } from '../../src/gallery/index.js';
import { type PgliteServer, startPglite } from '../support/pglite.js';
import { embedding, facesFrom, randomUnitVectors, rng, row } from './fixtures.js';
import { storeSuite } from './store-suite.js';

const DIMS = 128;
let pglite: PgliteServer;
let db: PgliteServer['db'];
let url = '';

before(async () => {
  pglite = await startPglite('secret-pw');
  db = pglite.db;
  url = pglite.url;
});

after(() => pglite.stop());

/** Drop every table (all stores must be closed). */
async function resetDatabase(): Promise<void> {
  await db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
}

storeSuite('PostgreSQL (pglite + pgvector over the wire)', {
  exactSearch: false,
  async open(options) {
    await resetDatabase();
    return PostgresStore.open({ connectionString: url, ...(options?.now ? { now: options.now } : {}) });
  },
  async reopen(store) {
    await store.close();
    return PostgresStore.open({ connectionString: url });
  },
  async failInsertsNamed(_store, sourceName) {
    await db.exec(`
      CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.source_name = '${sourceName.replace(/'/g, "''")}' THEN RAISE EXCEPTION 'injected failure'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_fail BEFORE INSERT ON face FOR EACH ROW EXECUTE FUNCTION test_fail();`);
  },
});

describe('PostgresStore specifics', () => {
  it('vector literals round-trip float32 values exactly', () => {
    const v = randomUnitVectors(1, DIMS, rng(1));
    assert.deepEqual(parseVector(vectorLiteral(v), DIMS), v);
    assert.throws(() => parseVector('[1,2]', 3), /expected 3/);
  });

  it('redacts passwords and rejects non-Postgres URLs', () => {
    assert.equal(redactUrl('postgres://u:pw@h:5432/d'), 'postgres://u:***@h:5432/d');
    assert.equal(redactUrl('postgresql://h/d'), 'postgresql://h/d');
    assert.throws(() => redactUrl('http://h'), InvalidInputError);
  });

  it('openStore picks Postgres for a postgres:// URL; location hides the password', async () => {
    await resetDatabase();
    const s = await openStore({ dataDir: '/nonexistent-not-used', db: url });
    try {
      assert.equal(s.kind, 'postgres');
      assert.ok(!s.location.includes('secret-pw') && s.location.includes('***'));
      const versions = await db.query<{ version: number }>(
        'SELECT version FROM schema_version ORDER BY version',
      );
      assert.deepEqual(
        versions.rows.map((r) => r.version),
        [1, 2, 3],
      );
    } finally {
      await s.close();
    }
  });

  it('an unreachable server is a StoreError that does not leak the password', async () => {
    await assert.rejects(
      PostgresStore.open({ connectionString: 'postgres://u:hunter2@127.0.0.1:1/db' }),
      (e: unknown) => e instanceof Error && e.name === 'StoreError' && !e.message.includes('hunter2'),
    );
  });

  it('creates one HNSW index per provenance and the planner uses it', async () => {
    await resetDatabase();
    const s = await PostgresStore.open({ connectionString: url });
    try {
      const m = randomUnitVectors(400, DIMS, rng(2));
      const { person } = await s.ensurePerson('Indexed');
      await s.addFaces(
        person.id,
        facesFrom(
          m,
          Array.from({ length: 400 }, (_, i) => i),
        ),
      );
      const idx = await db.query<{ indexdef: string }>(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'face' AND indexname = 'face_embedding_m1'",
      );
      assert.match(
        idx.rows[0]!.indexdef,
        /USING hnsw .*vector\(128\).*vector_l2_ops.*WHERE \(model_id = 1\)/,
      );
      // With 400 rows scanning and sorting is cheaper; forbid it to see that the index serves the query.
      await db.exec(
        'ANALYZE face; SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off',
      );
      const plan = await db.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM face WHERE model_id = 1
         ORDER BY embedding::vector(128) <-> '${vectorLiteral(row(m, 0, DIMS))}'::vector(128) LIMIT 5`,
      );
      await db.exec('RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort');
      assert.ok(
        plan.rows.some((r) => r['QUERY PLAN'].includes('Index Scan using face_embedding_m1')),
        plan.rows.map((r) => r['QUERY PLAN'].slice(0, 80)).join('\n'),
      );
      // k above the default ef_search still returns k results.
      const many = await s.search(embedding(row(m, 0, DIMS)), 60);
      assert.equal(many.length, 60);
      assert.equal(many[0]!.distance < 1e-6, true);
    } finally {
      await s.close();
    }
  });

  it('two stores (two connection pools) racing ensurePerson make one person', async () => {
    await resetDatabase();
    const a = await PostgresStore.open({ connectionString: url, poolSize: 5 });
    const b = await PostgresStore.open({ connectionString: url, poolSize: 5 });
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).ensurePerson('Shared Name')),
      );
      assert.equal(new Set(results.map((r) => r.person.id)).size, 1);
      assert.equal(results.filter((r) => r.created).length, 1);
      const m = randomUnitVectors(2, DIMS, rng(3));
      const [ra, rb] = await Promise.all([
        a.addFaces('Shared Name', facesFrom(m, [0])),
        b.addFaces('Shared Name', facesFrom(m, [0])),
      ]);
      assert.equal(ra.added.length + rb.added.length, 1, 'the same photo is enrolled once');
      assert.equal(ra.duplicates.length + rb.duplicates.length, 1);
      assert.equal(await a.countFaces(), 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('pg pool sees ids, counts and times as numbers', async () => {
    await resetDatabase();
    const s = await PostgresStore.open({ connectionString: url });
    try {
      const { person } = await s.ensurePerson('Types');
      assert.equal(typeof person.id, 'number');
      assert.equal(typeof person.createdAt, 'number');
      assert.equal(typeof person.faceCount, 'number');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const r = await client.query('SELECT created_at FROM person');
      assert.equal(typeof r.rows[0].created_at, 'string', 'control: plain pg returns int8 as text');
      await client.end();
    } finally {
      await s.close();
    }
  });
});
