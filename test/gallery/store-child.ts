/**
 * A child process for the SQLite multi-process tests (not a test file itself):
 *
 *   node store-child.js race <db> <name> <count> <seed>
 *     ensurePerson(name) and add one face, `count` times; prints {"created": n, "added": m}.
 *   node store-child.js enroll <db> <seed> <hnswThreshold>
 *     enrolls batches of 20 faces ("batch-<b>-<i>.jpg") forever, removing the first face of every
 *     fifth batch (b mod 5 = 4), printing "batch <b>" once a batch is done, until killed.
 */
import { SqliteStore } from '../../src/gallery/index.js';
import { facesFrom, fakeSha, randomUnitVectors, rng } from './fixtures.js';

async function race(db: string, name: string, count: number, seed: number): Promise<void> {
  const store = await SqliteStore.open({ path: db });
  const m = randomUnitVectors(count, 128, rng(seed));
  let created = 0;
  let added = 0;
  for (let i = 0; i < count; i++) {
    const r = await store.ensurePerson(name);
    if (r.created) created++;
    const res = await store.addFaces(
      r.person.id,
      facesFrom(m, [i], { sha: () => fakeSha(seed * 100000 + i) }),
    );
    added += res.added.length;
  }
  await store.close();
  process.stdout.write(`${JSON.stringify({ created, added })}\n`);
}

async function enroll(db: string, seed: number, threshold: number): Promise<void> {
  const store = await SqliteStore.open({ path: db, hnswThreshold: threshold });
  const rand = rng(seed);
  for (let b = 0; ; b++) {
    const m = randomUnitVectors(20, 128, rand);
    const { person } = await store.ensurePerson(`Person ${b % 7}`);
    const rows = Array.from({ length: 20 }, (_, i) => i);
    const { added } = await store.addFaces(
      person.id,
      facesFrom(m, rows, { sha: (i) => fakeSha(b * 100 + i), sourceName: (i) => `batch-${b}-${i}.jpg` }),
    );
    if (b % 5 === 4) await store.removeFace(added[0]!.id);
    process.stdout.write(`batch ${b}\n`);
  }
}

const [mode, db, ...rest] = process.argv.slice(2);
if (mode === 'race' && db) await race(db, rest[0]!, Number(rest[1]), Number(rest[2]));
else if (mode === 'enroll' && db) await enroll(db, Number(rest[0]), Number(rest[1]));
else {
  process.stderr.write('usage: store-child.js race|enroll <db> ...\n');
  process.exit(2);
}
