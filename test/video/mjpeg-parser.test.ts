import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { decodeImage, encodeJpeg, resize } from '../../src/image/index.js';
import { jpegEnd, MjpegParser, MjpegStreamError, multipartBoundary } from '../../src/video/index.js';
import { demoPhoto } from '../helpers.js';

/** Feed `stream` to a parser in pieces of `step` bytes; return the parts' bytes. */
function parseAll(parser: MjpegParser, stream: Buffer, step: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += step) {
    for (const p of parser.push(stream.subarray(i, i + step))) out.push(p.data);
  }
  return out;
}

/** A JPEG with an APP1 segment holding an embedded "thumbnail" JPEG (its own SOI…EOI). */
function withThumbnail(jpeg: Buffer, thumb: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from('Exif\0\0'), thumb]);
  const seg = Buffer.alloc(4);
  seg[0] = 0xff;
  seg[1] = 0xe1;
  seg.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, payload, jpeg.subarray(2)]);
}

describe('multipartBoundary', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['multipart/x-mixed-replace;boundary=boundarydonotcross', 'boundarydonotcross'],
    ['multipart/x-mixed-replace; boundary="--myboundary"', 'myboundary'],
    ['Multipart/X-Mixed-Replace; charset=x; BOUNDARY=--frame', 'frame'],
    ['multipart/x-mixed-replace; boundary=123456789000000000000987654321', '123456789000000000000987654321'],
    ['multipart/x-mixed-replace', undefined],
    ['multipart/x-mixed-replace; boundary=""', undefined],
    ['multipart/x-mixed-replace; boundary=--', undefined],
    ['image/jpeg', undefined],
    [undefined, undefined],
  ];
  for (const [type, want] of cases) {
    it(`${String(type)} → ${String(want)}`, () => assert.equal(multipartBoundary(type), want));
  }
});

describe('MJPEG parsing', () => {
  const frames: Buffer[] = [];
  before(async () => {
    const photo = await decodeImage(demoPhoto(2), { maxWidth: 320 });
    frames.push(await encodeJpeg(photo, 80));
    frames.push(await encodeJpeg(await resize(photo, 200, 140), 70));
    const thumb = await encodeJpeg(await resize(photo, 32, 24), 50);
    frames.push(withThumbnail(await encodeJpeg(await resize(photo, 160, 112), 75), thumb));
  });

  it('jpegEnd finds the real end, past an embedded thumbnail, and says when data is missing', () => {
    for (const f of frames) assert.equal(jpegEnd(f, 0), f.length);
    const f = frames[2]!;
    assert.equal(jpegEnd(f.subarray(0, f.length - 1), 0), -1);
    assert.equal(jpegEnd(Buffer.from([0xff, 0xd8, 0x00, 0x00]), 0), -2);
    assert.equal(jpegEnd(Buffer.from([0x00, 0x01]), 0), -2);
  });

  const styles: { name: string; type: string; build: (f: Buffer) => Buffer }[] = [
    {
      name: 'mjpg-streamer (boundary declared without dashes, Content-Length, CRLF)',
      type: 'multipart/x-mixed-replace;boundary=boundarydonotcross',
      build: (f) =>
        Buffer.concat([
          Buffer.from(
            `--boundarydonotcross\r\nContent-Type: image/jpeg\r\nContent-Length: ${f.length}\r\nX-Timestamp: 1.5\r\n\r\n`,
          ),
          f,
          Buffer.from('\r\n'),
        ]),
    },
    {
      name: 'quoted boundary declared with dashes, no Content-Length, LF line ends',
      type: 'multipart/x-mixed-replace; boundary="--myboundary"',
      build: (f) =>
        Buffer.concat([Buffer.from('--myboundary\nContent-Type: image/jpeg\n\n'), f, Buffer.from('\n')]),
    },
    {
      name: 'ESP32-CAM (CRLF before each delimiter, Content-Length)',
      type: 'multipart/x-mixed-replace;boundary=123456789000000000000987654321',
      build: (f) =>
        Buffer.concat([
          Buffer.from(
            `\r\n--123456789000000000000987654321\r\nContent-Type: image/jpeg\r\nContent-Length: ${f.length}\r\n\r\n`,
          ),
          f,
        ]),
    },
    {
      name: 'extra dashes on the delimiter line and no header block',
      type: 'multipart/x-mixed-replace; boundary=frame',
      build: (f) => Buffer.concat([Buffer.from('----frame\r\n'), f, Buffer.from('\r\n')]),
    },
    {
      name: 'bare concatenated JPEGs with garbage between them',
      type: 'image/jpeg',
      build: (f) => Buffer.concat([Buffer.from('junk'), f]),
    },
    {
      name: 'no content type at all',
      type: '',
      build: (f) => f,
    },
  ];
  for (const style of styles) {
    it(`${style.name}: every frame, byte-exact, whatever the chunking`, () => {
      const stream = Buffer.concat([...frames, ...frames].map(style.build));
      for (const step of [1, 7, 1000, 65536, stream.length]) {
        const parts = parseAll(new MjpegParser(style.type || undefined), stream, step);
        assert.equal(parts.length, 6, `step ${step}`);
        for (let i = 0; i < 6; i++) assert.ok(parts[i]!.equals(frames[i % 3]!), `frame ${i} at step ${step}`);
      }
    });
  }

  it('stops at the closing delimiter', () => {
    const f = frames[0]!;
    const stream = Buffer.concat([
      Buffer.from(`--b\r\nContent-Length: ${f.length}\r\n\r\n`),
      f,
      Buffer.from('\r\n--b--\r\n'),
      Buffer.from(`--b\r\nContent-Length: ${f.length}\r\n\r\n`),
      f,
    ]);
    const parser = new MjpegParser('multipart/x-mixed-replace; boundary=b');
    assert.equal(parseAll(parser, stream, 100).length, 1);
    assert.equal(parser.ended, true);
  });

  it('refuses a part larger than the limit instead of growing (Content-Length, boundary search, bare JPEG)', () => {
    const max = 4096;
    const big = Buffer.alloc(10_000, 0x41);
    const withLength = new MjpegParser('multipart/x-mixed-replace; boundary=b', { maxPartBytes: max });
    assert.throws(
      () => withLength.push(Buffer.from(`--b\r\nContent-Length: ${big.length}\r\n\r\n`)),
      (e: unknown) => e instanceof MjpegStreamError && /exceeds the 4096-byte limit/.test(e.message),
    );
    const noLength = new MjpegParser('multipart/x-mixed-replace; boundary=b', { maxPartBytes: max });
    noLength.push(Buffer.from('--b\r\n\r\n'));
    assert.throws(() => noLength.push(big), MjpegStreamError);
    const bare = new MjpegParser('image/jpeg', { maxPartBytes: max });
    // A start of scan followed by endless entropy-coded data: a JPEG that never ends.
    const endless = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02]), big]);
    assert.throws(() => bare.push(endless), MjpegStreamError);
    const wrongBoundary = new MjpegParser('multipart/x-mixed-replace; boundary=nothere', {
      maxPartBytes: max,
    });
    assert.throws(() => wrongBoundary.push(big), /no multipart boundary "nothere"/);
  });

  it('keeps at most a few bytes of garbage in bare-JPEG mode', () => {
    const parser = new MjpegParser('image/jpeg', { maxPartBytes: 1 << 20 });
    for (let i = 0; i < 100; i++) parser.push(Buffer.alloc(50_000, 0x11));
    assert.ok(parser.buffered <= 2);
  });

  it('rejects a malformed Content-Length', () => {
    const parser = new MjpegParser('multipart/x-mixed-replace; boundary=b');
    assert.throws(
      () => parser.push(Buffer.from('--b\r\nContent-Length: 12abc\r\n\r\n')),
      /malformed part Content-Length/,
    );
  });
});
