/**
 * `facerec detect <image...>`: find faces with the seed's MTCNN and print them (text or JSON),
 * optionally writing each image with boxes, scores and landmarks drawn.
 */
import { mkdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import { type DetectedFace, errorMessage, InvalidInputError, invalidParameter } from '../../core/index.js';
import { type DetectParams, MtcnnDetector, resolveDetectParams } from '../../detect/index.js';
import { decodeImage } from '../../image/decode.js';
import { type Annotation, drawAnnotations } from '../../image/draw.js';
import { SAVE_EXTENSIONS, saveImage } from '../../image/encode.js';
import { cliContext } from '../context.js';
import { EXIT, printError, printResult, progress } from '../io.js';

/** One image's result, as `--json` prints it (an array of these). */
export interface DetectOutput {
  /** The path as given on the command line. */
  readonly image: string;
  /** Image width and height in pixels (after EXIF orientation). */
  readonly width: number;
  readonly height: number;
  /** Faces, highest score first: box `[x1, y1, x2, y2]`, score in [0, 1], 5 landmarks `[x, y]`. */
  readonly faces: readonly {
    readonly box: readonly number[];
    readonly score: number;
    readonly landmarks: readonly (readonly number[])[];
  }[];
}

interface DetectCliOptions {
  json?: boolean;
  minSize?: string;
  thresholds?: string;
  factor?: string;
  out?: string;
  rawBoxes?: boolean;
}

/** Add the `detect` command to the program. */
export function register(program: Command): void {
  program
    .command('detect')
    .description("find faces with the seed's MTCNN (min size 20, thresholds 0.6,0.7,0.7, factor 0.709)")
    .argument('<image...>', 'photos to search (JPEG, PNG, WebP, GIF, TIFF, AVIF)')
    .option('--json', 'print a JSON array, one object per image: {image, width, height, faces}')
    .option('--min-size <n>', 'smallest face side in pixels (default 20)')
    .option('--thresholds <a,b,c>', 'P-Net, R-Net, O-Net face-probability thresholds (default 0.6,0.7,0.7)')
    .option('--factor <f>', 'pyramid scale step (default 0.709)')
    .option('--out <file|dir>', 'write the image(s) with boxes, scores and landmarks drawn')
    .option('--raw-boxes', "print the seed's raw final boxes (unclipped, may leave the image)")
    .action(async (images: string[], opts: DetectCliOptions) => {
      const params = parseDetectOptions(opts);
      const { paths, runtime } = cliContext(program);
      const outFor = opts.out === undefined ? undefined : await outputPlan(opts.out, images);
      const detector = await MtcnnDetector.load(paths, runtime, params);
      const results: DetectOutput[] = [];
      let failed = 0;
      const bar = progress(images.length, 'detect');
      try {
        for (const image of images) {
          try {
            const img = await decodeImage(image);
            const faces = await detector.detect(img);
            results.push({ image, width: img.width, height: img.height, faces: faces.map(faceJson) });
            if (outFor) {
              const drawn = await drawAnnotations(img, annotations(faces), {
                lineWidth: Math.max(2, Math.round(Math.max(img.width, img.height) / 400)),
                pointRadius: Math.max(2, Math.round(Math.max(img.width, img.height) / 300)),
                fontSize: Math.max(12, Math.round(Math.max(img.width, img.height) / 60)),
              });
              await saveImage(drawn, outFor(image));
            }
          } catch (err) {
            failed++;
            printError(errorMessage(err).includes(image) ? err : new Error(`${image}: ${errorMessage(err)}`));
          }
          bar.tick(basename(image));
        }
      } finally {
        bar.stop();
        await detector.dispose();
      }
      printResult(opts.json === true, results, () => results.map(formatText).join('\n'));
      if (failed > 0) process.exitCode = EXIT.badInput;
    });
}

/**
 * Validate the detect options into {@link DetectParams}.
 *
 * @throws InvalidInputError "Expected … for --min-size but received …" and the like.
 */
export function parseDetectOptions(opts: DetectCliOptions): DetectParams {
  const over: Partial<{ -readonly [K in keyof DetectParams]: DetectParams[K] }> = {};
  if (opts.minSize !== undefined) over.minSize = number('--min-size', opts.minSize);
  if (opts.factor !== undefined) over.factor = number('--factor', opts.factor);
  if (opts.thresholds !== undefined) {
    const parts = opts.thresholds.split(',').map((s) => s.trim());
    const nums = parts.map(Number);
    if (parts.length !== 3 || parts.some((s) => s === '') || nums.some((v) => !Number.isFinite(v))) {
      throw invalidParameter(
        '--thresholds',
        'three comma-separated numbers like 0.6,0.7,0.7',
        opts.thresholds,
      );
    }
    over.thresholds = nums as [number, number, number];
  }
  if (opts.rawBoxes === true) over.rawBoxes = true;
  try {
    return resolveDetectParams(over);
  } catch (err) {
    // Name the flag, not the library field.
    throw new InvalidInputError(
      errorMessage(err)
        .replace(' for minSize ', ' for --min-size ')
        .replace(' for factor ', ' for --factor ')
        .replace(' for thresholds ', ' for --thresholds '),
      { input: 'options' },
    );
  }
}

function number(flag: string, s: string): number {
  const v = Number(s);
  if (s.trim() === '' || !Number.isFinite(v)) throw invalidParameter(flag, 'a number', s);
  return v;
}

/** A face as JSON: plain arrays. */
export function faceJson(f: DetectedFace): DetectOutput['faces'][number] {
  return { box: [...f.box], score: f.score, landmarks: f.landmarks.map((p) => [p[0], p[1]]) };
}

/** Boxes with their score above, and the five landmarks. */
function annotations(faces: readonly DetectedFace[]): Annotation[] {
  const items: Annotation[] = [];
  for (const f of faces) {
    items.push({ kind: 'box', box: f.box });
    items.push({ kind: 'points', points: f.landmarks, color: '#ff3030' });
    items.push({ kind: 'label', text: f.score.toFixed(3), at: [f.box[0], f.box[1]] });
  }
  return items;
}

/**
 * Where `--out` writes each image: a file when it names one image file (an image extension,
 * not an existing directory), otherwise a directory (created) holding each image under its
 * base name (`.jpg` when its own extension cannot be written).
 */
async function outputPlan(out: string, images: readonly string[]): Promise<(image: string) => string> {
  const isDir = await stat(out).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir && SAVE_EXTENSIONS.includes(extname(out).toLowerCase())) {
    if (images.length > 1) {
      throw invalidParameter('--out', `a directory for ${images.length} images`, out);
    }
    return () => out;
  }
  await mkdir(out, { recursive: true });
  const used = new Map<string, number>();
  return (image) => {
    const ext = extname(image);
    const stem = basename(image, ext);
    const keep = SAVE_EXTENSIONS.includes(ext.toLowerCase()) ? ext : '.jpg';
    const n = (used.get(stem + keep) ?? 0) + 1;
    used.set(stem + keep, n);
    return join(out, n === 1 ? stem + keep : `${stem}-${n}${keep}`);
  };
}

function formatText(r: DetectOutput): string {
  const head = `${r.image}: ${r.width}×${r.height}, ${r.faces.length} face${r.faces.length === 1 ? '' : 's'}`;
  const fmt = (v: number) => v.toFixed(1);
  const lines = r.faces.map(
    (f) =>
      `  box [${f.box.map(fmt).join(', ')}] score ${f.score.toFixed(4)} landmarks ${f.landmarks
        .map((p) => `(${fmt(p[0]!)}, ${fmt(p[1]!)})`)
        .join(' ')}`,
  );
  return [head, ...lines].join('\n');
}
