/**
 * `facerec watch <source> [--every N] [--serve PORT] [--record FILE] [--json] [--json-frames]
 * [--duration S] [--threshold t]`: recognize faces live on a camera (phone IP camera, RTSP), a
 * video file or a webcam; print an event when someone appears or leaves; optionally serve the
 * annotated stream and record it.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { errorMessage, InvalidInputError, invalidParameter, type RawImage } from '../../core/index.js';
import type { GalleryStore } from '../../gallery/index.js';
import { saveImage } from '../../image/index.js';
import {
  type FaceRecognizer,
  galleryCoverage,
  identifyEmbeddings,
  RETENTION_HELP,
  RetentionScheduler,
  retentionFromOptions,
} from '../../recognize/index.js';
import {
  annotateFrame,
  describeSource,
  type EventSink,
  FatalSourceError,
  FrameRenderer,
  type FrameResult,
  type Identifier,
  MjpegBroadcaster,
  type MjpegServer,
  openSource,
  parseSource,
  type SourceSpec,
  type StateChange,
  StreamPipeline,
  serveMjpeg,
  type TrackEvent,
  VideoRecorder,
  type VideoSource,
} from '../../video/index.js';
import { loadRecognizer, openGallery, parseNumber } from '../context.js';
import { printError } from '../io.js';

interface WatchCliOptions {
  every?: string;
  serve?: string;
  record?: string;
  json?: boolean;
  jsonFrames?: boolean;
  duration?: string;
  threshold?: string;
  camera?: string;
  size?: string;
  minSize?: string;
  tracking?: boolean;
  realtime?: boolean;
  loop?: boolean;
  keepSnapshots?: boolean;
  watchdog?: string;
  keepEvents?: string;
}

/** The summary printed when watching stops. */
export interface WatchSummary {
  readonly type: 'summary';
  readonly camera: string;
  /** Frames received from the source. */
  readonly received: number;
  /** Frames processed (detection ran). */
  readonly processed: number;
  /** Frames dropped because recognition was busy (the newest frame always wins). */
  readonly dropped: number;
  /** Processed frames per second over the run. */
  readonly fps: number;
  /** Run time, s. */
  readonly seconds: number;
  /** Faces embedded, tracks followed, source (re)connections. */
  readonly embedded: number;
  readonly tracks: number;
  readonly connects: number;
}

/** Add the `watch` command. */
export function register(program: Command): void {
  program
    .command('watch')
    .description('recognize faces live on a camera, a video file or a webcam; print who appears and leaves')
    .argument(
      '<source>',
      'http(s) MJPEG or snapshot URL (phone IP camera), rtsp:// URL, video file, /dev/videoN or webcam index',
    )
    .option('--every <n>', 'process one frame in n (the seed used 3; default 1: every frame it can)')
    .option('--serve <port>', 'serve the annotated stream as MJPEG at http://127.0.0.1:PORT/')
    .option('--record <file>', 'record the annotated video (.mp4, .mkv, .mov or .avi)')
    .option('--json', 'print events as JSON lines: {type, time, camera, track, name, distance}')
    .option(
      '--json-frames',
      'also print one JSON line per processed frame: {type: "frame", frame, time, latency_ms, faces}',
    )
    .option('--duration <s>', 'stop after s seconds and print a summary')
    .option(
      '--threshold <t>',
      'distance above which a face is unknown (default: calibrated for the gallery size)',
    )
    .option('--camera <name>', 'the camera name in events (default: the source without credentials)')
    .option(
      '--size <WxH>',
      'frame size for RTSP, files and webcams (letterboxed); width cap for HTTP cameras',
      '640x480',
    )
    .option('--min-size <px>', 'smallest face searched, pixels', '40')
    .option('--no-tracking', 'detect and embed every face on every processed frame (no tracker)')
    .option('--realtime', 'play video files at their frame rate (default: as fast as possible)')
    .option('--loop', 'play video files in a loop')
    .option(
      '--keep-snapshots',
      'store the best crop of each face with its events in the gallery (default: no face image kept)',
    )
    .option('--watchdog <s>', 'reconnect when no frame comes for s seconds', '10')
    .option('--keep-events <days>', RETENTION_HELP.events)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  facerec watch http://admin:admin@192.168.0.107:8081/ --every 3     # phone IP camera (MJPEG)',
        '  facerec watch http://192.168.0.107:8080/shot.jpg                   # still-image URL, polled',
        '  facerec watch rtsp://user:pass@192.168.0.20:554/stream1 --serve 8090',
        '  facerec watch clip.mp4 --json --record annotated.mp4',
        '  facerec watch 0                                                    # the first webcam (/dev/video0)',
        '',
        'In a terminal: space saves the current annotated frame, q or Esc quits.',
      ].join('\n'),
    )
    .action(async (input: string, opts: WatchCliOptions) => {
      await watch(program, input, opts);
    });
}

async function watch(program: Command, input: string, opts: WatchCliOptions): Promise<void> {
  const every = opts.every === undefined ? 1 : parseInteger('--every', opts.every, 1, 1000);
  const port = opts.serve === undefined ? undefined : parseInteger('--serve', opts.serve, 0, 65535);
  const duration =
    opts.duration === undefined
      ? undefined
      : parseNumber('--duration', opts.duration, 'a number of seconds > 0', (n) => n > 0);
  const threshold =
    opts.threshold === undefined
      ? undefined
      : parseNumber('--threshold', opts.threshold, 'a positive distance', (n) => n > 0);
  const size = parseSize(opts.size ?? '640x480');
  const minFaceSize = parseInteger('--min-size', opts.minSize ?? '40', 12, 4096);
  const watchdogMs =
    parseNumber('--watchdog', opts.watchdog ?? '10', 'a number of seconds ≥ 0.1', (n) => n >= 0.1) * 1000;
  const spec = parseSource(input);
  const camera = opts.camera ?? describeSource(spec);
  const json = opts.json === true || opts.jsonFrames === true;
  const keepSnapshots = opts.keepSnapshots === true;
  // watch writes events only; the service's unknown faces are its own to purge.
  const retention = { ...retentionFromOptions(opts), unknownFacesDays: null };

  const recognizer = await loadRecognizer(program, threshold !== undefined ? { threshold } : {});
  let store: GalleryStore | undefined;
  let outputs: Outputs | undefined;
  let purger: RetentionScheduler | undefined;
  try {
    store = await openGallery(program);
    purger = new RetentionScheduler(store, retention, {
      onError: (m) => process.stderr.write(`facerec: retention purge failed: ${m}\n`),
    });
    purger.start();
    const identifier = await galleryIdentifierFor(recognizer, store, threshold);
    const source = openSource(spec, {
      id: camera,
      size,
      maxWidth: size.width,
      watchdogMs,
      realtime: opts.realtime === true,
      loop: opts.loop === true,
      onState: (s) => printState(s),
    });
    outputs = await startOutputs(port, opts.record, size);
    const out = outputs;
    const errors = new Set<string>();
    const pipeline = new StreamPipeline(recognizer, source, {
      camera,
      every,
      minFaceSize,
      tracking: opts.tracking !== false,
      keepSnapshots,
      identifier,
      events: eventSink(json, store, `watch.${Date.now()}`, keepSnapshots),
      onResult: (result, frame) => {
        if (opts.jsonFrames && result.processed)
          process.stdout.write(`${JSON.stringify(frameJson(result))}\n`);
        out.offer(frame.image, result);
      },
      onError: (err) => {
        // The same failure on every frame is reported once.
        const m = errorMessage(err);
        if (!errors.has(m)) {
          errors.add(m);
          printError(err);
        }
      },
    });
    const stop = () => void pipeline.stop();
    // A closed stdout (`facerec watch … | head`) ends the watch quietly.
    const onStdoutError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') stop();
      else printError(err);
    };
    process.stdout.on('error', onStdoutError);
    const timer = duration === undefined ? undefined : setTimeout(stop, duration * 1000);
    const keys = listenKeys(stop, () => saveCurrentFrame(pipeline));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.stderr.write(`watching ${describeSource(spec)} (${sourceKind(spec)}); Ctrl-C stops\n`);
    const runStart = performance.now();
    try {
      await pipeline.run();
    } catch (err) {
      throw sourceError(err, spec);
    } finally {
      if (timer) clearTimeout(timer);
      keys.close();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await out.close();
      process.stdout.off('error', onStdoutError);
      printSummary(json, summary(camera, source, pipeline, (performance.now() - runStart) / 1000));
    }
  } finally {
    await purger?.stop();
    await outputs?.close().catch(() => undefined);
    await store?.close();
    await recognizer.dispose();
  }
}

/** The identifier over the gallery, with the threshold for its size; a note when it is empty. */
async function galleryIdentifierFor(
  recognizer: FaceRecognizer,
  store: GalleryStore,
  threshold: number | undefined,
): Promise<Identifier> {
  const coverage = await galleryCoverage(store, recognizer.provenance);
  if (coverage.faces === 0) {
    process.stderr.write(
      'note: the gallery is empty: every face is unknown. Enroll people first: facerec enroll <photos|folders>\n',
    );
  }
  const used = recognizer.identificationThreshold(coverage.faces, threshold);
  return {
    async identify(embeddings) {
      const ids = await identifyEmbeddings(store, embeddings, { threshold: used });
      return ids.map((i) => ({ personId: i.personId, name: i.name, distance: i.distance }));
    },
  };
}

/** The annotated outputs: the MJPEG server and the recording, fed only when someone uses them. */
async function startOutputs(
  port: number | undefined,
  record: string | undefined,
  size: { width: number; height: number },
): Promise<Outputs> {
  if (port === undefined && record === undefined) return { offer: () => {}, close: async () => {} };
  let server: MjpegServer | undefined;
  const broadcaster = new MjpegBroadcaster();
  let recorder: VideoRecorder | undefined;
  if (record !== undefined) recorder = VideoRecorder.open(record, { size });
  const renderer = new FrameRenderer({
    onFrame: (f) => {
      if (broadcaster.clients > 0) broadcaster.publish(f.jpeg);
      recorder?.write(f.image);
    },
    onError: (err) => printError(err),
  });
  if (port !== undefined) {
    try {
      server = await serveMjpeg(broadcaster, { port, host: '127.0.0.1' });
    } catch (err) {
      await recorder?.close().catch(() => undefined);
      const code = (err as { code?: string }).code;
      if (code === 'EADDRINUSE') throw invalidParameter('--serve', 'a free port', port);
      throw err;
    }
    process.stderr.write(`annotated stream at ${server.url} (a browser, VLC or ffplay plays it)\n`);
  }
  let closed = false;
  return {
    offer: (image, result) => {
      if (closed) return;
      if (recorder || broadcaster.clients > 0) renderer.offer(image, result);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await renderer.idle();
      await server?.close();
      if (recorder) {
        await recorder.close();
        process.stderr.write(`recorded ${recorder.stats().written} frames to ${recorder.path}\n`);
      }
    },
  };
}

/** Where annotated frames go. */
interface Outputs {
  offer(image: RawImage, result: FrameResult): void;
  /** Finish: idempotent. */
  close(): Promise<void>;
}

/**
 * Prints each event (a line, or a JSON object) and stores it in the gallery: camera none (a
 * `watch` run is not a stored camera), track `<prefix>.<track id>`, the person or null, the
 * distance, the box and, with `--keep-snapshots`, the crop.
 */
function eventSink(
  json: boolean,
  store: GalleryStore,
  trackPrefix: string,
  keepSnapshots: boolean,
): EventSink {
  const handle = async (e: TrackEvent) => {
    if (json) {
      const out = {
        type: e.type,
        time: new Date(e.time).toISOString(),
        camera: e.camera,
        track: e.track,
        name: e.name,
        distance: e.distance === null ? null : round(e.distance, 4),
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else {
      const who = e.name ?? 'unknown';
      const dist = e.distance === null ? '' : ` (distance ${e.distance.toFixed(3)})`;
      const verb = e.type === 'appeared' ? 'appeared' : 'left    ';
      process.stdout.write(`${clock(e.time)}  ${verb}  ${who}${dist}  track ${e.track}  ${e.camera}\n`);
    }
    await store.addEvent({
      kind: e.type,
      time: e.time,
      cameraId: null,
      track: `${trackPrefix}.${e.track}`,
      personId: e.personId,
      distance: e.distance,
      box: e.box,
      snapshot: keepSnapshots && e.snapshot ? { mime: e.snapshot.mime, bytes: e.snapshot.bytes } : null,
    });
  };
  return { appeared: handle, left: handle };
}

/** The `--json-frames` line of a processed frame. */
export function frameJson(r: FrameResult) {
  return {
    type: 'frame' as const,
    frame: r.frame,
    time: new Date(r.time).toISOString(),
    latency_ms: round(r.latencyMs, 1),
    faces: r.faces.map((f) => ({
      track: f.track,
      box: f.box.map((v) => round(v, 1)),
      name: f.name,
      distance: f.distance === null ? null : round(f.distance, 4),
    })),
  };
}

function summary(
  camera: string,
  source: VideoSource,
  pipeline: StreamPipeline,
  seconds: number,
): WatchSummary {
  const s = source.stats();
  const p = pipeline.stats();
  return {
    type: 'summary',
    camera,
    received: s.received,
    processed: p.processed,
    dropped: s.dropped,
    fps: seconds > 0 ? round(p.processed / seconds, 2) : 0,
    seconds: round(seconds, 2),
    embedded: p.embedded,
    tracks: p.tracks,
    connects: s.connects,
  };
}

function printSummary(json: boolean, s: WatchSummary): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(s)}\n`);
    return;
  }
  process.stdout.write(
    `${s.camera}: ${s.received} frames received, ${s.processed} processed, ${s.dropped} dropped, ` +
      `${s.fps} fps over ${s.seconds} s; ${s.tracks} faces followed, ${s.embedded} embeddings\n`,
  );
}

/** Source states on stderr (credentials are already removed by the source). */
function printState(s: StateChange): void {
  // Attempts are visible through the `offline` lines (with the delay before the next).
  if (s.state === 'connecting') return;
  let line = `${s.source}: ${s.state}`;
  if (s.reason && s.state !== 'closed') line += `: ${s.reason}`;
  if (s.retryInMs !== undefined && s.state === 'offline')
    line += ` (retrying in ${(s.retryInMs / 1000).toFixed(1)} s)`;
  if (s.state === 'closed' && s.reason === 'end of input') line = `${s.source}: end of the video`;
  else if (s.state === 'closed') return;
  process.stderr.write(`${line}\n`);
}

/** Save the current annotated frame to `facerec-<time>.jpg` in the working folder. */
async function saveCurrentFrame(pipeline: StreamPipeline): Promise<void> {
  const latest = pipeline.latest;
  if (!latest) {
    process.stderr.write('no frame yet\n');
    return;
  }
  const file = resolve(`facerec-${stamp(latest.frame.time)}.jpg`);
  await saveImage(await annotateFrame(latest.frame.image, latest.result), file);
  process.stderr.write(`saved ${file}\n`);
}

/** Space saves a frame, q / Esc / Ctrl-C quit, when stdin is a terminal. */
function listenKeys(quit: () => void, save: () => Promise<void>): { close(): void } {
  const stdin = process.stdin;
  if (!stdin.isTTY) return { close() {} };
  stdin.setRawMode(true);
  stdin.resume();
  const onData = (buf: Buffer) => {
    const key = buf.toString('latin1');
    if (key === ' ') save().catch((err: unknown) => printError(err));
    else if (key === 'q' || key === 'Q' || key === '\x1b' || key === '\x03') quit();
  };
  stdin.on('data', onData);
  process.stderr.write('space: save the current frame   q or Esc: quit\n');
  return {
    close() {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    },
  };
}

/** Fatal source errors of a file are the user's input: exit code 2. */
function sourceError(err: unknown, spec: SourceSpec): unknown {
  if (err instanceof FatalSourceError && spec.kind === 'file') {
    return new InvalidInputError(err.message, { input: 'source', cause: err });
  }
  return err;
}

function sourceKind(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'http':
      return spec.mode === 'snapshot' ? 'still image, polled' : 'MJPEG over HTTP';
    case 'rtsp':
      return 'RTSP through ffmpeg';
    case 'file':
      return 'video file through ffmpeg';
    case 'v4l2':
      return 'webcam through ffmpeg';
  }
}

function parseInteger(flag: string, value: string, lo: number, hi: number): number {
  return parseNumber(
    flag,
    value,
    `an integer from ${lo} to ${hi}`,
    (n) => Number.isInteger(n) && n >= lo && n <= hi,
  );
}

function parseSize(value: string): { width: number; height: number } {
  const m = /^(\d{2,4})x(\d{2,4})$/i.exec(value.trim());
  const w = Number(m?.[1]);
  const h = Number(m?.[2]);
  if (!m || w < 16 || h < 16 || w > 8192 || h > 8192) {
    throw invalidParameter('--size', 'WIDTHxHEIGHT from 16x16 to 8192x8192, e.g. 640x480', value);
  }
  return { width: w, height: h };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** `2025-01-31T12-03-04-512Z`: a time usable in file names. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, '-');
}

/** Local `HH:MM:SS.mmm`. */
function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
