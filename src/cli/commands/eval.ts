/**
 * `facerec eval lfw --root DIR --pairs FILE [--json] [--roc FILE.svg|.png] [--calibrate]`:
 * accuracy on the LFW pairs protocol.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { invalidParameter } from '../../core/index.js';
import { renderTrustedSvgToPng } from '../../image/index.js';
import { evaluateLfw, type LfwReport, loadLfwPairs, rocSvg } from '../../recognize/index.js';
import { loadRecognizer } from '../context.js';
import { printResult, progress } from '../io.js';

/** The FARs `--calibrate` reports thresholds for. */
const CALIBRATION_FARS = [1e-2, 1e-3, 1e-4] as const;

/** Add the `eval` command group. */
export function register(program: Command): void {
  const evalCmd = program.command('eval').description('measure accuracy');
  evalCmd
    .command('lfw')
    .description('LFW pairs protocol: k-fold accuracy, AUC, EER, TAR at FAR, ROC curve')
    .requiredOption('--root <dir>', 'LFW image folder (<root>/<Name>/<Name>_0001.jpg)')
    .requiredOption('--pairs <file>', 'pairs list in the LFW pairs.txt format')
    .option('--json', 'print the figures as JSON')
    .option('--roc <file>', 'write the ROC curve (.svg or .png)')
    .option('--calibrate', 'also report thresholds at FAR 1e-2, 1e-3, 1e-4 over all image pairs')
    .addHelpText(
      'after',
      '\nExample:\n  facerec eval lfw --root lfw --pairs lfw/pairs.txt --roc roc.svg --json',
    )
    .action(
      async (opts: { root: string; pairs: string; json?: boolean; roc?: string; calibrate?: boolean }) => {
        if (opts.roc !== undefined && !['.svg', '.png'].includes(extname(opts.roc).toLowerCase())) {
          throw invalidParameter('--roc', 'a file name ending in .svg or .png', opts.roc);
        }
        const pairs = await loadLfwPairs(opts.pairs);
        const recognizer = await loadRecognizer(program);
        const bar = progress(pairs.images.length, 'embedding');
        let report: LfwReport;
        const shipped = recognizer.threshold;
        try {
          report = await evaluateLfw(recognizer, pairs, {
            root: opts.root,
            onProgress: (_done, _total, image) => bar.tick(image),
            ...(opts.calibrate ? { calibrate: CALIBRATION_FARS } : {}),
          });
        } finally {
          bar.stop();
          await recognizer.dispose();
        }
        if (opts.roc !== undefined) await writeRoc(opts.roc, report, shipped);
        printResult(opts.json === true, lfwJson(report), () => formatLfw(report, opts.roc));
      },
    );
}

/** The stable JSON of `eval lfw` (documented keys first; more may be added). */
export function lfwJson(r: LfwReport): Record<string, unknown> {
  return {
    pairs: r.pairs,
    folds: r.folds,
    accuracy: { mean: r.accuracy.mean, std: r.accuracy.std },
    auc: r.auc,
    eer: r.eer,
    tar_at_far: { '0.001': r.tarAtFar['0.001'].tar, '0.01': r.tarAtFar['0.01'].tar },
    threshold: r.threshold,
    no_face: r.noFace,
    pairs_per_second: r.pairsPerSecond,
    standard_error: r.accuracy.standardError,
    folds_detail: r.kfold.folds,
    images: r.images,
    images_per_second: r.imagesPerSecond,
    seconds: r.seconds,
    several_faces: r.multiFace,
    no_face_images: r.noFaceImages,
    model: r.provenance.model,
    template: r.provenance.template,
    normalized: r.provenance.normalized,
    ...(r.calibration
      ? {
          calibration: r.calibration.map((c) => ({
            target_far: c.targetFar,
            threshold: c.threshold,
            far: c.far,
            frr: c.frr,
            genuine: c.genuine,
            impostor: c.impostor,
          })),
        }
      : {}),
  };
}

/**
 * Write the ROC curve; the operating point marked is the threshold facerec decides with (the
 * calibrated default or --threshold), else the best-accuracy threshold of this run.
 */
async function writeRoc(file: string, r: LfwReport, operating: number | undefined): Promise<void> {
  const threshold = operating ?? r.threshold;
  const op = r.roc.points.reduce((best, p) =>
    p.threshold <= threshold && p.threshold >= best.threshold ? p : best,
  );
  const svg = rocSvg(
    { label: `${r.provenance.template}${r.provenance.normalized ? ' (L2)' : ''}`, points: r.roc.points },
    {
      title: `LFW ROC — ${r.pairs} pairs, ${r.folds} folds`,
      accuracy: r.accuracy,
      auc: r.auc,
      eer: r.eer,
      operatingPoint: { threshold, far: op.far, tar: op.tar },
    },
  );
  await writeFile(file, extname(file).toLowerCase() === '.png' ? await renderTrustedSvgToPng(svg) : svg);
}

const pct = (x: number, d = 2) => `${(x * 100).toFixed(d)}%`;

function formatLfw(r: LfwReport, roc?: string): string {
  const lines = [
    `LFW: ${r.pairs} pairs in ${r.folds} folds, ${r.images} images (${r.provenance.template}, ${r.provenance.model})`,
    `accuracy   ${pct(r.accuracy.mean)} ± ${pct(r.accuracy.std)} (sample std over folds; standard error ${pct(r.accuracy.standardError)})`,
    `AUC        ${r.auc.toFixed(5)}`,
    `EER        ${pct(r.eer)}`,
    `TAR        ${pct(r.tarAtFar['0.001'].tar)} at FAR 1e-3, ${pct(r.tarAtFar['0.01'].tar)} at FAR 1e-2`,
    `threshold  ${r.threshold.toFixed(4)} (best accuracy over all pairs)`,
    `no face    ${r.noFace} images (embedded from the central region)${r.noFace ? `: ${r.noFaceImages.slice(0, 5).join(', ')}${r.noFace > 5 ? ', …' : ''}` : ''}`,
    `speed      ${r.pairsPerSecond.toFixed(1)} pairs/s, ${r.imagesPerSecond.toFixed(1)} images/s (${r.seconds.toFixed(1)} s)`,
  ];
  for (const c of r.calibration ?? []) {
    lines.push(
      `calibrated threshold ${c.threshold.toFixed(4)} at FAR ${c.targetFar}: measured FAR ${c.far.toExponential(2)}, FRR ${pct(c.frr)} (${c.genuine} genuine, ${c.impostor} impostor pairs)`,
    );
  }
  if (roc) lines.push(`ROC curve written to ${roc}`);
  return lines.join('\n');
}
