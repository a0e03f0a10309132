/**
 * The detection helper thread (started by `WorkerHelper` in `helper.ts`): its own P-Net, R-Net
 * and O-Net sessions, and one workspace per frame in flight. It answers each request with the
 * same stage code the main thread runs (`stages.ts`).
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
const idle: Workspace[] = [];
const frames = new Map<number, { ws: Workspace; img: RawImage }>();

function frameOf(frame: number): { ws: Workspace; img: RawImage } {
  const f = frames.get(frame);
  if (!f) throw new Error(`frame ${frame} has no image (released, or never sent)`);
  return f;
}

async function handle(
  req: Exclude<HelperRequest, { op: 'release' }>,
): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  const time: StageTime = { netMs: 0, jsMs: 0 };
  if (req.op === 'pnet') {
    const t = performance.now();
    const ws = idle.pop() ?? new Workspace();
    ws.resampler.load(req.image);
    frames.set(req.frame, { ws, img: req.image });
    time.jsMs += performance.now() - t;
    const cands = await pnetLevels(
      nets.pnet,
      ws,
      plans,
      req.image,
      req.levels,
      req.threshold,
      req.flipQuirk,
      time,
    );
    const levels = cands.map(packCandidates);
    return { result: { levels, time }, transfer: levels.map((l) => l.buffer as ArrayBuffer) };
  }
  const { ws, img } = frameOf(req.frame);
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
    const f = frames.get(req.frame);
    if (f) {
      frames.delete(req.frame);
      idle.push(f.ws);
    }
    return;
  }
  handle(req).then(
    ({ result, transfer }) =>
      port.postMessage({ id: req.id, ok: true, result } satisfies HelperReply, transfer),
    (err: unknown) =>
      port.postMessage({ id: req.id, ok: false, error: errorMessage(err) } satisfies HelperReply),
  );
});
