/**
 * Names are never paths, nothing is written outside the data directory, and nothing connects
 * anywhere but to this machine. `facerec serve`
 * (and the CLI's enroll and remove) run under strace, which records every system call that
 * creates, opens for writing, renames, links, removes or changes a file; hostile person names
 * and upload file names go through every route that takes them (people, notes, enrollment,
 * identification with unknown faces kept, settings, cameras, deletion). Afterwards every path
 * written must be inside the data directory (or the model cache the test points to, or a
 * device such as /dev/null), and the working directory, HOME and TMPDIR given to the processes
 * must still be empty; the only connections are to loopback (the camera URL of the test is
 * 127.0.0.1). This test found onnxruntime's telemetry (see disableOrtTelemetry).
 *
 * Needs strace (installed by .ci/run) and the right to trace a child (ptrace); without either
 * the test skips and says so.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { disposeRecognizer, facePhoto, groupPhoto, multipart } from '../server/harness.js';
import { runCli } from '../support/cli.js';
import { type ServeChild, startServe } from './serve-child.js';

after(disposeRecognizer);

/** The system calls that create or change a file or folder. */
const WRITE_CALLS =
  'open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,link,linkat,symlink,symlinkat,truncate,chmod,fchmodat';

/** Why strace cannot be used here, or undefined when it can. */
function straceProblem(): string | undefined {
  try {
    execFileSync('strace', ['-f', '-qq', '-o', '/dev/null', 'true'], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `strace is missing or may not trace here (install strace; ptrace must be allowed): ${String(err).slice(0, 200)}`;
  }
}

/**
 * The IPv4 and IPv6 addresses a strace log shows connected to (local sockets such as AF_UNIX or
 * AF_NETLINK never leave the machine and are not listed).
 */
function connections(log: string): string[] {
  const out: string[] = [];
  for (const line of calls(log)) {
    // Every attempt counts, whatever its result (a non-blocking connect returns EINPROGRESS).
    if (!/^\d+\s+connect\(/.test(line) || !/sa_family=AF_INET6?\b/.test(line)) continue;
    const inet = /inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6?,\s*"([^"]+)"/.exec(line);
    out.push(inet ? (inet[1] ?? inet[2])! : line.slice(0, 200));
  }
  return out;
}

/** Person names a hostile or careless user might type. */
const HOSTILE_NAMES = [
  '../../etc/passwd',
  '../../../../tmp/facerec-escape',
  'a/b',
  '..',
  '/etc/shadow',
  'C:\\Windows\\evil',
  '%2e%2e%2fescape',
  "Robert'); DROP TABLE person;--",
  '<script>alert(1)</script>',
  '👩‍👩‍👧 family',
  `long ${'x'.repeat(190)}`,
];

/**
 * The system calls of a strace -f log, one per line: a call that another thread interrupted
 * (`… <unfinished ...>`, later `<... name resumed>…`) is joined back into one line.
 */
function calls(log: string): string[] {
  const pending = new Map<string, string>();
  const out: string[] = [];
  for (const line of log.split('\n')) {
    const unfinished = /^(\d+)\s+(.*) <unfinished \.\.\.>$/.exec(line);
    if (unfinished) {
      pending.set(unfinished[1]!, `${unfinished[1]} ${unfinished[2]}`);
      continue;
    }
    const resumed = /^(\d+)\s+<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) {
      const head = pending.get(resumed[1]!);
      pending.delete(resumed[1]!);
      if (head) out.push(`${head}${resumed[2]}`);
      continue;
    }
    out.push(line);
  }
  return out;
}

interface Written {
  readonly call: string;
  readonly path: string;
}

/**
 * The paths a strace log (`-f -y`, write calls) shows written by successful calls: for opens,
 * only those with a write flag; relative paths resolved against `cwd`.
 */
function writtenPaths(log: string, cwd: string): Written[] {
  const out: Written[] = [];
  for (const line of calls(log)) {
    const m = /^\d+\s+(\w+)\((.*)\)\s+=\s+(\d+)(<[^>]*>)?/.exec(line);
    if (!m || m[1] === 'connect') continue;
    const [, call, args, , fdPath] = m;
    if ((call === 'open' || call === 'openat') && !/O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(args!)) continue;
    // Every quoted argument is a path (the calls traced take only paths as strings); a dirfd
    // decorated by -y as `3</dir>` anchors the path after it.
    const re = /(?:\d+<([^>]*)>,\s*)?"((?:[^"\\]|\\.)*)"/g;
    for (let a = re.exec(args!); a; a = re.exec(args!)) {
      const base = a[1] ?? cwd;
      const p = a[2]!;
      out.push({ call: call!, path: isAbsolute(p) ? resolve(p) : resolve(base, p) });
    }
    if (fdPath && (call === 'open' || call === 'openat' || call === 'creat')) {
      out.push({ call: call!, path: fdPath.slice(1, -1) });
    }
  }
  return out;
}

const problem = straceProblem();

describe('nothing is written outside the data directory; names are never paths', { skip: problem }, () => {
  let root = '';
  let dirs: { data: string; cwd: string; home: string; tmp: string };
  const logs: string[] = [];
  let models = '';

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'facerec-datadir-'));
    dirs = {
      data: join(root, 'data'),
      cwd: join(root, 'cwd'),
      home: join(root, 'home'),
      tmp: join(root, 'tmp'),
    };
    for (const d of [dirs.cwd, dirs.home, dirs.tmp]) mkdirSync(d);
    models = resolve(process.env.FACEREC_MODELS ?? join(dirs.data, 'models'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** The environment of the traced processes: an empty HOME, TMPDIR and working directory. */
  const env = () => ({ HOME: dirs.home, TMPDIR: dirs.tmp, FACEREC_MODELS: models });
  const traced = (name: string) => {
    const file = join(root, `${name}.strace`);
    logs.push(file);
    // Not -z (successful calls only): it would hide non-blocking connects. Failed file calls
    // are skipped by writtenPaths.
    return ['strace', '-f', '-qq', '-y', '-e', `trace=${WRITE_CALLS},connect`, '-o', file];
  };

  it('facerec serve: hostile names through every route that takes one', async () => {
    let server: ServeChild | undefined;
    try {
      server = await startServe(['--data', dirs.data], ['--keep-thumbnails', '--keep-snapshots'], {
        env: env(),
        cwd: dirs.cwd,
        wrap: traced('serve'),
        timeoutMs: 60_000,
      });
      const api = async (
        method: string,
        path: string,
        body?: unknown,
        headers: Record<string, string> = {},
      ) => {
        const init: RequestInit = { method, headers: { ...headers } };
        if (Buffer.isBuffer(body)) init.body = body;
        else if (body !== undefined) {
          init.body = JSON.stringify(body);
          (init.headers as Record<string, string>)['content-type'] = 'application/json';
        }
        const res = await fetch(`${server!.url}${path}`, init);
        const text = await res.text();
        return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
      };
      const photo = await facePhoto(1, 0);
      const ids: number[] = [];
      for (const name of HOSTILE_NAMES) {
        const created = await api('POST', '/api/v1/people', { name, note: `note for ${name}` });
        assert.equal(created.status, 201, `${name}: ${JSON.stringify(created.body)}`);
        assert.equal(created.body.name, name, 'stored as given (NFC, trimmed)');
        const id = created.body.id as number;
        ids.push(id);
        const upload = multipart([
          { name: 'photos', filename: `../../${name}.jpg`, type: 'image/jpeg', data: photo },
          {
            name: 'photos',
            filename: '/etc/cron.d/evil.jpg',
            type: 'image/jpeg',
            data: await facePhoto(1, 1),
          },
        ]);
        const enrolled = await api('POST', `/api/v1/people/${id}/faces`, upload.payload, upload.headers);
        assert.equal(enrolled.status, 200, `${name}: ${JSON.stringify(enrolled.body)}`);
        assert.equal(enrolled.body.added, 2);
        // Upload file names are kept as their last component only, for display.
        const files = (enrolled.body.photos as { file: string }[]).map((p) => p.file);
        assert.ok(
          files.every((f) => !f.includes('/')),
          files.join(', '),
        );
        const renamed = await api('PATCH', `/api/v1/people/${id}`, { name: `${name} 2`.slice(0, 200) });
        assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      }
      // Identification with unknown faces kept (snapshots on): the group photo's other faces.
      const group = multipart([
        { name: 'image', filename: '../../../group.jpg', type: 'image/jpeg', data: await groupPhoto(2) },
      ]);
      assert.equal((await api('POST', '/api/v1/identify', group.payload, group.headers)).status, 200);
      assert.equal((await api('PATCH', '/api/v1/settings', { target_fpir: 0.02 })).status, 200);
      const cam = await api('POST', '/api/v1/cameras', {
        name: '../../cam',
        // Enabled: the server tries to reach it (port 9 refuses), which shows that the trace
        // sees connections.
        url: 'http://127.0.0.1:9/../../x.mjpg',
        enabled: true,
      });
      assert.equal(cam.status, 201, JSON.stringify(cam.body));
      for (const id of ids) assert.equal((await api('DELETE', `/api/v1/people/${id}`)).status, 200);
    } finally {
      if (server) {
        // The signal goes to the server, not to strace (which would detach and leave it running).
        const tracee = readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8')
          .trim()
          .split(/\s+/);
        for (const pid of tracee) if (pid) process.kill(Number(pid), 'SIGTERM');
        const exited = new Promise<number | null>((r) => server!.child.once('exit', (code) => r(code)));
        const code = server.child.exitCode ?? (await exited);
        assert.equal(code, 0, `serve exits cleanly: ${server.stderr().slice(-500)}`);
      }
    }
  });

  it('facerec enroll --name and facerec people remove', async () => {
    const photo = join(root, 'photo.jpg');
    writeFileSync(photo, await facePhoto(1, 0));
    for (const name of ['../../etc/passwd', 'a/b']) {
      const enrolled = await runCli(['--data', dirs.data, 'enroll', photo, '--name', name], env(), {
        cwd: dirs.cwd,
        wrap: traced(`enroll-${logs.length}`),
      });
      assert.equal(enrolled.code, 0, enrolled.stderr);
      assert.match(enrolled.stdout, /1 new/, enrolled.stdout + enrolled.stderr);
      const removed = await runCli(['--data', dirs.data, 'people', 'remove', name, '--yes'], env(), {
        cwd: dirs.cwd,
        wrap: traced(`remove-${logs.length}`),
      });
      assert.equal(removed.code, 0, removed.stderr);
    }
  });

  it('every path written is inside the data directory (or the model cache, or a device)', () => {
    const allowed = (p: string) =>
      p === dirs.data ||
      p.startsWith(`${dirs.data}/`) ||
      p === models ||
      p.startsWith(`${models}/`) ||
      p.startsWith('/dev/') ||
      p.startsWith('/proc/self/') ||
      /^\/proc\/\d+\//.test(p);
    let seen = 0;
    const outside: string[] = [];
    for (const file of logs) {
      const written = writtenPaths(readFileSync(file, 'utf8'), dirs.cwd);
      seen += written.filter((w) => w.path.startsWith(dirs.data)).length;
      for (const w of written)
        if (!allowed(w.path)) outside.push(`${file.split('/').pop()}: ${w.call} ${w.path}`);
    }
    const attempts = logs.flatMap((f) => connections(readFileSync(f, 'utf8')));
    assert.ok(attempts.includes('127.0.0.1'), 'the trace saw the camera connection: the check can fail');
    const remote = attempts.filter((a) => !['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(a));
    assert.deepEqual(remote, [], 'connections to anything but this machine (telemetry, lookups)');
    assert.ok(seen >= 10, `the trace saw the gallery being written (${seen} calls): the check can fail`);
    assert.deepEqual(outside, [], 'writes outside the data directory');
    for (const d of [dirs.cwd, dirs.home, dirs.tmp]) assert.deepEqual(readdirSync(d), [], `${d} stays empty`);
    assert.deepEqual(
      readdirSync(root).filter(
        (n) => !n.endsWith('.strace') && !['data', 'cwd', 'home', 'tmp', 'photo.jpg'].includes(n),
      ),
      [],
      'nothing appeared beside the data directory',
    );
  });
});
