/**
 * `facerec enroll <path...> [--name NAME] [--depth N] [--keep-thumbnails] [--json]`: add people's
 * faces to the gallery from photos, in the seed's layouts.
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { GalleryStore } from '../../gallery/index.js';
import {
  type EnrollmentPlan,
  type EnrollReport,
  enrollPhotos,
  IMAGE_EXTENSIONS,
  planEnrollment,
} from '../../recognize/index.js';
import { loadRecognizer, openGallery, parseNumber } from '../context.js';
import { EXIT, printError, printResult, progress } from '../io.js';

interface EnrollCliOptions {
  name?: string;
  depth?: string;
  keepThumbnails?: boolean;
  json?: boolean;
}

/** Add the `enroll` command. */
export function register(program: Command): void {
  program
    .command('enroll')
    .description('add people to the gallery from photos (one face per photo: the largest)')
    .argument('<path...>', 'photos, or folders: <name>.jpg files and/or <name>/ folders of photos')
    .option('--name <name>', 'enroll every photo given (folders: recursively) as this person')
    .option(
      '--depth <n>',
      'person folders are n levels below each folder, named <a>/<b> for n = 2 (default 1)',
    )
    .option(
      '--keep-thumbnails',
      'keep a small JPEG of each enrolled face in the gallery (default: no image kept)',
    )
    .option('--json', 'print the summary and every photo’s result as JSON')
    .addHelpText(
      'after',
      `
Layouts (the seed's):
  test_img/alice.jpg, test_img/bob.png     each photo is a person named by its file name
  train_dir/alice/1.jpg, train_dir/bob/…   each folder is a person with several photos
  me.jpg selfie.jpg --name "Me"            the given photos, as one person
A folder holding both photos and folders is read both ways. Photo types: ${IMAGE_EXTENSIONS.join(' ')};
other files are ignored (listed in the summary). Re-enrolling a photo adds nothing.

Examples:
  facerec enroll train_dir
  facerec enroll alice-1.jpg alice-2.jpg --name "Alice Martin" --json`,
    )
    .action(async (paths: string[], opts: EnrollCliOptions) => {
      const depth =
        opts.depth === undefined
          ? undefined
          : parseNumber(
              '--depth',
              opts.depth,
              'an integer from 1 to 8',
              (n) => Number.isInteger(n) && n >= 1 && n <= 8,
            );
      const plan = await planEnrollment(paths, {
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(depth !== undefined ? { depth } : {}),
      });
      for (const s of plan.skipped) if (s.error) printError(s.message);
      let report: EnrollReport | undefined;
      if (plan.items.length > 0) {
        const recognizer = await loadRecognizer(program);
        try {
          const store = await openGallery(program);
          const bar = progress(plan.items.length, 'enroll');
          try {
            report = await enrollPhotos(recognizer, store, plan.items, {
              keepThumbnails: opts.keepThumbnails === true,
              onResult: (r) => bar.tick(basename(r.file)),
            });
            await auditEnrollment(store, report);
          } finally {
            bar.stop();
            await store.close();
          }
        } finally {
          await recognizer.dispose();
        }
      }
      // Errors go to stderr; warnings too with --json (the text summary lists them).
      for (const r of report?.results ?? []) {
        if (r.status === 'error') printError(r.error ?? `${r.file}: cannot be enrolled`);
        else if (r.warning && opts.json === true) process.stderr.write(`note: ${r.warning}\n`);
      }
      printResult(opts.json === true, enrollJson(plan, report), () => formatEnroll(plan, report));
      if ((report?.errors ?? 0) > 0 || plan.skipped.some((s) => s.error)) process.exitCode = EXIT.badInput;
    });
}

/** The JSON `enroll --json` prints (snake_case keys). */
export function enrollJson(plan: EnrollmentPlan, report: EnrollReport | undefined): Record<string, unknown> {
  return {
    people: (report?.people ?? []).map((p) => ({
      name: p.name,
      person_id: p.personId,
      created: p.created,
      added: p.added,
      duplicates: p.duplicates,
      no_face: p.noFace,
      errors: p.errors,
    })),
    added: report?.added ?? 0,
    duplicates: report?.duplicates ?? 0,
    no_face: report?.noFace ?? 0,
    errors: report?.errors ?? 0,
    several_faces: report?.severalFaces ?? 0,
    skipped: plan.skipped.map((s) => ({
      path: s.path,
      reason: s.reason,
      message: s.message,
      error: s.error,
    })),
    notes: plan.notes,
    photos: (report?.results ?? []).map((r) => ({
      file: r.file,
      person: r.person,
      person_id: r.personId,
      status: r.status,
      faces: r.faces,
      ...(r.faceId !== undefined ? { face_id: r.faceId } : {}),
      ...(r.box ? { box: [...r.box] } : {}),
      ...(r.score !== undefined ? { score: r.score } : {}),
      ...(r.sha256 ? { sha256: r.sha256 } : {}),
      ...(r.warning ? { warning: r.warning } : {}),
      ...(r.error ? { error: r.error } : {}),
    })),
    seconds: report?.seconds ?? 0,
    photos_per_second: report?.photosPerSecond ?? 0,
  };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function formatEnroll(plan: EnrollmentPlan, report: EnrollReport | undefined): string {
  const lines: string[] = [];
  for (const n of plan.notes) lines.push(`note: ${n}`);
  if (!report) {
    lines.push('nothing to enroll: no photo found');
  } else {
    const created = report.people.filter((p) => p.created).length;
    const withFaces = report.people.filter((p) => p.added > 0).length;
    lines.push(
      `enrolled ${plural(report.added, 'face')} of ${plural(withFaces, 'person', 'people')}` +
        `${created > 0 ? ` (${created} new)` : ''} from ${plural(report.results.length, 'photo')} ` +
        `in ${report.seconds.toFixed(1)} s`,
    );
    const skipped = report.duplicates + report.noFace + report.errors;
    if (skipped > 0) {
      const parts = [
        report.duplicates ? `${report.duplicates} already enrolled` : '',
        report.noFace ? `${report.noFace} without a face` : '',
        report.errors ? `${report.errors} unreadable (named above)` : '',
      ].filter(Boolean);
      lines.push(`skipped ${plural(skipped, 'photo')}: ${parts.join(', ')}`);
    }
    for (const r of report.results) if (r.status === 'no_face') lines.push(`  no face: ${r.file}`);
    for (const r of report.results) if (r.warning) lines.push(`  note: ${r.warning}`);
    if (report.people.length > 0 && report.people.length <= 20) {
      lines.push('people:');
      for (const p of report.people) {
        const extra = [
          p.duplicates ? `${p.duplicates} already enrolled` : '',
          p.noFace ? `${p.noFace} without a face` : '',
          p.errors ? `${p.errors} unreadable` : '',
        ].filter(Boolean);
        lines.push(
          `  ${p.name}: +${p.added}${p.created ? ' (new)' : ''}${extra.length ? `, ${extra.join(', ')}` : ''}`,
        );
      }
    }
  }
  const ignored = plan.skipped.filter((s) => !s.error);
  const bad = plan.skipped.filter((s) => s.error);
  if (bad.length > 0) lines.push(`not usable: ${plural(bad.length, 'path')} (named above)`);
  if (ignored.length > 0) {
    lines.push(`ignored: ${plural(ignored.length, 'path')}`);
    for (const s of ignored.slice(0, 10)) lines.push(`  ${s.message}`);
    if (ignored.length > 10) lines.push(`  … and ${ignored.length - 10} more (--json lists them all)`);
  }
  return lines.join('\n');
}

/** The audit log: who gained faces, by id and count (no names, no images). */
async function auditEnrollment(store: GalleryStore, report: EnrollReport): Promise<void> {
  for (const p of report.people) {
    if (p.personId === null || p.added === 0) continue;
    if (p.created) {
      await store.appendAudit({
        actor: 'cli',
        action: 'person.create',
        subjectKind: 'person',
        subjectId: p.personId,
      });
    }
    await store.appendAudit({
      actor: 'cli',
      action: 'person.enroll',
      subjectKind: 'person',
      subjectId: p.personId,
      detail: `${p.added} faces`,
    });
  }
}
