/**
 * Embedding bytes and the index checksum: pure functions shared by the stores and the indexes.
 *
 * On disk an embedding is its float32 values in little-endian order (4 bytes each, no header),
 * whatever the host's byte order, so a SQLite file moves between machines unchanged.
 */

/** True on little-endian hosts (all platforms Node supports but s390x). */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** 2^48: the checksum modulus (sums of two checksums stay exact in a double). */
export const CHECKSUM_MODULUS = 2 ** 48;

/**
 * The little-endian bytes of a float32 vector (a fresh buffer).
 *
 * @example
 * encodeVector(new Float32Array([1])) // → <Buffer 00 00 80 3f>
 */
export function encodeVector(vector: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(vector.length * 4);
  if (HOST_LITTLE_ENDIAN) {
    out.set(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
  } else {
    for (let i = 0; i < vector.length; i++) out.writeFloatLE(vector[i]!, i * 4);
  }
  return out;
}

/**
 * Decode little-endian float32 bytes into `target` starting at element `offset`.
 *
 * @param bytes - `4 * dims` bytes.
 * @throws RangeError when the byte length is not `4 * dims` or the target is too short.
 */
export function decodeVectorInto(
  bytes: Uint8Array,
  dims: number,
  target: Float32Array,
  offset: number,
): void {
  if (bytes.length !== dims * 4) {
    throw new RangeError(`embedding has ${bytes.length} bytes, expected ${dims * 4}`);
  }
  if (offset + dims > target.length) throw new RangeError('decode target too short');
  if (HOST_LITTLE_ENDIAN) {
    new Uint8Array(target.buffer, target.byteOffset + offset * 4, dims * 4).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < dims; i++) target[offset + i] = view.getFloat32(i * 4, true);
  }
}

/** Decode little-endian float32 bytes into a new vector. */
export function decodeVector(bytes: Uint8Array, dims: number): Float32Array {
  const out = new Float32Array(dims);
  decodeVectorInto(bytes, dims, out, 0);
  return out;
}

/**
 * A 48-bit hash of one indexed face: its id and its embedding's little-endian bytes. The index
 * checksum of a set of faces is the sum of these hashes modulo 2^48, so it can be updated when a
 * face is added (`+`) or removed (`−`) without reading the others.
 *
 * @param faceId - A non-negative integer ≤ 2^53.
 * @param bytes - The embedding bytes (length a multiple of 4).
 * @returns An integer in [0, 2^48).
 */
export function faceHash(faceId: number, bytes: Uint8Array): number {
  let a = 0x9747b28c;
  let b = 0x3c6ef372;
  const lo = faceId >>> 0;
  const hi = Math.floor(faceId / 0x100000000) >>> 0;
  a = mix(a, lo);
  b = mix(b, lo ^ 0x5bd1e995);
  a = mix(a, hi);
  b = mix(b, hi ^ 0x1b873593);
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const w = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0;
    a = mix(a, w);
    b = mix(b, w ^ 0x85ebca6b);
  }
  a = fmix(a ^ bytes.length);
  b = fmix(b ^ (bytes.length * 3));
  return (a >>> 0) * 0x10000 + (b >>> 16);
}

/** `(x + y) mod 2^48` for checksums. */
export function checksumAdd(x: number, y: number): number {
  return (x + y) % CHECKSUM_MODULUS;
}

/** `(x − y) mod 2^48` for checksums. */
export function checksumSub(x: number, y: number): number {
  return (x - y + CHECKSUM_MODULUS) % CHECKSUM_MODULUS;
}

function mix(h: number, k: number): number {
  let x = Math.imul(k, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, 0x1b873593);
  let y = h ^ x;
  y = (y << 13) | (y >>> 19);
  return (Math.imul(y, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
