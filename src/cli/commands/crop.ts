/**
 * `facerec crop <dir> --out <dir> [--size 160] [--margin 44]`: the seed's face-cropping step
 * (its `calculate_dection_face.py`, after facenet's `align_dataset_mtcnn`): for every photo under
 * `<dir>`, the largest face found by the seed's MTCNN, widened by `margin` pixels in total
 * (half on each side, clipped to the image), resized to `size × size`, saved under the same
 * relative path in the output folder.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  type Box,
  type DetectedFace,
  errorMessage,
  invalidParameter,
  type RawImage,
} from '../../core/index.js';
import { MtcnnDetector } from '../../detect/index.js';
import { decodeImage } from '../../image/decode.js';
import { SAVE_EXTENSIONS, saveImage } from '../../image/encode.js';
import { crop, resize } from '../../image/ops.js';
import { cliContext } from '../context.js';
import { EXIT, printError, printResult, progress } from '../io.js';

/** File extensions `crop` treats as photos (lower-case). */
export const PHOTO_EXTENSIONS: readonly string[] = Object.freeze([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
]);

/** What `crop` did, as `--json` prints it. */
export interface CropSummary {
  /** Photos examined. */
  readonly photos: number;
  /** Face crops written. */
  readonly saved: number;
  /** Photos (relative paths) where no face was found. */
  readonly noFace: readonly string[];
  /** Photos that could not be read, with the reason. */
  readonly failed: readonly { readonly path: string; readonly error: string }[];
}

interface CropCliOptions {
  out: string;
  size: string;
  margin: string;
  json?: boolean;
}

/** Add the `crop` command to the program. */
export function register(program: Command): void {
  program
    .command('crop')
    .description('crop the largest face of every photo under <dir> into --out, keeping the folder structure')
    .argument('<dir>', 'folder of photos (searched recursively)')
    .requiredOption('--out <dir>', 'output folder (created)')
    .option('--size <n>', 'side of the square crop in pixels', '160')
    .option('--margin <n>', 'pixels added around the face box in total (half per side)', '44')
    .option('--json', 'print the summary as JSON')
    .action(async (dir: string, opts: CropCliOptions) => {
      const size = integer('--size', opts.size, 1);
      const margin = integer('--margin', opts.margin, 0);
      const { paths, runtime } = cliContext(program);
      const root = resolve(dir);
      const outRoot = resolve(opts.out);
      const files = (await listPhotos(root)).filter((f) => !isInside(f, outRoot));
      const detector = await MtcnnDetector.load(paths, runtime, { rawBoxes: true });
      const noFace: string[] = [];
      const failed: { path: string; error: string }[] = [];
      let saved = 0;
      const bar = progress(files.length, 'crop');
      try {
        for (const file of files) {
          const rel = relative(root, file);
          try {
            const img = await decodeImage(file);
            const face = largestFace(await detector.detect(img));
            if (!face) noFace.push(rel);
            else {
              const chip = await cropFace(img, face.box, size, margin);
              const ext = extname(rel);
              const target = join(
                outRoot,
                SAVE_EXTENSIONS.includes(ext.toLowerCase())
                  ? rel
                  : `${rel.slice(0, rel.length - ext.length)}.png`,
              );
              await mkdir(dirname(target), { recursive: true });
              await saveImage(chip, target);
              saved++;
            }
          } catch (err) {
            const error = errorMessage(err);
            failed.push({ path: rel, error });
            printError(error.includes(file) || error.includes(rel) ? err : new Error(`${file}: ${error}`));
          }
          bar.tick(rel);
        }
      } finally {
        bar.stop();
        await detector.dispose();
      }
      const summary: CropSummary = { photos: files.length, saved, noFace, failed };
      printResult(opts.json === true, summary, () => formatSummary(summary, outRoot));
      if (failed.length > 0) process.exitCode = EXIT.badInput;
    });
}

/**
 * The largest face by box area (ties: the higher score, which comes first), or undefined.
 */
export function largestFace(faces: readonly DetectedFace[]): DetectedFace | undefined {
  let best: DetectedFace | undefined;
  let bestArea = -1;
  for (const f of faces) {
    const area = (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]);
    if (area > bestArea) {
      best = f;
      bestArea = area;
    }
  }
  return best;
}

/**
 * The crop window of facenet's `align_dataset_mtcnn`: the box widened by `margin / 2` on each
 * side, clipped to the image, truncated to whole pixels (`[x1, x2)` columns, `[y1, y2)` rows).
 */
export function marginBox(box: Box, margin: number, width: number, height: number): Box {
  return [
    Math.trunc(Math.max(box[0] - margin / 2, 0)),
    Math.trunc(Math.max(box[1] - margin / 2, 0)),
    Math.trunc(Math.min(box[2] + margin / 2, width)),
    Math.trunc(Math.min(box[3] + margin / 2, height)),
  ];
}

/** Cut the face with its margin and resize it to `size × size` (bilinear, as the seed). */
async function cropFace(img: RawImage, box: Box, size: number, margin: number): Promise<RawImage> {
  const b = marginBox(box, margin, img.width, img.height);
  const safe: Box = [b[0], b[1], Math.max(b[2], b[0] + 1), Math.max(b[3], b[1] + 1)];
  return resize(crop(img, safe), size, size, { kernel: 'linear' });
}

/** Every photo under `root` (by extension), sorted, as absolute paths. */
async function listPhotos(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && PHOTO_EXTENSIONS.includes(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** True when `file` lies under `dir` (the output folder may sit inside the input folder). */
function isInside(file: string, dir: string): boolean {
  const r = relative(dir, file);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
}

function integer(flag: string, s: string, min: number): number {
  const v = Number(s);
  if (!Number.isInteger(v) || v < min) throw invalidParameter(flag, `an integer ≥ ${min}`, s);
  return v;
}

function formatSummary(s: CropSummary, out: string): string {
  const lines = [`${s.saved} of ${s.photos} photos cropped into ${out}`];
  if (s.noFace.length > 0)
    lines.push(`no face found in ${s.noFace.length}:`, ...s.noFace.map((p) => `  ${p}`));
  if (s.failed.length > 0)
    lines.push(`unreadable: ${s.failed.length}`, ...s.failed.map((f) => `  ${f.path}`));
  return lines.join('\n');
}
