/**
 * The detection helper thread (started by `WorkerHelper` in `helper.ts`): its own P-Net, R-Net
 * and O-Net sessions and one workspace. It answers requests one at a time, in arrival order, with
 * the same stage code the main thread runs (`stages.ts`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage, type Paths, type RawImage } from '../core/index.js';
import type { HelperReply, HelperRequest } from './helper.js';
import { ONet, PNet, RNet } from './nets.js';
import {
  type MtcnnNets,
  PlanCache,
  packCandidates,
  pnetLevels,
  refineBoxes,
  type StageTime,
  unpackBoxes,
  Workspace,
} from './stages.js';

const port = parentPort;
if (!port) throw new Error('detect/worker.js runs only as a worker thread');
const { paths, threads } = workerData as { paths: Paths; threads: number };

let nets: MtcnnNets;
try {
  const [pnet, rnet, onet] = await Promise.all([
    PNet.load(paths, { threads }),
    RNet.load(paths, { threads }),
    ONet.load(paths, { threads }),
  ]);
  nets = { pnet, rnet, onet };
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: true, error: errorMessage(err) });
  throw err;
}

const plans = new PlanCache();
/**
 * One workspace, and one request at a time: this thread has one core's worth of work, so running
 * frames side by side would not finish them sooner, only hold a workspace (about 10 MB) per frame
 * in flight. The workspace holds one frame's image at a time and reloads when the frame changes
 * (a copy of the frame's pixels, about 0.1 ms for 640×480).
 */
const ws = new Workspace();
let loaded: number | undefined;
/** Images of the frames in flight, by frame id (shared memory: no copy). */
const frames = new Map<number, RawImage>();
let queue: Promise<void> = Promise.resolve();

function load(frame: number): RawImage {
  const img = frames.get(frame);
  if (!img) throw new Error(`frame ${frame} has no image (released, or never sent)`);
  if (loaded !== frame) {
    ws.resampler.load(img);
    loaded = frame;
  }
  return img;
}

async function handle(
  req: Exclude<HelperRequest, { op: 'release' }>,
): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  const time: StageTime = { netMs: 0, jsMs: 0 };
  const t = performance.now();
  if (req.op === 'pnet') frames.set(req.frame, req.image);
  const img = load(req.frame);
  time.jsMs += performance.now() - t;
  if (req.op === 'pnet') {
    const cands = await pnetLevels(nets.pnet, ws, plans, img, req.levels, req.threshold, req.flipQuirk, time);
    const levels = cands.map(packCandidates);
    return { result: { levels, time }, transfer: levels.map((l) => l.buffer as ArrayBuffer) };
  }
  const boxes = unpackBoxes(req.boxes);
  const run =
    req.size === 24
      ? (x: Float32Array, n: number) => nets.rnet.run(x, n)
      : (x: Float32Array, n: number) => nets.onet.run(x, n);
  const out = await refineBoxes(ws, plans, img, boxes, req.size, run, time);
  const transfer = [
    out.prob.buffer,
    out.reg.buffer,
    ...(out.landmarks ? [out.landmarks.buffer] : []),
  ] as ArrayBuffer[];
  return { result: { ...out, time }, transfer };
}

port.on('message', (req: HelperRequest) => {
  if (req.op === 'release') {
    frames.delete(req.frame);
    if (loaded === req.frame) loaded = undefined;
    return;
  }
  queue = queue.then(() =>
    handle(req).then(
      ({ result, transfer }) =>
        port.postMessage({ id: req.id, ok: true, result } satisfies HelperReply, transfer),
      (err: unknown) =>
        port.postMessage({ id: req.id, ok: false, error: errorMessage(err) } satisfies HelperReply),
    ),
  );
});
