/**
 * `facerec people list|show NAME|rename OLD NEW|remove NAME [--yes]`: who is in the gallery.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { InvalidInputError, NotFoundError } from '../../core/index.js';
import type { GalleryStore, Person } from '../../gallery/index.js';
import { faceRecordJson, personJson } from '../../recognize/index.js';
import { openGallery } from '../context.js';
import { printResult } from '../io.js';

/**
 * The person a command-line argument names: the person of that name, else, for `#<id>`, the
 * person with that id.
 *
 * @throws NotFoundError when there is none.
 */
export async function findPersonArg(store: GalleryStore, arg: string): Promise<Person> {
  const byName = await store.findPerson(arg);
  if (byName) return byName;
  const id = /^#(\d{1,15})$/.exec(arg.trim());
  if (id) {
    const byId = await store.findPerson(Number(id[1]));
    if (byId) return byId;
  }
  throw new NotFoundError(
    `No person named ${JSON.stringify(arg)} (facerec people list shows who is enrolled)`,
  );
}

/** Every person, in name order. */
async function allPeople(store: GalleryStore): Promise<Person[]> {
  const out: Person[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await store.listPeople({ offset, limit: 1000 });
    out.push(...page.people);
    if (page.people.length < 1000) return out;
  }
}

/** Run `fn` with the gallery open. */
async function withGallery<T>(program: Command, fn: (store: GalleryStore) => Promise<T>): Promise<T> {
  const store = await openGallery(program);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Add the `people` command group. */
export function register(program: Command): void {
  const people = program.command('people').description('list, show, rename and remove enrolled people');

  people
    .command('list')
    .description('everyone in the gallery, by name, with their face counts')
    .option('--json', 'print {"people": [{id, name, faces, note, created_at, updated_at}], "total"}')
    .addHelpText('after', '\nExample:\n  facerec people list --json')
    .action(async (opts: { json?: boolean }) => {
      const list = await withGallery(program, allPeople);
      printResult(opts.json === true, { people: list.map(personJson), total: list.length }, () => {
        if (list.length === 0) return 'the gallery is empty: add people with facerec enroll <photos|folders>';
        const width = Math.min(40, Math.max(4, ...list.map((p) => [...p.name].length)));
        const rows = list.map(
          (p) =>
            `${pad(p.name, width)}  ${String(p.faceCount).padStart(5)}  ${new Date(p.createdAt).toISOString().slice(0, 10)}`,
        );
        const faces = list.reduce((s, p) => s + p.faceCount, 0);
        return [
          `${pad('name', width)}  faces  since`,
          ...rows,
          `${list.length} ${list.length === 1 ? 'person' : 'people'}, ${faces} faces`,
        ].join('\n');
      });
    });

  people
    .command('show')
    .description('one person and their enrolled faces')
    .argument('<name>', 'the person (or #<id>)')
    .option('--json', 'print the person with "faces": [{id, source_name, source_sha256, box, score, ...}]')
    .addHelpText('after', '\nExample:\n  facerec people show "Alice Martin"')
    .action(async (name: string, opts: { json?: boolean }) => {
      const { person, faces } = await withGallery(program, async (store) => {
        const p = await findPersonArg(store, name);
        return { person: p, faces: await store.listFaces(p.id) };
      });
      printResult(opts.json === true, { ...personJson(person), faces: faces.map(faceRecordJson) }, () =>
        [
          `${person.name} (id ${person.id}): ${faces.length} face${faces.length === 1 ? '' : 's'}, since ${new Date(person.createdAt).toISOString()}`,
          ...(person.note ? [`note: ${person.note}`] : []),
          ...faces.map(
            (f) =>
              `  face ${f.id}: ${f.sourceName ?? '(no file name)'}  box [${f.box.map((v) => v.toFixed(0)).join(', ')}]` +
              `  score ${f.score.toFixed(3)}${f.hasThumbnail ? '  thumbnail' : ''}  ${new Date(f.createdAt).toISOString().slice(0, 19)}Z`,
          ),
        ].join('\n'),
      );
    });

  people
    .command('rename')
    .description('give a person another name (their faces stay)')
    .argument('<old>', 'the current name (or #<id>)')
    .argument('<new>', 'the new name')
    .option('--json', 'print the renamed person')
    .addHelpText('after', '\nExample:\n  facerec people rename alice "Alice Martin"')
    .action(async (oldName: string, newName: string, opts: { json?: boolean }) => {
      const { before, after } = await withGallery(program, async (store) => {
        const p = await findPersonArg(store, oldName);
        const after = await store.renamePerson(p.id, newName);
        if (after.name !== p.name) {
          await store.appendAudit({
            actor: 'cli',
            action: 'person.update',
            subjectKind: 'person',
            subjectId: p.id,
          });
        }
        return { before: p, after };
      });
      printResult(opts.json === true, personJson(after), () =>
        before.name === after.name
          ? `${after.name}: name unchanged`
          : `renamed ${before.name} to ${after.name}`,
      );
    });

  people
    .command('remove')
    .description('delete a person with every face, embedding and thumbnail (cannot be undone)')
    .argument('<name>', 'the person (or #<id>)')
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .option('--json', 'print {"removed": {id, name, faces}}')
    .addHelpText('after', '\nExample:\n  facerec people remove "Alice Martin" --yes')
    .action(async (name: string, opts: { yes?: boolean; json?: boolean }) => {
      await withGallery(program, async (store) => {
        const p = await findPersonArg(store, name);
        if (opts.yes !== true) {
          if (!process.stdin.isTTY) {
            throw new InvalidInputError(
              `Refusing to remove ${p.name} without --yes: stdin is not a terminal, so no one can confirm`,
              { input: '--yes' },
            );
          }
          const ok = await confirm(
            `Remove ${p.name} and ${p.faceCount} face${p.faceCount === 1 ? '' : 's'}? This cannot be undone. [y/N] `,
          );
          if (!ok) {
            process.stderr.write('cancelled: nothing removed\n');
            return;
          }
        }
        const removed = await store.removePerson(p.id);
        await store.appendAudit({
          actor: 'cli',
          action: 'person.delete',
          subjectKind: 'person',
          subjectId: removed.personId,
          detail: `${removed.faces} faces`,
        });
        if (store.kind === 'postgres') {
          process.stderr.write(
            'note: PostgreSQL keeps deleted rows on disk until they are vacuumed; ' +
              'run VACUUM FULL face, person, face_thumbnail to erase them\n',
          );
        }
        printResult(
          opts.json === true,
          { removed: { id: removed.personId, name: removed.name, faces: removed.faces } },
          () =>
            `removed ${removed.name} (id ${removed.personId}) and ${removed.faces} face${removed.faces === 1 ? '' : 's'}`,
        );
      });
    });
}

/** Ask a yes/no question on the terminal (stderr); true for y/yes. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}

/** Pad to `width` code points (names may be any script). */
function pad(s: string, width: number): string {
  const n = [...s].length;
  return n >= width ? s : s + ' '.repeat(width - n);
}
