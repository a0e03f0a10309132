/**
 * The REST API end to end through fastify's inject: every route's status codes and JSON shapes,
 * enrollment and identification on real faces, the unknown-cluster flow, settings, keys, events,
 * cameras, metrics and the OpenAPI document.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { MjpegBroadcaster, PushSource, serveMjpeg } from '../../src/video/index.js';
import {
  disposeRecognizer,
  facePhoto,
  groupPhoto,
  json,
  multipart,
  startService,
  type TestService,
} from './harness.js';

after(disposeRecognizer);

type Json = Record<string, unknown>;

describe('service API (loopback, no key needed)', () => {
  let t: TestService;
  const inject = (o: InjectOptions) => t.service.app.inject(o);
  before(async () => {
    t = await startService({ keepThumbnails: true, keepSnapshots: true });
  });
  after(async () => {
    await t.close();
  });

  it('health tells the page the gallery is empty, what to do first, and that no key is needed', async () => {
    const res = await inject({ method: 'GET', url: '/api/v1/health' });
    assert.equal(res.statusCode, 200);
    const h = json(res);
    assert.equal(h.status, 'ok');
    assert.equal(h.auth_required, false);
    assert.equal(h.authenticated, false);
    const setup = h.setup as Json;
    assert.equal(setup.empty_gallery, true);
    assert.equal(setup.people, 0);
    assert.match(String(setup.next_step), /Add a person/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });

  it('people: create (201), duplicate after normalization (409), show, rename, note, list with q, 404s', async () => {
    const a = await inject({ method: 'POST', url: '/api/v1/people', payload: { name: '  Zoe\u0308 ' } });
    assert.equal(a.statusCode, 201);
    const zoe = json(a);
    assert.equal(zoe.name, 'Zo\u00eb');
    assert.deepEqual(Object.keys(zoe).sort(), [
      'created_at',
      'faces',
      'id',
      'name',
      'note',
      'thumbnail_face_id',
      'updated_at',
    ]);
    const dup = await inject({ method: 'POST', url: '/api/v1/people', payload: { name: 'Zo\u00eb' } });
    assert.equal(dup.statusCode, 409);
    assert.equal((json(dup).error as Json).code, 'conflict');
    const b = json(
      await inject({ method: 'POST', url: '/api/v1/people', payload: { name: 'Bob', note: 'neighbour' } }),
    );
    assert.equal(b.note, 'neighbour');
    const renamed = await inject({
      method: 'PATCH',
      url: `/api/v1/people/${b.id}`,
      payload: { name: 'Robert', note: null },
    });
    assert.equal(renamed.statusCode, 200);
    assert.deepEqual([json(renamed).name, json(renamed).note], ['Robert', null]);
    const clash = await inject({ method: 'PATCH', url: `/api/v1/people/${b.id}`, payload: { name: 'Zoë' } });
    assert.equal(clash.statusCode, 409);
    const list = json(await inject({ method: 'GET', url: '/api/v1/people?q=ROB' }));
    assert.deepEqual(
      (list.people as Json[]).map((p) => p.name),
      ['Robert'],
    );
    const all = json(await inject({ method: 'GET', url: '/api/v1/people?limit=1' }));
    assert.equal(all.total, 2);
    assert.equal((all.people as Json[]).length, 1);
    const show = json(await inject({ method: 'GET', url: `/api/v1/people/${zoe.id}` }));
    assert.deepEqual(show.faces, []);
    for (const [method, url] of [
      ['GET', '/api/v1/people/999999'],
      ['PATCH', '/api/v1/people/999999'],
      ['DELETE', '/api/v1/people/999999'],
      ['DELETE', `/api/v1/people/${zoe.id}/faces/424242`],
      ['GET', '/api/v1/faces/424242/thumbnail'],
    ] as const) {
      const r = await inject({ method, url, ...(method === 'PATCH' ? { payload: { name: 'x' } } : {}) });
      assert.equal(r.statusCode, 404, `${method} ${url}`);
      assert.equal((json(r).error as Json).code, 'not_found');
    }
    for (const payload of [{}, { name: { first: 'x' } }, { name: 'x', extra: 1 }]) {
      const r = await inject({ method: 'POST', url: '/api/v1/people', payload });
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      assert.equal((json(r).error as Json).code, 'bad_request');
    }
    const bidi = await inject({ method: 'POST', url: '/api/v1/people', payload: { name: 'evil\u202Eexe' } });
    assert.equal(bidi.statusCode, 400);
    assert.equal((json(bidi).error as Json).code, 'invalid_input');
    const del = json(await inject({ method: 'DELETE', url: `/api/v1/people/${b.id}` }));
    assert.deepEqual(del, { removed: { id: b.id, name: 'Robert', faces: 0 } });
    await inject({ method: 'DELETE', url: `/api/v1/people/${zoe.id}` });
  });

  it('enroll photos: per-photo results; thumbnails kept; identify names the person; verify; detect', async () => {
    const alice = json(await inject({ method: 'POST', url: '/api/v1/people', payload: { name: 'Alice' } }));
    const body = multipart([
      { name: 'photos', filename: 'alice-1.jpg', type: 'image/jpeg', data: await facePhoto(1, 0) },
      { name: 'photos', filename: 'alice-2.jpg', type: 'image/jpeg', data: await facePhoto(1, 0, 0.8) },
      { name: 'photos', filename: 'alice-1-again.jpg', type: 'image/jpeg', data: await facePhoto(1, 0) },
      {
        name: 'photos',
        filename: 'notes.svg',
        type: 'image/jpeg',
        data: '<svg xmlns="http://www.w3.org/2000/svg"/>',
      },
      { name: 'photos', filename: 'group.jpg', type: 'image/jpeg', data: await groupPhoto(6) },
    ]);
    const res = await inject({ method: 'POST', url: `/api/v1/people/${alice.id}/faces`, ...body });
    assert.equal(res.statusCode, 200, res.body);
    const r = json(res);
    const photos = r.photos as Json[];
    assert.deepEqual(
      photos.map((p) => p.status),
      ['enrolled', 'enrolled', 'duplicate', 'error', 'enrolled'],
    );
    assert.equal(photos[2]!.face_id, photos[0]!.face_id);
    assert.equal((photos[3]!.error as Json).code, 'unsupported_media_type');
    assert.match(String(photos[4]!.warning), /4 faces/);
    assert.deepEqual([r.added, r.duplicates, r.no_face, r.errors], [3, 1, 0, 1]);
    const person = r.person as Json;
    assert.equal(person.faces, 3);
    assert.equal(typeof person.thumbnail_face_id, 'number');
    const thumb = await inject({ method: 'GET', url: `/api/v1/faces/${person.thumbnail_face_id}/thumbnail` });
    assert.equal(thumb.statusCode, 200);
    assert.equal(thumb.headers['content-type'], 'image/jpeg');
    assert.equal(thumb.rawPayload[0], 0xff);

    // The group photo 1 holds Alice (its leftmost face) and two others (the largest face of
    // photo 6, enrolled as Alice above, is none of them).
    const id = await inject({
      method: 'POST',
      url: '/api/v1/identify?remember_unknowns=false',
      ...multipart([{ name: 'image', filename: 'g.jpg', data: await groupPhoto(1) }]),
    });
    assert.equal(id.statusCode, 200, id.body);
    const out = json(id);
    assert.equal(out.image, 'g.jpg');
    assert.equal(out.width, 960);
    const faces = out.faces as Json[];
    assert.equal(faces.length, 3);
    const leftmost = [...faces].sort((a, b) => (a.box as number[])[0]! - (b.box as number[])[0]!)[0]!;
    assert.equal(leftmost.name, 'Alice');
    assert.equal(leftmost.person_id, alice.id);
    assert.ok((leftmost.distance as number) < (out.threshold as number));
    assert.deepEqual(Object.keys(leftmost).sort(), [
      'box',
      'candidates',
      'distance',
      'landmarks',
      'name',
      'person_id',
      'score',
      'support',
      'unknown',
    ]);
    assert.equal(faces.filter((f) => f.name === null).length, 2);
    assert.ok(
      faces.every((f) => f.unknown === null),
      'remember_unknowns=false stores nothing',
    );

    // Raw body works too, with the same answer.
    const raw = await inject({
      method: 'POST',
      url: '/api/v1/identify?remember_unknowns=false',
      headers: { 'content-type': 'image/jpeg' },
      payload: await groupPhoto(1),
    });
    assert.equal(raw.statusCode, 200);
    assert.equal(json(raw).image, null);
    assert.deepEqual((json(raw).faces as Json[]).map((f) => f.name).sort(), faces.map((f) => f.name).sort());

    const det = json(
      await inject({
        method: 'POST',
        url: '/api/v1/detect',
        headers: { 'content-type': 'image/jpeg' },
        payload: await groupPhoto(1),
      }),
    );
    assert.equal((det.faces as Json[]).length, 3);
    assert.deepEqual(Object.keys((det.faces as Json[])[0]!).sort(), ['box', 'landmarks', 'score']);
    assert.equal(((det.faces as Json[])[0]!.landmarks as number[][]).length, 5);

    const same = json(
      await inject({
        method: 'POST',
        url: '/api/v1/verify',
        ...multipart([
          { name: 'a', filename: 'a.jpg', data: await facePhoto(6, 0) },
          { name: 'b', filename: 'b.jpg', data: await groupPhoto(6, 1920) },
        ]),
      }),
    );
    assert.equal(same.same, true, JSON.stringify(same));
    assert.deepEqual(same.faces, [1, 4]);
    assert.match((same.notes as string[])[0]!, /4 faces in b: the largest was used/);
    const diff = json(
      await inject({
        method: 'POST',
        url: '/api/v1/verify',
        ...multipart([
          { name: 'a', filename: 'a.jpg', data: await facePhoto(1, 0) },
          { name: 'b', filename: 'b.jpg', data: await facePhoto(3, 1) },
        ]),
      }),
    );
    assert.equal(diff.same, false);
    assert.ok((diff.distance as number) > (diff.threshold as number));
    const one = await inject({
      method: 'POST',
      url: '/api/v1/verify',
      ...multipart([{ name: 'a', filename: 'a.jpg', data: await facePhoto(1, 0) }]),
    });
    assert.equal(one.statusCode, 400);

    // Deleting a face, then the person, removes them.
    const faceId = photos[1]!.face_id as number;
    const rm = await inject({ method: 'DELETE', url: `/api/v1/people/${alice.id}/faces/${faceId}` });
    assert.deepEqual(json(rm), { removed: { face_id: faceId, person_id: alice.id } });
    const left = json(await inject({ method: 'GET', url: `/api/v1/people/${alice.id}` }));
    assert.equal((left.faces as Json[]).length, 2);
    assert.ok(!(left.faces as Json[]).some((f) => f.id === faceId));
    assert.equal(
      json(await inject({ method: 'DELETE', url: `/api/v1/people/${alice.id}` })).removed instanceof Object,
      true,
    );
    assert.equal(
      (await inject({ method: 'GET', url: `/api/v1/faces/${person.thumbnail_face_id}/thumbnail` }))
        .statusCode,
      404,
    );
  });

  it('unknown faces: a stranger identified twice forms one cluster; assigning it makes a person who is then identified', async () => {
    const first = json(
      await inject({
        method: 'POST',
        url: '/api/v1/identify',
        ...multipart([{ name: 'image', filename: 's1.jpg', data: await facePhoto(3, 1) }]),
      }),
    );
    const f1 = (first.faces as Json[])[0]!;
    assert.equal(f1.name, null);
    const u1 = f1.unknown as Json;
    assert.equal(typeof u1.cluster_id, 'number');
    const second = json(
      await inject({
        method: 'POST',
        url: '/api/v1/identify',
        ...multipart([{ name: 'image', filename: 's2.jpg', data: await facePhoto(3, 1, 0.75, 0.4) }]),
      }),
    );
    const u2 = (second.faces as Json[])[0]!.unknown as Json;
    assert.equal(u2.cluster_id, u1.cluster_id, 'the same stranger joins the same cluster');
    assert.notEqual(u2.face_id, u1.face_id);
    // Someone else makes another cluster.
    const other = json(
      await inject({
        method: 'POST',
        url: '/api/v1/identify',
        ...multipart([{ name: 'image', filename: 'o.jpg', data: await facePhoto(5, 0) }]),
      }),
    );
    const uo = (other.faces as Json[])[0]!.unknown as Json;
    assert.notEqual(uo.cluster_id, u1.cluster_id);

    const list = json(await inject({ method: 'GET', url: '/api/v1/unknowns' }));
    const cluster = (list.clusters as Json[]).find((c) => c.id === u1.cluster_id)!;
    assert.equal(cluster.size, 2);
    assert.equal((cluster.samples as Json[]).length, 2);
    assert.ok(
      (cluster.samples as Json[]).every((s) => s.thumbnail === true),
      'crops kept with --keep-snapshots',
    );
    assert.deepEqual(cluster.cameras, [{ id: null, name: null }]);
    const crop = await inject({ method: 'GET', url: `/api/v1/unknowns/faces/${u1.face_id}/thumbnail` });
    assert.equal(crop.statusCode, 200);
    assert.equal(crop.headers['content-type'], 'image/jpeg');
    const detail = json(await inject({ method: 'GET', url: `/api/v1/unknowns/${u1.cluster_id}` }));
    assert.equal((detail.faces as Json[]).length, 2);

    const bad = await inject({
      method: 'POST',
      url: `/api/v1/unknowns/${u1.cluster_id}/assign`,
      payload: { name: 'x', person_id: 1 },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(
      (await inject({ method: 'POST', url: '/api/v1/unknowns/999999/assign', payload: { name: 'Carol' } }))
        .statusCode,
      404,
    );
    const assigned = await inject({
      method: 'POST',
      url: `/api/v1/unknowns/${u1.cluster_id}/assign`,
      payload: { name: 'Carol' },
    });
    assert.equal(assigned.statusCode, 200, assigned.body);
    const a = json(assigned);
    assert.deepEqual(
      [a.created, a.added, (a.person as Json).name, (a.person as Json).faces],
      [true, 2, 'Carol', 2],
    );
    assert.equal(typeof (a.person as Json).thumbnail_face_id, 'number', 'the crops became thumbnails');
    assert.equal((await inject({ method: 'GET', url: `/api/v1/unknowns/${u1.cluster_id}` })).statusCode, 404);
    const again = json(
      await inject({
        method: 'POST',
        url: '/api/v1/identify',
        ...multipart([{ name: 'image', filename: 's3.jpg', data: await facePhoto(3, 1, 0.9) }]),
      }),
    );
    assert.equal((again.faces as Json[])[0]!.name, 'Carol');

    // Dismissing forgets the other stranger.
    const dismissed = json(await inject({ method: 'DELETE', url: `/api/v1/unknowns/${uo.cluster_id}` }));
    assert.deepEqual(dismissed, { removed: { id: uo.cluster_id, faces: 1 } });
    assert.equal(json(await inject({ method: 'GET', url: '/api/v1/unknowns' })).total, 0);
  });

  it('settings: auto threshold with its rates; fixed by value or FAR; back to auto; bad values 400', async () => {
    const s = json(await inject({ method: 'GET', url: '/api/v1/settings' }));
    assert.equal(s.threshold_mode, 'auto');
    assert.equal(s.verify_threshold, s.default_threshold);
    assert.ok((s.curve as Json[]).length > 1);
    assert.equal(typeof s.far, 'number');
    assert.equal(s.keep_snapshots, true);
    const fixed = json(
      await inject({ method: 'PATCH', url: '/api/v1/settings', payload: { threshold: 0.33 } }),
    );
    assert.deepEqual([fixed.threshold, fixed.threshold_mode, fixed.verify_threshold], [0.33, 'fixed', 0.33]);
    const byFar = json(await inject({ method: 'PATCH', url: '/api/v1/settings', payload: { far: 1e-4 } }));
    assert.ok(Math.abs((byFar.far as number) - 1e-4) < 2e-5, String(byFar.far));
    const auto = json(
      await inject({ method: 'PATCH', url: '/api/v1/settings', payload: { threshold: null } }),
    );
    assert.equal(auto.threshold_mode, 'auto');
    for (const payload of [{ threshold: 5 }, { far: 2 }, { target_fpir: 0 }, {}, { other: 1 }]) {
      const r = await inject({ method: 'PATCH', url: '/api/v1/settings', payload });
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
    }
  });

  it('keys: create (shown once), list without secrets, revoke', async () => {
    const c = await inject({
      method: 'POST',
      url: '/api/v1/keys',
      payload: { name: 'phone', read_only: true },
    });
    assert.equal(c.statusCode, 201);
    const k = json(c);
    assert.match(String(k.key), /^fr_[\w-]{43}$/);
    assert.equal(
      (await inject({ method: 'POST', url: '/api/v1/keys', payload: { name: 'phone' } })).statusCode,
      409,
    );
    const list = json(await inject({ method: 'GET', url: '/api/v1/keys' }));
    assert.ok(!JSON.stringify(list).includes(String(k.key)));
    assert.ok(!JSON.stringify(list).includes('hash'));
    const r = json(await inject({ method: 'DELETE', url: `/api/v1/keys/${k.id}` }));
    assert.equal(typeof r.revoked_at, 'string');
    assert.equal((await inject({ method: 'DELETE', url: '/api/v1/keys/999' })).statusCode, 404);
  });

  it('events: paged newest first, filtered, snapshots; unknown ids 404', async () => {
    const { person } = await t.store.ensurePerson('Dora');
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const e = await t.store.addEvent({
        kind: i % 2 ? 'left' : 'appeared',
        time: Date.UTC(2025, 0, 1, 12, i),
        cameraId: null,
        track: `browser.x:${i}`,
        personId: i < 3 ? person.id : null,
        distance: 0.2,
        box: [1, 2, 3, 4],
        snapshot: i === 0 ? { mime: 'image/jpeg', bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]) } : null,
      });
      ids.push(e.id);
    }
    const p1 = json(await inject({ method: 'GET', url: '/api/v1/events?limit=2' }));
    assert.deepEqual(
      (p1.events as Json[]).map((e) => e.id),
      [ids[4], ids[3]],
    );
    assert.equal(p1.next_before, ids[3]);
    const p2 = json(await inject({ method: 'GET', url: `/api/v1/events?limit=2&before=${p1.next_before}` }));
    assert.deepEqual(
      (p2.events as Json[]).map((e) => e.id),
      [ids[2], ids[1]],
    );
    const p3 = json(await inject({ method: 'GET', url: `/api/v1/events?limit=2&before=${p2.next_before}` }));
    assert.equal(p3.next_before, null);
    const e0 = (p3.events as Json[])[0]!;
    assert.deepEqual(
      [e0.kind, e0.camera, e0.name, e0.snapshot, e0.time],
      ['appeared', 'browser', 'Dora', true, '2025-01-01T12:00:00.000Z'],
    );
    const byPerson = json(
      await inject({ method: 'GET', url: `/api/v1/events?person_id=${person.id}&kind=appeared` }),
    );
    assert.deepEqual(
      (byPerson.events as Json[]).map((e) => e.id),
      [ids[2], ids[0]],
    );
    const byTime = json(
      await inject({
        method: 'GET',
        url: '/api/v1/events?from=2025-01-01T12:01:00Z&to=2025-01-01T12:03:00Z',
      }),
    );
    assert.deepEqual(
      (byTime.events as Json[]).map((e) => e.id),
      [ids[2], ids[1]],
    );
    const unknown = json(await inject({ method: 'GET', url: '/api/v1/events?unknown=true' }));
    assert.deepEqual(
      (unknown.events as Json[]).map((e) => e.id),
      [ids[4], ids[3]],
    );
    assert.equal((await inject({ method: 'GET', url: '/api/v1/events?from=yesterday' })).statusCode, 400);
    assert.equal((await inject({ method: 'GET', url: '/api/v1/events?limit=0' })).statusCode, 400);
    const snap = await inject({ method: 'GET', url: `/api/v1/events/${ids[0]}/snapshot` });
    assert.equal(snap.statusCode, 200);
    assert.equal(snap.headers['content-type'], 'image/jpeg');
    assert.equal((await inject({ method: 'GET', url: `/api/v1/events/${ids[1]}/snapshot` })).statusCode, 404);
    assert.equal((await inject({ method: 'GET', url: '/api/v1/events/999999' })).statusCode, 404);
    assert.equal(json(await inject({ method: 'GET', url: `/api/v1/events/${ids[1]}` })).id, ids[1]);
  });

  it('cameras: source rules (400), credentials never shown, 409, patch, delete; metrics and OpenAPI list them', async () => {
    for (const url of [
      'file:///etc/passwd',
      'concat:a.mp4|b.mp4',
      '-i /etc/passwd',
      'ftp://x/y',
      '/no/such/file.mp4',
      'pipe:0',
    ]) {
      const r = await inject({ method: 'POST', url: '/api/v1/cameras', payload: { name: 'bad', url } });
      assert.equal(r.statusCode, 400, url);
      assert.equal((json(r).error as Json).code, 'invalid_input');
      assert.ok(!r.body.includes('passwd') || url.includes('passwd'));
    }
    const add = await inject({
      method: 'POST',
      url: '/api/v1/cameras',
      payload: {
        name: 'Front door',
        url: 'http://admin:s3cret-pw@127.0.0.1:9/video',
        enabled: false,
        every: 2,
      },
    });
    assert.equal(add.statusCode, 201, add.body);
    const cam = json(add);
    assert.equal(cam.url, 'http://***@127.0.0.1:9/video');
    assert.deepEqual(
      [cam.state, cam.every, cam.stream_url],
      ['disabled', 2, `/api/v1/cameras/${cam.id}/stream`],
    );
    assert.ok(!add.body.includes('s3cret-pw'));
    const dup = await inject({
      method: 'POST',
      url: '/api/v1/cameras',
      payload: { name: 'Front door', url: 'http://127.0.0.1:9/' },
    });
    assert.equal(dup.statusCode, 409);
    const list = await inject({ method: 'GET', url: '/api/v1/cameras' });
    assert.ok(!list.body.includes('s3cret-pw'));
    const patched = json(
      await inject({ method: 'PATCH', url: `/api/v1/cameras/${cam.id}`, payload: { name: 'Porch' } }),
    );
    assert.equal(patched.name, 'Porch');
    assert.equal(
      (await inject({ method: 'GET', url: `/api/v1/cameras/${cam.id}/snapshot` })).statusCode,
      503,
    );
    const metrics = await inject({ method: 'GET', url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    assert.match(String(metrics.headers['content-type']), /^text\/plain/);
    assert.match(metrics.body, /facerec_camera_up\{camera="Porch",camera_id="\d+"\} 0/);
    assert.match(
      metrics.body,
      /facerec_http_requests_total\{method="POST",route="\/api\/v1\/cameras",status="201"\} 1/,
    );
    assert.ok(!metrics.body.includes('s3cret-pw'));
    const del = json(await inject({ method: 'DELETE', url: `/api/v1/cameras/${cam.id}` }));
    assert.deepEqual(del, { removed: { id: cam.id, name: 'Porch' } });
    assert.equal((await inject({ method: 'GET', url: `/api/v1/cameras/${cam.id}` })).statusCode, 404);
  });

  it('OpenAPI document lists every route with its auth; unknown routes are JSON 404s; the placeholder page is served', async () => {
    const doc = json(await inject({ method: 'GET', url: '/api/v1/openapi.json' }));
    assert.equal(doc.openapi, '3.1.0');
    const paths = doc.paths as Record<string, Record<string, Json>>;
    for (const [p, m] of [
      ['/api/v1/health', 'get'],
      ['/api/v1/identify', 'post'],
      ['/api/v1/people/{id}', 'patch'],
      ['/api/v1/people/{id}/faces/{faceId}', 'delete'],
      ['/api/v1/unknowns/{id}/assign', 'post'],
      ['/api/v1/live', 'get'],
      ['/metrics', 'get'],
    ] as const) {
      assert.ok(paths[p]?.[m], `${m} ${p}`);
    }
    assert.equal(paths['/api/v1/health']!.get!['x-facerec-auth'], 'none');
    assert.equal(paths['/api/v1/people']!.post!['x-facerec-auth'], 'write');
    const nf = await inject({ method: 'GET', url: '/api/v1/nothing' });
    assert.equal(nf.statusCode, 404);
    assert.equal((json(nf).error as Json).code, 'not_found');
    const page = await inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /facerec/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
  });
});

describe('cameras run by the service', () => {
  it('a stored camera restarts with the server, streams annotated MJPEG and stores events', async () => {
    const sources: PushSource[] = [];
    const openSource = (_url: string, id: string) => {
      const s = new PushSource({ id });
      sources.push(s);
      return s;
    };
    const first = await startService({ openSource, startCameras: true });
    const add = await first.service.app.inject({
      method: 'POST',
      url: '/api/v1/cameras',
      payload: { name: 'Hall', url: 'http://127.0.0.1:9/video' },
    });
    assert.equal(add.statusCode, 201);
    const camId = json(add).id as number;
    assert.equal(sources.length, 1);
    await first.service.close();
    await first.store.close();
    // A new server on the same data starts the stored camera.
    const second = await startService({ openSource, startCameras: true, dataDir: first.dataDir });
    try {
      assert.equal(sources.length, 2);
      const { port } = await second.service.listen();
      const frame = await groupPhoto(1, 640);
      const src = sources[1]!;
      const chunks: Buffer[] = [];
      const http = await import('node:http');
      const got = new Promise<string>((resolve, reject) => {
        const req = http.get(`http://127.0.0.1:${port}/api/v1/cameras/${camId}/stream`, (res) => {
          const type = String(res.headers['content-type']);
          res.on('data', (c: Buffer) => {
            chunks.push(c);
            const all = Buffer.concat(chunks);
            if (all.includes(Buffer.from([0xff, 0xd9]))) {
              req.destroy();
              resolve(type);
            }
          });
        });
        req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
      });
      for (let i = 0; i < 40 && chunks.length === 0; i++) {
        src.push(frame);
        await new Promise((r) => setTimeout(r, 150));
      }
      const type = await got;
      assert.match(type, /^multipart\/x-mixed-replace; boundary=/);
      assert.match(Buffer.concat(chunks).toString('latin1'), /Content-Type: image\/jpeg/);
      const live = json(await second.service.app.inject({ method: 'GET', url: `/api/v1/cameras/${camId}` }));
      assert.ok(((live.stats as Json).frames as number) > 0);
      // Faces seen on several frames make "appeared" events for the camera.
      for (let i = 0; i < 30; i++) {
        const ev = json(
          await second.service.app.inject({ method: 'GET', url: `/api/v1/events?camera_id=${camId}` }),
        );
        if ((ev.events as Json[]).length > 0) break;
        src.push(frame);
        await new Promise((r) => setTimeout(r, 150));
      }
      const ev = json(
        await second.service.app.inject({ method: 'GET', url: `/api/v1/events?camera_id=${camId}` }),
      );
      const events = ev.events as Json[];
      assert.ok(events.length > 0, 'events stored');
      assert.ok(events.every((e) => e.camera === 'Hall' && e.kind === 'appeared'));
      const unknowns = json(await second.service.app.inject({ method: 'GET', url: '/api/v1/unknowns' }));
      assert.ok((unknowns.total as number) > 0, 'the strangers on the camera became unknown clusters');
    } finally {
      await second.close();
    }
  });

  it("a real MJPEG camera over HTTP (the seed's phone setup), credentials kept out of the API and the logs", async () => {
    const cam = new MjpegBroadcaster();
    const server = await serveMjpeg(cam, { port: 0 });
    const frame = await groupPhoto(1, 640);
    const timer = setInterval(() => cam.publish(frame), 100);
    const t = await startService({ startCameras: true });
    try {
      const url = server.url.replace('http://', 'http://admin:hunter2-secret@');
      const add = await t.service.app.inject({
        method: 'POST',
        url: '/api/v1/cameras',
        payload: { name: 'Phone', url },
      });
      assert.equal(add.statusCode, 201, add.body);
      const id = json(add).id as number;
      let state = '';
      let frames = 0;
      for (let i = 0; i < 60 && frames < 3; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const c = json(await t.service.app.inject({ method: 'GET', url: `/api/v1/cameras/${id}` }));
        state = String(c.state);
        frames = (c.stats as Json).processed as number;
      }
      assert.equal(state, 'live');
      assert.ok(frames >= 3, `${frames} frames processed`);
      const snap = await t.service.app.inject({ method: 'GET', url: `/api/v1/cameras/${id}/snapshot` });
      assert.equal(snap.statusCode, 200);
      assert.equal(snap.headers['content-type'], 'image/jpeg');
      const all = [
        add.body,
        (await t.service.app.inject({ method: 'GET', url: '/api/v1/cameras' })).body,
        ...t.logs,
      ].join('\n');
      assert.ok(!all.includes('hunter2-secret'), 'the password never shows');
    } finally {
      clearInterval(timer);
      await t.close();
      await server.close();
    }
  });
});
