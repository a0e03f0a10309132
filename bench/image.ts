/**
 * `image` suite: decoding photos (640×480 and 1920×1280 JPEGs, the sample photo with its ICC
 * profile ignored or converted, decode + shrink-on-load to 640 wide), header probing, and
 * drawing annotations. The test JPEGs are made from `@vladmandic/face-api/demo/sample1.jpg` in
 * memory; decoding reads from memory, so disk speed is not measured.
 */
import { readFileSync } from 'node:fs';
import type { Annotation } from '../src/image/index.js';
import {
  annotateToJpeg,
  crop,
  decodeImage,
  drawAnnotations,
  encodeJpeg,
  probeImage,
  resize,
} from '../src/image/index.js';
import { demoPhoto } from '../test/helpers.js';
import { measure, type Suite, type Timing } from './harness.js';

/** Five face-like boxes with landmarks and labels across a 1920×1280 frame. */
function annotations(): Annotation[] {
  const out: Annotation[] = [];
  const names = ['张伟', 'Alice Smith', 'مرحبا', 'unknown', 'Bob'];
  names.forEach((name, i) => {
    const x = 120 + i * 340;
    const y = 300 + (i % 2) * 200;
    out.push({ kind: 'box', box: [x, y, x + 220, y + 280] });
    out.push({
      kind: 'points',
      points: [
        [x + 70, y + 110],
        [x + 150, y + 110],
        [x + 110, y + 160],
        [x + 80, y + 210],
        [x + 140, y + 210],
      ],
    });
    out.push({ kind: 'label', text: name, at: [x, y], fontSize: 28 });
  });
  return out;
}

export const suite: Suite = {
  name: 'image',
  async run(log) {
    const sample = readFileSync(demoPhoto(1));
    const full = await decodeImage(sample);
    // 640×480: the centre 4:3 part of the 3:2 photo, scaled down; 1920×1280: the photo re-encoded
    // without its ICC profile. Both quality 90, 4:2:0, like camera and webcam JPEGs.
    const jpeg640 = await encodeJpeg(await resize(crop(full, [107, 0, 1813, 1280]), 640, 480), 90);
    const jpeg1920 = await encodeJpeg(full, 90);
    const timings: Timing[] = [];
    const run = async (name: string, fn: () => Promise<unknown>, iterations = 30) => {
      const t = await measure(name, fn, { warmup: 3, iterations });
      log(`${name}: median ${t.median} ms (min ${t.min}, max ${t.max}, n ${t.n})`);
      timings.push(t);
      return t;
    };
    await run('decode 640x480 JPEG', () => decodeImage(jpeg640), 60);
    await run('decode 1920x1280 JPEG', () => decodeImage(jpeg1920));
    const ignore = await run('decode sample1.jpg 1920x1280, ICC ignored (default)', () =>
      decodeImage(sample),
    );
    const convert = await run('decode sample1.jpg 1920x1280, ICC converted', () =>
      decodeImage(sample, { ignoreIcc: false }),
    );
    await run('decode + shrink to 640 wide, sample1.jpg (maxWidth)', () =>
      decodeImage(sample, { maxWidth: 640 }),
    );
    await run('decode + shrink to 640 wide, sample1.jpg, ICC converted', () =>
      decodeImage(sample, { maxWidth: 640, ignoreIcc: false }),
    );
    await run('probe header, sample1.jpg', () => probeImage(sample), 60);
    const items = annotations();
    await run('draw 5 boxes + landmarks + labels on 1920x1280', () => drawAnnotations(full, items), 15);
    await run('annotate 1920x1280 to JPEG q85', () => annotateToJpeg(full, items), 15);
    return {
      timings,
      iccConversionShareOfDecode: Math.round((1 - ignore.median / convert.median) * 1000) / 1000,
      inputs: { jpeg640Bytes: jpeg640.length, jpeg1920Bytes: jpeg1920.length, sample1Bytes: sample.length },
    };
  },
};
