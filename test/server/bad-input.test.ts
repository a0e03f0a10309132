/**
 * Hostile and broken input against the upload routes: empty, truncated and oversized images,
 * documents disguised as images, wrong content types, a 1 GB declared body, 10 000 parts, a slow
 * sender, malformed JSON, odd names. Every answer is a JSON error with the right status (never a
 * 500) and the service stays healthy.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { disposeRecognizer, facePhoto, json, multipart, startService, type TestService } from './harness.js';

after(disposeRecognizer);

type Json = Record<string, unknown>;

/** A PNG whose IHDR claims `w`×`h` (no pixel data). */
function pngHeader(w: number, h: number): Buffer {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'ascii');
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  b[24] = 8;
  b[25] = 2;
  return b;
}

/** A GIF whose logical screen claims `w`×`h`. */
function gifHeader(w: number, h: number): Buffer {
  const b = Buffer.alloc(13);
  b.write('GIF89a', 0, 'ascii');
  b.writeUInt16LE(w, 6);
  b.writeUInt16LE(h, 8);
  return b;
}

/** Read one HTTP response from a raw socket (until the server closes or the body is complete). */
function readResponse(sock: Socket): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    sock.setEncoding('utf8');
    const done = () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body });
    };
    sock.on('data', (c: string) => {
      data += c;
      const m = /content-length: (\d+)/i.exec(data);
      const split = data.indexOf('\r\n\r\n');
      if (m && split >= 0 && data.length - split - 4 >= Number(m[1])) done();
    });
    sock.on('end', done);
    sock.on('close', done);
    sock.on('error', (e) =>
      (e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ECONNRESET'
        ? done()
        : reject(e),
    );
  });
}

describe('bad input on the upload routes', () => {
  let t: TestService;
  let port = 0;
  const inject = (o: InjectOptions) => t.service.app.inject(o);
  const expectError = async (o: InjectOptions, status: number, code: string) => {
    const res = await inject(o);
    assert.equal(res.statusCode, status, `${o.url}: ${res.body}`);
    assert.equal((json(res).error as Json).code, code, res.body);
    assert.ok(!/\n\s+at /.test(res.body), 'no stack trace');
    return res;
  };
  const raw = (payload: Buffer | string, type = 'image/jpeg'): InjectOptions => ({
    method: 'POST',
    url: '/api/v1/detect',
    headers: { 'content-type': type },
    payload,
  });

  before(async () => {
    t = await startService({ maxBodyBytes: 2_000_000, requestTimeoutMs: 1500, headersTimeoutMs: 1500 });
    ({ port } = await t.service.listen());
  });
  after(async () => {
    await t.close();
  });

  it('empty uploads → 400 invalid_image', async () => {
    await expectError(raw(Buffer.alloc(0)), 400, 'invalid_image');
    await expectError(
      {
        method: 'POST',
        url: '/api/v1/detect',
        ...multipart([{ name: 'image', filename: 'e.jpg', data: Buffer.alloc(0) }]),
      },
      400,
      'invalid_image',
    );
  });

  it('truncated JPEGs → 400 invalid_image, at several points', async () => {
    const jpeg = await facePhoto(1, 0);
    for (const frac of [0.02, 0.3, 0.6, 0.95]) {
      await expectError(raw(jpeg.subarray(0, Math.floor(jpeg.length * frac))), 400, 'invalid_image');
    }
  });

  it('a corrupted JPEG scan is either refused (400) or analysed (200), never a 500', async () => {
    const jpeg = Buffer.from(await facePhoto(1, 0));
    for (let i = Math.floor(jpeg.length / 2); i < Math.floor(jpeg.length / 2) + 64; i++) jpeg[i] = 0xff;
    const res = await inject(raw(jpeg));
    assert.ok(res.statusCode === 200 || res.statusCode === 400, `${res.statusCode} ${res.body}`);
  });

  it('headers claiming 30000×30000 → 413 image_too_large, without decoding', async () => {
    await expectError(raw(pngHeader(30000, 30000), 'image/png'), 413, 'image_too_large');
    await expectError(raw(gifHeader(30000, 30000), 'image/gif'), 413, 'image_too_large');
    await expectError(raw(pngHeader(100000, 100000), 'image/png'), 413, 'image_too_large');
    const res = await expectError(
      {
        method: 'POST',
        url: '/api/v1/identify',
        ...multipart([{ name: 'image', filename: 'big.png', data: pngHeader(30000, 30000) }]),
      },
      413,
      'image_too_large',
    );
    assert.match(String((json(res).error as Json).message), /30000×30000/);
  });

  it('SVG, HTML, PDF, text and a JPEG/HTML polyglot sent as image/jpeg → 415 by content', async () => {
    const docs: [string, string | Buffer][] = [
      [
        'svg',
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaa">]><svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>',
      ],
      ['html', '<!doctype html><html><body><script>alert(1)</script></body></html>'],
      ['pdf', '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF'],
      ['text', 'just some text, not an image'],
      [
        'polyglot',
        Buffer.concat([Buffer.from('<html><!--'), await facePhoto(1, 0), Buffer.from('--></html>')]),
      ],
    ];
    for (const [name, data] of docs) {
      await expectError(
        raw(typeof data === 'string' ? Buffer.from(data) : data),
        415,
        'unsupported_media_type',
      );
      await expectError(
        {
          method: 'POST',
          url: '/api/v1/identify',
          ...multipart([{ name: 'image', filename: `${name}.jpg`, type: 'image/jpeg', data }]),
        },
        415,
        'unsupported_media_type',
      );
    }
  });

  it('wrong Content-Type → 415; malformed JSON and schema violations → 400', async () => {
    await expectError(raw(await facePhoto(1, 0), 'text/plain'), 415, 'unsupported_media_type');
    await expectError(raw('{"a":1}', 'application/json'), 415, 'unsupported_media_type');
    await expectError(
      {
        method: 'POST',
        url: '/api/v1/people',
        headers: { 'content-type': 'image/jpeg' },
        payload: await facePhoto(1, 0),
      },
      415,
      'unsupported_media_type',
    );
    await expectError(
      {
        method: 'POST',
        url: '/api/v1/people',
        headers: { 'content-type': 'application/json' },
        payload: '{"name": "x"',
      },
      400,
      'bad_request',
    );
    await expectError(
      { method: 'POST', url: '/api/v1/people', headers: { 'content-type': 'application/json' }, payload: '' },
      400,
      'bad_request',
    );
    await expectError(
      { ...raw(await facePhoto(1, 0)), url: '/api/v1/detect?min_size=abc' },
      400,
      'bad_request',
    );
    await expectError(
      { ...raw(await facePhoto(1, 0)), url: '/api/v1/identify?vote=loudest' },
      400,
      'bad_request',
    );
    await expectError({ method: 'GET', url: '/api/v1/people/abc' }, 400, 'bad_request');
    await expectError({ method: 'GET', url: '/api/v1/people/0' }, 400, 'bad_request');
    await expectError({ method: 'GET', url: '/api/v1/people/99999999999999999999' }, 400, 'bad_request');
    await expectError(
      { method: 'POST', url: '/api/v1/detect', ...multipart([{ name: 'note', data: 'no file here' }]) },
      400,
      'bad_request',
    );
    await expectError(
      {
        method: 'POST',
        url: '/api/v1/detect',
        ...multipart([
          { name: 'a', filename: 'a.jpg', data: await facePhoto(1, 0) },
          { name: 'b', filename: 'b.jpg', data: await facePhoto(1, 0) },
        ]),
      },
      400,
      'bad_request',
    );
  });

  it('10 000 multipart parts → 413 before they are all read', async () => {
    const { person: p } = await t.store.ensurePerson('Many');
    const parts = Array.from({ length: 10_000 }, (_, i) => ({ name: `f${i}`, data: 'x' }));
    await expectError(
      { method: 'POST', url: `/api/v1/people/${p.id}/faces`, ...multipart(parts) },
      413,
      'payload_too_large',
    );
    const files = Array.from({ length: 25 }, (_, i) => ({ name: 'photos', filename: `${i}.jpg`, data: 'x' }));
    await expectError(
      { method: 'POST', url: `/api/v1/people/${p.id}/faces`, ...multipart(files) },
      413,
      'payload_too_large',
    );
  });

  it('a 1 GB Content-Length → 413 at once, before any body byte is sent', async () => {
    const sock = connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const answer = readResponse(sock);
    sock.write(
      'POST /api/v1/identify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000000\r\n\r\n',
    );
    const res = await answer;
    sock.destroy();
    assert.equal(res.status, 413);
    assert.match(res.head, /connection: close/i);
    assert.equal((JSON.parse(res.body).error as Json).code, 'payload_too_large');
  });

  it('an oversized body without Content-Length (chunked) → 413 while streaming', async () => {
    const sock = connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const answer = readResponse(sock);
    sock.write(
      'POST /api/v1/detect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    const chunk = Buffer.alloc(256 * 1024, 0xff);
    let sent = 0;
    for (let i = 0; i < 12 && !sock.destroyed; i++) {
      const ok = sock.write(`${chunk.length.toString(16)}\r\n`) && sock.write(chunk) && sock.write('\r\n');
      sent += chunk.length;
      if (!ok) await new Promise((r) => setTimeout(r, 20));
    }
    const res = await answer;
    sock.destroy();
    assert.ok(sent > 2_000_000);
    assert.equal(res.status, 413, res.head);
  });

  it('an oversized multipart file → 413 while streaming', async () => {
    const big = Buffer.concat([await facePhoto(1, 0), Buffer.alloc(2_500_000)]);
    await expectError(
      {
        method: 'POST',
        url: '/api/v1/detect',
        headers: multipart([]).headers,
        payload: multipart([{ name: 'image', filename: 'big.jpg', data: big }]).payload,
      },
      413,
      'payload_too_large',
    );
  });

  it('a slow sender gets 408 and the connection is closed', async () => {
    const sock = connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const answer = readResponse(sock);
    sock.write(
      'POST /api/v1/detect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n',
    );
    sock.write(Buffer.alloc(1000, 0xff));
    const res = await answer;
    sock.destroy();
    assert.equal(res.status, 408, res.head);
    assert.equal((JSON.parse(res.body).error as Json).code, 'request_timeout');
  });

  it('odd person names are stored normalized or refused with 400, never used as paths', async () => {
    const cases: [string, number][] = [
      ['../../etc/passwd', 201],
      ['a/b', 201],
      ["Robert'); DROP TABLE person;--", 201],
      ['<img src=x onerror=alert(1)>', 201],
      ['👩‍👩‍👧 family', 201],
      ['x'.repeat(10_000), 400],
      ['a\u0000b', 400],
      ['evil\u202Etxt.exe', 400],
      ['   ', 400],
    ];
    for (const [name, status] of cases) {
      const res = await inject({ method: 'POST', url: '/api/v1/people', payload: { name } });
      assert.equal(res.statusCode, status, `${JSON.stringify(name.slice(0, 40))}: ${res.body.slice(0, 200)}`);
      if (status === 201) assert.equal(json(res).name, name);
    }
    assert.equal(
      (await inject({ method: 'POST', url: '/api/v1/people', payload: { name: 'Rene\u0301' } })).statusCode,
      201,
    );
    assert.equal(
      (await inject({ method: 'POST', url: '/api/v1/people', payload: { name: 'Ren\u00e9' } })).statusCode,
      409,
    );
  });

  it('the service is still healthy and logged no fault', async () => {
    const res = await inject({ method: 'GET', url: '/api/v1/health' });
    assert.equal(res.statusCode, 200);
    const ok = await inject(raw(await facePhoto(1, 0)));
    assert.equal(ok.statusCode, 200);
    assert.equal((json(ok).faces as Json[]).length, 1);
    assert.deepEqual(
      t.logs.filter((l) => /internal|Error/.test(l)),
      [],
    );
  });
});
