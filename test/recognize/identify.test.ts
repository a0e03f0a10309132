import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidInputError, resolvePaths, resolveRuntimeOptions } from '../../src/core/index.js';
import { type GalleryStore, openStore, type SearchHit } from '../../src/gallery/index.js';
import {
  type DecideOptions,
  decideIdentity,
  enrollPhotos,
  FaceRecognizer,
  galleryCoverage,
  identifiedFaceJson,
  identifyEmbeddings,
  identifyFaces,
  SEARCH_DEPTH,
  searchDepth,
} from '../../src/recognize/index.js';
import { embedding, facesFrom, randomUnitVectors, rng } from '../gallery/fixtures.js';
import { blankImage, DemoPhotos } from '../gallery/photos.js';

/** A search hit: person p (named P<p>), face f, distance d. */
const hit = (p: number, d: number, f = p * 100 + Math.round(d * 1000)): SearchHit => ({
  faceId: f,
  personId: p,
  name: `P${p}`,
  distance: d,
});

describe('recognize/identify: decideIdentity (the k-NN vote)', () => {
  const T = 0.4;
  const cases: {
    what: string;
    hits: SearchHit[];
    o?: Partial<DecideOptions>;
    name: string | null;
    distance: number | null;
    support?: number;
  }[] = [
    { what: 'empty gallery', hits: [], name: null, distance: null },
    {
      what: 'nearest beyond the threshold → unknown, with its distance',
      hits: [hit(1, 0.45), hit(2, 0.5)],
      name: null,
      distance: 0.45,
    },
    { what: 'one face within', hits: [hit(1, 0.3), hit(2, 0.6)], name: 'P1', distance: 0.3, support: 1 },
    { what: 'exactly at the threshold is a match', hits: [hit(1, 0.4)], name: 'P1', distance: 0.4 },
    {
      what: '1/distance: one close face outweighs two farther ones',
      hits: [hit(1, 0.1), hit(2, 0.35), hit(2, 0.38)],
      name: 'P1',
      distance: 0.1,
    },
    {
      what: 'majority: two faces outvote a closer one',
      hits: [hit(1, 0.1), hit(2, 0.35), hit(2, 0.38)],
      o: { vote: 'majority' },
      name: 'P2',
      distance: 0.35,
      support: 2 / 3,
    },
    {
      what: '1/distance: three close faces outvote a slightly closer one',
      hits: [hit(1, 0.2), hit(2, 0.22), hit(2, 0.23), hit(2, 0.24)],
      name: 'P2',
      distance: 0.22,
    },
    {
      what: 'nearest: k is 1',
      hits: [hit(1, 0.2), hit(2, 0.22), hit(2, 0.23), hit(2, 0.24)],
      o: { vote: 'nearest' },
      name: 'P1',
      distance: 0.2,
      support: 1,
    },
    {
      what: 'only the k nearest vote',
      hits: [hit(1, 0.2), hit(2, 0.22), hit(2, 0.23), hit(2, 0.24)],
      o: { k: 2, vote: 'majority' },
      name: 'P1',
      distance: 0.2,
    },
    {
      what: 'faces beyond the threshold do not vote (the seed let them, then checked only the nearest)',
      hits: [hit(1, 0.39), hit(2, 0.41), hit(2, 0.42), hit(2, 0.43)],
      o: { vote: 'majority' },
      name: 'P1',
      distance: 0.39,
      support: 1,
    },
    {
      what: 'a majority tie goes to the nearer person',
      hits: [hit(2, 0.3), hit(1, 0.25), hit(2, 0.35), hit(1, 0.36)],
      o: { vote: 'majority' },
      name: 'P1',
      distance: 0.25,
      support: 0.5,
    },
    {
      what: 'closed set (no threshold): everyone votes',
      hits: [hit(1, 0.9), hit(2, 1.1)],
      o: { threshold: Number.POSITIVE_INFINITY },
      name: 'P1',
      distance: 0.9,
    },
    {
      what: 'an enrolled copy of the probe (distance 0) wins',
      hits: [hit(1, 0), hit(2, 0.01), hit(2, 0.02)],
      name: 'P1',
      distance: 0,
    },
    {
      what: 'unsorted hits are sorted first',
      hits: [hit(2, 0.38), hit(1, 0.1), hit(2, 0.35)],
      name: 'P1',
      distance: 0.1,
    },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const r = decideIdentity(c.hits, { threshold: T, ...c.o });
      assert.equal(r.name, c.name);
      assert.equal(r.personId, c.name === null ? null : Number(c.name.slice(1)));
      assert.equal(r.distance, c.distance);
      if (c.support !== undefined) assert.ok(Math.abs(r.support - c.support) < 1e-9, `support ${r.support}`);
      if (c.name === null) assert.equal(r.support, 0);
      else assert.ok(r.support > 0 && r.support <= 1);
    });
  }

  it('candidates: the nearest distinct people by their nearest face, at most 3 (or as asked)', () => {
    const hits = [hit(1, 0.2), hit(1, 0.21), hit(2, 0.5), hit(1, 0.3), hit(3, 0.6), hit(4, 0.7), hit(2, 0.4)];
    const r = decideIdentity(hits, { threshold: 0.1 });
    assert.equal(r.name, null);
    assert.deepEqual(
      r.candidates.map((c) => [c.name, c.distance]),
      [
        ['P1', 0.2],
        ['P2', 0.4],
        ['P3', 0.6],
      ],
    );
    assert.equal(decideIdentity(hits, { threshold: 1, candidates: 0 }).candidates.length, 0);
    assert.equal(decideIdentity(hits, { threshold: 1, candidates: 10 }).candidates.length, 4);
  });

  it('rejects bad options with "Expected … for …"', () => {
    for (const o of [
      { threshold: 0 },
      { threshold: Number.NaN },
      { threshold: 0.4, k: 0 },
      { threshold: 0.4, k: 1.5 },
      { threshold: 0.4, vote: 'plurality' },
      { threshold: 0.4, candidates: -1 },
    ]) {
      assert.throws(() => decideIdentity([], o as DecideOptions), /Expected .* for /, JSON.stringify(o));
    }
  });

  it('searches deep enough for k and for three candidates', () => {
    assert.equal(searchDepth(1), SEARCH_DEPTH);
    assert.equal(searchDepth(50), 50);
    assert.equal(searchDepth(5000), 1000);
  });
});

describe('recognize/identify: against a gallery', () => {
  let fr: FaceRecognizer;
  let dir = '';
  const demo = new DemoPhotos();
  const stores: GalleryStore[] = [];
  let n = 0;
  const fresh = async () => {
    const s = await openStore({ dataDir: join(dir, `g${++n}`) });
    stores.push(s);
    return s;
  };

  before(async () => {
    fr = await FaceRecognizer.load({ paths: resolvePaths(), runtime: resolveRuntimeOptions() });
    dir = await mkdtemp(join(tmpdir(), 'facerec-identify-'));
  });
  after(async () => {
    for (const s of stores) await s.close();
    await fr?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('names enrolled people in a group photo and calls the others unknown', async () => {
    const store = await fresh();
    // Ada and Ben are faces 0 and 1 of demo photo 1; its third face (person 2) is not enrolled.
    const items = [];
    for (const [i, name] of [
      [0, 'Ada'],
      [1, 'Ben'],
      [5, 'Fay'],
    ] as const) {
      for (let v = 0; v < 3; v++) {
        items.push({
          person: name,
          file: await demo.writeFace(join(dir, 'photos', `${name}-${v}.jpg`), i, v),
        });
      }
    }
    const enrolled = await enrollPhotos(fr, store, items);
    assert.equal(enrolled.added, 9);
    const faces = await identifyFaces(fr, store, await demo.photo(1));
    assert.equal(faces.length, 3);
    const byX = [...faces].sort((a, b) => a.box[0] - b.box[0]);
    assert.deepEqual(
      byX.map((f) => f.name),
      ['Ada', 'Ben', null],
    );
    for (const f of byX.slice(0, 2)) {
      assert.ok(f.distance! <= fr.threshold!);
      assert.equal(f.candidates[0]!.name, f.name);
      assert.equal(f.candidates.length, 3);
      assert.ok(f.support > 0.99, 'all voters agree');
      assert.equal(f.embedding.vector.length, 128);
    }
    const stranger = byX[2]!;
    assert.equal(stranger.personId, null);
    assert.ok(stranger.distance! > fr.threshold!);
    assert.equal(stranger.distance, stranger.candidates[0]!.distance);
    // A threshold above every distance names the stranger as the nearest person.
    const loose = await identifyFaces(fr, store, await demo.photo(1), { threshold: 1.9, k: 1 });
    assert.equal(loose.filter((f) => f.name !== null).length, 3);
    // The JSON form: snake_case, no embedding.
    const json = identifiedFaceJson(byX[0]!);
    assert.deepEqual(Object.keys(json), [
      'box',
      'score',
      'landmarks',
      'name',
      'person_id',
      'distance',
      'support',
      'candidates',
    ]);
    assert.deepEqual(Object.keys(json.candidates[0]!), ['name', 'person_id', 'distance']);
    assert.equal(JSON.stringify(json).includes('vector'), false);
    assert.deepEqual(await galleryCoverage(store, fr.provenance), { faces: 9, total: 9 });
  });

  it('an empty gallery: every face unknown, distance null; a photo without a face gives []', async () => {
    const store = await fresh();
    const faces = await identifyFaces(fr, store, await demo.photo(3));
    assert.ok(faces.length >= 1);
    for (const f of faces) assert.deepEqual([f.name, f.distance, f.candidates], [null, null, []]);
    assert.deepEqual(await identifyFaces(fr, store, blankImage()), []);
    assert.deepEqual(await galleryCoverage(store, fr.provenance), { faces: 0, total: 0 });
  });

  it('refuses a gallery enrolled with another pipeline, clearly', async () => {
    const store = await fresh();
    const m = randomUnitVectors(2, 128, rng(3));
    await store.ensurePerson('Old Model Person');
    await store.addFaces('Old Model Person', facesFrom(m, [0, 1]));
    const check = (err: unknown) =>
      err instanceof InvalidInputError &&
      err.message.includes('test-model@1') &&
      err.message.includes(fr.provenance.model);
    await assert.rejects(galleryCoverage(store, fr.provenance), check);
    await assert.rejects(identifyFaces(fr, store, await demo.photo(3)), check);
    // Embeddings of the gallery's own pipeline are fine.
    const [r] = await identifyEmbeddings(store, [embedding(m.slice(0, 128))], { threshold: 0.5 });
    assert.equal(r!.name, 'Old Model Person');
    assert.ok(r!.distance! < 1e-6);
  });
});
