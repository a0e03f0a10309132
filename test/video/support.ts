/**
 * Helpers of the video tests: enrolling faces in a real gallery, waiting for conditions, and
 * looking at this process's children and sockets in /proc.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Box, RawImage } from '../../src/core/index.js';
import type { GalleryStore } from '../../src/gallery/index.js';
import { decodeImage } from '../../src/image/index.js';
import type { FaceRecognizer } from '../../src/recognize/index.js';
import { iou } from '../../src/video/index.js';

/**
 * Enroll `name` from the face in each image nearest to `near` (or the largest face): detect,
 * embed with the recognizer, add to the store. Returns the person id.
 */
export async function enroll(
  fr: FaceRecognizer,
  store: GalleryStore,
  name: string,
  images: readonly (string | RawImage)[],
  near?: Box,
): Promise<number> {
  const { person } = await store.ensurePerson(name);
  for (const input of images) {
    const img = typeof input === 'string' ? await decodeImage(input) : input;
    const faces = await fr.detectFaces(img);
    const face = near
      ? faces.reduce((a, b) => (iou(b.box, near) > iou(a.box, near) ? b : a))
      : faces.reduce((a, b) => (area(b.box) > area(a.box) ? b : a));
    if (!face) throw new Error(`no face to enroll for ${name}`);
    const [embedding] = await fr.embedFaces(img, [face]);
    await store.addFaces(person.id, [{ embedding: embedding!, box: face.box, score: face.score }]);
  }
  return person.id;
}

function area(b: Box): number {
  return (b[2] - b[0]) * (b[3] - b[1]);
}

/** Resolve when `pred()` holds (checked every 20 ms); reject after `timeoutMs` with `what`. */
export async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A child process of this process, from /proc. */
export interface ChildInfo {
  readonly pid: number;
  readonly comm: string;
  /** The /proc state letter: R, S, D, Z (zombie) … */
  readonly state: string;
}

/** The direct children of this process (any state, zombies included). */
export function childProcesses(): ChildInfo[] {
  const out: ChildInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid …; comm may contain spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat
      .slice(close + 2)
      .split(' ')
      .slice(0, 2);
    if (Number(ppid) === process.pid) out.push({ pid: Number(name), comm, state: state ?? '?' });
  }
  return out;
}

/** The ffmpeg children of this process, but those with a pid in `except` (the test's own). */
export function ffmpegChildren(except: readonly (number | undefined)[] = []): ChildInfo[] {
  return childProcesses().filter((c) => c.comm === 'ffmpeg' && !except.includes(c.pid));
}

/**
 * The socket inodes this process holds open (`socket:[inode]`); with `unixOnly`, only Unix-domain
 * sockets (what child-process pipes are made of), leaving out TCP/UDP sockets of servers the test
 * itself runs.
 */
export function openSockets(unixOnly = false): Set<string> {
  const unix = unixOnly ? unixSocketInodes() : undefined;
  const out = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      if (link.startsWith('socket:') && (!unix || unix.has(link.slice(8, -1)))) out.add(link);
    } catch {
      // The fd closed while listing.
    }
  }
  return out;
}

/** The TCP connections (not listeners) of this process to or from `port`, from /proc/net/tcp{,6}. */
export function tcpConnections(port: number): number {
  const mine = openSockets();
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = Number.parseInt(f[1]!.split(':')[1]!, 16);
      const remote = Number.parseInt(f[2]!.split(':')[1]!, 16);
      const state = f[3];
      const inode = f[9];
      if (state === '0A') continue; // LISTEN
      if ((local === port || remote === port) && mine.has(`socket:[${inode}]`)) n++;
    }
  }
  return n;
}

/** Inodes of the Unix-domain sockets of the system (/proc/net/unix). */
function unixSocketInodes(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const inode = line.trim().split(/\s+/)[6];
    if (inode) out.add(inode);
  }
  return out;
}

/** A skip reason when the ffmpeg program is not installed, else false. */
export function ffmpegSkip(): string | false {
  const r = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' });
  return r.error || r.status !== 0
    ? 'needs the ffmpeg program (Debian/Ubuntu: apt install ffmpeg; .ci/run installs it)'
    : false;
}
