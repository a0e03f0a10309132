/**
 * The live WebSocket: the browser-camera channel (JPEG frames in, per-frame results with names
 * out, events), subscriptions to a camera's frames, message errors, and access control of the
 * upgrade (key, `?key=`, foreign Origin).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nextSubscription, parseClientMessage } from '../../src/server/index.js';
import { PushSource } from '../../src/video/index.js';
import {
  disposeRecognizer,
  facePhoto,
  groupPhoto,
  multipart,
  startService,
  type TestService,
} from './harness.js';

after(disposeRecognizer);

type Json = Record<string, unknown>;

/** The camera sources the service opened, by id. */
const opened = new Map<string, PushSource>();

/** The client side of a WebSocket (the `ws` package, untyped here). */
interface WsClient {
  send(data: string | Buffer): void;
  close(): void;
  terminate(): void;
  on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'close', fn: (code: number) => void): void;
}

/** Collects a socket's JSON messages and waits for matching ones. */
class Inbox {
  readonly messages: Json[] = [];
  #waiters: { pred: (m: Json) => boolean; resolve: (m: Json) => void }[] = [];

  constructor(ws: WsClient) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString('utf8')) as Json;
      this.messages.push(m);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  /** The first message (already received or future) matching `pred`. */
  next(pred: (m: Json) => boolean, timeoutMs = 20_000): Promise<Json> {
    const have = this.messages.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching message; got ${this.messages.map((m) => m.type).join(',')}`)),
        timeoutMs,
      );
      this.#waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }
}

describe('live WebSocket', () => {
  let t: TestService;
  const connect = async (path = '/api/v1/live', headers: Record<string, string> = {}) => {
    let inbox: Inbox | undefined;
    // Listen from the start: the server's hello may come before the client sees 'open'.
    const ws = (await t.service.app.injectWS(
      path,
      { headers },
      {
        onInit: (socket) => {
          inbox = new Inbox(socket as unknown as WsClient);
        },
      },
    )) as unknown as WsClient;
    return { ws, inbox: inbox! };
  };
  before(async () => {
    t = await startService({
      openSource: (_u, id) => {
        const s = new PushSource({ id });
        opened.set(id, s);
        return s;
      },
      startCameras: true,
    });
    const person = await t.service.app.inject({
      method: 'POST',
      url: '/api/v1/people',
      payload: { name: 'Alice' },
    });
    const id = JSON.parse(person.body).id as number;
    const enroll = await t.service.app.inject({
      method: 'POST',
      url: `/api/v1/people/${id}/faces`,
      ...multipart([
        { name: 'photos', filename: 'a1.jpg', data: await facePhoto(1, 0) },
        { name: 'photos', filename: 'a2.jpg', data: await facePhoto(1, 0, 0.7) },
      ]),
    });
    assert.equal(enroll.statusCode, 200);
  });
  after(async () => {
    await t.close();
  });

  it('browser camera: JPEG frames in, per-frame results with the name out, then an event', async () => {
    const { ws, inbox } = await connect();
    try {
      const hello = await inbox.next((m) => m.type === 'hello');
      assert.equal(typeof hello.threshold, 'number');
      assert.deepEqual(hello.cameras, []);
      ws.send(JSON.stringify({ type: 'device', name: 'Kitchen phone' }));
      const frame = await facePhoto(1, 0, 0.9);
      let result: Json | undefined;
      for (let i = 1; i <= 20 && !result; i++) {
        ws.send(frame);
        const r = await inbox.next((m) => m.type === 'frame' && m.seq === i);
        if ((r.faces as Json[])[0]?.name === 'Alice') result = r;
      }
      assert.ok(result, 'Alice was named');
      assert.deepEqual([result.source, result.camera_id, result.camera], ['device', null, 'Kitchen phone']);
      const face = (result.faces as Json[])[0]!;
      assert.deepEqual(Object.keys(face).sort(), [
        'box',
        'distance',
        'landmarks',
        'name',
        'person_id',
        'score',
        'track',
      ]);
      assert.equal((face.landmarks as number[][]).length, 5);
      assert.deepEqual(Object.keys(result.timings as Json).sort(), [
        'detect_ms',
        'embed_ms',
        'identify_ms',
        'total_ms',
      ]);
      // A face seen on two frames makes an "appeared" event.
      let event: Json | undefined;
      for (let i = 0; i < 10 && !event; i++) {
        ws.send(frame);
        event = await inbox.next((m) => m.type === 'event', 3000).catch(() => undefined);
      }
      assert.ok(event, 'an event arrived');
      const e = event.event as Json;
      assert.deepEqual([e.kind, e.name, e.camera_id, e.camera], ['appeared', 'Alice', null, 'browser']);
      const stored = JSON.parse((await t.service.app.inject({ method: 'GET', url: '/api/v1/events' })).body);
      assert.ok((stored.events as Json[]).some((x) => x.id === e.id));
    } finally {
      ws.terminate();
    }
  });

  it('a frame that is not an image gets an error message; the connection stays open', async () => {
    const { ws, inbox } = await connect();
    try {
      await inbox.next((m) => m.type === 'hello');
      ws.send(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'));
      const err = await inbox.next((m) => m.type === 'error');
      assert.deepEqual([(err.error as Json).code, err.seq], ['unsupported_media_type', 1]);
      ws.send('{"type": "dance"}');
      const bad = await inbox.next((m) => m.type === 'error' && (m.error as Json).code === 'bad_request');
      assert.match(String((bad.error as Json).message), /Unknown message/);
      ws.send('{"type": "ping"}');
      await inbox.next((m) => m.type === 'pong');
      ws.send(await facePhoto(1, 0));
      const ok = await inbox.next((m) => m.type === 'frame');
      assert.equal(ok.seq, 2, 'the seq counts every binary message');
    } finally {
      ws.terminate();
    }
  });

  it('subscribers get the frames of a camera', async () => {
    const add = await t.service.app.inject({
      method: 'POST',
      url: '/api/v1/cameras',
      payload: { name: 'Lab', url: 'http://127.0.0.1:9/v' },
    });
    assert.equal(add.statusCode, 201);
    const camId = JSON.parse(add.body).id as number;
    const { ws, inbox } = await connect();
    try {
      await inbox.next((m) => m.type === 'hello');
      ws.send(JSON.stringify({ type: 'subscribe', cameras: [camId] }));
      const sub = await inbox.next((m) => m.type === 'subscribed');
      assert.deepEqual(sub.cameras, [camId]);
      // The test's source factory made a PushSource for the camera; feed it through the manager.
      const frame = await groupPhoto(1, 640);
      let got: Json | undefined;
      for (let i = 0; i < 30 && !got; i++) {
        pushToCamera(camId, frame);
        got = await inbox
          .next((m) => m.type === 'frame' && m.source === 'camera', 1000)
          .catch(() => undefined);
      }
      assert.ok(got, 'a camera frame arrived');
      assert.deepEqual([got.camera_id, got.camera], [camId, 'Lab']);
      assert.equal((got.faces as Json[]).length, 3);
    } finally {
      ws.terminate();
    }
  });

  it('parses client messages strictly and updates subscriptions', () => {
    assert.deepEqual(parseClientMessage('{"type":"subscribe","cameras":[1,2]}'), {
      type: 'subscribe',
      cameras: [1, 2],
    });
    assert.deepEqual(parseClientMessage('{"type":"unsubscribe","cameras":"all"}'), {
      type: 'unsubscribe',
      cameras: 'all',
    });
    for (const bad of [
      '',
      'null',
      '[]',
      '{"type":"subscribe","cameras":[0]}',
      '{"type":"subscribe","cameras":["1"]}',
      '{"type":"device","name":5}',
    ]) {
      assert.equal(parseClientMessage(bad), undefined, bad);
    }
    assert.deepEqual([...(nextSubscription(new Set([1]), 'subscribe', [2]) as Set<number>)], [1, 2]);
    assert.equal(nextSubscription(new Set([1]), 'subscribe', 'all'), 'all');
    assert.deepEqual([...(nextSubscription(new Set([1, 2]), 'unsubscribe', [1]) as Set<number>)], [2]);
    assert.deepEqual([...(nextSubscription('all', 'unsubscribe', [1]) as Set<number>)], []);
  });
});

/** Push a JPEG into the PushSource the service opened for camera `id`. */
function pushToCamera(id: number, jpeg: Buffer): void {
  const src = opened.get(`camera-${id}`);
  assert.ok(src, 'the camera source was opened');
  src.push(jpeg);
}

describe('WebSocket access control', () => {
  let t: TestService & { keys: Record<string, string> };
  let port = 0;
  before(async () => {
    t = await startService({ requireKey: true, keys: { viewer: true } });
    ({ port } = await t.service.listen());
  });
  after(async () => {
    await t.close();
  });

  /** Try an upgrade over a real socket; resolves with the HTTP status (101 for success). */
  const upgrade = async (path: string, headers: Record<string, string> = {}) => {
    const http = await import('node:http');
    return new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        path,
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          ...headers,
        },
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  };

  it('no key → 401 before the upgrade; ?key= or a header → 101; a foreign Origin → 403', async () => {
    assert.equal(await upgrade('/api/v1/live'), 401);
    assert.equal(await upgrade('/api/v1/live?key=fr_wrong'), 401);
    assert.equal(await upgrade(`/api/v1/live?key=${t.keys.viewer}`), 101);
    assert.equal(await upgrade('/api/v1/live', { authorization: `Bearer ${t.keys.viewer}` }), 101);
    assert.equal(
      await upgrade(`/api/v1/live?key=${t.keys.viewer}`, {
        origin: `http://127.0.0.1:${port}`,
        host: `127.0.0.1:${port}`,
      }),
      101,
    );
    assert.equal(await upgrade(`/api/v1/live?key=${t.keys.viewer}`, { origin: 'https://evil.example' }), 403);
  });
});
