/**
 * The seed's KNN workflow as a measurement: enroll a seeded random part of each person's photos
 * into a temporary gallery, identify the rest, and report closed-set rank-1 accuracy and the
 * open-set error rates at the threshold, with some people kept out of the gallery as strangers.
 *
 * The protocol ({@link splitGallery}):
 * - people are shuffled with the seed; a fraction `unknownFraction` of them (at least one when the
 *   fraction is above 0, never all) are **strangers**: none of their photos is enrolled, all are
 *   probes, and naming one of them as anybody is a false positive (FPIR);
 * - every other person with two photos or more has `round(n × testSplit)` photos (at least one,
 *   at most n − 1) drawn as **probes**; the rest are enrolled;
 * - a person with a single photo cannot be both in the gallery and probed: unless drawn as a
 *   stranger, they are **gallery-only** (enrolled, never probed), a distractor for every probe, as
 *   in a real gallery.
 *
 * Figures, over probes where a face was found (probes without one are counted apart):
 * - `rank1`: closed-set rank-1 identification rate: the person with the nearest enrolled face is
 *   the right one (the first of the ranked candidates; the usual CMC definition, whatever the vote);
 * - `rank3`: the right person is among the 3 nearest people;
 * - `knnAccuracy` (per vote in `byVote`): the k-NN vote without a threshold names the right person;
 * - `fnir`: genuine probes called unknown or named as someone else at the threshold;
 * - `fpir`: stranger probes named as someone at the threshold;
 * - `atFpir`: the largest threshold whose FPIR stays within a target, and the FNIR it costs.
 *
 * Faces are chosen as enrollment chooses them: the largest face of each photo.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Embedding, RawImage } from '../core/index.js';
import { errorMessage, InvalidInputError, invalidParameter } from '../core/index.js';
import { type GalleryStore, openStore, type SearchHit } from '../gallery/index.js';
import { decodeImage } from '../image/index.js';
import { type EnrollmentItem, enrollPhotos } from './enroll.js';
import { DEFAULT_K, decideIdentity, KNN_VOTES, type KnnVote, searchDepth } from './identify.js';
import { type FaceRecognizer, largestFace } from './recognizer.js';

/** A seeded PRNG (mulberry32): floats in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = Math.trunc(seed) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shuffled copy of `xs` (Fisher–Yates with `rand`). */
export function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Options of {@link splitGallery}. */
export interface SplitOptions {
  /** Share of each gallery person's photos used as probes, in (0, 1); default 0.3. */
  readonly testSplit?: number;
  /** Share of people kept out of the gallery as strangers, in [0, 1); default 0.2. */
  readonly unknownFraction?: number;
  /** Random seed (an integer); default 1. */
  readonly seed?: number;
}

/** The role of a person in an evaluation. */
export type EvalRole = 'gallery' | 'stranger' | 'gallery_only';

/** A person's part of a split. */
export interface SplitPerson {
  readonly name: string;
  readonly role: EvalRole;
  /** Photos enrolled (none for strangers). */
  readonly enroll: readonly string[];
  /** Photos identified (none for gallery-only people). */
  readonly probes: readonly string[];
}

/** Resolved split options. */
interface Split {
  readonly testSplit: number;
  readonly unknownFraction: number;
  readonly seed: number;
}

function checkSplit(o: SplitOptions): Split {
  const testSplit = o.testSplit ?? 0.3;
  if (!(typeof testSplit === 'number' && testSplit > 0 && testSplit < 1)) {
    throw invalidParameter('testSplit', 'a fraction between 0 and 1 (exclusive)', testSplit);
  }
  const unknownFraction = o.unknownFraction ?? 0.2;
  if (!(typeof unknownFraction === 'number' && unknownFraction >= 0 && unknownFraction < 1)) {
    throw invalidParameter('unknownFraction', 'a fraction from 0 to 1 (1 excluded)', unknownFraction);
  }
  const seed = o.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw invalidParameter('seed', 'an integer', seed);
  return { testSplit, unknownFraction, seed };
}

/**
 * Split people's photos into gallery and probes (see the module notes). Deterministic: the same
 * people, photos and options give the same split, whatever the order of the input.
 *
 * @param people - Person name → photo paths.
 * @returns One entry per person, sorted by name.
 */
export function splitGallery(
  people: ReadonlyMap<string, readonly string[]>,
  options: SplitOptions = {},
): SplitPerson[] {
  const o = checkSplit(options);
  const rand = seededRandom(o.seed);
  const names = [...people.keys()].sort(codePoint);
  const n = names.length;
  const wanted = o.unknownFraction > 0 && n >= 2 ? Math.max(1, Math.round(o.unknownFraction * n)) : 0;
  const strangers = new Set(shuffled(names, rand).slice(0, Math.min(wanted, n - 1)));
  return names.map((name) => {
    const photos = [...people.get(name)!].sort(codePoint);
    if (strangers.has(name)) return { name, role: 'stranger', enroll: [], probes: photos };
    if (photos.length < 2) return { name, role: 'gallery_only', enroll: photos, probes: [] };
    const order = shuffled(photos, rand);
    const t = Math.min(photos.length - 1, Math.max(1, Math.round(photos.length * o.testSplit)));
    return {
      name,
      role: 'gallery',
      enroll: order.slice(t).sort(codePoint),
      probes: order.slice(0, t).sort(codePoint),
    };
  });
}

/** Group a plan's items by person, keeping people with at least `minPhotos` photos. */
export function peopleOf(items: readonly EnrollmentItem[], minPhotos = 1): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const it of items) out.set(it.person, [...(out.get(it.person) ?? []), it.file]);
  for (const [name, files] of out) if (files.length < minPhotos) out.delete(name);
  return out;
}

/** Options of {@link evaluateGallery}. */
export interface GalleryEvalOptions extends SplitOptions {
  /** Nearest faces that vote; default {@link DEFAULT_K}. */
  readonly k?: number;
  /** The vote used for the headline figures; default `'distance'` (all votes are in `byVote`). */
  readonly vote?: KnnVote;
  /**
   * Distance threshold (default: the recognizer's identification threshold for the size of the
   * gallery enrolled, see `FaceRecognizer.identificationThreshold`).
   */
  readonly threshold?: number;
  /** Extra thresholds to report FPIR/FNIR at (`sweep`); default a range around the threshold. */
  readonly sweep?: readonly number[];
  /** FPIR targets to find thresholds for (`atFpir`); default 0.01 and 0.05. */
  readonly fpirTargets?: readonly number[];
  /** Folder for the temporary gallery (default the system's temp folder); it is deleted after. */
  readonly workDir?: string;
  /** Called as photos are enrolled and identified. */
  readonly onProgress?: (phase: 'enroll' | 'identify', done: number, total: number) => void;
}

/** Figures for one person. */
export interface PersonEval {
  readonly name: string;
  readonly role: EvalRole;
  /** Faces enrolled. */
  readonly enrolled: number;
  /** Probe photos with a face. */
  readonly probes: number;
  /** Photos (enrolled or probes) where no face was found. */
  readonly noFace: number;
  /** Genuine probes whose nearest person is the right one (closed-set rank 1). */
  readonly rank1Correct: number;
  /** Genuine probes named correctly at the threshold. */
  readonly correct: number;
  /** Genuine probes called unknown at the threshold. */
  readonly unknown: number;
  /** Genuine probes named as someone else at the threshold. */
  readonly misnamed: number;
  /** Stranger probes named as someone at the threshold. */
  readonly falsePositives: number;
  /** Names given to this person's faces by mistake (misnamed or false positives), most frequent first. */
  readonly confusedWith: readonly string[];
}

/** Error rates at one threshold. */
export interface OpenSetRates {
  readonly threshold: number;
  /** Stranger probes named as someone / stranger probes; null without strangers. */
  readonly fpir: number | null;
  /** Genuine probes not named correctly / genuine probes; null without genuine probes. */
  readonly fnir: number | null;
}

/** The figures of one k-NN vote. */
export interface VoteFigures extends OpenSetRates {
  /** Closed-set accuracy of the vote (no threshold: the k nearest faces all vote). */
  readonly knnAccuracy: number | null;
}

/** The threshold meeting an FPIR target, from the strangers' nearest distances. */
export interface FpirOperatingPoint extends OpenSetRates {
  /** The FPIR aimed at. */
  readonly target: number;
}

/** The outcome of {@link evaluateGallery}. */
export interface GalleryEvalReport {
  /** People in the evaluation (gallery, strangers and gallery-only). */
  readonly people: number;
  readonly galleryPeople: number;
  readonly strangers: number;
  readonly galleryOnly: number;
  /** Faces enrolled in the temporary gallery. */
  readonly enrolledFaces: number;
  /** Probes with a face (genuine + stranger). */
  readonly probes: number;
  readonly genuineProbes: number;
  readonly strangerProbes: number;
  /** Photos without a face: enrolled part, probes. */
  readonly noFace: { readonly gallery: number; readonly probes: number };
  /** Photos that could not be read (enrolled part and probes), with the reason. */
  readonly errors: readonly { readonly file: string; readonly error: string }[];
  /** Closed-set rank-1 identification rate over genuine probes (null without any). */
  readonly rank1: number | null;
  /** The right person among the 3 nearest people. */
  readonly rank3: number | null;
  readonly fpir: number | null;
  readonly fnir: number | null;
  readonly threshold: number;
  readonly k: number;
  readonly vote: KnnVote;
  readonly testSplit: number;
  readonly unknownFraction: number;
  readonly seed: number;
  /** The headline figures under each vote, on the same probes. */
  readonly byVote: Readonly<Record<KnnVote, VoteFigures>>;
  /** FPIR and FNIR at other thresholds (with the chosen vote). */
  readonly sweep: readonly OpenSetRates[];
  /** Thresholds meeting FPIR targets (null threshold when no stranger probe). */
  readonly atFpir: readonly FpirOperatingPoint[];
  readonly perPerson: readonly PersonEval[];
  readonly seconds: number;
  /** Photos (enrolled and probes) handled per second. */
  readonly photosPerSecond: number;
}

/** Probe photos decoded and detected before one embedding run. */
const PROBE_CHUNK = 16;

/**
 * Run the gallery evaluation on `people` (name → photo paths) in a temporary SQLite gallery that
 * is deleted afterwards.
 *
 * @throws InvalidInputError for bad options, or when no person has two photos (nothing to probe).
 *
 * @example
 * const plan = await planEnrollment(['train_dir']);
 * const report = await evaluateGallery(recognizer, peopleOf(plan.items), { seed: 7 });
 * report.rank1; // closed-set rank-1 accuracy
 */
export async function evaluateGallery(
  recognizer: FaceRecognizer,
  people: ReadonlyMap<string, readonly string[]>,
  options: GalleryEvalOptions = {},
): Promise<GalleryEvalReport> {
  const started = performance.now();
  const split = checkSplit(options);
  const k = options.k ?? DEFAULT_K;
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw invalidParameter('k', 'an integer from 1 to 1000', k);
  const vote = options.vote ?? 'distance';
  if (!KNN_VOTES.includes(vote)) throw invalidParameter('vote', `one of ${KNN_VOTES.join(', ')}`, vote);
  for (const t of options.sweep ?? [])
    if (!(t > 0 && Number.isFinite(t))) throw invalidParameter('sweep', 'positive distances', t);
  if (options.threshold !== undefined) recognizer.compareThreshold(options.threshold);
  const targets = options.fpirTargets ?? [0.01, 0.05];
  for (const t of targets)
    if (!(t >= 0 && t < 1)) throw invalidParameter('fpirTargets', 'fractions in [0, 1)', t);

  const parts = splitGallery(people, split);
  if (!parts.some((p) => p.role === 'gallery')) {
    throw new InvalidInputError(
      `No person has two photos or more (${people.size} people): nothing can be both enrolled and probed. ` +
        'Point at a folder of <name>/ sub-folders with several photos each (use --depth when they are deeper).',
      { input: 'people' },
    );
  }
  const dir = await mkdtemp(join(options.workDir ?? tmpdir(), 'facerec-eval-gallery-'));
  let store: GalleryStore | undefined;
  try {
    store = await openStore({ dataDir: dir });
    const enrollItems = parts.flatMap((p) => p.enroll.map((file) => ({ person: p.name, file })));
    const enrolled = await enrollPhotos(recognizer, store, enrollItems, {
      onResult: (_r, done, total) => options.onProgress?.('enroll', done, total),
    });
    // The threshold the service would use for this gallery: --threshold, else the calibrated
    // identification threshold for its size.
    const threshold = recognizer.identificationThreshold(
      await store.countFaces(recognizer.provenance),
      options.threshold,
    );
    const sweep = [...new Set(options.sweep ?? defaultSweep(threshold))].sort((a, b) => a - b);
    const probes = parts.flatMap((p) => p.probes.map((file) => ({ person: p.name, file, role: p.role })));
    const outcomes = await probeAll(recognizer, store, probes, k, (done) =>
      options.onProgress?.('identify', done, probes.length),
    );
    const seconds = (performance.now() - started) / 1000;
    return score({
      parts,
      enrolled: enrolled.results.map((r, i) => ({ person: enrollItems[i]!.person, r })),
      probes,
      outcomes,
      threshold,
      k,
      vote,
      split,
      sweep,
      targets,
      seconds,
    });
  } finally {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The thresholds of the default sweep: the threshold ± steps of 0.05. */
function defaultSweep(t: number): number[] {
  return [-0.1, -0.05, 0, 0.05, 0.1, 0.15].map((d) => Math.round((t + d) * 1e4) / 1e4).filter((x) => x > 0);
}

type ProbeOutcome =
  | { readonly hits: readonly SearchHit[] }
  | { readonly noFace: true }
  | { readonly error: string };

/** Detect, embed (batched) and search every probe. */
async function probeAll(
  recognizer: FaceRecognizer,
  store: GalleryStore,
  probes: readonly { readonly file: string }[],
  k: number,
  onDone: (done: number) => void,
): Promise<ProbeOutcome[]> {
  const out: ProbeOutcome[] = new Array(probes.length);
  const depth = searchDepth(k);
  let done = 0;
  for (let start = 0; start < probes.length; start += PROBE_CHUNK) {
    const requests: { i: number; image: RawImage; face: NonNullable<ReturnType<typeof largestFace>> }[] = [];
    for (let i = start; i < Math.min(probes.length, start + PROBE_CHUNK); i++) {
      try {
        const image = await decodeImage(probes[i]!.file);
        const face = largestFace(await recognizer.detectFaces(image));
        if (face) requests.push({ i, image, face });
        else out[i] = { noFace: true };
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        out[i] = { error: errorMessage(err) };
      }
    }
    const embeddings: Embedding[] = await recognizer.embedder.embedMany(requests);
    for (const [j, r] of requests.entries()) out[r.i] = { hits: await store.search(embeddings[j]!, depth) };
    done = Math.min(probes.length, start + PROBE_CHUNK);
    onDone(done);
  }
  return out;
}

interface ScoreInput {
  readonly parts: readonly SplitPerson[];
  readonly enrolled: readonly {
    readonly person: string;
    readonly r: { readonly file: string; readonly status: string; readonly error?: string };
  }[];
  readonly probes: readonly { readonly person: string; readonly file: string; readonly role: EvalRole }[];
  readonly outcomes: readonly ProbeOutcome[];
  readonly threshold: number;
  readonly k: number;
  readonly vote: KnnVote;
  readonly split: Split;
  readonly sweep: readonly number[];
  readonly targets: readonly number[];
  readonly seconds: number;
}

/** Turn enrollment results and probe search hits into the report. */
function score(s: ScoreInput): GalleryEvalReport {
  const per = new Map(
    s.parts.map((p) => [
      p.name,
      {
        name: p.name,
        role: p.role,
        enrolled: 0,
        probes: 0,
        noFace: 0,
        rank1Correct: 0,
        correct: 0,
        unknown: 0,
        misnamed: 0,
        falsePositives: 0,
        confused: new Map<string, number>(),
      },
    ]),
  );
  const errors: { file: string; error: string }[] = [];
  let galleryNoFace = 0;
  let enrolledFaces = 0;
  for (const { person, r } of s.enrolled) {
    const p = per.get(person)!;
    if (r.status === 'enrolled') {
      p.enrolled++;
      enrolledFaces++;
    } else if (r.status === 'no_face') {
      p.noFace++;
      galleryNoFace++;
    } else if (r.status === 'error') errors.push({ file: r.file, error: r.error ?? 'error' });
  }

  const genuine: { name: string; hits: readonly SearchHit[] }[] = [];
  const strangers: { name: string; hits: readonly SearchHit[] }[] = [];
  let probeNoFace = 0;
  s.probes.forEach((probe, i) => {
    const o = s.outcomes[i]!;
    const p = per.get(probe.person)!;
    if ('error' in o) errors.push({ file: probe.file, error: o.error });
    else if ('noFace' in o) {
      p.noFace++;
      probeNoFace++;
    } else {
      p.probes++;
      (probe.role === 'stranger' ? strangers : genuine).push({ name: probe.person, hits: o.hits });
    }
  });

  const openSet = (vote: KnnVote, threshold: number): OpenSetRates => {
    let miss = 0;
    let fp = 0;
    for (const g of genuine)
      if (decideIdentity(g.hits, { threshold, k: s.k, vote, candidates: 0 }).name !== g.name) miss++;
    for (const x of strangers)
      if (decideIdentity(x.hits, { threshold, k: s.k, vote, candidates: 0 }).name !== null) fp++;
    return { threshold, fpir: ratio(fp, strangers.length), fnir: ratio(miss, genuine.length) };
  };
  const figures = (vote: KnnVote): VoteFigures => {
    let knn = 0;
    for (const g of genuine) {
      if (
        decideIdentity(g.hits, { threshold: Number.POSITIVE_INFINITY, k: s.k, vote, candidates: 0 }).name ===
        g.name
      )
        knn++;
    }
    return { ...openSet(vote, s.threshold), knnAccuracy: ratio(knn, genuine.length) };
  };

  // Per-person detail with the headline vote.
  let rank1 = 0;
  let rank3 = 0;
  for (const g of genuine) {
    const p = per.get(g.name)!;
    const open = decideIdentity(g.hits, { threshold: s.threshold, k: s.k, vote: s.vote });
    if (open.candidates[0]?.name === g.name) {
      rank1++;
      p.rank1Correct++;
    }
    if (open.candidates.some((c) => c.name === g.name)) rank3++;
    if (open.name === g.name) p.correct++;
    else if (open.name === null) p.unknown++;
    else {
      p.misnamed++;
      p.confused.set(open.name, (p.confused.get(open.name) ?? 0) + 1);
    }
  }
  for (const x of strangers) {
    const p = per.get(x.name)!;
    const open = decideIdentity(x.hits, { threshold: s.threshold, k: s.k, vote: s.vote, candidates: 0 });
    if (open.name !== null) {
      p.falsePositives++;
      p.confused.set(open.name, (p.confused.get(open.name) ?? 0) + 1);
    }
  }

  // A stranger is named exactly when their nearest enrolled face is within the threshold (the
  // voters are the neighbours within it), so FPIR(t) is the share of nearest distances ≤ t.
  const nearest = strangers.map((x) => Math.min(...x.hits.map((h) => h.distance))).sort((a, b) => a - b);
  const atFpir: FpirOperatingPoint[] = s.targets.map((target) => {
    if (nearest.length === 0) return { target, threshold: Number.NaN, fpir: null, fnir: null };
    const allowed = Math.floor(target * nearest.length);
    const next = nearest[allowed];
    // Just below the first stranger distance that would exceed the target.
    const t = next === undefined ? nearest.at(-1)! : Math.max(next * (1 - 1e-9), Number.MIN_VALUE);
    return { target, ...openSet(s.vote, t) };
  });

  const byVote = Object.fromEntries(KNN_VOTES.map((v) => [v, figures(v)])) as Record<KnnVote, VoteFigures>;
  const head = byVote[s.vote];
  const photos = s.enrolled.length + s.probes.length;
  return {
    people: s.parts.length,
    galleryPeople: s.parts.filter((p) => p.role === 'gallery').length,
    strangers: s.parts.filter((p) => p.role === 'stranger').length,
    galleryOnly: s.parts.filter((p) => p.role === 'gallery_only').length,
    enrolledFaces,
    probes: genuine.length + strangers.length,
    genuineProbes: genuine.length,
    strangerProbes: strangers.length,
    noFace: { gallery: galleryNoFace, probes: probeNoFace },
    errors,
    rank1: ratio(rank1, genuine.length),
    rank3: ratio(rank3, genuine.length),
    fpir: head.fpir,
    fnir: head.fnir,
    threshold: s.threshold,
    k: s.k,
    vote: s.vote,
    testSplit: s.split.testSplit,
    unknownFraction: s.split.unknownFraction,
    seed: s.split.seed,
    byVote,
    sweep: s.sweep.map((t) => openSet(s.vote, t)),
    atFpir,
    perPerson: [...per.values()].map(({ confused, ...p }) => ({
      ...p,
      confusedWith: [...confused.entries()]
        .sort((a, b) => b[1] - a[1] || codePoint(a[0], b[0]))
        .map(([n]) => n),
    })),
    seconds: s.seconds,
    photosPerSecond: s.seconds > 0 ? photos / s.seconds : 0,
  };
}

function ratio(n: number, d: number): number | null {
  return d > 0 ? n / d : null;
}

function codePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
