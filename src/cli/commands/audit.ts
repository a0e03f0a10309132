/**
 * `facerec audit [--limit N] [--json]`: the audit log, newest first: who enrolled, renamed or
 * deleted whom (by id), key changes and lockouts, retention purges. It holds no names, no
 * embeddings and no images.
 */
import type { Command } from 'commander';
import type { AuditEntry } from '../../gallery/index.js';
import { auditJson } from '../../server/index.js';
import { openGallery, parseNumber } from '../context.js';
import { printResult } from '../io.js';

/** Add the `audit` command. */
export function register(program: Command): void {
  program
    .command('audit')
    .description('the audit log, newest first: enrollments, deletions, key use, purges (no biometric data)')
    .option('--limit <n>', 'entries to show, 1 to 1000', '50')
    .option('--json', 'print {"entries": [{id, time, actor, action, subject_kind, subject_id, detail}]}')
    .addHelpText('after', '\nExample:\n  facerec audit --limit 20')
    .action(async (opts: { limit: string; json?: boolean }) => {
      const limit = parseNumber(
        '--limit',
        opts.limit,
        'an integer from 1 to 1000',
        (n) => Number.isInteger(n) && n >= 1 && n <= 1000,
      );
      const store = await openGallery(program);
      try {
        const entries = await store.listAudit(limit);
        printResult(opts.json === true, { entries: entries.map(auditJson) }, () => formatAudit(entries));
      } finally {
        await store.close();
      }
    });
}

function formatAudit(entries: readonly AuditEntry[]): string {
  if (entries.length === 0) return 'the audit log is empty';
  return entries
    .map((e) => {
      const subject = e.subjectKind
        ? ` ${e.subjectKind}${e.subjectId !== null ? ` ${e.subjectId}` : ''}`
        : '';
      const detail = e.detail ? ` (${e.detail})` : '';
      return `${new Date(e.time).toISOString().slice(0, 19)}Z  ${e.actor ?? '-'}  ${e.action}${subject}${detail}`;
    })
    .join('\n');
}
