/**
 * `facerec verify <imageA> <imageB> [--json] [--threshold t]`: are these the same person?
 */
import type { Command } from 'commander';
import { decodeImage } from '../../image/index.js';
import { largestFace } from '../../recognize/index.js';
import { loadRecognizer, parseNumber } from '../context.js';
import { EXIT, printResult } from '../io.js';

/** The JSON `verify` prints. */
export interface VerifyOutput {
  /** Euclidean distance between the two faces' embeddings; null when a photo has no face. */
  readonly distance: number | null;
  readonly threshold: number;
  readonly same: boolean;
  /** Faces found in each photo. */
  readonly faces: readonly [number, number];
  /** Remarks: which face was used when a photo had several, which photo had none. */
  readonly notes: readonly string[];
}

/** Add the `verify` command. */
export function register(program: Command): void {
  program
    .command('verify')
    .description('compare the largest face of two photos: same person or not')
    .argument('<imageA>', 'first photo')
    .argument('<imageB>', 'second photo')
    .option('--json', 'print JSON')
    .option('--threshold <t>', 'distance threshold (default: the calibrated one)')
    .addHelpText('after', '\nExample:\n  facerec verify alice-1.jpg alice-2.jpg --json')
    .action(async (a: string, b: string, opts: { json?: boolean; threshold?: string }) => {
      const threshold =
        opts.threshold === undefined
          ? undefined
          : parseNumber('--threshold', opts.threshold, 'a positive distance', (n) => n > 0);
      const recognizer = await loadRecognizer(program, { threshold });
      try {
        const [imgA, imgB] = [await decodeImage(a), await decodeImage(b)];
        const [facesA, facesB] = [await recognizer.detectFaces(imgA), await recognizer.detectFaces(imgB)];
        const notes: string[] = [];
        for (const [path, faces] of [
          [a, facesA],
          [b, facesB],
        ] as const) {
          if (faces.length === 0) notes.push(`no face found in ${path}`);
          else if (faces.length > 1) notes.push(`${faces.length} faces in ${path}: the largest was used`);
        }
        const fa = largestFace(facesA);
        const fb = largestFace(facesB);
        let out: VerifyOutput;
        if (fa && fb) {
          const [ea] = await recognizer.embedFaces(imgA, [fa]);
          const [eb] = await recognizer.embedFaces(imgB, [fb]);
          const c = recognizer.compare(ea!, eb!);
          out = {
            distance: c.distance,
            threshold: c.threshold,
            same: c.same,
            faces: [facesA.length, facesB.length],
            notes,
          };
        } else {
          out = {
            distance: null,
            threshold: recognizer.compareThreshold(),
            same: false,
            faces: [facesA.length, facesB.length],
            notes,
          };
          process.exitCode = EXIT.badInput;
        }
        for (const n of notes) process.stderr.write(`note: ${n}\n`);
        printResult(opts.json === true, out, () =>
          out.distance === null
            ? `cannot compare: ${notes.join('; ')}`
            : `${out.same ? 'same person' : 'different people'}: distance ${out.distance.toFixed(4)} ` +
              `${out.same ? '≤' : '>'} threshold ${out.threshold.toFixed(4)}`,
        );
      } finally {
        await recognizer.dispose();
      }
    });
}
