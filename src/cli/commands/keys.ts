/**
 * `facerec keys create --name N [--read-only] | list | revoke NAME`: the API keys of the service.
 */
import type { Command } from 'commander';
import type { ApiKeyRecord } from '../../gallery/index.js';
import { generateApiKey, hashApiKey, keyJson } from '../../server/index.js';
import { openGallery } from '../context.js';
import { printResult } from '../io.js';

/** Add the `keys` command group. */
export function register(program: Command): void {
  const keys = program
    .command('keys')
    .description('API keys for facerec serve: create (shown once), list, revoke');

  keys
    .command('create')
    .description('create a key; it is printed once and only its SHA-256 is stored')
    .requiredOption('--name <name>', 'a label for the key (the device or person using it)')
    .option('--read-only', 'the key may look but not change people, cameras, settings or keys')
    .option('--json', 'print {"key", "id", "name", "read_only", …}')
    .addHelpText(
      'after',
      '\nExamples:\n  facerec keys create --name phone --read-only\n  facerec keys create --name admin --json',
    )
    .action(async (opts: { name: string; readOnly?: boolean; json?: boolean }) => {
      const store = await openGallery(program);
      try {
        const key = generateApiKey();
        const rec = await store.createApiKey({
          name: opts.name,
          hash: hashApiKey(key),
          readOnly: opts.readOnly === true,
        });
        await store.appendAudit({
          actor: 'cli',
          action: 'key.create',
          subjectKind: 'key',
          subjectId: rec.id,
        });
        process.stderr.write(
          `created ${rec.readOnly ? 'read-only ' : ''}key "${rec.name}" (id ${rec.id}). Copy it now: it cannot be shown again.\n` +
            'Send it as "Authorization: Bearer <key>"; the web page asks for it once.\n',
        );
        printResult(opts.json === true, { ...keyJson(rec), key }, () => key);
      } finally {
        await store.close();
      }
    });

  keys
    .command('list')
    .description('every key: name, access, created, last used, revoked')
    .option('--json', 'print {"keys": [{id, name, read_only, created_at, last_used_at, revoked_at}]}')
    .action(async (opts: { json?: boolean }) => {
      const store = await openGallery(program);
      try {
        const list = await store.listApiKeys();
        printResult(opts.json === true, { keys: list.map(keyJson) }, () => formatList(list));
      } finally {
        await store.close();
      }
    });

  keys
    .command('revoke')
    .description('revoke a key (a running server refuses it within a second)')
    .argument('<name>', 'the key name, or #<id>')
    .option('--json', 'print the revoked key')
    .action(async (name: string, opts: { json?: boolean }) => {
      const store = await openGallery(program);
      try {
        const id = /^#(\d{1,15})$/.exec(name.trim());
        const rec = await store.revokeApiKey(id ? Number(id[1]) : name);
        await store.appendAudit({
          actor: 'cli',
          action: 'key.revoke',
          subjectKind: 'key',
          subjectId: rec.id,
        });
        printResult(opts.json === true, keyJson(rec), () => `revoked key "${rec.name}" (id ${rec.id})`);
      } finally {
        await store.close();
      }
    });
}

function formatList(list: readonly ApiKeyRecord[]): string {
  if (list.length === 0) return 'no API keys: create one with facerec keys create --name NAME';
  const day = (t: number | null) =>
    t === null ? '-' : new Date(t).toISOString().slice(0, 16).replace('T', ' ');
  const w = Math.min(30, Math.max(4, ...list.map((k) => [...k.name].length)));
  const pad = (s: string) => s + ' '.repeat(Math.max(0, w - [...s].length));
  return [
    `${pad('name')}  id     access     created           last used         revoked`,
    ...list.map(
      (k) =>
        `${pad(k.name)}  ${String(k.id).padEnd(5)}  ${(k.readOnly ? 'read-only' : 'read-write').padEnd(9)}  ${day(k.createdAt)}  ${day(k.lastUsedAt).padEnd(16)}  ${day(k.revokedAt)}`,
    ),
  ].join('\n');
}
