/**
 * `facerec eval lfw --root DIR --pairs FILE [--json] [--roc FILE.svg|.png] [--calibrate]`:
 * accuracy on the LFW pairs protocol.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { invalidParameter } from '../../core/index.js';
import { renderTrustedSvgToPng } from '../../image/index.js';
import {
  evaluateGallery,
  evaluateLfw,
  type GalleryEvalReport,
  KNN_VOTES,
  type KnnVote,
  type LfwReport,
  loadLfwPairs,
  peopleOf,
  planEnrollment,
  rocSvg,
} from '../../recognize/index.js';
import { loadRecognizer, parseNumber } from '../context.js';
import { type Progress, printError, printResult, progress } from '../io.js';

/** The FARs `--calibrate` reports thresholds for. */
const CALIBRATION_FARS = [1e-2, 1e-3, 1e-4] as const;

/** Add the `eval` command group. */
export function register(program: Command): void {
  const evalCmd = program.command('eval').description('measure accuracy');
  registerGallery(program, evalCmd);
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

interface GalleryCliOptions {
  testSplit: string;
  k: string;
  seed: string;
  unknownFraction: string;
  depth: string;
  minPhotos: string;
  threshold?: string;
  vote: string;
  json?: boolean;
}

/** `facerec eval gallery <train_dir>`: the seed's KNN workflow as a measurement. */
function registerGallery(program: Command, evalCmd: Command): void {
  evalCmd
    .command('gallery')
    .description(
      "enroll a seeded random split of each person's photos into a temporary gallery, identify the rest: " +
        'closed-set rank-1, and FPIR/FNIR at the threshold with some people kept out as strangers',
    )
    .argument('<train_dir>', 'a folder of <name>/ folders of photos (see --depth)')
    .option('--test-split <f>', "share of each person's photos identified instead of enrolled", '0.3')
    .option('--k <k>', 'nearest enrolled faces that vote', '5')
    .option('--seed <n>', 'random seed of the split', '1')
    .option('--unknown-fraction <f>', 'share of people kept out of the gallery (strangers)', '0.2')
    .option('--depth <n>', 'person folders are n levels down, named <a>/<b> for 2', '1')
    .option('--min-photos <n>', 'leave out people with fewer photos', '1')
    .option('--threshold <t>', 'distance above which a face is unknown (default: the calibrated one)')
    .option('--vote <rule>', `k-NN vote: ${KNN_VOTES.join(', ')}`, 'distance')
    .option('--json', 'print {"people", "probes", "rank1", "fpir", "fnir", "threshold", "per_person", ...}')
    .addHelpText(
      'after',
      `
People with a single photo are enrolled but never probed (unless drawn as strangers). Probes and
enrolled photos without a face are counted apart; rank1 and the rates are over probes with a face.
The temporary gallery is a SQLite file in the system's temp folder, deleted afterwards.

Examples:
  facerec eval gallery train_dir
  facerec eval gallery lfw --min-photos 4 --json
  facerec eval gallery identities --depth 2 --seed 7`,
    )
    .action(async (root: string, opts: GalleryCliOptions) => {
      const fraction = (flag: string, v: string, lo: number, loOpen: boolean) =>
        parseNumber(
          flag,
          v,
          `a fraction ${loOpen ? 'above' : 'from'} ${lo} and below 1`,
          (n) => (loOpen ? n > lo : n >= lo) && n < 1,
        );
      const int = (flag: string, v: string, lo: number, hi: number) =>
        parseNumber(
          flag,
          v,
          `an integer from ${lo} to ${hi}`,
          (n) => Number.isInteger(n) && n >= lo && n <= hi,
        );
      const testSplit = fraction('--test-split', opts.testSplit, 0, true);
      const unknownFraction = fraction('--unknown-fraction', opts.unknownFraction, 0, false);
      const k = int('--k', opts.k, 1, 1000);
      const seed = int('--seed', opts.seed, -(2 ** 31), 2 ** 31);
      const depth = int('--depth', opts.depth, 1, 8);
      const minPhotos = int('--min-photos', opts.minPhotos, 1, 1e6);
      const threshold =
        opts.threshold === undefined
          ? undefined
          : parseNumber('--threshold', opts.threshold, 'a positive distance', (n) => n > 0);
      if (!(KNN_VOTES as readonly string[]).includes(opts.vote)) {
        throw invalidParameter('--vote', `one of ${KNN_VOTES.join(', ')}`, opts.vote);
      }
      const plan = await planEnrollment([root], { depth });
      for (const s of plan.skipped) if (s.error) printError(s.message);
      const people = peopleOf(plan.items, minPhotos);
      const recognizer = await loadRecognizer(program, { threshold });
      let bar: Progress | undefined;
      let phase = '';
      let report: GalleryEvalReport;
      try {
        report = await evaluateGallery(recognizer, people, {
          testSplit,
          unknownFraction,
          k,
          seed,
          vote: opts.vote as KnnVote,
          onProgress: (p, _done, total) => {
            if (p !== phase) {
              bar?.stop();
              phase = p;
              bar = progress(total, p === 'enroll' ? 'enroll  ' : 'identify');
            }
            bar?.tick();
          },
        });
      } finally {
        bar?.stop();
        await recognizer.dispose();
      }
      printResult(opts.json === true, galleryJson(report), () => formatGallery(root, report));
    });
}

/** The stable JSON of `eval gallery` (documented keys first; more may be added). */
export function galleryJson(r: GalleryEvalReport): Record<string, unknown> {
  return {
    people: r.people,
    probes: r.probes,
    rank1: r.rank1,
    fpir: r.fpir,
    fnir: r.fnir,
    threshold: r.threshold,
    per_person: r.perPerson.map((p) => ({
      name: p.name,
      role: p.role,
      enrolled: p.enrolled,
      probes: p.probes,
      no_face: p.noFace,
      rank1: p.role === 'gallery' && p.probes > 0 ? p.rank1Correct / p.probes : null,
      correct: p.correct,
      unknown: p.unknown,
      misnamed: p.misnamed,
      false_positives: p.falsePositives,
      fnir: p.role === 'gallery' && p.probes > 0 ? (p.unknown + p.misnamed) / p.probes : null,
      fpir: p.role === 'stranger' && p.probes > 0 ? p.falsePositives / p.probes : null,
      confused_with: p.confusedWith,
    })),
    rank3: r.rank3,
    k: r.k,
    vote: r.vote,
    seed: r.seed,
    test_split: r.testSplit,
    unknown_fraction: r.unknownFraction,
    gallery_people: r.galleryPeople,
    strangers: r.strangers,
    gallery_only: r.galleryOnly,
    enrolled_faces: r.enrolledFaces,
    genuine_probes: r.genuineProbes,
    stranger_probes: r.strangerProbes,
    no_face: r.noFace,
    errors: r.errors,
    by_vote: Object.fromEntries(
      Object.entries(r.byVote).map(([v, f]) => [
        v,
        { knn_accuracy: f.knnAccuracy, fpir: f.fpir, fnir: f.fnir },
      ]),
    ),
    sweep: r.sweep,
    at_fpir: r.atFpir.map((a) => ({
      target: a.target,
      threshold: Number.isFinite(a.threshold) ? a.threshold : null,
      fpir: a.fpir,
      fnir: a.fnir,
    })),
    seconds: r.seconds,
    photos_per_second: r.photosPerSecond,
  };
}

const rate = (x: number | null, d = 2) => (x === null ? 'n/a' : pct(x, d));

function formatGallery(root: string, r: GalleryEvalReport): string {
  const lines = [
    `gallery evaluation of ${root}: ${r.people} people (${r.galleryPeople} in the gallery, ${r.strangers} strangers, ` +
      `${r.galleryOnly} gallery-only), ${r.enrolledFaces} faces enrolled, seed ${r.seed}`,
    `probes     ${r.genuineProbes} genuine, ${r.strangerProbes} strangers (no face: ${r.noFace.probes} probes, ` +
      `${r.noFace.gallery} enrolled photos${r.errors.length ? `; unreadable: ${r.errors.length}` : ''})`,
    `rank-1     ${rate(r.rank1)} (closed set), rank-3 ${rate(r.rank3)}`,
    `open set   at threshold ${r.threshold.toFixed(4)}, k ${r.k}, ${r.vote} vote: ` +
      `FPIR ${rate(r.fpir)} (strangers named), FNIR ${rate(r.fnir)} (enrolled people missed or misnamed)`,
    `votes      ${Object.entries(r.byVote)
      .map(([v, f]) => `${v}: k-NN ${rate(f.knnAccuracy)}, FPIR ${rate(f.fpir)}, FNIR ${rate(f.fnir)}`)
      .join('; ')}`,
    `thresholds ${r.sweep.map((s) => `${s.threshold.toFixed(3)}: FPIR ${rate(s.fpir, 1)} FNIR ${rate(s.fnir, 1)}`).join(' | ')}`,
  ];
  for (const a of r.atFpir) {
    if (Number.isFinite(a.threshold)) {
      lines.push(
        `for FPIR ≤ ${pct(a.target, 1)}: threshold ${a.threshold.toFixed(4)} → FPIR ${rate(a.fpir)}, FNIR ${rate(a.fnir)}`,
      );
    }
  }
  const bad = r.perPerson.filter((p) => p.misnamed + p.unknown + p.falsePositives > 0);
  if (bad.length > 0) {
    lines.push('errors by person:');
    for (const p of bad.slice(0, 15)) {
      lines.push(
        p.role === 'stranger'
          ? `  ${p.name} (stranger): named in ${p.falsePositives}/${p.probes} (${p.confusedWith.join(', ')})`
          : `  ${p.name}: ${p.unknown} unknown, ${p.misnamed} misnamed of ${p.probes}` +
              `${p.confusedWith.length ? ` (as ${p.confusedWith.join(', ')})` : ''}`,
      );
    }
    if (bad.length > 15) lines.push(`  … and ${bad.length - 15} more (--json lists everyone)`);
  }
  lines.push(`speed      ${r.photosPerSecond.toFixed(1)} photos/s (${r.seconds.toFixed(1)} s)`);
  return lines.join('\n');
}
