/**
 * `facerec embed <image...> [--json]`: every face's box, landmarks and embedding.
 */
import type { Command } from 'commander';
import { errorMessage } from '../../core/index.js';
import { decodeImage } from '../../image/index.js';
import type { AnalyzedFace } from '../../recognize/index.js';
import { loadRecognizer } from '../context.js';
import { EXIT, printError, printResult, progress } from '../io.js';

/** One image's entry in the JSON output. */
export interface EmbedOutput {
  readonly image: string;
  readonly width: number;
  readonly height: number;
  readonly model: string;
  readonly template: string;
  readonly normalized: boolean;
  readonly faces: readonly {
    readonly box: readonly number[];
    readonly score: number;
    readonly landmarks: readonly (readonly number[])[];
    readonly embedding: readonly number[];
  }[];
}

/** Add the `embed` command. */
export function register(program: Command): void {
  program
    .command('embed')
    .description("print every face's box, landmarks and 128-number embedding")
    .argument('<image...>', 'photos (JPEG, PNG, WebP, GIF, TIFF, AVIF)')
    .option('--json', 'print JSON: one object per image')
    .addHelpText('after', '\nExample:\n  facerec embed photo.jpg --json > photo.json')
    .action(async (images: string[], opts: { json?: boolean }) => {
      const recognizer = await loadRecognizer(program);
      const results: EmbedOutput[] = [];
      let failed = 0;
      const bar = progress(images.length, 'embed');
      try {
        for (const path of images) {
          try {
            const img = await decodeImage(path);
            const faces = await recognizer.analyze(img);
            results.push(embedJson(path, img.width, img.height, faces, recognizer.provenance));
          } catch (err) {
            failed++;
            printError(errorMessage(err).includes(path) ? err : new Error(`${path}: ${errorMessage(err)}`));
          }
          bar.tick(path);
        }
      } finally {
        bar.stop();
        await recognizer.dispose();
      }
      printResult(opts.json === true, results, () => results.map(formatEmbed).join('\n'));
      if (failed > 0) process.exitCode = EXIT.badInput;
    });
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

function embedJson(
  image: string,
  width: number,
  height: number,
  faces: readonly AnalyzedFace[],
  p: { model: string; template: string; normalized: boolean },
): EmbedOutput {
  return {
    image,
    width,
    height,
    model: p.model,
    template: p.template,
    normalized: p.normalized,
    faces: faces.map((f) => ({
      box: f.box.map(r3),
      score: f.score,
      landmarks: f.landmarks.map((pt) => pt.map(r3)),
      embedding: Array.from(f.embedding.vector),
    })),
  };
}

function formatEmbed(r: EmbedOutput): string {
  const lines = [
    `${r.image}: ${r.faces.length} face${r.faces.length === 1 ? '' : 's'} (${r.width}×${r.height})`,
  ];
  r.faces.forEach((f, i) => {
    const head = f.embedding
      .slice(0, 4)
      .map((x) => x.toFixed(4))
      .join(', ');
    lines.push(
      `  #${i + 1} box [${f.box.join(', ')}] score ${f.score.toFixed(3)} embedding [${head}, …] (${f.embedding.length})`,
    );
  });
  return lines.join('\n');
}
