/**
 * Following faces from frame to frame: each detection is matched to the track whose predicted
 * position it overlaps most (IoU), with landmark motion as a second cue for fast or small faces;
 * unmatched detections start new tracks, tracks unmatched for `maxMissed` processed frames end.
 * The geometry is pure and table-tested; {@link FaceTracker} holds the state of one stream.
 */
import type { Box, DetectedFace, Landmarks5, Point } from '../core/index.js';

/**
 * Intersection over union of two boxes, in [0, 1]; 0 when either has no area.
 *
 * @example
 * iou([0, 0, 10, 10], [5, 0, 15, 10]); // 1/3
 */
export function iou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const areaA = Math.max(0, a[2] - a[0]) * Math.max(0, a[3] - a[1]);
  const areaB = Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
  const union = areaA + areaB - inter;
  return union > 0 ? inter / union : 0;
}

/** The side of the square with the box's area (a face's scale in pixels). */
export function boxScale(b: Box): number {
  return Math.sqrt(Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]));
}

/**
 * Mean distance between corresponding landmarks, divided by `scale` (the face size): 0 for
 * the same points, about 0.1 for a small head movement, ≥ 0.5 for another face.
 */
export function landmarkMotion(a: Landmarks5, b: Landmarks5, scale: number): number {
  let sum = 0;
  for (let i = 0; i < 5; i++) sum += Math.hypot(a[i]![0] - b[i]![0], a[i]![1] - b[i]![1]);
  return scale > 0 ? sum / 5 / scale : Number.POSITIVE_INFINITY;
}

/** Options of {@link associate} and {@link FaceTracker}. */
export interface TrackerOptions {
  /** Smallest IoU between a track's predicted box and a detection for a match. Default 0.3. */
  readonly minIou: number;
  /**
   * Largest landmark motion ({@link landmarkMotion}, in face sizes) accepted as a match when the
   * IoU is below `minIou` (a face moving fast). Default 0.35.
   */
  readonly maxLandmarkMotion: number;
  /** Processed frames a track survives without a matching detection. Default 5. */
  readonly maxMissed: number;
}

/** Default tracker options. */
export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = Object.freeze({
  minIou: 0.3,
  maxLandmarkMotion: 0.35,
  maxMissed: 5,
});

/** What {@link associate} needs of a track: where it is expected now. */
export interface Predicted {
  readonly box: Box;
  readonly landmarks: Landmarks5;
}

/**
 * Match predicted tracks to detections, greedily by affinity (IoU minus half the landmark
 * motion), each track and detection used at most once. A pair is eligible when its IoU is at
 * least `minIou`, or its landmark motion at most `maxLandmarkMotion`.
 *
 * @returns `[trackIndex, detectionIndex]` pairs, best first.
 * @example
 * associate([{ box: [0, 0, 10, 10], landmarks }], [{ box: [1, 0, 11, 10], landmarks }]); // [[0, 0]]
 */
export function associate(
  tracks: readonly Predicted[],
  detections: readonly Predicted[],
  opts: Pick<TrackerOptions, 'minIou' | 'maxLandmarkMotion'> = DEFAULT_TRACKER_OPTIONS,
): [number, number][] {
  const pairs: { t: number; d: number; affinity: number }[] = [];
  for (let t = 0; t < tracks.length; t++) {
    const tr = tracks[t]!;
    const scale = boxScale(tr.box);
    for (let d = 0; d < detections.length; d++) {
      const det = detections[d]!;
      const overlap = iou(tr.box, det.box);
      const motion = landmarkMotion(tr.landmarks, det.landmarks, scale);
      if (overlap < opts.minIou && motion > opts.maxLandmarkMotion) continue;
      pairs.push({ t, d, affinity: overlap - 0.5 * Math.min(motion, 2) });
    }
  }
  pairs.sort((a, b) => b.affinity - a.affinity || a.t - b.t || a.d - b.d);
  const usedT = new Set<number>();
  const usedD = new Set<number>();
  const out: [number, number][] = [];
  for (const p of pairs) {
    if (usedT.has(p.t) || usedD.has(p.d)) continue;
    usedT.add(p.t);
    usedD.add(p.d);
    out.push([p.t, p.d]);
  }
  return out;
}

/** A followed face. */
export interface Track {
  /** Track id, from 1, unique within one tracker. */
  readonly id: number;
  /** The latest matched detection. */
  face: DetectedFace;
  /** Velocity of the box centre, pixels per processed frame (smoothed). */
  velocity: Point;
  /** Matched detections so far. */
  hits: number;
  /** Consecutive processed frames without a match. */
  missed: number;
  /** Capture time of the first and of the latest matched frame, ms since the epoch. */
  firstSeen: number;
  lastSeen: number;
}

/** The outcome of one {@link FaceTracker.update}. */
export interface TrackUpdate {
  /** For each detection, in order, the track it now belongs to (matched or new). */
  readonly assigned: readonly Track[];
  /** Tracks created by this update. */
  readonly created: readonly Track[];
  /** Tracks that ended (missed too many frames). */
  readonly ended: readonly Track[];
}

/**
 * The tracks of one stream.
 *
 * @example
 * const tracker = new FaceTracker();
 * const { assigned, created, ended } = tracker.update(faces, frame.time);
 */
export class FaceTracker {
  readonly options: TrackerOptions;
  #tracks: Track[] = [];
  #nextId = 1;

  constructor(opts: Partial<TrackerOptions> = {}) {
    this.options = { ...DEFAULT_TRACKER_OPTIONS, ...opts };
  }

  /** The live tracks. */
  get tracks(): readonly Track[] {
    return this.#tracks;
  }

  /** Where each live track is expected in the next processed frame (constant velocity). */
  predict(track: Track): Predicted {
    const [vx, vy] = track.velocity;
    const steps = track.missed + 1;
    const dx = vx * steps;
    const dy = vy * steps;
    const b = track.face.box;
    const lm = track.face.landmarks.map(([x, y]) => [x + dx, y + dy] as const) as unknown as Landmarks5;
    return { box: [b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy], landmarks: lm };
  }

  /**
   * Match `faces` (detections of one processed frame, captured at `time`) to the tracks.
   * Unmatched tracks count a miss and end after `maxMissed`; unmatched faces start tracks.
   */
  update(faces: readonly DetectedFace[], time: number): TrackUpdate {
    const predicted = this.#tracks.map((t) => this.predict(t));
    const pairs = associate(predicted, faces, this.options);
    const assigned: Track[] = new Array(faces.length);
    const matchedTracks = new Set<Track>();
    for (const [ti, di] of pairs) {
      const track = this.#tracks[ti]!;
      const face = faces[di]!;
      const steps = track.missed + 1;
      const [ox, oy] = center(track.face.box);
      const [nx, ny] = center(face.box);
      const vx = (nx - ox) / steps;
      const vy = (ny - oy) / steps;
      // Exponential smoothing keeps detector jitter out of the prediction.
      track.velocity = [0.5 * track.velocity[0] + 0.5 * vx, 0.5 * track.velocity[1] + 0.5 * vy];
      track.face = face;
      track.hits++;
      track.missed = 0;
      track.lastSeen = time;
      assigned[di] = track;
      matchedTracks.add(track);
    }
    const ended: Track[] = [];
    const kept: Track[] = [];
    for (const t of this.#tracks) {
      if (!matchedTracks.has(t)) {
        t.missed++;
        if (t.missed > this.options.maxMissed) {
          ended.push(t);
          continue;
        }
      }
      kept.push(t);
    }
    const created: Track[] = [];
    for (let i = 0; i < faces.length; i++) {
      if (assigned[i]) continue;
      const t: Track = {
        id: this.#nextId++,
        face: faces[i]!,
        velocity: [0, 0],
        hits: 1,
        missed: 0,
        firstSeen: time,
        lastSeen: time,
      };
      assigned[i] = t;
      created.push(t);
      kept.push(t);
    }
    this.#tracks = kept;
    return { assigned, created, ended };
  }

  /** End every track (the stream stopped); returns them. */
  clear(): Track[] {
    const all = this.#tracks;
    this.#tracks = [];
    return all;
  }
}

function center(b: Box): Point {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}
