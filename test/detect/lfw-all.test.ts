import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RawImage } from '../../src/core/index.js';
import { resolvePaths, resolveRuntimeOptions } from '../../src/core/index.js';
import { MtcnnDetector } from '../../src/detect/mtcnn.js';
import { decodeImage } from '../../src/image/decode.js';
import { sharedPath, sharedSkip } from '../helpers.js';

/** Every `<Name>/<Name>_NNNN.jpg` under the LFW folder, sorted. */
function lfwPhotos(root: string): string[] {
  const out: string[] = [];
  for (const person of readdirSync(root, { withFileTypes: true })) {
    if (!person.isDirectory()) continue;
    for (const f of readdirSync(join(root, person.name)))
      if (f.endsWith('.jpg')) out.push(join(person.name, f));
  }
  return out.sort();
}

describe('detect/mtcnn: every LFW photo', () => {
  it('yields at least one face (seed parameters; 3811 photos of 150×150, about a minute)', {
    skip: sharedSkip('data/faces/lfw'),
    timeout: 600_000,
  }, async (t) => {
    const root = sharedPath('data', 'faces', 'lfw');
    const photos = lfwPhotos(root);
    assert.ok(photos.length > 3000, `${photos.length} photos`);
    const detector = await MtcnnDetector.load(resolvePaths(), resolveRuntimeOptions());
    const none: string[] = [];
    const start = performance.now();
    try {
      // Decode the next photo (sharp's threads) while the current one is searched.
      let next: Promise<RawImage> = decodeImage(join(root, photos[0]!));
      for (let i = 0; i < photos.length; i++) {
        const img = await next;
        if (i + 1 < photos.length) next = decodeImage(join(root, photos[i + 1]!));
        if ((await detector.detect(img)).length === 0) none.push(photos[i]!);
      }
    } finally {
      await detector.dispose();
    }
    t.diagnostic(
      `${photos.length} photos, ${none.length} without a face, ${((performance.now() - start) / photos.length).toFixed(1)} ms per photo`,
    );
    assert.deepEqual(none, []);
  });
});
