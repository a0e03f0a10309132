/**
 * Enrollment: photos of people → faces in the gallery.
 *
 * Two steps, so that the CLI, the server and the evaluation share them:
 *
 * 1. {@link planEnrollment} turns paths into (person, photo) pairs using the seed's layouts;
 * 2. {@link enrollPhotos} reads each photo, hashes its bytes (SHA-256), finds the faces, embeds
 *    the largest one and adds it to the gallery, in batches: one embedding run and one
 *    transaction per person per batch, so that a crash leaves every photo either fully enrolled
 *    (face row, embedding, thumbnail, index entry) or absent.
 *
 * A photo already enrolled for the same person with the same pipeline (same SHA-256) adds nothing
 * and is not even decoded again. Photos are never stored; a small JPEG of the face is kept only
 * with `keepThumbnails`.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import type { FaceGeometry } from '../align/index.js';
import {
  type Box,
  type DetectedFace,
  type Embedding,
  type EmbeddingProvenance,
  errorMessage,
  FaceError,
  InvalidInputError,
  invalidParameter,
  NotFoundError,
  type RawImage,
} from '../core/index.js';
import {
  type FaceRecord,
  type GalleryStore,
  type NewFace,
  normalizePersonName,
  type PersonRef,
  type Thumbnail,
} from '../gallery/index.js';
import { crop, type DecodeOptions, decodeImage, encodeJpeg, resize } from '../image/index.js';
import { boxArea, type FaceRecognizer } from './recognizer.js';

/** File extensions taken as photos (lower case; matched case-insensitively): the decoder's formats. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
]);

/** True when `path` ends in one of {@link IMAGE_EXTENSIONS} (any case). */
export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(path).toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// Planning

/** One photo to enroll for one person. */
export interface EnrollmentItem {
  /** The person's name, already normalized ({@link normalizePersonName}). */
  readonly person: string;
  /** The photo's path (absolute when the input was, else as given joined with folder entries). */
  readonly file: string;
}

/** Why a path was left out of a plan. */
export type PlanSkipReason =
  /** Not an image by its extension (a folder's `notes.txt`, or such a file named explicitly). */
  | 'not_image'
  /** The path does not exist or cannot be listed. */
  | 'missing'
  /** The file or folder name is not a valid person name (the photo is never enrolled under it). */
  | 'bad_name'
  /** A folder or photo outside the layout: a folder inside a person folder, a photo above the person folders. */
  | 'outside_layout';

/** A path left out of a plan, with the reason. */
export interface PlanSkip {
  readonly path: string;
  readonly reason: PlanSkipReason;
  /** A sentence for the user. */
  readonly message: string;
  /**
   * True when the input was unusable (a missing path, a bad name, a non-image file named on the
   * command line): the CLI exits with code 2. False for files merely ignored inside a folder.
   */
  readonly error: boolean;
}

/** What {@link planEnrollment} found. */
export interface EnrollmentPlan {
  /** Photos to enroll, sorted by person then file (code-point order), each pair once. */
  readonly items: readonly EnrollmentItem[];
  /** Paths left out, in the order met. */
  readonly skipped: readonly PlanSkip[];
  /** Remarks on how folders were read (e.g. a folder mixing photos and person folders). */
  readonly notes: readonly string[];
}

/** Options of {@link planEnrollment}. */
export interface PlanOptions {
  /**
   * Enroll every photo under the paths as this person (single files, or whole folders searched
   * recursively). Validated with {@link normalizePersonName}.
   */
  readonly name?: string;
  /**
   * Without `name`: how many folder levels below a given folder the person folders are. 1 (the
   * default) is the seed's `train_dir/<name>/…`; 2 reads `<root>/<group>/<name>/…` and names the
   * person `<group>/<name>` (e.g. `faceapi_tbbt/amy`), so that people of different groups never
   * merge. 1–8.
   */
  readonly depth?: number;
}

/** Deepest folder recursion for `name` mode (symlink loops are also cut by real path). */
const MAX_RECURSION = 32;

/**
 * Turn paths into (person, photo) pairs, following the seed's layouts.
 *
 * - A **file**: the person is `name` when given, else the file name without its extension
 *   (`alice.jpg` → "alice"), as in the seed's `test_img/`.
 * - A **folder with `name`**: every photo under it, at any depth, is that person.
 * - A **folder without `name`** (depth 1): each photo directly in it is a person named by its file
 *   name (`test_img/` layout), and each sub-folder is a person named by the folder, holding that
 *   person's photos (`train_dir/` layout). A folder mixing both is read both ways (a note says
 *   so), and a photo and a folder with the same name (`alice.jpg`, `alice/`) are the same person.
 *   Folders inside a person folder are not entered (reported as `outside_layout`).
 * - With `depth` 2 or more, the person folders are that many levels down and named by their path
 *   below the root joined with `/`; photos above them are reported as `outside_layout`.
 *
 * Names come only from file and folder names and are validated with {@link normalizePersonName};
 * one that fails is reported (`bad_name`) and never used. Names are never turned back into
 * paths. Non-image files (by extension) are reported as `not_image`.
 *
 * @throws InvalidInputError for an invalid `name` or `depth`, or when `paths` is empty.
 *
 * @example
 * const plan = await planEnrollment(['train_dir']);       // train_dir/<name>/*.jpg
 * const one = await planEnrollment(['me.jpg'], { name: 'Me' });
 */
export async function planEnrollment(
  paths: readonly string[],
  options: PlanOptions = {},
): Promise<EnrollmentPlan> {
  if (!Array.isArray(paths) || paths.length === 0)
    throw invalidParameter('paths', 'at least one path', paths);
  const depth = options.depth ?? 1;
  if (!Number.isInteger(depth) || depth < 1 || depth > 8) {
    throw invalidParameter('depth', 'an integer from 1 to 8', depth);
  }
  const forced = options.name === undefined ? undefined : normalizePersonName(options.name);
  const items: EnrollmentItem[] = [];
  const skipped: PlanSkip[] = [];
  const notes: string[] = [];
  const add = (person: string, file: string) => items.push({ person, file });
  const named = (raw: string, path: string, what: string): string | undefined => {
    try {
      return normalizePersonName(raw);
    } catch (err) {
      skipped.push({
        path,
        reason: 'bad_name',
        message: `${what} ${JSON.stringify(raw)} is not a valid person name: ${errorMessage(err)}`,
        error: true,
      });
      return undefined;
    }
  };

  for (const path of paths) {
    if (typeof path !== 'string' || path === '')
      throw invalidParameter('paths', 'non-empty path strings', path);
    const st = await stat(path).catch(() => undefined);
    if (!st) {
      skipped.push({ path, reason: 'missing', message: `${path}: no such file or folder`, error: true });
      continue;
    }
    if (st.isFile()) {
      if (!isImagePath(path)) {
        skipped.push({
          path,
          reason: 'not_image',
          message: `${path}: not a photo (accepted: ${IMAGE_EXTENSIONS.join(' ')})`,
          error: true,
        });
        continue;
      }
      const person = forced ?? named(basename(path, extname(path)), path, 'The file name');
      if (person !== undefined) add(person, path);
      continue;
    }
    if (!st.isDirectory()) {
      skipped.push({ path, reason: 'not_image', message: `${path}: not a file or folder`, error: true });
      continue;
    }
    if (forced !== undefined) {
      const seen = new Set<string>();
      await walkAll(path, 0, seen, (file) => add(forced, file), skipped);
      continue;
    }
    await walkLayout(path, path, 0, depth, { add, named, skipped, notes });
  }

  const unique = new Map<string, EnrollmentItem>();
  for (const it of items) unique.set(`${it.person}\u0000${resolve(it.file)}`, it);
  const sorted = [...unique.values()].sort((a, b) => cmp(a.person, b.person) || cmp(a.file, b.file));
  return { items: sorted, skipped, notes };
}

interface LayoutSink {
  add(person: string, file: string): void;
  named(raw: string, path: string, what: string): string | undefined;
  readonly skipped: PlanSkip[];
  readonly notes: string[];
}

/** Read a folder at `level` below `root` for the person-folder layout. */
async function walkLayout(
  root: string,
  dir: string,
  level: number,
  depth: number,
  sink: LayoutSink,
): Promise<void> {
  const entries = await listDir(dir, sink.skipped);
  if (!entries) return;
  const files = entries.filter((e) => !e.dir);
  const dirs = entries.filter((e) => e.dir);
  if (level === depth) {
    // A person folder: its photos belong to it; deeper folders are outside the layout.
    const rel = relative(root, dir).split(sep).join('/');
    const person = files.some((f) => isImagePath(f.path))
      ? sink.named(rel, dir, 'The folder name')
      : undefined;
    for (const f of files) {
      if (!isImagePath(f.path)) sink.skipped.push(ignoredFile(f.path));
      else if (person !== undefined) sink.add(person, f.path);
    }
    for (const d of dirs) {
      sink.skipped.push({
        path: d.path,
        reason: 'outside_layout',
        message: `${d.path}: a folder inside the person folder ${dir} (not read)`,
        error: false,
      });
    }
    return;
  }
  const photos = files.filter((f) => isImagePath(f.path));
  for (const f of files) if (!isImagePath(f.path)) sink.skipped.push(ignoredFile(f.path));
  if (level === 0 && depth === 1) {
    // The seed's test_img layout: each photo is a person named by its file name.
    if (photos.length > 0 && dirs.length > 0) {
      sink.notes.push(
        `${dir} holds both photos and folders: each photo is a person named by its file name, ` +
          'each folder a person named by the folder (the same name in both is one person)',
      );
    }
    for (const f of photos) {
      const person = sink.named(basename(f.path, extname(f.path)), f.path, 'The file name');
      if (person !== undefined) sink.add(person, f.path);
    }
  } else {
    for (const f of photos) {
      sink.skipped.push({
        path: f.path,
        reason: 'outside_layout',
        message: `${f.path}: a photo above the person folders (depth ${depth}), not enrolled`,
        error: false,
      });
    }
  }
  for (const d of dirs) await walkLayout(root, d.path, level + 1, depth, sink);
}

/** Every photo under `dir` (recursively, each real folder once). */
async function walkAll(
  dir: string,
  level: number,
  seen: Set<string>,
  onPhoto: (file: string) => void,
  skipped: PlanSkip[],
): Promise<void> {
  const real = await realpath(dir).catch(() => dir);
  if (seen.has(real) || level > MAX_RECURSION) return;
  seen.add(real);
  const entries = await listDir(dir, skipped);
  if (!entries) return;
  for (const e of entries) {
    if (e.dir) await walkAll(e.path, level + 1, seen, onPhoto, skipped);
    else if (isImagePath(e.path)) onPhoto(e.path);
    else skipped.push(ignoredFile(e.path));
  }
}

function ignoredFile(path: string): PlanSkip {
  return { path, reason: 'not_image', message: `${path}: not a photo (ignored)`, error: false };
}

/** A folder's entries (symlinks resolved to file or folder), sorted by name; undefined when unreadable. */
async function listDir(
  dir: string,
  skipped: PlanSkip[],
): Promise<{ path: string; dir: boolean }[] | undefined> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    skipped.push({
      path: dir,
      reason: 'missing',
      message: `${dir}: cannot list (${errorMessage(err)})`,
      error: true,
    });
    return undefined;
  }
  const out: { path: string; dir: boolean }[] = [];
  for (const e of entries.sort((a, b) => cmp(a.name, b.name))) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push({ path, dir: true });
    else if (e.isFile()) out.push({ path, dir: false });
    else if (e.isSymbolicLink()) {
      const st = await stat(path).catch(() => undefined);
      if (st?.isDirectory()) out.push({ path, dir: true });
      else if (st?.isFile()) out.push({ path, dir: false });
    }
  }
  return out;
}

/** Code-point order (locale-independent, the same as the gallery's name order). */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Enrolling

/** One photo for {@link enrollPhotos}. */
export interface EnrollPhoto {
  /**
   * The person: a name (created when absent, normalized) or the id of an existing person
   * (NotFoundError when there is none).
   */
  readonly person: PersonRef;
  /** The photo's path, or its label in results when `bytes` is given. */
  readonly file: string;
  /** The photo's bytes (an upload); when absent, `file` is read. */
  readonly bytes?: Uint8Array;
  /**
   * The name stored with the face (default: the base name of `file`: full paths would leak
   * folder names into the gallery).
   */
  readonly sourceName?: string;
}

/** What happened to one photo. */
export type EnrollStatus =
  /** Its face was added to the gallery. */
  | 'enrolled'
  /** The same photo (SHA-256) is already enrolled for this person with this pipeline: nothing added. */
  | 'duplicate'
  /** No face was found: nothing added. */
  | 'no_face'
  /** The photo could not be read, decoded or embedded (see `error`): nothing added. */
  | 'error';

/** The result of one photo. */
export interface PhotoResult {
  /** The photo as given ({@link EnrollPhoto.file}). */
  readonly file: string;
  /** The person's stored name (or `#<id>` for an id that was never resolved). */
  readonly person: string;
  /** The person's id, once known (null when the person was neither found nor created). */
  readonly personId: number | null;
  readonly status: EnrollStatus;
  /** Faces found in the photo; null when it was not analysed (an error, or a duplicate known by its hash). */
  readonly faces: number | null;
  /** The face added (`enrolled`) or the face already enrolled from this photo (`duplicate`). */
  readonly faceId?: number;
  /** The enrolled face's box in the photo, pixels (`enrolled`). */
  readonly box?: Box;
  /** Detector confidence of the enrolled face, 0–1 (`enrolled`). */
  readonly score?: number;
  /** SHA-256 of the photo's bytes, 64 lowercase hex digits (once read). */
  readonly sha256?: string;
  /** A remark, e.g. that several faces were found and the largest enrolled. */
  readonly warning?: string;
  /** Why the photo failed (`error`). */
  readonly error?: string;
}

/** Totals for one person of an enrollment. */
export interface EnrolledPerson {
  readonly name: string;
  /** Null when the person does not exist (every photo failed or had no face). */
  readonly personId: number | null;
  /** True when this enrollment created the person. */
  readonly created: boolean;
  readonly added: number;
  readonly duplicates: number;
  readonly noFace: number;
  readonly errors: number;
}

/** The outcome of {@link enrollPhotos}. */
export interface EnrollReport {
  /** One result per photo, in input order. */
  readonly results: readonly PhotoResult[];
  /** One entry per person, in order of first appearance. */
  readonly people: readonly EnrolledPerson[];
  /** Faces added. */
  readonly added: number;
  readonly duplicates: number;
  readonly noFace: number;
  readonly errors: number;
  /** Photos with several faces (the largest was enrolled). */
  readonly severalFaces: number;
  /** Wall time, seconds. */
  readonly seconds: number;
  /** Photos handled per second (all statuses). */
  readonly photosPerSecond: number;
}

/** Options of {@link enrollPhotos}. */
export interface EnrollOptions {
  /** Keep a small JPEG of each enrolled face in the gallery (default false: no image is stored). */
  readonly keepThumbnails?: boolean;
  /** Thumbnail side in pixels, 32–512; default 112. */
  readonly thumbnailSize?: number;
  /**
   * Photos per batch (one embedding run, one transaction per person per batch), 1–256; default
   * 16. A batch also ends once its decoded photos hold {@link EnrollOptions.batchPixels} pixels.
   */
  readonly batchSize?: number;
  /** Pixels of decoded photos held at most per batch (bounds memory); default 48 M (≈ 144 MB). */
  readonly batchPixels?: number;
  /** Decoder limits (pixel count, bytes). */
  readonly decode?: Pick<DecodeOptions, 'maxPixels' | 'maxBytes'>;
  /** Called once per photo when its result is final, in input order. */
  readonly onResult?: (result: PhotoResult, done: number, total: number) => void;
}

/** Default thumbnail side, pixels. */
export const THUMBNAIL_SIZE = 112;

/** A photo analysed and waiting for its batch's embedding run. */
interface Pending {
  readonly index: number;
  readonly file: string;
  readonly key: string;
  readonly image: RawImage;
  readonly face: DetectedFace;
  readonly faces: number;
  readonly sha256: string;
  readonly sourceName: string;
  readonly thumbnail: Thumbnail | null;
  readonly warning?: string;
}

/** Per-person state during a run. */
interface PersonState {
  readonly ref: PersonRef;
  name: string;
  id: number | null;
  created: boolean;
  /** Photo hashes already enrolled for this person with the recognizer's pipeline. */
  readonly known: Map<string, number>;
}

/**
 * Enroll photos: for each, read the bytes, hash them, decode, detect; no face → `no_face`;
 * several → the largest, with a warning; then embed (batched across photos) and add to the
 * gallery (one transaction per person per batch). Re-enrolling a photo already enrolled for the
 * person (same SHA-256, same pipeline) adds nothing (`duplicate`). A photo that cannot be read,
 * decoded or embedded is reported (`error`) and the others go on. People are created only when a
 * face of theirs is added.
 *
 * @throws InvalidInputError for invalid options or person names; NotFoundError when a person id
 *   does not exist; StoreError when the gallery fails (the batches committed before stay).
 *
 * @example
 * const plan = await planEnrollment(['train_dir']);
 * const report = await enrollPhotos(recognizer, store, plan.items);
 * report.added; // faces added
 */
export async function enrollPhotos(
  recognizer: FaceRecognizer,
  store: GalleryStore,
  photos: readonly EnrollPhoto[],
  options: EnrollOptions = {},
): Promise<EnrollReport> {
  const started = performance.now();
  const o = checkEnrollOptions(options);
  if (!Array.isArray(photos)) throw invalidParameter('photos', 'an array of photos', photos);
  const keys = photos.map((p, i) => personKey(p, i));
  const provenance = recognizer.provenance;
  const results: PhotoResult[] = new Array(photos.length);
  const people = new Map<string, PersonState>();
  let done = 0;
  const total = photos.length;
  const emitted: boolean[] = new Array(photos.length).fill(false);
  let nextEmit = 0;
  const settle = (i: number, r: PhotoResult) => {
    results[i] = r;
    emitted[i] = true;
    while (nextEmit < total && emitted[nextEmit]) {
      done++;
      o.onResult?.(results[nextEmit]!, done, total);
      nextEmit++;
    }
  };

  const stateOf = async (i: number): Promise<PersonState> => {
    const key = keys[i]!;
    let st = people.get(key);
    if (!st) {
      const ref = photos[i]!.person;
      st = {
        ref,
        name: typeof ref === 'number' ? `#${ref}` : key.slice(2),
        id: null,
        created: false,
        known: new Map(),
      };
      people.set(key, st);
      const existing = await store.findPerson(ref);
      if (existing) {
        st.id = existing.id;
        st.name = existing.name;
        for (const f of await store.listFaces(existing.id)) {
          if (f.sourceSha256 && sameProvenance(f, provenance)) st.known.set(f.sourceSha256, f.id);
        }
      } else if (typeof ref === 'number') {
        throw new NotFoundError(`No person with id ${ref}`);
      }
    }
    return st;
  };

  let batch: Pending[] = [];
  let batchPixels = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const pending = batch;
    batch = [];
    batchPixels = 0;
    await commitBatch(recognizer, store, pending, people, settle);
  };

  // Read and hash the next photo while the current one is being detected.
  const load = (i: number) => loadPhoto(photos[i]!, o.decode);
  let next = total > 0 ? load(0) : undefined;
  for (let i = 0; i < total; i++) {
    const loaded = await next!;
    next = i + 1 < total ? load(i + 1) : undefined;
    const photo = photos[i]!;
    const st = await stateOf(i);
    const base = { file: photo.file, person: st.name, personId: st.id };
    if ('error' in loaded) {
      settle(i, { ...base, status: 'error', faces: null, error: loaded.error });
      continue;
    }
    const known = st.known.get(loaded.sha256);
    if (known !== undefined) {
      settle(i, { ...base, status: 'duplicate', faces: null, faceId: known, sha256: loaded.sha256 });
      continue;
    }
    let image: RawImage;
    let faces: DetectedFace[];
    let face: DetectedFace | undefined;
    let thumbnail: Thumbnail | null = null;
    try {
      image = await loaded.image;
      faces = await recognizer.detectFaces(image);
      face = largest(faces);
      if (face && o.keepThumbnails) thumbnail = await faceThumbnail(image, face.box, o.thumbnailSize);
    } catch (err) {
      // A photo that cannot be decoded or analysed fails alone; anything else stops the run.
      if (!(err instanceof FaceError) || err.code === 'STORE') throw err;
      settle(i, { ...base, status: 'error', faces: null, sha256: loaded.sha256, error: errorMessage(err) });
      continue;
    }
    if (!face) {
      settle(i, { ...base, status: 'no_face', faces: 0, sha256: loaded.sha256 });
      continue;
    }
    batch.push({
      index: i,
      file: photo.file,
      key: keys[i]!,
      image,
      face,
      faces: faces.length,
      sha256: loaded.sha256,
      sourceName: photo.sourceName ?? basename(photo.file),
      thumbnail,
      ...(faces.length > 1
        ? { warning: `${faces.length} faces found in ${photo.file}: the largest was enrolled` }
        : {}),
    });
    batchPixels += image.width * image.height;
    if (batch.length >= o.batchSize || batchPixels >= o.batchPixels) await flush();
  }
  await flush();

  // Results settled before their person was created carry the final id and name.
  const final = results.map((r, i) => {
    const st = people.get(keys[i]!)!;
    return r.personId === st.id && r.person === st.name ? r : { ...r, person: st.name, personId: st.id };
  });
  const seconds = (performance.now() - started) / 1000;
  return summarize(final, keys, people, seconds);
}

/** Embed a batch and add its faces, one transaction per person; settle every photo. */
async function commitBatch(
  recognizer: FaceRecognizer,
  store: GalleryStore,
  pending: readonly Pending[],
  people: Map<string, PersonState>,
  settle: (i: number, r: PhotoResult) => void,
): Promise<void> {
  const embeddings = await embedEach(recognizer, pending);
  const byPerson = new Map<string, { p: Pending; face: NewFace }[]>();
  for (const [j, p] of pending.entries()) {
    const e = embeddings[j]!;
    const st = people.get(p.key)!;
    if (!('vector' in e)) {
      settle(p.index, {
        file: p.file,
        person: st.name,
        personId: st.id,
        status: 'error',
        faces: p.faces,
        sha256: p.sha256,
        error: e.error,
      });
      continue;
    }
    const list = byPerson.get(p.key) ?? [];
    list.push({
      p,
      face: {
        embedding: e,
        box: p.face.box,
        score: p.face.score,
        sourceName: p.sourceName,
        sourceSha256: p.sha256,
        thumbnail: p.thumbnail,
      },
    });
    byPerson.set(p.key, list);
  }
  for (const [key, list] of byPerson) {
    const st = people.get(key)!;
    const res = await addWithPerson(
      store,
      st,
      list.map((x) => x.face),
    );
    const dup = new Map(res.duplicates.map((d) => [d.index, d.existingFaceId]));
    let a = 0;
    list.forEach(({ p }, j) => {
      const base = {
        file: p.file,
        person: st.name,
        personId: st.id,
        faces: p.faces,
        sha256: p.sha256,
        ...(p.warning ? { warning: p.warning } : {}),
      };
      const existing = dup.get(j);
      if (existing !== undefined) {
        settle(p.index, { ...base, status: 'duplicate', faceId: existing });
        return;
      }
      const added: FaceRecord = res.added[a++]!;
      st.known.set(p.sha256, added.id);
      settle(p.index, { ...base, status: 'enrolled', faceId: added.id, box: added.box, score: added.score });
    });
  }
}

/**
 * The batch's embeddings in one batched run; when that fails on an input (degenerate landmarks),
 * each face alone, so that one bad photo fails only itself.
 */
async function embedEach(recognizer: FaceRecognizer, pending: readonly Pending[]): Promise<EmbedOutcome[]> {
  const requests = pending.map((p) => ({ image: p.image, face: p.face as FaceGeometry }));
  try {
    return await recognizer.embedder.embedMany(requests);
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
  }
  const out: EmbedOutcome[] = [];
  for (const r of requests) {
    try {
      out.push((await recognizer.embedder.embedMany([r]))[0]!);
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      out.push({ error: errorMessage(err) });
    }
  }
  return out;
}

/**
 * Add faces for a person, creating them by name on first use. When the person was removed
 * meanwhile (another process), create them again once.
 */
async function addWithPerson(store: GalleryStore, st: PersonState, faces: readonly NewFace[]) {
  for (let attempt = 0; ; attempt++) {
    if (st.id === null) {
      if (typeof st.ref === 'number') throw new NotFoundError(`No person with id ${st.ref}`);
      const { person, created } = await store.ensurePerson(st.ref);
      st.id = person.id;
      st.name = person.name;
      st.created ||= created;
    }
    try {
      return await store.addFaces(st.id, faces);
    } catch (err) {
      if (!(err instanceof NotFoundError) || typeof st.ref === 'number' || attempt > 0) throw err;
      st.id = null;
      st.known.clear();
    }
  }
}

type EmbedOutcome = Embedding | { readonly error: string };

type Loaded = { readonly sha256: string; readonly image: Promise<RawImage> } | { readonly error: string };

/** Read a photo's bytes and hash them; start decoding (awaited later). Never rejects. */
async function loadPhoto(
  photo: EnrollPhoto,
  decode: Pick<DecodeOptions, 'maxPixels' | 'maxBytes'>,
): Promise<Loaded> {
  let bytes: Uint8Array;
  try {
    bytes = photo.bytes ?? (await readFile(photo.file));
  } catch (err) {
    const code = (err as { code?: string }).code;
    return {
      error:
        code === 'ENOENT'
          ? `${photo.file}: no such file`
          : `${photo.file}: cannot read (${errorMessage(err)})`,
    };
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const image = decodeImage(bytes, { ...decode, name: photo.file });
  // The decode is awaited after the duplicate check; a duplicate's rejection must not go unhandled.
  image.catch(() => {});
  return { sha256, image };
}

/** A square JPEG of the face (its box with a 25% margin each side, zero-padded at the edges). */
export async function faceThumbnail(image: RawImage, box: Box, size = THUMBNAIL_SIZE): Promise<Thumbnail> {
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  const half = (Math.max(box[2] - box[0], box[3] - box[1], 1) * 1.5) / 2;
  const square = crop(image, [cx - half, cy - half, cx + half, cy + half]);
  const small = await resize(square, size, size, { kernel: 'linear' });
  return { mime: 'image/jpeg', bytes: new Uint8Array(await encodeJpeg(small, 85)) };
}

/** The face with the largest box (ties: the earlier, i.e. higher-scored). */
function largest(faces: readonly DetectedFace[]): DetectedFace | undefined {
  let best: DetectedFace | undefined;
  for (const f of faces) if (!best || boxArea(f.box) > boxArea(best.box)) best = f;
  return best;
}

function sameProvenance(f: FaceRecord, p: EmbeddingProvenance): boolean {
  return (
    f.provenance.model === p.model &&
    f.provenance.template === p.template &&
    f.provenance.normalized === p.normalized
  );
}

/** A stable key per person reference: `n:<normalized name>` or `i:<id>`. */
function personKey(p: EnrollPhoto, i: number): string {
  if (!p || typeof p !== 'object') throw invalidParameter(`photos[${i}]`, 'a photo { person, file }', p);
  if (typeof p.file !== 'string' || p.file === '')
    throw invalidParameter(`photos[${i}].file`, 'a path or label', p.file);
  if (p.bytes !== undefined && !(p.bytes instanceof Uint8Array)) {
    throw invalidParameter(`photos[${i}].bytes`, 'a Uint8Array', p.bytes);
  }
  if (typeof p.person === 'number') {
    if (!Number.isSafeInteger(p.person) || p.person < 1) {
      throw invalidParameter(`photos[${i}].person`, 'a positive integer id or a name', p.person);
    }
    return `i:${p.person}`;
  }
  return `n:${normalizePersonName(p.person)}`;
}

function checkEnrollOptions(
  o: EnrollOptions,
): Required<Omit<EnrollOptions, 'onResult'>> & Pick<EnrollOptions, 'onResult'> {
  const batchSize = o.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 256) {
    throw invalidParameter('batchSize', 'an integer from 1 to 256', batchSize);
  }
  const batchPixels = o.batchPixels ?? 48e6;
  if (!(typeof batchPixels === 'number' && batchPixels >= 1 && Number.isFinite(batchPixels))) {
    throw invalidParameter('batchPixels', 'a finite number ≥ 1', batchPixels);
  }
  const thumbnailSize = o.thumbnailSize ?? THUMBNAIL_SIZE;
  if (!Number.isInteger(thumbnailSize) || thumbnailSize < 32 || thumbnailSize > 512) {
    throw invalidParameter('thumbnailSize', 'an integer from 32 to 512', thumbnailSize);
  }
  if (o.onResult !== undefined && typeof o.onResult !== 'function') {
    throw invalidParameter('onResult', 'a function', o.onResult);
  }
  return {
    keepThumbnails: o.keepThumbnails === true,
    thumbnailSize,
    batchSize,
    batchPixels,
    decode: o.decode ?? {},
    ...(o.onResult ? { onResult: o.onResult } : {}),
  };
}

function summarize(
  results: readonly PhotoResult[],
  keys: readonly string[],
  people: ReadonlyMap<string, PersonState>,
  seconds: number,
): EnrollReport {
  const per = new Map<string, { added: number; duplicates: number; noFace: number; errors: number }>();
  const count = { added: 0, duplicates: 0, noFace: 0, errors: 0, several: 0 };
  results.forEach((r, i) => {
    const c = per.get(keys[i]!) ?? { added: 0, duplicates: 0, noFace: 0, errors: 0 };
    if (r.status === 'enrolled') c.added++;
    else if (r.status === 'duplicate') c.duplicates++;
    else if (r.status === 'no_face') c.noFace++;
    else c.errors++;
    if (r.faces !== null && r.faces > 1) count.several++;
    per.set(keys[i]!, c);
  });
  // A person named in one photo and addressed by id in another is listed once.
  const merged = new Map<string, EnrolledPerson>();
  for (const [key, st] of people) {
    const c = per.get(key) ?? { added: 0, duplicates: 0, noFace: 0, errors: 0 };
    count.added += c.added;
    count.duplicates += c.duplicates;
    count.noFace += c.noFace;
    count.errors += c.errors;
    const id = st.id !== null ? `id:${st.id}` : key;
    const prev = merged.get(id);
    merged.set(id, {
      name: st.name,
      personId: st.id,
      created: (prev?.created ?? false) || st.created,
      added: (prev?.added ?? 0) + c.added,
      duplicates: (prev?.duplicates ?? 0) + c.duplicates,
      noFace: (prev?.noFace ?? 0) + c.noFace,
      errors: (prev?.errors ?? 0) + c.errors,
    });
  }
  return {
    results,
    people: [...merged.values()],
    added: count.added,
    duplicates: count.duplicates,
    noFace: count.noFace,
    errors: count.errors,
    severalFaces: count.several,
    seconds,
    photosPerSecond: seconds > 0 ? results.length / seconds : 0,
  };
}
