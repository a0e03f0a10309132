/**
 * Online clustering of unknown faces (src/recognize/unknowns.ts) on a real store with synthetic
 * embeddings: joining, new clusters, merging only when centres agree, near-duplicate
 * suppression per source, reload, assignment to new and existing people, dismissal.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Embedding } from '../../src/core/index.js';
import { SqliteStore } from '../../src/gallery/index.js';
import { UnknownFaces } from '../../src/recognize/index.js';

const P = { model: 'test-model@1', template: 'test-template', normalized: true };
const DIMS = 8;

/** A unit vector: axis `i` tilted by `t` towards axis `j`. */
function vec(i: number, j = (i + 1) % DIMS, t = 0): Embedding {
  const v = new Float32Array(DIMS);
  v[i] = Math.cos(t);
  v[j] = Math.sin(t);
  return { ...P, vector: v };
}

describe('UnknownFaces clustering', () => {
  let dir: string;
  let store: SqliteStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-unknowns-'));
    store = await SqliteStore.open({ path: join(dir, 'g.sqlite') });
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('joins the nearest cluster within the link distance, else starts one; merges only agreeing clusters', async () => {
    const u = await UnknownFaces.open(store, P, { linkDistance: 0.35, now: () => 1000 });
    const box = [0, 0, 10, 10] as const;
    const a = await u.add({ embedding: vec(0), box: [...box], score: 0.9 });
    const b = await u.add({ embedding: vec(0, 1, 0.2), box: [...box], score: 0.9 }); // 0.2 rad ≈ 0.2 away
    assert.equal(b.clusterId, a.clusterId);
    const c = await u.add({ embedding: vec(2), box: [...box], score: 0.9 }); // √2 away
    assert.notEqual(c.clusterId, a.clusterId);
    // A face between two clusters whose centres are far apart links to the nearer one only.
    const d = await u.add({ embedding: vec(0, 2, 0.3), box: [...box], score: 0.9 });
    assert.equal(d.clusterId, a.clusterId);
    assert.equal(u.clusterCount, 2);
    // Two clusters of one person: faces 0.368 apart (more than the link distance), then a face
    // 0.26 from the first and 0.11 from the second links them, and with it the second cluster's
    // centre comes within the link distance of the first's: merged into the older cluster.
    const e1 = await u.add({ embedding: vec(4, 5, 0), box: [...box], score: 0.9 });
    const e2 = await u.add({ embedding: vec(4, 5, 0.37), box: [...box], score: 0.9 });
    assert.notEqual(e2.clusterId, e1.clusterId);
    const link = await u.add({ embedding: vec(4, 5, 0.26), box: [...box], score: 0.9 });
    assert.equal(link.clusterId, e1.clusterId);
    // Two faces 0.59 apart and one between them (0.3 from each): linked to both, but the centres
    // stay apart, so no merge — no chaining of strangers.
    const g = await u.add({ embedding: vec(6, 7, 0), box: [...box], score: 0.9 });
    const h = await u.add({ embedding: vec(6, 7, 0.6), box: [...box], score: 0.9 });
    const mid = await u.add({ embedding: vec(6, 7, 0.3), box: [...box], score: 0.9 });
    assert.ok(mid.clusterId === g.clusterId || mid.clusterId === h.clusterId);
    assert.notEqual(g.clusterId, h.clusterId);
    const list = await store.listUnknownClusters();
    assert.equal(list.total, 5);
    assert.deepEqual(list.clusters.map((x) => x.size).sort(), [1, 1, 2, 3, 3]);
  });

  it('suppresses near-duplicates of the same source within the window, not of other sources or later', async () => {
    let now = 50_000;
    const u = await UnknownFaces.open(store, P, {
      linkDistance: 0.35,
      duplicateWindowMs: 10_000,
      now: () => now,
    });
    const before = u.size;
    const box: [number, number, number, number] = [0, 0, 10, 10];
    const first = await u.add({ embedding: vec(3), box, score: 0.9, source: 'cam:1:7', time: now });
    const dup = await u.add({
      embedding: vec(3, 2, 0.05),
      box,
      score: 0.9,
      source: 'cam:1:7',
      time: now + 500,
    });
    assert.equal(dup.faceId, null);
    assert.equal(dup.clusterId, first.clusterId);
    const other = await u.add({
      embedding: vec(3, 2, 0.05),
      box,
      score: 0.9,
      source: 'cam:2:1',
      time: now + 600,
    });
    assert.notEqual(other.faceId, null);
    now += 20_000;
    const later = await u.add({ embedding: vec(3, 2, 0.05), box, score: 0.9, source: 'cam:1:7', time: now });
    assert.notEqual(later.faceId, null);
    assert.equal(u.size, before + 3);
    const reloaded = await UnknownFaces.open(store, P, { linkDistance: 0.35 });
    assert.equal(reloaded.size, u.size);
    assert.equal(reloaded.clusterCount, u.clusterCount);
  });

  it('assigns a cluster to a new person, then another to that existing person; dismisses one', async () => {
    const u = await UnknownFaces.open(store, P, { linkDistance: 0.35 });
    const clusters = (await store.listUnknownClusters()).clusters;
    const [c1, c2, c3] = clusters;
    assert.ok(c1 && c2 && c3);
    const a = await u.assign(c1.id, { name: 'Nina' });
    assert.deepEqual(
      [a.created, a.added, a.person.name, a.person.faceCount],
      [true, c1.size, 'Nina', c1.size],
    );
    const again = await u.assign(c2.id, { personId: a.person.id });
    assert.deepEqual(
      [again.created, again.added, again.person.faceCount],
      [false, c2.size, c1.size + c2.size],
    );
    await assert.rejects(u.assign(c1.id, { name: 'Nina' }), /No unknown-face cluster/);
    const near = await u.nearestPerson(c3.id);
    assert.equal(near?.personId, a.person.id);
    assert.deepEqual(await u.dismiss(c3.id), { faces: c3.size });
    assert.equal(
      (await store.listUnknownClusters()).clusters.some((c) => c.id === c3.id),
      false,
    );
    assert.equal((await store.verify()).ok, true);
  });

  it('refuses embeddings of another pipeline and bad options', async () => {
    const u = await UnknownFaces.open(store, P, { linkDistance: 0.35 });
    await assert.rejects(
      u.add({ embedding: { ...vec(0), model: 'other' }, box: [0, 0, 1, 1], score: 1 }),
      /pipeline/,
    );
    await assert.rejects(UnknownFaces.open(store, P, { linkDistance: 0 }), /linkDistance/);
    await assert.rejects(
      UnknownFaces.open(store, P, { linkDistance: 0.3, duplicateDistance: 0.5 }),
      /duplicateDistance/,
    );
  });
});
