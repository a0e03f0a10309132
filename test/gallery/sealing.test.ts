/**
 * Encryption of embeddings at rest: the sealing primitive (table-driven), and the SQLite gallery
 * with a key — no file of the gallery holds an embedding's bytes, search is unchanged, a missing,
 * wrong or malformed key is refused clearly, tampering is detected, and a plaintext gallery opened
 * with a key is encrypted in place with its plaintext copies scrubbed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ConfigError, StoreError } from '../../src/core/index.js';
import {
  EMBEDDING_KEY_ENV,
  EmbeddingSealer,
  encodeVector,
  type GalleryStore,
  type IndexEvent,
  openStore,
  PostgresStore,
  parseEmbeddingKey,
  rowPurpose,
  SEAL_OVERHEAD,
  SqliteStore,
} from '../../src/gallery/index.js';
import {
  bruteForce,
  clusteredVectors,
  embedding,
  facesFrom,
  randomUnitVectors,
  rng,
  row,
} from './fixtures.js';
import { sqliteHarness, storeSuite } from './store-suite.js';

const DIMS = 128;
/** A test key (hex) and another one; never a real secret. */
const KEY = createHash('sha256').update('facerec test key 1').digest('hex');
const OTHER_KEY = createHash('sha256').update('facerec test key 2').digest('hex');
const KEY_BYTES = Buffer.from(KEY, 'hex');

const root = mkdtempSync(join(tmpdir(), 'facerec-sealing-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const newDir = () => join(root, `g${++dirCount}`);

/** True when /dev/shm is a tmpfs (then sealed HNSW files are saved by default). */
function shmInRam(): boolean {
  try {
    return statfsSync('/dev/shm').type === 0x01021994;
  } catch {
    return false;
  }
}

/** The files of a folder that contain any of the patterns. */
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

/** A ConfigError whose message matches and never contains a key's text. */
function configError(re: RegExp, ...secrets: string[]): (e: unknown) => boolean {
  return (e: unknown) =>
    e instanceof ConfigError &&
    re.test(e.message) &&
    secrets.every((s) => s === '' || !e.message.includes(s));
}

describe('parseEmbeddingKey', () => {
  const b64 = KEY_BYTES.toString('base64');
  const b64url = KEY_BYTES.toString('base64url');
  const accepted: { name: string; text: string }[] = [
    { name: 'hex, lower case', text: KEY },
    { name: 'hex, upper case', text: KEY.toUpperCase() },
    { name: 'base64 with padding', text: b64 },
    { name: 'base64 without padding', text: b64.replace(/=$/, '') },
    { name: 'base64url', text: b64url },
    { name: 'surrounded by white space and a newline', text: `  ${KEY}\n` },
  ];
  for (const c of accepted) {
    it(`accepts ${c.name}`, () => {
      assert.deepEqual(parseEmbeddingKey(c.text), KEY_BYTES);
    });
  }

  for (const text of [undefined, null, '', '   \n']) {
    it(`treats ${JSON.stringify(text)} as "no key"`, () => {
      assert.equal(parseEmbeddingKey(text), null);
      assert.equal(EmbeddingSealer.fromText(text), null);
    });
  }

  const rejected: { name: string; text: string }[] = [
    { name: '63 hex digits', text: KEY.slice(1) },
    { name: '66 hex digits', text: `${KEY}ab` },
    { name: 'hex with a non-hex digit', text: `${KEY.slice(0, 63)}g` },
    { name: 'base64 of 31 bytes', text: KEY_BYTES.subarray(1).toString('base64') },
    { name: 'base64 of 33 bytes', text: Buffer.concat([KEY_BYTES, Buffer.from([1])]).toString('base64') },
    { name: 'a passphrase', text: 'correct horse battery staple' },
    { name: 'a placeholder of one repeated byte', text: '0'.repeat(64) },
  ];
  for (const c of rejected) {
    it(`rejects ${c.name} with a ConfigError that names ${EMBEDDING_KEY_ENV} and not the value`, () => {
      assert.throws(
        () => parseEmbeddingKey(c.text),
        configError(/FACEREC_EMBEDDING_KEY must be 32 random bytes.*64 hexadecimal digits.*base64/, c.text),
      );
      assert.throws(() => EmbeddingSealer.fromText(c.text), ConfigError);
    });
  }

  it('rejects a key of the wrong length given as bytes', () => {
    assert.throws(() => new EmbeddingSealer(new Uint8Array(16)), configError(/FACEREC_EMBEDDING_KEY/));
  });
});

describe('EmbeddingSealer', () => {
  const sealer = new EmbeddingSealer(KEY_BYTES);
  const other = EmbeddingSealer.fromText(OTHER_KEY)!;

  for (const n of [0, 4, 512, 16 * 4096, 1 << 20]) {
    it(`round-trips ${n} bytes; the sealed value is ${SEAL_OVERHEAD} bytes longer, fresh each time`, () => {
      const plain = new Uint8Array(n);
      for (let i = 0; i < n; i++) plain[i] = (i * 31 + 7) & 0xff;
      const a = sealer.seal(plain, rowPurpose('face', 12));
      const b = sealer.seal(plain, rowPurpose('face', 12));
      assert.equal(a.length, n + SEAL_OVERHEAD);
      assert.equal(a.length % 4, n % 4, 'a sealed float32 vector stays a multiple of 4 bytes');
      assert.equal(a[0], 1, 'version byte');
      assert.notDeepEqual(a.subarray(4, 16), b.subarray(4, 16), 'random IV per value');
      if (n >= 16) assert.equal(a.indexOf(Buffer.from(plain.subarray(0, 16))), -1, 'no plaintext inside');
      assert.deepEqual(new Uint8Array(sealer.open(a, rowPurpose('face', 12))), plain);
      assert.deepEqual(new Uint8Array(sealer.open(b, rowPurpose('face', 12))), plain);
    });
  }

  const plain = encodeVector(randomUnitVectors(1, DIMS, rng(1)));
  const sealed = sealer.seal(plain, rowPurpose('face', 5));
  const fails: { name: string; value: () => Uint8Array; purpose?: string; by?: EmbeddingSealer }[] = [
    { name: 'another key', value: () => sealed, by: other },
    { name: 'another row (the value was copied)', value: () => sealed, purpose: rowPurpose('face', 6) },
    { name: 'another table', value: () => sealed, purpose: rowPurpose('unknown_face', 5) },
    { name: 'a flipped header byte', value: () => flip(sealed, 2) },
    { name: 'a flipped IV byte', value: () => flip(sealed, 9) },
    { name: 'a flipped ciphertext byte', value: () => flip(sealed, 100) },
    { name: 'a flipped tag byte', value: () => flip(sealed, sealed.length - 1) },
    { name: 'a truncated value', value: () => sealed.subarray(0, sealed.length - 4) },
    { name: 'a value shorter than the overhead', value: () => sealed.subarray(0, 20) },
    { name: 'a plaintext vector', value: () => plain },
  ];
  for (const c of fails) {
    it(`refuses to open ${c.name} (StoreError)`, () => {
      assert.throws(
        () => (c.by ?? sealer).open(c.value(), c.purpose ?? rowPurpose('face', 5)),
        (e: unknown) =>
          e instanceof StoreError &&
          /integrity check|not sealed in a format/.test(e.message) &&
          !e.message.includes(KEY),
      );
    });
  }

  it('has a check value that identifies the key without revealing it', () => {
    assert.match(sealer.checkValue, /^[0-9a-f]{64}$/);
    assert.notEqual(sealer.checkValue, KEY);
    assert.equal(EmbeddingSealer.fromText(KEY_BYTES.toString('base64'))!.checkValue, sealer.checkValue);
    assert.notEqual(other.checkValue, sealer.checkValue);
    assert.equal(sealer.matches(sealer.checkValue), true);
    assert.equal(sealer.matches(other.checkValue), false);
    assert.equal(sealer.matches('not hex'), false);
  });
});

function flip(b: Uint8Array, i: number): Buffer {
  const c = Buffer.from(b);
  c[i] = c[i]! ^ 0x01;
  return c;
}

// The whole store contract and records suite, encrypted.
storeSuite('SQLite, encrypted', sqliteHarness(newDir, { embeddingKey: KEY }));

describe('SqliteStore with an embedding key', () => {
  const rand = rng(70);
  const centres = randomUnitVectors(10, DIMS, rand);
  const m = clusteredVectors(80, centres, DIMS, 0.04, rand);
  const queries = clusteredVectors(20, centres, DIMS, 0.04, rng(71));
  const patterns = Array.from({ length: 80 }, (_, r) => encodeVector(row(m, r, DIMS)));
  const unknown = randomUnitVectors(4, DIMS, rng(72));
  const unknownPatterns = Array.from({ length: 4 }, (_, r) => encodeVector(row(unknown, r, DIMS)));

  /** Enroll rows [from, to) (10 people), plus the 4 unknown faces in two clusters. */
  async function fill(s: GalleryStore, from = 0, to = 80): Promise<number[]> {
    const ids: number[] = [];
    for (let r = from; r < to; r += 10) {
      const rows = Array.from({ length: Math.min(10, to - r) }, (_, i) => r + i);
      for (const i of rows) {
        const { person } = await s.ensurePerson(`Person ${i % 10}`);
        ids.push((await s.addFaces(person.id, facesFrom(m, [i]))).added[0]!.id);
      }
    }
    // Unknown faces 0, 1 and 3 in one cluster, 2 alone.
    let first: number | 'new' = 'new';
    for (let i = 0; i < 4; i++) {
      const added = await s.addUnknownFace(
        { embedding: embedding(row(unknown, i, DIMS)), box: [0, 0, 10, 10], score: 0.9, time: 100 + i },
        { cluster: i === 2 ? 'new' : first },
      );
      if (i === 0) first = added.clusterId;
    }
    return ids;
  }

  async function hits(s: GalleryStore, k = 3): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let q = 0; q < 20; q++) out.push(await s.search(embedding(row(queries, q, DIMS)), k));
    return out;
  }

  it('no file of the gallery (database, WAL, SHM, index) holds an embedding; search equals the plaintext gallery', async () => {
    const plainDir = newDir();
    const sealedDir = newDir();
    const plain = await SqliteStore.open({ path: join(plainDir, 'gallery.sqlite') });
    const sealed = await SqliteStore.open({ path: join(sealedDir, 'gallery.sqlite'), embeddingKey: KEY });
    await fill(plain);
    await fill(sealed);
    // Control: the scan sees the bytes of a plaintext gallery.
    assert.ok(filesContaining(plainDir, patterns).length > 0, 'control: plaintext gallery holds embeddings');
    assert.ok(filesContaining(plainDir, unknownPatterns).length > 0, 'control: and unknown faces');
    assert.deepEqual(await hits(sealed), await hits(plain), 'same hits, names and distances');
    assert.deepEqual(filesContaining(sealedDir, [...patterns, ...unknownPatterns]), [], 'while open');
    // Embeddings read back exactly.
    const back: Float32Array[] = [];
    for await (const e of sealed.iterateEmbeddings(embedding(row(m, 0, DIMS)))) back.push(e.vector);
    assert.equal(back.length, 80);
    assert.deepEqual(back[17], row(m, 17, DIMS));
    const cluster = (await sealed.listUnknownClusters()).clusters.find((c) => c.size === 3)!;
    const faces = await sealed.unknownClusterFaces(cluster.id);
    assert.deepEqual(
      faces.map((f) => f.embedding.vector),
      [row(unknown, 0, DIMS), row(unknown, 1, DIMS), row(unknown, 3, DIMS)],
    );
    const iterated: Float32Array[] = [];
    for await (const f of sealed.iterateUnknownFaces(embedding(row(m, 0, DIMS))))
      iterated.push(f.embedding.vector);
    assert.equal(iterated.length, 4);
    assert.deepEqual(iterated[3], row(unknown, 3, DIMS));
    // Deleting still scrubs names.
    await sealed.removePerson('Person 3');
    assert.deepEqual(filesContaining(sealedDir, [Buffer.from('Person 3')]), []);
    assert.equal((await sealed.verify()).ok, true);
    await plain.close();
    await sealed.close();
    assert.deepEqual(filesContaining(sealedDir, [...patterns, ...unknownPatterns]), [], 'after closing');
    const raw = new Database(join(sealedDir, 'gallery.sqlite'), { readonly: true });
    const lengths = raw.prepare('SELECT DISTINCT length(embedding) FROM face').pluck().all();
    assert.deepEqual(lengths, [DIMS * 4 + SEAL_OVERHEAD]);
    const setting = JSON.parse(
      raw
        .prepare("SELECT value FROM gallery_setting WHERE name = 'embedding_sealing'")
        .pluck()
        .get() as string,
    ) as { keyCheck: string; cipher: string };
    assert.equal(setting.cipher, 'aes-256-gcm');
    assert.ok(!JSON.stringify(setting).includes(KEY));
    raw.close();
  });

  it('reopens with the key; refuses a missing, wrong or malformed key clearly', async () => {
    const dir = newDir();
    const path = join(dir, 'gallery.sqlite');
    const s = await SqliteStore.open({ path, embeddingKey: KEY });
    await fill(s, 0, 20);
    const before = await hits(s);
    await s.close();
    await assert.rejects(
      SqliteStore.open({ path }),
      configError(/encrypted: set FACEREC_EMBEDDING_KEY to the key they were encrypted with/),
    );
    await assert.rejects(
      openStore({ dataDir: dir, embeddingKey: '  ' }),
      configError(/set FACEREC_EMBEDDING_KEY/),
    );
    await assert.rejects(
      SqliteStore.open({ path, embeddingKey: OTHER_KEY }),
      configError(
        /FACEREC_EMBEDDING_KEY is not the key this gallery's embeddings were encrypted with/,
        OTHER_KEY,
        KEY,
      ),
    );
    await assert.rejects(
      SqliteStore.open({ path, embeddingKey: KEY.slice(2) }),
      configError(/FACEREC_EMBEDDING_KEY must be/, KEY.slice(2)),
    );
    const again = await openStore({ dataDir: dir, embeddingKey: KEY_BYTES.toString('base64url') });
    assert.deepEqual(await hits(again), before);
    await again.close();
  });

  it('detects a tampered or swapped embedding (search and reads fail, verify reports it)', async () => {
    const dir = newDir();
    const path = join(dir, 'gallery.sqlite');
    let s = await SqliteStore.open({ path, embeddingKey: KEY });
    const ids = await fill(s, 0, 20);
    await s.close();
    const raw = new Database(path);
    const blob = raw.prepare('SELECT embedding FROM face WHERE id = ?').pluck().get(ids[3]) as Buffer;
    raw.prepare('UPDATE face SET embedding = ? WHERE id = ?').run(flip(blob, 200), ids[3]);
    raw.close();
    s = await SqliteStore.open({ path, embeddingKey: KEY });
    const integrity = (e: unknown) =>
      e instanceof StoreError && new RegExp(`face/${ids[3]} failed its integrity check`).test(e.message);
    await assert.rejects(s.search(embedding(row(m, 0, DIMS)), 1), integrity);
    await assert.rejects(s.removeFace(ids[3]!), integrity);
    const check = await s.verify();
    assert.equal(check.ok, false);
    assert.ok(check.problems.some((p) => p.includes('integrity check')));
    await s.close();

    // A sealed value copied onto another row does not open there.
    const raw2 = new Database(path);
    const good = raw2.prepare('SELECT embedding FROM face WHERE id = ?').pluck().get(ids[5]) as Buffer;
    raw2.prepare('UPDATE face SET embedding = ? WHERE id = ?').run(good, ids[3]);
    const u = raw2.prepare('SELECT id, embedding FROM unknown_face ORDER BY id').all() as {
      id: number;
      embedding: Buffer;
    }[];
    raw2.prepare('UPDATE unknown_face SET embedding = ? WHERE id = ?').run(u[0]!.embedding, u[1]!.id);
    raw2.close();
    s = await SqliteStore.open({ path, embeddingKey: KEY });
    await assert.rejects(s.search(embedding(row(m, 0, DIMS)), 1), integrity);
    const cluster = (await s.listUnknownClusters()).clusters.find((c) => c.size === 3)!;
    await assert.rejects(
      s.unknownClusterFaces(cluster.id),
      (e: unknown) =>
        e instanceof StoreError && /unknown_face\/\d+ failed its integrity check/.test(e.message),
    );
    await s.close();
  });

  it('encrypts an existing plaintext gallery in place and scrubs every plaintext copy', async () => {
    const dir = newDir();
    const path = join(dir, 'gallery.sqlite');
    const ev = events();
    // HNSW above 40 faces, so a plaintext index file is saved beside the database.
    let s = await SqliteStore.open({ path, hnswThreshold: 40 });
    const ids = await fill(s);
    await s.removeFace(ids[0]!);
    const before = await hits(s);
    await s.close();
    const kept = patterns.slice(1);
    assert.ok(filesContaining(dir, kept).length > 0, 'control: plaintext embeddings in the files');
    assert.ok(
      readdirSync(dir).some((f) => f.endsWith('.usearch')),
      'control: a plaintext HNSW index was saved',
    );

    s = await SqliteStore.open({ path, hnswThreshold: 40, embeddingKey: KEY, onIndexEvent: ev.hook });
    assert.deepEqual(
      filesContaining(dir, [...kept, ...unknownPatterns]),
      [],
      'no plaintext left after the upgrade',
    );
    assert.deepEqual(await hits(s), before, 'same results after encryption');
    assert.deepEqual((await s.verify()).problems, []);
    const cluster = (await s.listUnknownClusters()).clusters.find((c) => c.size === 3)!;
    assert.deepEqual(
      (await s.unknownClusterFaces(cluster.id)).map((f) => f.embedding.vector),
      [row(unknown, 0, DIMS), row(unknown, 1, DIMS), row(unknown, 3, DIMS)],
    );
    assert.equal(
      ev.list.find((e) => e.action === 'built')?.reason,
      'no saved index',
      'the plaintext index was discarded, not loaded',
    );
    await s.close();
    assert.deepEqual(filesContaining(dir, [...kept, ...unknownPatterns]), [], 'nor after closing');
    if (shmInRam()) {
      assert.ok(
        readdirSync(dir).some((f) => f.endsWith('.usearch')),
        'a sealed index was saved',
      );
      const ev2 = events();
      s = await SqliteStore.open({ path, hnswThreshold: 40, embeddingKey: KEY, onIndexEvent: ev2.hook });
      assert.deepEqual(await hits(s), before);
      assert.deepEqual(
        ev2.list.map((e) => e.action),
        ['loaded'],
        'the sealed index is loaded, not rebuilt',
      );
      await s.close();
      assert.deepEqual(
        readdirSync('/dev/shm').filter((f) => f.startsWith(`facerec-index-${process.pid}-`)),
        [],
        'nothing left in the RAM folder',
      );
      // An altered sealed index fails its tag: it is rebuilt from the database, not trusted.
      const indexFile = join(dir, readdirSync(dir).find((f) => f.endsWith('.usearch'))!);
      writeFileSync(indexFile, flip(readFileSync(indexFile), 1000));
      const ev3 = events();
      s = await SqliteStore.open({ path, hnswThreshold: 40, embeddingKey: KEY, onIndexEvent: ev3.hook });
      assert.deepEqual(await hits(s), before);
      assert.match(ev3.list.find((e) => e.action === 'built')?.reason ?? '', /integrity check/);
      await s.close();
    }
    await assert.rejects(SqliteStore.open({ path }), ConfigError);
  });

  it('without a RAM folder the HNSW index of an encrypted gallery is never saved, and is rebuilt at open', async () => {
    const dir = newDir();
    const path = join(dir, 'gallery.sqlite');
    const opts = { path, hnswThreshold: 40, embeddingKey: KEY, ramDir: null };
    let s = await SqliteStore.open(opts);
    const ids = await fill(s);
    let agree = 0;
    for (let q = 0; q < 20; q++) {
      const want = bruteForce(m, ids, DIMS, row(queries, q, DIMS), 1)[0]!.id;
      if ((await s.search(embedding(row(queries, q, DIMS)), 1))[0]!.faceId === want) agree++;
    }
    assert.ok(agree >= 19, `HNSW agrees with brute force in ${agree}/20`);
    await s.close();
    assert.ok(!readdirSync(dir).some((f) => f.includes('.usearch')), 'no index file');
    assert.deepEqual(filesContaining(dir, patterns), []);
    const ev = events();
    s = await SqliteStore.open({ ...opts, onIndexEvent: ev.hook });
    await s.search(embedding(row(queries, 0, DIMS)), 1);
    assert.deepEqual(
      ev.list.map((e) => [e.action, e.kind, e.reason]),
      [['built', 'hnsw', 'encrypted gallery without a RAM folder: the index is not saved']],
    );
    await s.close();
  });

  it('a ramDir that is not in memory is refused', async (t) => {
    if (statfsSync(root).type === 0x01021994) {
      t.skip(`${root} is itself a tmpfs`);
      return;
    }
    await assert.rejects(
      SqliteStore.open({ path: join(newDir(), 'gallery.sqlite'), embeddingKey: KEY, ramDir: root }),
      configError(/tmpfs or ramfs/),
    );
  });

  it('a plaintext store open while another process encrypts the gallery stops writing embeddings', async () => {
    const dir = newDir();
    const path = join(dir, 'gallery.sqlite');
    const plain = await SqliteStore.open({ path });
    await fill(plain, 0, 10);
    const sealed = await SqliteStore.open({ path, embeddingKey: KEY });
    await assert.rejects(
      plain.addFaces('Person 1', facesFrom(m, [11])),
      configError(/encrypted by another process.*FACEREC_EMBEDDING_KEY/),
    );
    await plain.close();
    assert.equal(await sealed.countFaces(), 10);
    assert.equal((await sealed.verify()).ok, true);
    await sealed.close();
    assert.deepEqual(filesContaining(dir, patterns), []);
  });

  it('PostgreSQL refuses a key before connecting (pgvector needs plaintext vectors)', async () => {
    const refused = configError(
      /FACEREC_EMBEDDING_KEY is set, but embeddings cannot be encrypted in PostgreSQL/,
      KEY,
    );
    await assert.rejects(
      PostgresStore.open({ connectionString: 'postgres://u:pw@127.0.0.1:1/db', embeddingKey: KEY }),
      refused,
    );
    await assert.rejects(
      openStore({ dataDir: newDir(), db: 'postgres://u:pw@127.0.0.1:1/db', embeddingKey: KEY }),
      refused,
    );
  });
});
