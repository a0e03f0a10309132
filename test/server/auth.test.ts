/**
 * API keys and access: key format and hashing, where keys are read from, loopback detection,
 * the lockout after failures, and the service's answers to no key, a wrong, revoked or read-only
 * key on every route of the router table; refusing to serve the LAN without a key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { ConfigError } from '../../src/core/index.js';
import {
  FailureLimiter,
  generateApiKey,
  hashApiKey,
  isLoopbackHost,
  requestKey,
} from '../../src/server/index.js';
import { disposeRecognizer, json, startService, type TestService } from './harness.js';

after(disposeRecognizer);

type Json = Record<string, unknown>;

describe('keys, hosts and where a key is read from', () => {
  it('keys are fr_ + 43 base64url characters, distinct, hashed with SHA-256', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    assert.match(a, /^fr_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
    assert.equal(hashApiKey('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  const hosts: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
    ['example.com', false],
    ['128.0.0.1', false],
  ];
  for (const [host, loop] of hosts)
    it(`isLoopbackHost(${host}) = ${loop}`, () => assert.equal(isLoopbackHost(host), loop));

  const cases: [Record<string, string>, string, boolean, string | undefined][] = [
    [{ authorization: 'Bearer fr_abc' }, '/x', false, 'fr_abc'],
    [{ authorization: 'bearer   fr_abc  ' }, '/x', false, 'fr_abc'],
    [{ 'x-api-key': 'fr_xyz' }, '/x', false, 'fr_xyz'],
    [{ authorization: 'Bearer fr_h', 'x-api-key': 'fr_x' }, '/x', false, 'fr_h'],
    [{}, '/x?key=fr_q', false, undefined],
    [{}, '/x?key=fr_q', true, 'fr_q'],
    [{}, '/x?a=1&key=fr%5Fq', true, 'fr_q'],
    [{}, '/x', true, undefined],
  ];
  for (const [headers, url, q, want] of cases) {
    it(`requestKey(${JSON.stringify(headers)}, ${url}, query ${q}) = ${want}`, () =>
      assert.equal(requestKey(headers, url, q), want));
  }

  it('FailureLimiter blocks an address after 10 failures in a minute, for a minute', () => {
    let now = 0;
    const l = new FailureLimiter({ now: () => now });
    for (let i = 0; i < 9; i++) assert.equal(l.fail('a'), false);
    assert.equal(l.blockedFor('a'), 0);
    assert.equal(l.fail('a'), true);
    assert.equal(l.blockedFor('a'), 60_000);
    assert.equal(l.blockedFor('b'), 0);
    now = 61_000;
    assert.equal(l.blockedFor('a'), 0);
    assert.equal(l.fail('a'), false, 'a new window starts');
  });
});

describe('access control of the service', () => {
  let t: TestService & { keys: Record<string, string> };
  const inject = (o: InjectOptions) => t.service.app.inject(o);
  before(async () => {
    t = await startService({ requireKey: true, keys: { admin: false, viewer: true, old: false } });
    await t.store.revokeApiKey('old');
    t.service.context.keys.invalidate();
  });
  after(async () => {
    await t.close();
  });

  /** Every route of the router table, with ids filled in. */
  const routes = async () => {
    const doc = json(
      await inject({ method: 'GET', url: '/api/v1/openapi.json', headers: { 'x-api-key': t.keys.admin! } }),
    );
    const out: { method: string; url: string; auth: string }[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      for (const [method, op] of Object.entries(ops)) {
        out.push({
          method: method.toUpperCase(),
          url: path.replace(/\{\w+\}/g, '1'),
          auth: String(op['x-facerec-auth']),
        });
      }
    }
    return out;
  };

  it('health answers everyone, says a key is needed, and tells nothing of the gallery without one', async () => {
    const anon = json(await inject({ method: 'GET', url: '/api/v1/health' }));
    assert.equal(anon.auth_required, true);
    assert.equal(anon.authenticated, false);
    assert.equal(anon.setup, undefined);
    const wrong = await inject({
      method: 'GET',
      url: '/api/v1/health',
      headers: { authorization: 'Bearer fr_wrong' },
    });
    assert.equal(wrong.statusCode, 200);
    const viewer = json(
      await inject({
        method: 'GET',
        url: '/api/v1/health',
        headers: { authorization: `Bearer ${t.keys.viewer}` },
      }),
    );
    assert.deepEqual([viewer.authenticated, viewer.read_only], [true, true]);
    assert.equal((viewer.setup as Json).empty_gallery, true);
  });

  it('every route but health refuses a missing, wrong or revoked key with 401 (before reading the body)', async () => {
    const list = await routes();
    assert.ok(list.length >= 30, `${list.length} routes`);
    let n = 0;
    // Each request from its own address, so that the failed-key lockout stays out of the way.
    const address = () => ({ remoteAddress: `10.1.${(++n >> 8) & 255}.${n & 255}` });
    for (const r of list) {
      if (r.auth === 'none') continue;
      for (const headers of [
        {},
        { authorization: 'Bearer fr_not-a-key' },
        { 'x-api-key': t.keys.old! },
      ] as Record<string, string>[]) {
        const res = await inject({
          method: r.method as InjectOptions['method'],
          url: r.url,
          headers: { ...headers, 'content-type': 'application/json' },
          payload: '{"name": "x"}',
          ...address(),
        });
        assert.equal(res.statusCode, 401, `${r.method} ${r.url} ${JSON.stringify(headers)}: ${res.body}`);
        assert.equal((json(res).error as Json).code, 'unauthorized');
        assert.equal(res.headers['www-authenticate'], 'Bearer');
      }
    }
    const revoked = await inject({
      method: 'GET',
      url: '/api/v1/people',
      headers: { 'x-api-key': t.keys.old! },
      ...address(),
    });
    assert.match(String((json(revoked).error as Json).message), /revoked/);
  });

  it('a read-only key reads but gets 403 on every write route; the admin key writes', async () => {
    const list = await routes();
    const writes = list.filter((r) => r.auth === 'write');
    assert.ok(writes.length >= 12, `${writes.length} write routes`);
    for (const r of writes) {
      const res = await inject({
        method: r.method as InjectOptions['method'],
        url: r.url,
        headers: { authorization: `Bearer ${t.keys.viewer}`, 'content-type': 'application/json' },
        payload: '{"name": "x"}',
      });
      assert.equal(res.statusCode, 403, `${r.method} ${r.url}`);
      assert.equal((json(res).error as Json).code, 'forbidden');
    }
    const read = await inject({
      method: 'GET',
      url: '/api/v1/people',
      headers: { authorization: `Bearer ${t.keys.viewer}` },
    });
    assert.equal(read.statusCode, 200);
    const create = await inject({
      method: 'POST',
      url: '/api/v1/people',
      headers: { 'x-api-key': t.keys.admin! },
      payload: { name: 'Eve' },
    });
    assert.equal(create.statusCode, 201);
  });

  it('the key is taken from ?key= only on image and stream routes', async () => {
    const people = await inject({ method: 'GET', url: `/api/v1/people?key=${t.keys.admin}` });
    assert.equal(people.statusCode, 401);
    const thumb = await inject({ method: 'GET', url: `/api/v1/faces/1/thumbnail?key=${t.keys.admin}` });
    assert.equal(thumb.statusCode, 404, 'authorized, and no such face');
  });

  it('a key revoked while the server runs stops working within a second', async () => {
    const c = json(
      await inject({
        method: 'POST',
        url: '/api/v1/keys',
        headers: { 'x-api-key': t.keys.admin! },
        payload: { name: 'temp' },
      }),
    );
    const key = String(c.key);
    assert.equal(
      (await inject({ method: 'GET', url: '/api/v1/people', headers: { 'x-api-key': key } })).statusCode,
      200,
    );
    await t.store.revokeApiKey('temp'); // as `facerec keys revoke` in another process would
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(
      (await inject({ method: 'GET', url: '/api/v1/people', headers: { 'x-api-key': key } })).statusCode,
      401,
    );
  });

  it('repeated wrong keys from one address lock it out (429 with Retry-After), even with a good key', async () => {
    const from = { remoteAddress: '10.9.8.7' };
    for (let i = 0; i < 10; i++) {
      const r = await inject({
        method: 'GET',
        url: '/api/v1/people',
        headers: { 'x-api-key': `fr_guess${i}` },
        ...from,
      });
      assert.equal(r.statusCode, 401);
    }
    const blocked = await inject({
      method: 'GET',
      url: '/api/v1/people',
      headers: { 'x-api-key': t.keys.admin! },
      ...from,
    });
    assert.equal(blocked.statusCode, 429);
    assert.equal((json(blocked).error as Json).code, 'too_many_requests');
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    const other = await inject({
      method: 'GET',
      url: '/api/v1/people',
      headers: { 'x-api-key': t.keys.admin! },
    });
    assert.equal(other.statusCode, 200, 'other addresses are not affected');
    // The lockout is in the audit log, with the address and without the keys tried.
    let audit = await t.store.listAudit();
    for (let i = 0; i < 50 && !audit.some((a) => a.action === 'key.lockout'); i++) {
      await new Promise((r) => setTimeout(r, 20));
      audit = await t.store.listAudit();
    }
    const lockout = audit.find((a) => a.action === 'key.lockout');
    assert.equal(lockout?.detail, '10.9.8.7');
    assert.ok(!JSON.stringify(audit).includes('fr_guess'), 'no tried key in the audit log');
  });
});

describe('serving beyond loopback', () => {
  it('refuses to start on 0.0.0.0 without a key, starts with one and then requires it', async () => {
    await assert.rejects(startService({ host: '0.0.0.0' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match((err as Error).message, /without an API key/);
      return true;
    });
    const t = await startService({ host: '0.0.0.0', keys: { lan: false } });
    try {
      assert.equal(t.service.context.options.authRequired, true);
      const anon = await t.service.app.inject({ method: 'GET', url: '/api/v1/people' });
      assert.equal(anon.statusCode, 401);
      const ok = await t.service.app.inject({
        method: 'GET',
        url: '/api/v1/people',
        headers: { authorization: `Bearer ${t.keys.lan}` },
      });
      assert.equal(ok.statusCode, 200);
    } finally {
      await t.close();
    }
  });

  it('on loopback a wrong key is refused, never ignored', async () => {
    const t = await startService({});
    try {
      assert.equal((await t.service.app.inject({ method: 'GET', url: '/api/v1/people' })).statusCode, 200);
      const wrong = await t.service.app.inject({
        method: 'GET',
        url: '/api/v1/people',
        headers: { 'x-api-key': 'fr_nope' },
      });
      assert.equal(wrong.statusCode, 401);
    } finally {
      await t.close();
    }
  });
});
