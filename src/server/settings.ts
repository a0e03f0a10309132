/**
 * The service's adjustable settings (the recognition threshold), kept in `<data>/settings.json`
 * (written atomically, owner-only), and what a threshold implies according to the calibration.
 *
 * Two thresholds matter: the 1:1 **verification** threshold (`verify`: are these two faces one
 * person?) and the 1:N **identification** threshold (`identify`, cameras: who is this, if
 * anyone?). By default (`auto`) identification uses the calibrated threshold for the gallery's
 * size that keeps a stranger from being named as someone with probability `target_fpir`; the
 * user may fix one threshold for both instead.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type EmbeddingProvenance, invalidParameter } from '../core/index.js';
import {
  calibratedThreshold,
  DEFAULT_TARGET_FPIR,
  type FaceRecognizer,
  type RetentionPolicy,
  ratesAtThreshold,
  thresholdForFar,
} from '../recognize/index.js';

/** The settings file's name in the data directory. */
export const SETTINGS_FILE = 'settings.json';

/** Smallest and largest threshold a user may set. */
export const THRESHOLD_RANGE: readonly [number, number] = [0.05, 1.5];

/** What is stored. */
export interface StoredSettings {
  /** A fixed threshold for identification and verification, or null for auto. */
  readonly threshold: number | null;
  /** The stranger-named-as-someone rate auto mode aims at, (0, 0.5]. */
  readonly targetFpir: number;
}

/** The defaults: auto, 1 % FPIR. */
export const DEFAULT_SETTINGS: StoredSettings = Object.freeze({
  threshold: null,
  targetFpir: DEFAULT_TARGET_FPIR,
});

/** A change requested through the API. */
export interface SettingsPatch {
  /** A fixed threshold, or null for auto. */
  readonly threshold?: number | null;
  /** Fix the threshold at this calibrated per-pair false-accept rate. */
  readonly far?: number;
  /** Back to auto with this target FPIR. */
  readonly targetFpir?: number;
}

/** Load the settings (defaults when the file is absent or unreadable). */
export async function loadSettings(dataDir: string): Promise<StoredSettings> {
  try {
    const raw = JSON.parse(await readFile(join(dataDir, SETTINGS_FILE), 'utf8')) as Partial<
      Record<string, unknown>
    >;
    const t = raw.threshold;
    const f = raw.target_fpir;
    return {
      threshold:
        typeof t === 'number' && t >= THRESHOLD_RANGE[0] && t <= THRESHOLD_RANGE[1]
          ? t
          : DEFAULT_SETTINGS.threshold,
      targetFpir: typeof f === 'number' && f > 0 && f <= 0.5 ? f : DEFAULT_SETTINGS.targetFpir,
    };
  } catch {
    return DEFAULT_SETTINGS;
  }
}

/**
 * Write the settings atomically (temporary file flushed to disk, then renamed), owner-only. On
 * failure (a full disk) the temporary file is removed and the previous settings stay.
 */
export async function saveSettings(dataDir: string, s: StoredSettings): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, SETTINGS_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const f = await open(tmp, 'w', 0o600);
    try {
      await f.writeFile(
        `${JSON.stringify({ threshold: s.threshold, target_fpir: s.targetFpir }, null, 2)}\n`,
      );
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

/**
 * Apply a patch.
 * @throws InvalidInputError for values out of range, or `far` without a calibration curve.
 */
export function applyPatch(
  s: StoredSettings,
  patch: SettingsPatch,
  provenance: EmbeddingProvenance,
): StoredSettings {
  let next = s;
  if (patch.targetFpir !== undefined) {
    const f = patch.targetFpir;
    if (!(typeof f === 'number' && f > 0 && f <= 0.5))
      throw invalidParameter('target_fpir', 'a rate in (0, 0.5]', f);
    next = { threshold: null, targetFpir: f };
  }
  if (patch.far !== undefined) {
    const far = patch.far;
    if (!(typeof far === 'number' && far > 0 && far < 1))
      throw invalidParameter('far', 'a rate in (0, 1)', far);
    const t = thresholdForFar(provenance, far);
    if (t === undefined) {
      throw invalidParameter('far', 'a threshold instead: this pipeline has no calibration curve', far);
    }
    next = { ...next, threshold: round4(t) };
  }
  if (patch.threshold !== undefined) {
    const t = patch.threshold;
    if (t !== null && !(typeof t === 'number' && t >= THRESHOLD_RANGE[0] && t <= THRESHOLD_RANGE[1])) {
      throw invalidParameter(
        'threshold',
        `a distance from ${THRESHOLD_RANGE[0]} to ${THRESHOLD_RANGE[1]} or null`,
        t,
      );
    }
    next = { ...next, threshold: t };
  }
  return next;
}

/** The thresholds in effect. */
export interface EffectiveThresholds {
  /** For identification against a gallery of the given size. */
  readonly identify: number;
  /** For 1:1 verification. */
  readonly verify: number;
}

/** The thresholds the settings give for a gallery of `galleryFaces` faces. */
export function effectiveThresholds(
  s: StoredSettings,
  recognizer: Pick<FaceRecognizer, 'identificationThreshold' | 'compareThreshold'>,
  galleryFaces: number,
): EffectiveThresholds {
  if (s.threshold !== null) return { identify: s.threshold, verify: s.threshold };
  return {
    identify: recognizer.identificationThreshold(galleryFaces, undefined, s.targetFpir),
    verify: recognizer.compareThreshold(),
  };
}

/** The JSON of `GET /api/v1/settings`. */
export interface SettingsJson {
  readonly threshold: number;
  readonly threshold_mode: 'auto' | 'fixed';
  readonly target_fpir: number;
  readonly gallery_faces: number;
  readonly far: number | null;
  readonly frr: number | null;
  readonly verify_threshold: number;
  readonly default_threshold: number | null;
  readonly curve: readonly { threshold: number; far: number; frr: number }[];
  readonly calibration: string | null;
  readonly keep_thumbnails: boolean;
  readonly keep_snapshots: boolean;
  /** Days events are kept; null: until removed. */
  readonly keep_events_days: number | null;
  /** Days unknown faces are kept; null: until removed. */
  readonly keep_unknowns_days: number | null;
  readonly auth_required: boolean;
  readonly tls: boolean;
}

/** Build the settings JSON. */
export function settingsJson(
  s: StoredSettings,
  eff: EffectiveThresholds,
  provenance: EmbeddingProvenance,
  extra: {
    galleryFaces: number;
    keepThumbnails: boolean;
    keepSnapshots: boolean;
    retention: RetentionPolicy;
    authRequired: boolean;
    tls: boolean;
  },
): SettingsJson {
  const cal = calibratedThreshold(provenance);
  const rates = ratesAtThreshold(provenance, eff.identify);
  return {
    threshold: round4(eff.identify),
    threshold_mode: s.threshold === null ? 'auto' : 'fixed',
    target_fpir: s.targetFpir,
    gallery_faces: extra.galleryFaces,
    far: rates ? Number(rates.far.toPrecision(3)) : null,
    frr: rates ? Number(rates.frr.toFixed(4)) : null,
    verify_threshold: round4(eff.verify),
    default_threshold: cal ? cal.threshold : null,
    curve: (cal?.curve ?? []).map((p) => ({ threshold: p.threshold, far: p.far, frr: p.frr })),
    calibration: cal ? cal.source : null,
    keep_thumbnails: extra.keepThumbnails,
    keep_snapshots: extra.keepSnapshots,
    keep_events_days: extra.retention.eventsDays,
    keep_unknowns_days: extra.retention.unknownFacesDays,
    auth_required: extra.authRequired,
    tls: extra.tls,
  };
}

function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}
