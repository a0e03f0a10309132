/**
 * Frames pushed by a client (the web page's camera): newest frame wins, stall and resume,
 * limits, close.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { InvalidInputError } from '../../src/core/index.js';
import { decodeImage, encodeJpeg } from '../../src/image/index.js';
import { PushSource, type StateChange } from '../../src/video/index.js';
import { demoPhoto } from '../helpers.js';
import { waitFor } from './support.js';

describe('PushSource', () => {
  let jpeg: Buffer;
  before(async () => {
    jpeg = await encodeJpeg(await decodeImage(demoPhoto(4), { maxWidth: 800 }), 80);
  });

  it('yields the newest pushed frame, decoded and shrunk to maxWidth; older ones are dropped', async () => {
    const src = new PushSource({ id: 'browser-1', maxWidth: 320 });
    for (let i = 0; i < 5; i++) src.push(jpeg, 1000 + i);
    const it = src[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    const frame = first.value!;
    assert.equal(frame.source, 'browser-1');
    assert.equal(frame.time, 1004);
    assert.equal(frame.seq, 5);
    assert.equal(frame.image.width, 320);
    assert.deepEqual(
      { received: src.stats().received, dropped: src.stats().dropped, decoded: src.stats().decoded },
      { received: 5, dropped: 4, decoded: 1 },
    );
    await src.close();
    assert.equal((await it.next()).done, true);
    src.push(jpeg); // ignored after close
    assert.equal(src.stats().received, 5);
  });

  it('connecting → live → stalled after the watchdog → live again with the next frame', async () => {
    const states: StateChange[] = [];
    const src = new PushSource({ watchdogMs: 150, onState: (s) => states.push(s) });
    src.start();
    src.push(jpeg);
    await waitFor(() => states.some((s) => s.state === 'stalled'), 2000, 'stalled');
    src.push(jpeg);
    assert.deepEqual(
      states.map((s) => s.state),
      ['connecting', 'live', 'stalled', 'live'],
    );
    assert.match(states[2]!.reason!, /no frame for 150 ms/);
    await src.close();
    assert.equal(states.at(-1)!.state, 'closed');
  });

  it('refuses empty and oversized frames; skips undecodable ones and counts them', async () => {
    const src = new PushSource({ maxFrameBytes: 1000 });
    assert.throws(() => src.push(new Uint8Array(0)), InvalidInputError);
    assert.throws(() => src.push(jpeg), /exceeds the 1000-byte limit/);
    const ok = new PushSource();
    ok.push(Buffer.from('<html>not an image</html>'));
    const it = ok[Symbol.asyncIterator]();
    const pending = it.next();
    await waitFor(() => ok.stats().decodeErrors === 1, 2000, 'the decode error');
    assert.match(ok.lastError!, /unsupported format/);
    ok.push(jpeg);
    assert.equal((await pending).value!.seq, 2);
    await ok.close();
    await src.close();
  });
});
