/**
 * Oversized and unauthorized uploads against the real server: `facerec serve` in its own process,
 * reached over a TCP socket by a client that really tries to send a gigabyte. The server must
 * answer before buffering (401/403 before reading a byte of the body, 413 at once for a declared
 * size over the limit, 413 at the limit while a body without a length streams in), close the
 * connection so that the rest is never read, and keep its memory: its RSS must not grow by
 * anything near the body size. Afterwards a valid request succeeds.
 *
 * The slow sender (408) is tested on the real socket of an in-process server in
 * test/server/bad-input.test.ts, where the request timeout can be shortened.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../../src/gallery/index.js';
import { generateApiKey, hashApiKey } from '../../src/server/index.js';
import { disposeRecognizer } from '../server/harness.js';
import { portrait } from './corpus.js';
import { peakRss, rssBytes, type ServeChild, startServe } from './serve-child.js';

after(disposeRecognizer);

const GB = 1_000_000_000;
/** How much the server's RSS may grow while a gigabyte is thrown at it. */
const RSS_SLACK = 64 * 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly head: string;
  readonly body: string;
  /** Body bytes the client managed to write before the server closed the connection. */
  readonly sent: number;
  /** Body bytes written before the answer arrived. */
  readonly sentBeforeAnswer: number;
}

/**
 * Send `head`, then up to `total` body bytes made by `chunk(i)` (unless `bodyAfterAnswer` is
 * false and the answer came first), reading the answer. Stops writing when the server closes.
 */
function exchange(
  port: number,
  head: string,
  chunk: ((i: number) => Buffer) | null,
  total: number,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(port, '127.0.0.1');
    let data = '';
    let sent = 0;
    let sentBeforeAnswer = -1;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      sock.destroy();
      const [h = '', ...rest] = data.split('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(h)?.[1] ?? 0),
        head: h,
        body: rest.join('\r\n\r\n'),
        sent,
        sentBeforeAnswer: sentBeforeAnswer < 0 ? sent : sentBeforeAnswer,
      });
    };
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      if (sentBeforeAnswer < 0) sentBeforeAnswer = sent;
      data += d;
    });
    sock.on('end', finish);
    sock.on('close', finish);
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ECONNRESET') finish();
      else reject(e);
    });
    sock.once('connect', async () => {
      sock.write(head);
      if (!chunk) {
        // Headers only: the answer must come without any body byte.
        setTimeout(finish, 3000);
        return;
      }
      for (let i = 0; sent < total && !sock.destroyed && !finished; i++) {
        const c = chunk(i);
        sent += c.length;
        if (!sock.write(c)) {
          await new Promise<void>((r) => {
            const t = setTimeout(r, 2000);
            sock.once('drain', () => {
              clearTimeout(t);
              r();
            });
          });
        }
        // A server that keeps reading after its answer would take all of it: stop at a quarter.
        if (sentBeforeAnswer >= 0 && sent - sentBeforeAnswer > total / 4) break;
      }
      setTimeout(finish, 2000);
    });
  });
}

/** One chunk of a `transfer-encoding: chunked` body. */
function chunk(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')]);
}

describe('a gigabyte thrown at the real server (facerec serve in its own process)', () => {
  let dataDir = '';
  let s: ServeChild;
  const keys: Record<string, string> = {};
  let baseline = 0;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'facerec-sockets-'));
    const store = await SqliteStore.open({ path: join(dataDir, 'gallery.sqlite') });
    for (const [name, readOnly] of [
      ['admin', false],
      ['viewer', true],
      ['old', false],
    ] as const) {
      keys[name] = generateApiKey();
      await store.createApiKey({ name, hash: hashApiKey(keys[name]!), readOnly });
    }
    await store.revokeApiKey('old');
    await store.ensurePerson('Target');
    await store.close();
    s = await startServe(['--data', dataDir], ['--require-key']);
    // Warm up (models, the first analysis) before measuring memory.
    const jpeg = (await portrait()).jpeg;
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${s.url}/api/v1/detect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'image/jpeg' },
        body: jpeg,
      });
      assert.equal(r.status, 200);
    }
    baseline = rssBytes(s.pid);
  });
  after(async () => {
    await s?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const head = (path: string, headers: Record<string, string>) =>
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`;

  it('no key, a wrong or revoked key → 401; a read-only key on a write route → 403: before any body byte is sent', async () => {
    const cases: [string, Record<string, string>, number][] = [
      ['/api/v1/people/1/faces', {}, 401],
      ['/api/v1/people/1/faces', { authorization: 'Bearer fr_wrong' }, 401],
      ['/api/v1/people/1/faces', { 'x-api-key': keys.old! }, 401],
      ['/api/v1/people/1/faces', { authorization: `Bearer ${keys.viewer}` }, 403],
      ['/api/v1/detect', { authorization: 'Bearer fr_wrong' }, 401],
      ['/api/v1/people', { authorization: `Bearer ${keys.viewer}` }, 403],
    ];
    for (const [path, auth, status] of cases) {
      const type = path.endsWith('people') ? 'application/json' : 'multipart/form-data; boundary=x';
      const a = await exchange(
        s.port,
        head(path, { ...auth, 'content-type': type, 'content-length': String(GB) }),
        null,
        0,
      );
      assert.equal(a.status, status, `${path} ${JSON.stringify(auth)}: ${a.head}`);
      assert.match(a.head, /connection: close/i, 'the connection is closed, the body never read');
    }
  });

  it('a declared 1 GB multipart body → 413 at once; the client sending it anyway is cut off', async () => {
    const part = Buffer.alloc(1024 * 1024, 0x41);
    const { result: a, peak } = await peakRss(s.pid, () =>
      exchange(
        s.port,
        head('/api/v1/people/1/faces', {
          authorization: `Bearer ${keys.admin}`,
          'content-type': 'multipart/form-data; boundary=x',
          'content-length': String(GB),
        }),
        (i) =>
          i === 0
            ? Buffer.from('--x\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n\r\n')
            : part,
        GB,
      ),
    );
    assert.equal(a.status, 413, a.head);
    assert.equal(JSON.parse(a.body).error.code, 'payload_too_large');
    assert.ok(a.sent < GB / 4, `the server stopped the upload (${(a.sent / 1e6).toFixed(0)} MB written)`);
    assert.ok(peak - baseline < RSS_SLACK, `RSS grew by ${((peak - baseline) / 1e6).toFixed(1)} MB`);
  });

  it('1 GB streamed without a length, one file part → 413 at the 20 MB limit, the rest never read', async () => {
    const part = Buffer.alloc(1024 * 1024, 0x42);
    const { result: a, peak } = await peakRss(s.pid, () =>
      exchange(
        s.port,
        head('/api/v1/people/1/faces', {
          authorization: `Bearer ${keys.admin}`,
          'content-type': 'multipart/form-data; boundary=x',
          'transfer-encoding': 'chunked',
        }),
        (i) => {
          const body =
            i === 0
              ? Buffer.concat([
                  Buffer.from(
                    '--x\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n\r\n',
                  ),
                  part,
                ])
              : part;
          return chunk(body);
        },
        GB,
      ),
    );
    assert.equal(a.status, 413, a.head);
    assert.ok(a.sentBeforeAnswer < 40e6, `answered after ${(a.sentBeforeAnswer / 1e6).toFixed(0)} MB`);
    assert.ok(a.sent < GB / 4, `the server stopped the upload (${(a.sent / 1e6).toFixed(0)} MB written)`);
    assert.ok(peak - baseline < RSS_SLACK, `RSS grew by ${((peak - baseline) / 1e6).toFixed(1)} MB`);
  });

  it('10 000 parts of 100 kB streamed (1 GB) → 413 after the parts limit, the rest never read', async () => {
    const part = (i: number) =>
      Buffer.concat([
        Buffer.from(`--x\r\nContent-Disposition: form-data; name="photos"; filename="${i}.jpg"\r\n\r\n`),
        Buffer.alloc(100_000, 0x43),
        Buffer.from('\r\n'),
      ]);
    const { result: a, peak } = await peakRss(s.pid, () =>
      exchange(
        s.port,
        head('/api/v1/people/1/faces', {
          authorization: `Bearer ${keys.admin}`,
          'content-type': 'multipart/form-data; boundary=x',
          'transfer-encoding': 'chunked',
        }),
        (i) => chunk(part(i)),
        10_000 * 100_100,
      ),
    );
    assert.equal(a.status, 413, a.head);
    assert.ok(a.sentBeforeAnswer < 40e6, `answered after ${(a.sentBeforeAnswer / 1e6).toFixed(0)} MB`);
    assert.ok(a.sent < GB / 4, `the server stopped the upload (${(a.sent / 1e6).toFixed(0)} MB written)`);
    assert.ok(peak - baseline < RSS_SLACK, `RSS grew by ${((peak - baseline) / 1e6).toFixed(1)} MB`);
  });

  it('afterwards a valid request succeeds, memory is back near its baseline, nothing was logged as a fault', async () => {
    const r = await fetch(`${s.url}/api/v1/detect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'image/jpeg' },
      body: (await portrait()).jpeg,
    });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { faces: unknown[] }).faces.length, 1);
    assert.ok(rssBytes(s.pid) - baseline < RSS_SLACK, 'RSS near its baseline');
    assert.doesNotMatch(s.stderr(), /internal|Error:/);
  });
});
