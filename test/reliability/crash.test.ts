/**
 * Crash safety: a child process enrolls or deletes in a loop and is killed with SIGKILL at a
 * random moment, again and again on the same gallery. After every kill the gallery is reopened
 * and must be whole: `integrity_check` ok and `foreign_key_check` empty (store.verify), every
 * acknowledged enrollment complete, the one in flight complete or absent, every acknowledged
 * deletion gone for good (also from search), and the vector index holding exactly the face rows.
 *
 * PostgreSQL: what can crash there is the facerec process, the database's client. The child is
 * killed the same way while pglite (a real Postgres in WASM, in this process) serves it over the
 * wire; the server must roll the dead connection's transaction back. Killing the database server
 * itself tests Postgres's own durability, not facerec's (and pglite keeps its data in memory), so
 * that is not done here. Fewer kills than on SQLite: pglite is slow to start a client.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type GalleryStore, PostgresStore, SqliteStore } from '../../src/gallery/index.js';
import { embedding, facesFrom, fakeSha, randomUnitVectors, rng, row } from '../gallery/fixtures.js';
import { type PgliteServer, startPglite } from '../support/pglite.js';

const childScript = join(import.meta.dirname, 'crash-child.js');
/** Kills per scenario: 50 on SQLite (the figure), fewer on pglite (see the module comment). */
const SQLITE_KILLS = 50;
const PG_KILLS = 12;
/** Faces per enrollment batch of the child (crash-child.ts). */
const BATCH = 5;

interface KilledRun {
  /** Acknowledgement lines (`ack e 3`, `ack p 12`, `ack f 40`). */
  readonly acks: string[];
}

/** Start the child, wait for `ready`, let it work `delayMs`, SIGKILL it, collect what it printed. */
function killAfter(args: readonly string[], delayMs: number): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (timer === undefined && /^ready$/m.test(out)) {
        timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') {
        reject(new Error(`the child ended by itself (${code ?? signal}): ${err.slice(0, 2000)}`));
        return;
      }
      resolve({ acks: out.split('\n').filter((l) => l.startsWith('ack ')) });
    });
  });
}

/** Every face's source name → person id, and people with their face counts. */
async function snapshot(
  store: GalleryStore,
): Promise<{ sources: Map<string, number>; people: Map<number, number> }> {
  const sources = new Map<string, number>();
  const people = new Map<number, number>();
  for (let offset = 0; ; offset += 1000) {
    const page = await store.listPeople({ orderBy: 'id', offset, limit: 1000 });
    for (const p of page.people) {
      people.set(p.id, p.faceCount);
      for (const f of await store.listFaces(p.id)) sources.set(f.sourceName ?? '', p.id);
    }
    if (page.people.length < 1000) break;
  }
  return { sources, people };
}

interface Backend {
  /** What the child opens. */
  readonly where: string;
  open(): Promise<GalleryStore>;
  /** Extra consistency checks of the raw database (orphans); [] when consistent. */
  rawProblems(): Promise<string[]>;
}

/** Run `kills` enrollment kills against one gallery and check it after each. */
async function enrollmentKills(
  b: Backend,
  kills: number,
  threshold: number,
  maxDelayMs: number,
): Promise<void> {
  const rand = rng(61);
  let acked = 0;
  let inFlightWhole = 0;
  for (let run = 1; run <= kills; run++) {
    const seed = run;
    const { acks } = await killAfter(
      ['enroll', b.where, String(seed), String(threshold)],
      rand() * maxDelayMs,
    );
    const done = acks.map((l) => Number(l.split(' ')[2]));
    acked += done.length;
    const store = await b.open();
    try {
      const check = await store.verify();
      assert.deepEqual(check.problems, [], `run ${run}: the store verifies`);
      assert.equal(check.indexed, check.faces, `run ${run}: the index holds every face row`);
      assert.deepEqual(await b.rawProblems(), [], `run ${run}`);
      const { sources } = await snapshot(store);
      const perBatch = new Map<number, number>();
      for (const name of sources.keys()) {
        const m = /^e-(\d+)-(\d+)-\d+\.jpg$/.exec(name);
        if (m && Number(m[1]) === seed) perBatch.set(Number(m[2]), (perBatch.get(Number(m[2])) ?? 0) + 1);
      }
      for (const batch of done)
        assert.equal(perBatch.get(batch), BATCH, `run ${run}: acknowledged batch ${batch}`);
      const next = done.length;
      const inFlight = perBatch.get(next) ?? 0;
      assert.ok(inFlight === 0 || inFlight === BATCH, `run ${run}: batch in flight has ${inFlight} faces`);
      if (inFlight === BATCH) inFlightWhole++;
      assert.deepEqual(
        [...perBatch.keys()].filter((x) => x > next),
        [],
        `run ${run}: nothing after the batch in flight`,
      );
    } finally {
      await store.close();
    }
  }
  assert.ok(acked > kills, `the children got work done before being killed (${acked} batches)`);
  // Not asserted (timing-dependent), but shows whether kills landed inside transactions.
  process.stderr.write(
    `  ${kills} kills: ${acked} acknowledged batches, ${inFlightWhole} committed but unacknowledged\n`,
  );
}

/** Run `kills` deletion kills against one gallery (topped up with people between runs). */
async function deletionKills(b: Backend, kills: number, maxDelayMs: number): Promise<void> {
  const rand = rng(62);
  const vectors = new Map<number, Float32Array[]>(); // person id → their face vectors
  const gonePeople = new Set<number>();
  const goneFaces = new Set<number>();
  let next = 0;
  let acked = 0;
  const topUp = async () => {
    const store = await b.open();
    try {
      while ((await store.countPeople()) < 60) {
        const m = randomUnitVectors(2, 128, rand);
        const { person } = await store.ensurePerson(`Deletable ${next}`);
        await store.addFaces(person.id, facesFrom(m, [0, 1], { sha: (i) => fakeSha(5e8 + next * 10 + i) }));
        vectors.set(person.id, [row(m, 0, 128), row(m, 1, 128)]);
        next++;
      }
    } finally {
      await store.close();
    }
  };
  for (let run = 1; run <= kills; run++) {
    await topUp();
    const { acks } = await killAfter(['delete', b.where, String(run)], rand() * maxDelayMs);
    for (const l of acks) {
      const [, kind, id] = l.split(' ');
      (kind === 'p' ? gonePeople : goneFaces).add(Number(id));
    }
    acked += acks.length;
    const store = await b.open();
    try {
      const check = await store.verify();
      assert.deepEqual(check.problems, [], `run ${run}: the store verifies`);
      assert.equal(check.indexed, check.faces, `run ${run}: the index holds every face row`);
      assert.deepEqual(await b.rawProblems(), [], `run ${run}`);
      const { people } = await snapshot(store);
      for (const id of gonePeople)
        assert.equal(people.has(id), false, `run ${run}: deleted person ${id} came back`);
      for (const [id, faces] of people) {
        assert.ok(faces === 1 || faces === 2, `run ${run}: person ${id} has ${faces} faces (half-deleted?)`);
        for (const f of await store.listFaces(id))
          assert.equal(goneFaces.has(f.id), false, `face ${f.id} came back`);
      }
      // Deleted people are not found by search either.
      for (const id of [...gonePeople].slice(-5)) {
        for (const v of vectors.get(id) ?? []) {
          const hit = (await store.search(embedding(v), 1))[0];
          assert.ok(
            !hit || hit.distance > 1e-4,
            `run ${run}: a deleted face of person ${id} is still searchable`,
          );
        }
      }
    } finally {
      await store.close();
    }
  }
  assert.ok(acked > kills, `the children got work done before being killed (${acked} deletions)`);
}

describe('crash safety: SIGKILL during enrollment and deletion (SQLite)', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'facerec-crash-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const backend = (file: string, threshold: number): Backend => ({
    where: join(dir, file),
    open: () => SqliteStore.open({ path: join(dir, file), hnswThreshold: threshold }),
    rawProblems: async () => [],
  });

  it(`${SQLITE_KILLS} kills during enrollment (exact index, then HNSW saved beside the database)`, async () => {
    await enrollmentKills(backend('enroll.sqlite', 40), SQLITE_KILLS, 40, 80);
  });

  it(`${SQLITE_KILLS} kills during deletion: no acknowledged deletion ever comes back`, async () => {
    await deletionKills(backend('delete.sqlite', 20), SQLITE_KILLS, 80);
  });
});

describe('crash safety: the facerec process killed mid-transaction (PostgreSQL, pglite over the wire)', () => {
  let pglite: PgliteServer | undefined;
  let db: PgliteServer['db'];
  let url = '';
  before(async () => {
    pglite = await startPglite('pw');
    db = pglite.db;
    url = pglite.url;
  });
  after(() => pglite?.stop());
  const backend = (): Backend => ({
    where: url,
    open: () => PostgresStore.open({ connectionString: url, poolSize: 2 }),
    async rawProblems() {
      const r = await db.query<{ what: string; n: number }>(
        `SELECT 'faces without person' AS what, count(*)::int AS n FROM face f WHERE NOT EXISTS (SELECT 1 FROM person p WHERE p.id = f.person_id)
         UNION ALL SELECT 'thumbnails without face', count(*)::int FROM face_thumbnail t WHERE NOT EXISTS (SELECT 1 FROM face f WHERE f.id = t.face_id)`,
      );
      return r.rows.filter((x) => x.n > 0).map((x) => `${x.what}: ${x.n}`);
    },
  });

  it(`${PG_KILLS} kills during enrollment`, async () => {
    await enrollmentKills(backend(), PG_KILLS, 20000, 300);
  });

  it(`${PG_KILLS} kills during deletion`, async () => {
    await db.exec('DELETE FROM person');
    await deletionKills(backend(), PG_KILLS, 300);
  });
});
