/**
 * `facerec identify <image...> [--json] [--out FILE|DIR] [--threshold t] [--k K] [--vote V]`: name
 * every face against the gallery, or call it unknown.
 */
import { mkdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import { errorMessage, InvalidInputError, invalidParameter, type RawImage } from '../../core/index.js';
import {
  type Annotation,
  decodeImage,
  drawAnnotations,
  SAVE_EXTENSIONS,
  saveImage,
} from '../../image/index.js';
import {
  galleryCoverage,
  type IdentifiedFace,
  type IdentifiedFaceJson,
  identifiedFaceJson,
  identifyFaces,
  KNN_VOTES,
  type KnnVote,
} from '../../recognize/index.js';
import { loadRecognizer, openGallery, parseNumber } from '../context.js';
import { EXIT, printError, printResult, progress } from '../io.js';

/** One image's result, as `--json` prints it (an array of these). */
export interface IdentifyOutput {
  /** The path as given. */
  readonly image: string;
  readonly width: number;
  readonly height: number;
  /** The distance threshold used (--threshold, or the calibrated one for the gallery's size). */
  readonly threshold: number;
  /** Faces, highest detection score first. */
  readonly faces: readonly IdentifiedFaceJson[];
}

interface IdentifyCliOptions {
  json?: boolean;
  out?: string;
  threshold?: string;
  k?: string;
  vote?: string;
}

/** Box and label colour of a named face (the seed's green). */
export const KNOWN_COLOR = '#00ff00';
/** Box and label colour of an unknown face. */
export const UNKNOWN_COLOR = '#ff3b30';

/** Add the `identify` command. */
export function register(program: Command): void {
  program
    .command('identify')
    .description('name every face of the photos from the gallery (k-NN vote), or call it unknown')
    .argument('<image...>', 'photos')
    .option('--json', 'print a JSON array, one object per image: {image, width, height, faces}')
    .option('--out <file|dir>', 'write the image(s) with boxes and names drawn (unknown faces in red)')
    .option(
      '--threshold <t>',
      'distance above which a face is unknown (default: calibrated for the gallery size, 1% of strangers named)',
    )
    .option('--k <k>', 'nearest enrolled faces that vote (default 5)')
    .option(
      '--vote <rule>',
      `how the k nearest faces within the threshold vote: ${KNN_VOTES.join(', ')} (default distance)`,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  facerec identify group.jpg\n  facerec identify *.jpg --json --out annotated/',
    )
    .action(async (images: string[], opts: IdentifyCliOptions) => {
      const threshold =
        opts.threshold === undefined
          ? undefined
          : parseNumber('--threshold', opts.threshold, 'a positive distance', (n) => n > 0);
      const k =
        opts.k === undefined
          ? undefined
          : parseNumber(
              '--k',
              opts.k,
              'an integer from 1 to 1000',
              (n) => Number.isInteger(n) && n >= 1 && n <= 1000,
            );
      const vote = parseVote(opts.vote);
      const outFor = opts.out === undefined ? undefined : await outputPlan(opts.out, images);
      const recognizer = await loadRecognizer(program, { threshold });
      const results: IdentifyOutput[] = [];
      let failed = 0;
      let used = Number.NaN;
      try {
        const store = await openGallery(program);
        try {
          const coverage = await galleryCoverage(store, recognizer.provenance);
          if (coverage.faces === 0) {
            process.stderr.write(
              'note: the gallery is empty: every face is unknown. Enroll people first: facerec enroll <photos|folders>\n',
            );
          }
          // One threshold for the whole run: --threshold, else the calibrated identification
          // threshold for this gallery's size.
          used = recognizer.identificationThreshold(coverage.faces, threshold);
          const bar = progress(images.length, 'identify');
          try {
            for (const image of images) {
              try {
                const img = await decodeImage(image);
                const faces = await identifyFaces(recognizer, store, img, {
                  threshold: used,
                  ...(k !== undefined ? { k } : {}),
                  ...(vote !== undefined ? { vote } : {}),
                });
                results.push({
                  image,
                  width: img.width,
                  height: img.height,
                  threshold: used,
                  faces: faces.map(identifiedFaceJson),
                });
                if (outFor) await saveImage(await drawIdentified(img, faces), outFor(image));
              } catch (err) {
                // An unreadable photo fails alone; a gallery of another pipeline fails the command.
                if (!(err instanceof InvalidInputError) || err.input === 'query') throw err;
                failed++;
                printError(
                  errorMessage(err).includes(image) ? err : new Error(`${image}: ${errorMessage(err)}`),
                );
              }
              bar.tick(basename(image));
            }
          } finally {
            bar.stop();
          }
        } finally {
          await store.close();
        }
      } finally {
        await recognizer.dispose();
      }
      printResult(opts.json === true, results, () => results.map((r) => formatText(r, used)).join('\n'));
      if (failed > 0) process.exitCode = EXIT.badInput;
    });
}

function parseVote(v: string | undefined): KnnVote | undefined {
  if (v === undefined) return undefined;
  if (!(KNN_VOTES as readonly string[]).includes(v))
    throw invalidParameter('--vote', `one of ${KNN_VOTES.join(', ')}`, v);
  return v as KnnVote;
}

/**
 * The seed's drawing: a green box with the name above it; unknown faces get a red box labelled
 * "unknown". Names are user text: the drawing layer sanitizes and escapes them.
 */
export async function drawIdentified(img: RawImage, faces: readonly IdentifiedFace[]): Promise<RawImage> {
  const side = Math.max(img.width, img.height);
  const items: Annotation[] = [];
  for (const f of faces) {
    const color = f.name === null ? UNKNOWN_COLOR : KNOWN_COLOR;
    items.push({ kind: 'box', box: f.box, color });
    items.push({
      kind: 'label',
      text: f.name ?? 'unknown',
      at: [f.box[0], f.box[1]],
      anchor: 'bottom-left',
      background: color,
      color: '#000000',
    });
  }
  return drawAnnotations(img, items, {
    lineWidth: Math.max(2, Math.round(side / 400)),
    fontSize: Math.max(12, Math.round(side / 50)),
  });
}

/**
 * Where `--out` writes each image: a file when it names one image file (an image extension, not
 * an existing folder), else a folder (created) holding each image under its base name.
 */
async function outputPlan(out: string, images: readonly string[]): Promise<(image: string) => string> {
  const isDir = await stat(out).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir && SAVE_EXTENSIONS.includes(extname(out).toLowerCase())) {
    if (images.length > 1) throw invalidParameter('--out', `a folder for ${images.length} images`, out);
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

function formatText(r: IdentifyOutput, threshold: number): string {
  const head = `${r.image}: ${r.faces.length} face${r.faces.length === 1 ? '' : 's'}`;
  const fmt = (v: number) => v.toFixed(0);
  const lines = r.faces.map((f) => {
    const box = `box [${f.box.map(fmt).join(', ')}]`;
    if (f.name !== null) return `  ${f.name}  distance ${f.distance!.toFixed(4)}  ${box}`;
    const near = f.candidates[0];
    return `  unknown  ${near ? `nearest ${near.name} at ${near.distance.toFixed(4)} > ${threshold.toFixed(4)}` : 'empty gallery'}  ${box}`;
  });
  return [head, ...lines].join('\n');
}
