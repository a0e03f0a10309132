/**
 * A full disk: the data directory on a small tmpfs, filled up while the service runs. Writes are
 * refused with 507 (never a 500, never a crash), reads keep working, nothing already stored is
 * damaged (the gallery opens and verifies afterwards, earlier people and faces intact), and once
 * space is freed the service writes again without a restart.
 *
 * Mounting needs root (or CAP_SYS_ADMIN): without it the test skips and says so. The mount is
 * removed whatever happens.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { SqliteStore } from '../../src/gallery/index.js';
import { disposeRecognizer, facePhoto, json, multipart, startService } from '../server/harness.js';

after(disposeRecognizer);

type Json = Record<string, unknown>;

/** Mount an 8 MB tmpfs on a fresh folder, or say why not. */
function mountTmpfs(): { dir: string; skip: false } | { dir: null; skip: string } {
  if (process.platform !== 'linux') return { dir: null, skip: 'tmpfs mounts need Linux' };
  const dir = mkdtempSync(join(tmpdir(), 'facerec-full-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
    return { dir, skip: false };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const why = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim();
    return {
      dir: null,
      skip: `cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${why.slice(0, 200)}`,
    };
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
  rmSync(dir, { recursive: true, force: true });
}

const mount = mountTmpfs();
if (mount.dir !== null) {
  const dir = mount.dir;
  after(() => unmount(dir));
  process.once('exit', () => {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // already unmounted
    }
  });
}

describe('a full disk under the data directory', { skip: mount.skip }, () => {
  it('writes get 507 and damage nothing; reads go on; writes resume when space is freed', async () => {
    const dataDir = join(mount.dir!, 'data');
    const t = await startService({ dataDir, keepThumbnails: true });
    const inject = (o: InjectOptions) => t.service.app.inject(o);
    const filler = join(mount.dir!, 'filler');
    let closed = false;
    try {
      const alice = json(await inject({ method: 'POST', url: '/api/v1/people', payload: { name: 'Alice' } }));
      const enrolled = await inject({
        method: 'POST',
        url: `/api/v1/people/${alice.id}/faces`,
        ...multipart([
          { name: 'photos', filename: 'a1.jpg', data: await facePhoto(1, 0) },
          { name: 'photos', filename: 'a2.jpg', data: await facePhoto(1, 0, 0.9) },
        ]),
      });
      assert.equal(json(enrolled).added, 2, enrolled.body);

      // Fill the disk, leaving a few pages.
      const st = statfsSync(mount.dir!);
      writeFileSync(filler, Buffer.alloc(Math.max(0, st.bavail * st.bsize - 48 * 1024)));
      let refused: { statusCode: number; body: string } | undefined;
      let created = 0;
      for (let i = 0; i < 2000 && !refused; i++) {
        const r = await inject({
          method: 'POST',
          url: '/api/v1/people',
          payload: { name: `Filler ${i}`, note: 'x'.repeat(2000) },
        });
        if (r.statusCode === 201) created++;
        else refused = r;
      }
      assert.ok(refused, 'the disk filled up');
      assert.equal(refused.statusCode, 507, refused.body);
      assert.equal((json(refused).error as Json).code, 'insufficient_storage');

      const photo = await facePhoto(1, 0, 0.8);
      const enroll = await inject({
        method: 'POST',
        url: `/api/v1/people/${alice.id}/faces`,
        ...multipart([{ name: 'photos', filename: 'a3.jpg', data: photo }]),
      });
      assert.equal(enroll.statusCode, 507, `enrollment on a full disk: ${enroll.body}`);
      const settings = await inject({
        method: 'PATCH',
        url: '/api/v1/settings',
        payload: { threshold: 0.4 },
      });
      assert.equal(settings.statusCode, 507, `settings on a full disk: ${settings.body}`);
      assert.deepEqual(
        readdirSync(dataDir).filter((f) => f.endsWith('.tmp')),
        [],
        'no half-written temporary file left behind',
      );

      // Reads still work, and the enrolled person is still recognized.
      assert.equal((await inject({ method: 'GET', url: '/api/v1/health' })).statusCode, 200);
      const who = json(
        await inject({
          method: 'POST',
          url: '/api/v1/identify',
          headers: { 'content-type': 'image/jpeg' },
          payload: photo,
        }),
      );
      assert.equal(((who.faces as Json[])[0] as Json).name, 'Alice');
      assert.ok(
        t.logs.some((l) => /disk is full|ENOSPC/.test(l)),
        'the operator is told in the log',
      );

      // Space back: writes resume without a restart.
      rmSync(filler);
      const again = await inject({
        method: 'POST',
        url: `/api/v1/people/${alice.id}/faces`,
        ...multipart([{ name: 'photos', filename: 'a3.jpg', data: photo }]),
      });
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(json(again).added, 1);

      await t.close();
      closed = true;
      const store = await SqliteStore.open({ path: join(dataDir, 'gallery.sqlite') });
      try {
        const check = await store.verify();
        assert.deepEqual(check.problems, []);
        assert.equal((await store.getPerson('Alice')).faceCount, 3);
        assert.equal(await store.countPeople(), 1 + created);
        if (created > 0) assert.equal((await store.getPerson(`Filler ${created - 1}`)).note?.length, 2000);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(filler, { force: true });
      if (!closed) await t.close();
    }
  });
});
