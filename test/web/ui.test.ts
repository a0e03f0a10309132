/**
 * The web UI in a real browser (Debian's Chromium driven by playwright-core) against the real
 * server on a free loopback port with a temporary data directory:
 * - first start: the People page says what to do first;
 * - a person enrolled through the People page from a photo (drop zone file input), with the
 *   per-photo results (one enrolled, one with no face);
 * - "Use this device's camera" with Chromium's fake camera playing a clip made from another photo
 *   of that person: their name appears on the live view (names list and overlay canvas);
 * - an unknown face (sent to identify) named through the Unknown faces page becomes a person;
 * - a person whose name is HTML is shown as text, never as markup;
 * - the Events and Settings pages, and the People and Live pages on a phone-sized screen;
 * - on a plain-HTTP page off loopback, the page explains why the camera is unavailable; over
 *   HTTPS (--tls) the device camera works through wss;
 * - with a key required: the page asks for it once, keeps it, asks again after a 401, and hides
 *   the changing actions from a read-only key.
 * Screenshots of every page go to test-output/screenshots/ for a person to look at.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { saveImage } from '../../src/image/index.js';
import { blankImage, DemoPhotos } from '../gallery/photos.js';
import { demoPhoto, repoRoot, sharedPath, sharedSkip } from '../helpers.js';
import { CLI, runCli } from '../support/cli.js';

const CHROMIUM = process.env.FACEREC_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(repoRoot, 'test-output', 'screenshots');
const INSECURE_HOST = 'facerec-lan.test';
const BROWSER_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser tests cannot run here, or false. */
function skipReason(): string | false {
  if (!existsSync(CHROMIUM)) {
    return `needs Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it) — browser tests skipped`;
  }
  if (!existsSync(join(repoRoot, 'dist', 'web', 'index.html'))) {
    return 'needs the built web UI in dist/web (npm run build) — browser tests skipped';
  }
  return false;
}

/** The photos of a run: two different photos of one person, a photo of someone else, a blank. */
interface Photos {
  /** Enrolled through the People page. */
  readonly enroll: string;
  /** Another photo of the same person: played by the fake camera. */
  readonly live: string;
  /** Someone else: becomes an unknown face. */
  readonly stranger: string;
  /** No face at all. */
  readonly blank: string;
  /** Where they come from (for the test log). */
  readonly origin: string;
}

/**
 * Real photos from ../shared when present (deepface's c01: two portraits of one person; c11:
 * another person), else two crops at different scales of one face of the face-api demo photo
 * (the pipeline treats them as the same person) and a crop of another face.
 */
async function makePhotos(dir: string): Promise<Photos> {
  const blank = join(dir, 'blank.png');
  await saveImage(blankImage(320, 240), blank);
  const sub = 'data/faces/identities/deepface';
  if (sharedSkip(sub) === false) {
    const pick = async (rel: string, name: string) => {
      const to = join(dir, name);
      await copyFile(sharedPath(sub, rel), to);
      return to;
    };
    return {
      enroll: await pick('c01/img5.jpg', 'person-a-1.jpg'),
      live: await pick('c01/img10.jpg', 'person-a-2.jpg'),
      stranger: await pick('c11/img29.jpg', 'stranger.jpg'),
      blank,
      origin: `../shared/${sub} (c01/img5.jpg, c01/img10.jpg, c11/img29.jpg)`,
    };
  }
  const demo = new DemoPhotos();
  const write = async (name: string, face: number, variant: number, size: number) => {
    const path = join(dir, name);
    await saveImage(await demo.face(face, variant, size), path);
    return path;
  };
  return {
    enroll: await write('person-a-1.jpg', 0, 0, 320),
    live: await write('person-a-2.jpg', 0, 3, 240),
    stranger: await write('stranger.jpg', 1, 0, 320),
    blank,
    origin: 'crops of the @vladmandic/face-api demo photos (../shared absent)',
  };
}

/** A y4m clip for Chromium's fake camera: the photo letterboxed in 640×480, 3 s at 15 fps. */
function makeClip(photo: string, out: string): Promise<void> {
  const vf =
    'scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,format=yuv420p';
  return new Promise((done, fail) => {
    execFile(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-loop',
        '1',
        '-i',
        photo,
        '-t',
        '3',
        '-vf',
        vf,
        '-r',
        '15',
        out,
      ],
      (err, _stdout, stderr) => (err ? fail(new Error(`ffmpeg failed: ${stderr || err.message}`)) : done()),
    );
  });
}

/**
 * A stand-in for the seed's phone IP camera: an MJPEG stream (multipart/x-mixed-replace) of one
 * JPEG, 5 frames a second, on a free loopback port.
 */
async function startMjpegCamera(jpeg: Buffer): Promise<{ url: string; close: () => Promise<void> }> {
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    res.writeHead(200, {
      'content-type': 'multipart/x-mixed-replace; boundary=frame',
      'cache-control': 'no-cache',
    });
    const send = () =>
      res.write(
        Buffer.concat([
          Buffer.from(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`),
          jpeg,
          Buffer.from('\r\n'),
        ]),
      );
    send();
    const timer = setInterval(send, 200);
    timers.add(timer);
    req.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/video`,
    close: () =>
      new Promise<void>((done) => {
        for (const t of timers) clearInterval(t);
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** The server as a child process. */
interface Served {
  readonly url: string;
  readonly child: ChildProcess;
  readonly log: () => string;
}

/** Start `facerec serve` on a free loopback port with `dataDir`; resolves with its URL once it listens. */
function startServer(dataDir: string, extra: readonly string[] = []): Promise<Served> {
  const child = spawn(
    process.execPath,
    [CLI, '--data', dataDir, 'serve', '--host', '127.0.0.1', '--port', '0', ...extra],
    { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const log = () => out;
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`the server did not start within 180 s:\n${out}`));
    }, 180_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /serving (https?:\/\/[^\s]+)\s/.exec(out);
      if (m) {
        clearTimeout(timer);
        done({ url: m[1]!, child, log });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the server exited with code ${code}:\n${out}`));
    });
  });
}

/** Stop the server (SIGTERM, then SIGKILL after 10 s). */
async function stopServer(s: Served | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null) return;
  const exited = new Promise<void>((done) => s.child.once('exit', () => done()));
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The text of an element (its DOM text content). */
async function text(l: Locator): Promise<string> {
  return (await l.textContent()) ?? '';
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Go to a page of the UI by its hash route and wait for its title. */
async function open(page: Page, base: string, route: string, title: string): Promise<void> {
  await page.goto(`${base}/#/${route}`);
  await page.getByRole('heading', { level: 1, name: title }).waitFor({ timeout: 15_000 });
}

describe('web UI in Chromium', { skip: skipReason() }, () => {
  let dir = '';
  let photos: Photos;
  let server: Served | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const person = 'Ada Quillfeather';
  const stranger = 'Carol Nguyen-Ortiz';
  const pageErrors: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-web-'));
    await mkdir(SHOTS, { recursive: true });
    photos = await makePhotos(dir);
    const clip = join(dir, 'camera.y4m');
    await makeClip(photos.live, clip);
    server = await startServer(join(dir, 'data'), ['--keep-thumbnails', '--keep-snapshots']);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        ...BROWSER_ARGS,
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-video-capture=${clip}`,
        // A name that is not "potentially trustworthy", to see the page over plain HTTP off loopback.
        `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`,
      ],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['camera'], { origin: server.url });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await stopServer(server);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('first start: the page says what to do first', async () => {
    await page.goto(`${server!.url}/`);
    // An empty gallery opens on People, with the first step spelled out.
    await page.getByRole('heading', { level: 1, name: 'People' }).waitFor({ timeout: 15_000 });
    await page.getByText('No one enrolled yet — add a person from a few photos').waitFor();
    await shot(page, '01-people-first-start');
    // No request leaves the server's origin (no CDN fonts or scripts).
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(server!.url) && !r.url().startsWith('data:')) external.push(r.url());
    });
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'People' }).waitFor();
    assert.deepEqual(external, []);
  });

  it('enrolls a person from a photo through the People page, with per-photo results', async () => {
    await open(page, server!.url, 'people', 'People');
    await page.getByLabel('Name', { exact: true }).fill(person);
    await page.locator('#add-photos').setInputFiles([photos.enroll, photos.blank]);
    await page.getByRole('button', { name: 'Add person with 2 photos' }).click();
    const results = page.getByTestId('photo-results');
    await results.locator('li[data-status="enrolled"]').waitFor({ timeout: 120_000 });
    assert.match(
      await text(results.locator('li[data-status="enrolled"]')),
      new RegExp(basename(photos.enroll)),
    );
    assert.match(await text(results.locator('li[data-status="no_face"]')), /no face/i);
    await page.getByTestId('people').getByText(person).waitFor();
    // The person's panel opens with the enrolled face.
    const panel = page.getByTestId('person-panel');
    await panel.getByRole('heading', { name: person }).waitFor();
    await panel.getByText('1 face').first().waitFor();
    await shot(page, '02-people-enrolled');

    // The same name again: the server's message, and what to do about it.
    await page.getByLabel('Name', { exact: true }).fill(person);
    await page.getByRole('button', { name: 'Add person' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'already exists' });
    await alert.waitFor({ timeout: 15_000 });
    assert.match(await text(alert), /choose another name/);
    await page.getByLabel('Name', { exact: true }).fill('');
  });

  it("names the person on the live view of this device's camera", async () => {
    await open(page, server!.url, 'live', 'Live');
    await page.getByRole('button', { name: "Use this device's camera" }).click();
    const names = page.getByTestId('device-names');
    await names.getByText(person, { exact: true }).waitFor({ timeout: 120_000 });
    // The overlay canvas has the box and label painted on it (non-transparent pixels).
    const painted = Number(
      await page.evaluate(`(() => {
        const c = document.querySelector('[data-testid="device-overlay"]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
      })()`),
    );
    assert.ok(painted > 500, `expected a box and a label on the overlay, found ${painted} painted pixels`);
    const stats = await text(page.getByTestId('device-stats'));
    assert.match(stats, /\d+(\.\d)? fps/);
    assert.match(stats, /\d+ ms round trip/);
    await shot(page, '03-live-device-camera');
    await page.getByRole('button', { name: 'Stop' }).click();
  });

  it("explains, on a plain-HTTP page off this machine, why the device's camera is unavailable", async () => {
    const insecure = await context!.newPage();
    try {
      await open(insecure, server!.url.replace('127.0.0.1', INSECURE_HOST), 'live', 'Live');
      assert.equal(await insecure.evaluate('window.isSecureContext'), false);
      assert.equal(
        await insecure.getByRole('button', { name: "Use this device's camera" }).isDisabled(),
        true,
      );
      await insecure.getByText(/only over HTTPS/).waitFor();
      await insecure.getByText(/--tls/).first().waitFor();
      await shot(insecure, '03b-live-not-secure');
    } finally {
      await insecure.close();
    }
  });

  it('works over HTTPS (--tls): enrollment and the device camera through wss', async () => {
    const tls = await startServer(join(dir, 'data-tls'), ['--tls']);
    const secure = await browser!.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 900 },
    });
    try {
      assert.match(tls.url, /^https:/);
      const p = await secure.newPage();
      await open(p, tls.url, 'people', 'People');
      await p.getByLabel('Name', { exact: true }).fill(person);
      await p.locator('#add-photos').setInputFiles([photos.enroll]);
      await p.getByRole('button', { name: 'Add person with 1 photo' }).click();
      await p
        .getByTestId('photo-results')
        .locator('li[data-status="enrolled"]')
        .waitFor({ timeout: 120_000 });
      await open(p, tls.url, 'live', 'Live');
      await p.getByRole('button', { name: "Use this device's camera" }).click();
      await p.getByTestId('device-names').getByText(person, { exact: true }).waitFor({ timeout: 120_000 });
      await p.getByRole('button', { name: 'Stop' }).click();
    } finally {
      await secure.close();
      await stopServer(tls);
    }
  });

  it('adds an IP camera by URL in Settings and shows its annotated stream with names on Live', async () => {
    const camera = await startMjpegCamera(await readFile(photos.live));
    try {
      await open(page, server!.url, 'settings', 'Settings');
      await page.getByLabel('Name', { exact: true }).fill('Hall phone');
      await page.getByLabel('URL', { exact: true }).fill(camera.url);
      await page.getByRole('button', { name: 'Add camera' }).click();
      await page.getByRole('cell', { name: 'Hall phone' }).waitFor({ timeout: 15_000 });

      await open(page, server!.url, 'live', 'Live');
      const tile = page.locator('figure.camera-tile', { hasText: 'Hall phone' });
      await tile.getByText(`In view: ${person}`).waitFor({ timeout: 120_000 });
      // The annotated MJPEG stream is showing frames in the <img>.
      await page.waitForFunction(
        `(() => { const i = document.querySelector('figure.camera-tile img'); return i && i.naturalWidth > 0; })()`,
        undefined,
        { timeout: 30_000 },
      );
      await shot(page, '04-live-ip-camera');

      // Removed again, after a confirmation.
      await open(page, server!.url, 'settings', 'Settings');
      await page
        .getByRole('row', { name: /Hall phone/ })
        .getByRole('button', { name: 'Remove' })
        .click();
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('button', { name: 'Remove camera' }).click();
      await page.getByRole('cell', { name: 'Hall phone' }).waitFor({ state: 'detached', timeout: 15_000 });
    } finally {
      await camera.close();
    }
  });

  it('names an unknown face through the Unknown faces page and it becomes a person', async () => {
    // The stranger is seen by an upload: identify remembers faces that match nobody.
    const form = new FormData();
    form.append('image', new Blob([await readFile(photos.stranger)], { type: 'image/jpeg' }), 'stranger.jpg');
    const res = await fetch(`${server!.url}/api/v1/identify`, { method: 'POST', body: form });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as {
      faces: { name: string | null; unknown: { cluster_id: number } | null }[];
    };
    assert.equal(body.faces[0]?.name, null);
    assert.ok(body.faces[0]?.unknown, 'the stranger was remembered as an unknown face');

    await open(page, server!.url, 'unknowns', 'Unknown faces');
    const cluster = page.getByTestId('cluster').first();
    await cluster.waitFor({ timeout: 15_000 });
    await shot(page, '05-unknown-faces');
    await cluster.getByRole('button', { name: 'This is…' }).click();
    await cluster.getByLabel('Who is this?').fill(stranger);
    await cluster.getByRole('button', { name: 'Save as a new person' }).click();
    await page.getByTestId('assign-result').getByText(stranger).waitFor({ timeout: 30_000 });

    await open(page, server!.url, 'people', 'People');
    await page.getByTestId('people').getByText(stranger, { exact: true }).waitFor();
    await page.getByTestId('people').getByText(person, { exact: true }).waitFor();
    await shot(page, '06-people-after-naming');
  });

  it('shows events and settings', async () => {
    await open(page, server!.url, 'events', 'Events');
    // The device camera's sighting of the person is an event.
    await page.getByTestId('events').getByText(person).first().waitFor({ timeout: 15_000 });
    await shot(page, '07-events');

    await open(page, server!.url, 'settings', 'Settings');
    const far = page.getByTestId('far');
    await far.waitFor();
    assert.match(await text(far), /%/);
    assert.match(await text(page.getByTestId('threshold-value')), /^\d\.\d{3}$/);
    assert.match(await text(page.getByTestId('threshold-mode')), /Automatic/);
    assert.match(await text(page.getByTestId('retention')), /events 90 days, unknown faces 30 days/);
    await shot(page, '08-settings');

    // A stricter fixed threshold: the page shows the lower false-accept rate it implies, and saves it.
    const before = await text(far);
    await page.getByLabel(/^Threshold:/).fill('0.3');
    await page.getByTestId('threshold-value').getByText('0.300').waitFor();
    assert.notEqual(await text(far), before);
    await page.getByRole('button', { name: 'Save threshold' }).click();
    await page.getByTestId('threshold-mode').getByText('Fixed').waitFor({ timeout: 15_000 });
    const fixed = (await (await fetch(`${server!.url}/api/v1/settings`)).json()) as {
      threshold: number;
      threshold_mode: string;
    };
    assert.deepEqual([fixed.threshold, fixed.threshold_mode], [0.3, 'fixed']);
    await page.getByRole('button', { name: 'Back to automatic' }).click();
    await page.getByTestId('threshold-mode').getByText('Automatic').waitFor({ timeout: 15_000 });
  });

  it('shows names as text, never as markup; drop, rename and delete a person', async () => {
    const name = '<img src=x onerror="window.__pwned=1"><b>Bold</b>';
    const res = await fetch(`${server!.url}/api/v1/people`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    await open(page, server!.url, 'people', 'People');
    const list = page.getByTestId('people');
    await list.getByText(name, { exact: true }).waitFor();
    assert.equal(await list.locator('img[src="x"], b').count(), 0);
    assert.equal(await page.evaluate('window.__pwned'), undefined);

    // A group photo dropped on them: enrolled, with the "several faces" warning.
    await list.getByText(name, { exact: true }).click();
    const panel = page.getByTestId('person-panel');
    const b64 = (await readFile(demoPhoto(1))).toString('base64');
    const files = await page.evaluateHandle(`(() => {
      const bin = atob('${b64}');
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'group.jpg', { type: 'image/jpeg' }));
      return dt;
    })()`);
    const zone = panel.locator('.dropzone');
    await zone.dispatchEvent('dragover', { dataTransfer: files });
    await zone.dispatchEvent('drop', { dataTransfer: files });
    const row = panel.getByTestId('photo-results').locator('li[data-status="enrolled"]');
    await row.waitFor({ timeout: 60_000 });
    assert.match(await text(row), /several faces/);

    // Renamed through the panel (still plain text).
    const renamed = `${name} (renamed)`;
    await panel.getByRole('button', { name: 'Rename' }).click();
    await panel.getByLabel('New name').fill(renamed);
    await panel.getByRole('button', { name: 'Save name' }).click();
    await list.getByText(renamed, { exact: true }).waitFor({ timeout: 15_000 });
    await panel.getByRole('heading', { name: renamed }).waitFor();

    // Deleted through the page, after a confirmation that names them (as text).
    await panel.getByRole('button', { name: 'Delete…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`Delete ${renamed}?`).waitFor();
    await dialog.getByRole('button', { name: 'Delete for good' }).click();
    await list.getByText(renamed, { exact: true }).waitFor({ state: 'detached', timeout: 15_000 });
    const left = (await (await fetch(`${server!.url}/api/v1/people`)).json()) as {
      people: { name: string }[];
    };
    assert.deepEqual(left.people.map((p) => p.name).sort(), [person, stranger].sort());
  });

  it('fits a phone screen', async () => {
    const phone = await browser!.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    try {
      const p = await phone.newPage();
      for (const [route, title, file] of [
        ['people', 'People', '09-phone-people'],
        ['live', 'Live', '10-phone-live'],
        ['unknowns', 'Unknown faces', '11-phone-unknowns'],
      ] as const) {
        await open(p, server!.url, route, title);
        await p.waitForLoadState('networkidle').catch(() => undefined);
        if (route === 'live') {
          // The phone as the camera (the seed's setup, without an IP-camera app).
          await p.getByRole('button', { name: "Use this device's camera" }).tap();
          await p
            .getByTestId('device-names')
            .getByText(person, { exact: true })
            .waitFor({ timeout: 120_000 });
        }
        // Nothing is wider than the screen (no sideways scrolling).
        const overflow = Number(await p.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
        assert.ok(overflow <= 0, `${route}: the page is ${overflow}px wider than the phone screen`);
        await shot(p, file);
      }
    } finally {
      await phone.close();
    }
    assert.deepEqual(pageErrors, [], 'no script errors in the page');
  });
});

describe('web UI with an API key required', { skip: skipReason() }, () => {
  let dir = '';
  let server: Served | undefined;
  let browser: Browser | undefined;
  let admin: { key: string; id: number };
  let viewer: { key: string; id: number };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-web-auth-'));
    const data = join(dir, 'data');
    const create = async (name: string, readOnly: boolean) => {
      const r = await runCli([
        '--data',
        data,
        'keys',
        'create',
        '--name',
        name,
        '--json',
        ...(readOnly ? ['--read-only'] : []),
      ]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { key: string; id: number };
    };
    admin = await create('browser-admin', false);
    viewer = await create('browser-viewer', true);
    server = await startServer(data, ['--require-key']);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  });

  after(async () => {
    await browser?.close();
    await stopServer(server);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('asks for the key once, keeps it, and asks again when it stops working', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      await page.goto(`${server!.url}/`);
      const prompt = page.getByRole('heading', { level: 1, name: 'API key needed' });
      await prompt.waitFor({ timeout: 15_000 });
      await shot(page, '12-api-key-prompt');
      // A wrong key is refused with a message, and the prompt stays.
      await page.getByLabel('API key', { exact: true }).fill('fr_not-a-real-key');
      await page.getByRole('button', { name: 'Use this key' }).click();
      await page
        .getByRole('alert')
        .getByText(/did not accept/)
        .waitFor({ timeout: 15_000 });
      // The right key opens the page (empty gallery: People first).
      await page.getByLabel('API key', { exact: true }).fill(admin.key);
      await page.getByRole('button', { name: 'Use this key' }).click();
      await page.getByRole('heading', { level: 1, name: 'People' }).waitFor({ timeout: 15_000 });
      // Kept in the browser: a reload does not ask again.
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'People' }).waitFor({ timeout: 15_000 });
      assert.equal(await prompt.count(), 0);
      // Revoked: the next request gets 401 and the page asks again, saying why.
      const res = await fetch(`${server!.url}/api/v1/keys/${admin.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${admin.key}` },
      });
      assert.equal(res.status, 200, await res.clone().text());
      await page.getByRole('link', { name: 'Events' }).click();
      await prompt.waitFor({ timeout: 15_000 });
      await page
        .getByRole('alert')
        .getByText(/refused the saved key/)
        .waitFor();
    } finally {
      await context.close();
    }
  });

  it('hides the changing actions from a read-only key', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      await page.goto(`${server!.url}/#/people`);
      await page.getByLabel('API key', { exact: true }).fill(viewer.key);
      await page.getByRole('button', { name: 'Use this key' }).click();
      await page.getByRole('heading', { level: 1, name: 'People' }).waitFor({ timeout: 15_000 });
      await page.getByText('This key is read-only').waitFor();
      assert.equal(await page.getByRole('heading', { name: 'Add a person' }).count(), 0);
      await open(page, server!.url, 'settings', 'Settings');
      assert.equal(await page.getByRole('button', { name: 'Add camera' }).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Save threshold' }).count(), 0);
    } finally {
      await context.close();
    }
  });
});
