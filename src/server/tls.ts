/**
 * The self-signed certificate of `facerec serve --tls`: made on first use, kept in
 * `<data>/tls/` (`key.pem` owner-only), valid for `localhost`, 127.0.0.1, ::1 and the machine's
 * LAN addresses.
 *
 * Node's crypto makes keys but not certificates, so the X.509 structure is encoded here (DER,
 * about a hundred lines) and signed with Node's ECDSA P-256: no openssl binary, no package, the
 * same on every platform; Node's own `X509Certificate` parses the result back as a check.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';

/** The folder of the certificate inside the data directory. */
export const TLS_DIR = 'tls';

/** A certificate and its key, PEM. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint of the certificate, `AB:CD:…` (what browsers show). */
  readonly fingerprint: string;
  /** Host names and addresses the certificate is valid for. */
  readonly names: readonly string[];
  /** Where the files are. */
  readonly certPath: string;
  readonly keyPath: string;
  /** True when this call made the certificate. */
  readonly created: boolean;
}

/** The machine's non-internal IPv4 and global IPv6 addresses (no link-local). */
export function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv6' && /^fe80:/i.test(a.address)) continue;
      out.push(a.address);
    }
  }
  return out;
}

/**
 * The certificate in `<dataDir>/tls`, made when missing (or unreadable).
 *
 * @example
 * const tls = await ensureCertificate('facerec-data');
 * https.createServer({ cert: tls.cert, key: tls.key });
 */
export async function ensureCertificate(dataDir: string, now: Date = new Date()): Promise<TlsMaterial> {
  const dir = join(dataDir, TLS_DIR);
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    const x = new X509Certificate(cert);
    if (new Date(x.validTo).getTime() > now.getTime() + 86_400_000) {
      return {
        cert,
        key,
        fingerprint: x.fingerprint256,
        names: sanNames(x),
        certPath,
        keyPath,
        created: false,
      };
    }
  } catch {
    // Missing or unreadable: make a new one.
  }
  const names = ['localhost', '127.0.0.1', '::1', ...lanAddresses()];
  const made = selfSignedCertificate(names, now);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(keyPath, made.key, { mode: 0o600 });
  await chmod(keyPath, 0o600);
  await writeFile(certPath, made.cert, { mode: 0o644 });
  const x = new X509Certificate(made.cert);
  return { ...made, fingerprint: x.fingerprint256, names, certPath, keyPath, created: true };
}

/**
 * A self-signed ECDSA P-256 / SHA-256 server certificate for `names` (DNS names and IP
 * addresses), valid from one day before `now` for 825 days (the longest Apple devices accept).
 */
export function selfSignedCertificate(
  names: readonly string[],
  now: Date = new Date(),
): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // positive
  const name = seq(set(seq(oid('2.5.4.3'), utf8('facerec local server'))));
  const from = new Date(now.getTime() - 86_400_000);
  const to = new Date(now.getTime() + 825 * 86_400_000);
  const san = seq(
    ...names.map((n) => (isIP(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, 'ascii')))),
  );
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid('2.5.29.19'), bool(true), octets(seq())), // basicConstraints: not a CA
      seq(oid('2.5.29.15'), bool(true), octets(bitString(Buffer.from([0x80]), 7))), // keyUsage: digitalSignature
      seq(oid('2.5.29.37'), octets(seq(oid('1.3.6.1.5.5.7.3.1')))), // extKeyUsage: serverAuth
      seq(oid('2.5.29.17'), octets(san)), // subjectAltName
      seq(oid('2.5.29.14'), octets(octets(createHash('sha1').update(spki).digest()))), // subjectKeyIdentifier
    ),
  );
  const algorithm = seq(oid('1.2.840.10045.4.3.2')); // ecdsa-with-SHA256
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    name,
    seq(time(from), time(to)),
    name,
    spki,
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, algorithm, bitString(signature, 0));
  return {
    cert: pem('CERTIFICATE', der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function sanNames(x: X509Certificate): string[] {
  return (x.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim().replace(/^(DNS|IP Address):/, ''))
    .filter((s) => s !== '');
}

// DER ----------------------------------------------------------------------------------------

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

function seq(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(items));
}

function integer(bytes: Buffer): Buffer {
  const b = bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return tlv(0x02, b);
}

function bool(v: boolean): Buffer {
  return tlv(0x01, Buffer.from([v ? 0xff : 0]));
}

function octets(b: Buffer): Buffer {
  return tlv(0x04, b);
}

function bitString(b: Buffer, unused: number): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
}

function utf8(s: string): Buffer {
  return tlv(0x0c, Buffer.from(s, 'utf8'));
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const stack: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) stack.unshift((v & 0x7f) | 0x80);
    out.push(...stack);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime before 2050, GeneralizedTime after (RFC 5280). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g || '0', 16), i * 2);
  });
  return out;
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}
