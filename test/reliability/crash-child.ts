/**
 * A child process for the crash tests (not a test file itself). It opens a gallery, prints
 * `ready`, then changes it in a loop until it is killed, printing one acknowledgement line per
 * change only after the store call returned (stdout is a pipe, written synchronously on Linux, so
 * a printed acknowledgement reaches the parent even when the process dies right after):
 *
 *   node crash-child.js enroll <sqlite-path|postgres-url> <seed> <hnswThreshold>
 *     batches of 5 faces named `e-<seed>-<b>-<i>.jpg` for person `Crash <b mod 6>`; prints `ack e <b>`.
 *   node crash-child.js delete <sqlite-path|postgres-url> <seed>
 *     removes the oldest person (`ack p <id>`), and every third step one face of the newest
 *     person when they have two or more (`ack f <faceId>`), until nobody is left (then prints
 *     `empty` and waits).
 */
import { type GalleryStore, PostgresStore, SqliteStore } from '../../src/gallery/index.js';
import { facesFrom, fakeSha, randomUnitVectors, rng } from '../gallery/fixtures.js';

/** Faces per enrollment batch (crash.test.ts expects 5). */
const BATCH = 5;

async function open(where: string, threshold: number): Promise<GalleryStore> {
  return /^postgres/.test(where)
    ? PostgresStore.open({ connectionString: where, poolSize: 2 })
    : SqliteStore.open({ path: where, hnswThreshold: threshold });
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function enroll(store: GalleryStore, seed: number): Promise<void> {
  const rand = rng(seed);
  say('ready');
  for (let b = 0; ; b++) {
    const m = randomUnitVectors(BATCH, 128, rand);
    const { person } = await store.ensurePerson(`Crash ${b % 6}`);
    await store.addFaces(
      person.id,
      facesFrom(
        m,
        Array.from({ length: BATCH }, (_, i) => i),
        { sha: (i) => fakeSha(seed * 1e6 + b * 100 + i), sourceName: (i) => `e-${seed}-${b}-${i}.jpg` },
      ),
    );
    say(`ack e ${b}`);
  }
}

async function remove(store: GalleryStore): Promise<void> {
  say('ready');
  for (let step = 0; ; step++) {
    const oldest = (await store.listPeople({ orderBy: 'id', limit: 1 })).people[0];
    if (!oldest) {
      say('empty');
      setInterval(() => {}, 60_000); // stay alive until killed
      await new Promise(() => {});
    }
    if (step % 3 === 2) {
      const total = (await store.listPeople({ orderBy: 'id', limit: 1 })).total;
      const newest = (await store.listPeople({ orderBy: 'id', limit: 1, offset: total - 1 })).people[0];
      const faces = newest ? await store.listFaces(newest.id) : [];
      if (faces.length >= 2) {
        await store.removeFace(faces[0]!.id);
        say(`ack f ${faces[0]!.id}`);
        continue;
      }
    }
    await store.removePerson(oldest!.id);
    say(`ack p ${oldest!.id}`);
  }
}

const [mode, where, seedText, thresholdText] = process.argv.slice(2);
if ((mode === 'enroll' || mode === 'delete') && where) {
  const store = await open(where, Number(thresholdText ?? 20000));
  if (mode === 'enroll') await enroll(store, Number(seedText));
  else await remove(store);
} else {
  process.stderr.write('usage: crash-child.js enroll|delete <db> <seed> [threshold]\n');
  process.exit(2);
}
