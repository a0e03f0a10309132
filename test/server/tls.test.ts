/**
 * `--tls`: the self-signed certificate (made once, kept, key owner-only, names and addresses in
 * its SAN, verifiable), and the service answering over HTTPS with it.
 */
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureCertificate, selfSignedCertificate } from '../../src/server/index.js';
import { disposeRecognizer, startService } from './harness.js';

after(disposeRecognizer);

describe('TLS', () => {
  it('a self-signed certificate carries the names and addresses asked for and verifies with its key', () => {
    const now = new Date(Date.UTC(2030, 0, 15));
    const { cert, key } = selfSignedCertificate(
      ['localhost', '127.0.0.1', '::1', '192.0.2.7', 'fd00::7'],
      now,
    );
    const x = new X509Certificate(cert);
    assert.equal(x.verify(createPublicKey(key)), true);
    assert.equal(x.checkHost('localhost'), 'localhost');
    assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x.checkIP('192.0.2.7'), '192.0.2.7');
    assert.equal(x.checkIP('::1'), '::1');
    assert.equal(x.checkIP('fd00::7'), 'fd00::7');
    assert.equal(x.checkHost('example.com'), undefined);
    assert.equal(x.ca, false);
    assert.equal(new Date(x.validFrom).getTime(), now.getTime() - 86_400_000);
    assert.equal(new Date(x.validTo).getTime(), now.getTime() + 825 * 86_400_000);
  });

  it('made on first use in <data>/tls with the key owner-only, then reused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'facerec-tls-'));
    try {
      const a = await ensureCertificate(dir);
      assert.equal(a.created, true);
      assert.equal((await stat(a.keyPath)).mode & 0o777, 0o600);
      assert.equal(a.certPath, join(dir, 'tls', 'cert.pem'));
      assert.ok(a.names.includes('localhost') && a.names.includes('127.0.0.1'));
      assert.match(a.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      const b = await ensureCertificate(dir);
      assert.equal(b.created, false);
      assert.equal(b.fingerprint, a.fingerprint);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the service serves HTTPS with it (verified against the certificate, by name and address)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'facerec-tls-'));
    const material = await ensureCertificate(dir);
    const t = await startService({ tls: { cert: material.cert, key: material.key } });
    try {
      const { url, port } = await t.service.listen();
      assert.match(url, /^https:\/\//);
      for (const host of ['127.0.0.1', 'localhost']) {
        const body = await new Promise<string>((resolve, reject) => {
          https
            .get(
              {
                host,
                port,
                path: '/api/v1/health',
                ca: material.cert,
                servername: host === 'localhost' ? host : undefined,
              },
              (res) => {
                let s = '';
                res.setEncoding('utf8');
                res.on('data', (c: string) => {
                  s += c;
                });
                res.on('end', () => resolve(s));
              },
            )
            .on('error', reject);
        });
        const h = JSON.parse(body) as { tls: boolean; status: string };
        assert.deepEqual([h.status, h.tls], ['ok', true]);
      }
    } finally {
      await t.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
