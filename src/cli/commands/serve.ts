/**
 * `facerec serve [--host H] [--port P] [--tls] [--keep-snapshots] [--keep-thumbnails]`: the
 * REST API, the live WebSocket and the web UI (docs/api.md). `npm start` runs it.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError, invalidParameter } from '../../core/index.js';
import { RETENTION_HELP, retentionFromOptions } from '../../recognize/index.js';
import {
  createService,
  DEFAULT_HOST,
  DEFAULT_PORT,
  ensureCertificate,
  FIRST_STEP,
  isLoopbackHost,
  lanAddresses,
} from '../../server/index.js';
import { cliContext, loadRecognizer, openGallery, parseNumber } from '../context.js';

interface ServeOptions {
  host?: string;
  port?: string;
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  keepSnapshots?: boolean;
  keepThumbnails?: boolean;
  requireKey?: boolean;
  maxBodyMb?: string;
  maxMegapixels?: string;
  cameras?: boolean;
  logRequests?: boolean;
  keepEvents?: string;
  keepUnknowns?: string;
}

/** Add the `serve` command. */
export function register(program: Command, version: string): void {
  program
    .command('serve')
    .description('run the REST API, live WebSocket and web UI (default http://127.0.0.1:8080)')
    .option(
      '--host <address>',
      `address to listen on (default ${DEFAULT_HOST}; 0.0.0.0 for the LAN: needs an API key)`,
    )
    .option('--port <n>', `port (default ${DEFAULT_PORT})`)
    .option(
      '--tls',
      'HTTPS with a self-signed certificate kept in <data>/tls (phones need HTTPS for their camera)',
    )
    .option('--tls-cert <file>', 'HTTPS with your own certificate (PEM; with --tls-key)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option(
      '--keep-thumbnails',
      'keep a small JPEG of each face enrolled through the API (default: no image kept)',
    )
    .option(
      '--keep-snapshots',
      'keep a crop of the face with each event and unknown face (default: no image kept)',
    )
    .option('--keep-events <days>', RETENTION_HELP.events)
    .option('--keep-unknowns <days>', RETENTION_HELP.unknowns)
    .option('--require-key', 'require an API key even on 127.0.0.1')
    .option('--max-body-mb <n>', 'largest request body, MB (default 20)')
    .option('--max-megapixels <n>', 'largest image, megapixels (default 40)')
    .option('--no-cameras', 'do not start the stored cameras')
    .option('--log-requests', 'log one line per request (method, route, status, time)')
    .addHelpText(
      'after',
      `
Examples:
  facerec serve                                   http://127.0.0.1:8080, this machine only
  facerec keys create --name phone && facerec serve --host 0.0.0.0 --tls
                                                  https://<LAN address>:8080 for a phone's camera

The API is described in docs/api.md and at /api/v1/openapi.json.`,
    )
    .action(async (opts: ServeOptions) => {
      const host = opts.host ?? DEFAULT_HOST;
      const port =
        opts.port === undefined
          ? DEFAULT_PORT
          : parseNumber(
              '--port',
              opts.port,
              'a port from 0 to 65535',
              (n) => Number.isInteger(n) && n >= 0 && n <= 65535,
            );
      const maxBodyBytes =
        opts.maxBodyMb === undefined
          ? undefined
          : parseNumber(
              '--max-body-mb',
              opts.maxBodyMb,
              'a size from 1 to 1000 MB',
              (n) => n >= 1 && n <= 1000,
            ) * 1e6;
      const maxPixels =
        opts.maxMegapixels === undefined
          ? undefined
          : parseNumber(
              '--max-megapixels',
              opts.maxMegapixels,
              'a number from 1 to 500',
              (n) => n >= 1 && n <= 500,
            ) * 1e6;
      const retention = retentionFromOptions(opts);
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
        throw invalidParameter('--tls-cert/--tls-key', 'both files, or neither', opts.tlsCert ?? opts.tlsKey);
      }
      const { paths } = cliContext(program);
      const say = (line: string) => process.stderr.write(`${line}\n`);

      let tls: { cert: string; key: string } | null = null;
      let tlsNote: string[] = [];
      if (opts.tlsCert !== undefined && opts.tlsKey !== undefined) {
        tls = { cert: await readFile(opts.tlsCert, 'utf8'), key: await readFile(opts.tlsKey, 'utf8') };
      } else if (opts.tls === true) {
        const m = await ensureCertificate(paths.dataDir);
        tls = { cert: m.cert, key: m.key };
        tlsNote = [
          `TLS: ${m.created ? 'made a' : 'using the'} self-signed certificate ${m.certPath}`,
          `  valid for ${m.names.join(', ')}`,
          `  SHA-256 fingerprint ${m.fingerprint}`,
          '  Browsers warn about it once: check the fingerprint, then "Advanced" → "Proceed" (or install',
          '  the certificate as trusted on the device). Delete the tls folder to make a new one.',
        ];
      }

      const store = await openGallery(program);
      if ((opts.requireKey === true || !isLoopbackHost(host)) && (await store.countActiveApiKeys()) === 0) {
        await store.close();
        throw new ConfigError(
          `Refusing to serve ${host} without an API key: anyone who can reach it could see and change the gallery. ` +
            'Create a key first (facerec keys create --name NAME), or serve on 127.0.0.1.',
        );
      }
      say('facerec: loading the models…');
      let recognizer: Awaited<ReturnType<typeof loadRecognizer>>;
      try {
        recognizer = await loadRecognizer(program);
      } catch (err) {
        await store.close();
        throw err;
      }
      let service: Awaited<ReturnType<typeof createService>> | undefined;
      try {
        service = await createService({
          store,
          recognizer,
          dataDir: paths.dataDir,
          host,
          port,
          tls,
          version,
          keepThumbnails: opts.keepThumbnails === true,
          keepSnapshots: opts.keepSnapshots === true,
          requireKey: opts.requireKey === true,
          ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
          ...(maxPixels !== undefined ? { maxPixels } : {}),
          startCameras: opts.cameras !== false,
          logRequests: opts.logRequests === true,
          retention,
        });
        const { url, port: actual } = await service.listen();
        const people = await store.countPeople();
        const scheme = tls ? 'https' : 'http';
        const lan =
          host === '0.0.0.0' || host === '::'
            ? lanAddresses().map((a) => `${scheme}://${a.includes(':') ? `[${a}]` : a}:${actual}`)
            : [];
        say(
          `facerec ${version} serving ${url} (gallery: ${store.kind} ${store.location}, ${people} ${people === 1 ? 'person' : 'people'})`,
        );
        if (lan.length > 0) say(`  on the LAN: ${lan.join('  ')}`);
        say(
          `  open ${lan[0] ?? url.replace('127.0.0.1', 'localhost')} in a browser; the API is described in docs/api.md and ${url}/api/v1/openapi.json`,
        );
        say(
          service.context.options.authRequired
            ? '  an API key is required: send it as "Authorization: Bearer <key>"; the page asks for it once'
            : '  no API key needed: only this machine can connect (use --host 0.0.0.0 with a key for the LAN)',
        );
        if (!isLoopbackHost(host) && !tls)
          say('  note: without --tls, phone browsers will not give the page their camera');
        for (const line of tlsNote) say(`  ${line}`);
        if (people === 0) say(`  the gallery is empty. ${FIRST_STEP}`);
        say('  press Ctrl+C to stop');
      } catch (err) {
        await service?.close().catch(() => {});
        await store.close().catch(() => {});
        await recognizer.dispose().catch(() => {});
        if (err instanceof ConfigError) throw err;
        const code = (err as { code?: string }).code;
        if (code === 'EADDRINUSE')
          throw new ConfigError(`Port ${port} on ${host} is in use: choose another with --port`);
        if (code === 'EACCES')
          throw new ConfigError(
            `Not allowed to listen on ${host}:${port} (ports below 1024 need privileges)`,
          );
        throw err;
      }
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          say('facerec: stopping…');
          (async () => {
            await service?.close();
            await store.close();
            await recognizer.dispose();
          })()
            .catch((err) => say(`facerec: while stopping: ${(err as Error).message}`))
            .finally(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
