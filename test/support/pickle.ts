/**
 * A minimal reader for `.npy` files holding a pickled Python object (numpy object arrays), enough
 * for the seed's MTCNN weight files `det{1,2,3}.npy`: protocol-2 pickles of a dict
 * `{layer: {param: ndarray}}` with little-endian float32 arrays, some in Fortran order.
 * Only the opcodes those files use are implemented; anything else throws.
 */

/** A float32 array rebuilt from a pickled numpy ndarray, in C (row-major) order. */
export interface NdArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A call recorded by the unpickler: `callable(...args)`, then `__setstate__(state)` by BUILD. */
interface Reduced {
  readonly kind: 'reduce';
  readonly callable: string;
  readonly args: unknown[];
  state?: unknown;
}

const MARK = Symbol('mark');

/** Parse a `.npy` file whose payload is a pickle; returns the unpickled top object. */
export function readNpyObject(file: Uint8Array): unknown {
  const magic = String.fromCharCode(...file.subarray(1, 6));
  if (file[0] !== 0x93 || magic !== 'NUMPY') throw new Error('not a .npy file');
  const major = file[6]!;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = new TextDecoder('latin1').decode(file.subarray(major === 1 ? 10 : 12, start));
  if (!header.includes("'descr': '|O'")) throw new Error(`not an object array: ${header}`);
  return unpickle(file.subarray(start));
}

/**
 * The seed's weight dict: for each layer, each parameter as a float32 array.
 * The top object is a 0-d numpy object array whose single item is the dict.
 */
export function readSeedWeights(file: Uint8Array): Map<string, Map<string, NdArray>> {
  const top = readNpyObject(file);
  const state = asReduced(top, 'numpy.core.multiarray _reconstruct').state as unknown[];
  const items = state[4] as unknown[];
  const dict = items[0] as Map<unknown, unknown>;
  const out = new Map<string, Map<string, NdArray>>();
  for (const [layer, params] of dict) {
    const m = new Map<string, NdArray>();
    for (const [param, arr] of params as Map<unknown, unknown>) m.set(text(param), toNdArray(arr));
    out.set(text(layer), m);
  }
  return out;
}

/** Run the pickle virtual machine over `bytes`. */
export function unpickle(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const u8 = () => bytes[pos++]!;
  /** Read a little-endian integer of `size` bytes and advance. */
  const int = (size: 2 | 4, signed = false) => {
    const at = pos;
    pos += size;
    if (size === 2) return view.getUint16(at, true);
    return signed ? view.getInt32(at, true) : view.getUint32(at, true);
  };
  const u16 = () => int(2);
  const u32 = () => int(4);
  const i32 = () => int(4, true);
  const take = (n: number) => {
    const s = bytes.subarray(pos, pos + n);
    pos += n;
    return s;
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new Error('pickle: no MARK on the stack');
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const top = () => stack[stack.length - 1];
  for (;;) {
    const op = String.fromCharCode(u8());
    switch (op) {
      case '\x80': // PROTO
        u8();
        break;
      case 'c': // GLOBAL module\nname\n
        stack.push({ kind: 'global', name: `${line()} ${line()}` });
        break;
      case 'q': // BINPUT
        memo.set(u8(), top());
        break;
      case 'r': // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 'h': // BINGET
        stack.push(memo.get(u8()));
        break;
      case 'j': // LONG_BINGET
        stack.push(memo.get(u32()));
        break;
      case '(':
        stack.push(MARK);
        break;
      case ')':
        stack.push([]);
        break;
      case 't':
        stack.push(popMark());
        break;
      case '\x85':
        stack.push(stack.splice(-1));
        break;
      case '\x86':
        stack.push(stack.splice(-2));
        break;
      case '\x87':
        stack.push(stack.splice(-3));
        break;
      case ']':
        stack.push([]);
        break;
      case 'a': {
        const v = stack.pop();
        (top() as unknown[]).push(v);
        break;
      }
      case 'e': {
        const vs = popMark();
        (top() as unknown[]).push(...vs);
        break;
      }
      case '}':
        stack.push(new Map());
        break;
      case 's': {
        const v = stack.pop();
        const k = stack.pop();
        (top() as Map<unknown, unknown>).set(key(k), v);
        break;
      }
      case 'u': {
        const kv = popMark();
        const map = top() as Map<unknown, unknown>;
        for (let i = 0; i < kv.length; i += 2) map.set(key(kv[i]), kv[i + 1]);
        break;
      }
      case 'R': {
        const args = stack.pop() as unknown[];
        const callable = stack.pop() as { name: string };
        stack.push({ kind: 'reduce', callable: callable.name, args } satisfies Reduced);
        break;
      }
      case 'b': {
        const state = stack.pop();
        (top() as Reduced).state = state;
        break;
      }
      case 'X': // BINUNICODE
        stack.push(new TextDecoder('utf-8').decode(take(u32())));
        break;
      case 'U': // SHORT_BINSTRING (Python 2 str: raw bytes)
        stack.push(take(u8()));
        break;
      case 'T': // BINSTRING
        stack.push(take(u32()));
        break;
      case 'J':
        stack.push(i32());
        break;
      case 'K':
        stack.push(u8());
        break;
      case 'M':
        stack.push(u16());
        break;
      case '\x88':
        stack.push(true);
        break;
      case '\x89':
        stack.push(false);
        break;
      case 'N':
        stack.push(null);
        break;
      case '.':
        return stack.pop();
      default:
        throw new Error(`pickle: unsupported opcode 0x${op.charCodeAt(0).toString(16)} at ${pos - 1}`);
    }
  }
}

/** Dict keys compare by value: byte strings become latin1 strings. */
function key(k: unknown): unknown {
  return k instanceof Uint8Array ? text(k) : k;
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder('latin1').decode(v);
  throw new Error(`expected a string, got ${typeof v}`);
}

function asReduced(v: unknown, callable: string): Reduced {
  const r = v as Reduced;
  if (r?.kind !== 'reduce' || r.callable !== callable) throw new Error(`expected ${callable}(...)`);
  return r;
}

/**
 * Rebuild an ndarray from `_reconstruct(ndarray, (0,), b'b')` + BUILD state
 * `(version, shape, dtype, isFortran, rawBytes)`; only little-endian float32 is supported.
 */
function toNdArray(v: unknown): NdArray {
  const [, shape, dtype, fortran, raw] = asReduced(v, 'numpy.core.multiarray _reconstruct').state as [
    number,
    number[],
    Reduced,
    boolean,
    Uint8Array,
  ];
  const kind = text(asReduced(dtype, 'numpy dtype').args[0]);
  const order = text((dtype.state as unknown[])[1]);
  if (kind !== 'f4' || order !== '<') throw new Error(`unsupported dtype ${order}${kind}`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (raw.length !== 4 * size) throw new Error(`array data has ${raw.length} bytes for shape [${shape}]`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const stored = new Float32Array(size);
  for (let i = 0; i < size; i++) stored[i] = view.getFloat32(4 * i, true);
  return { shape, data: fortran ? fortranToC(stored, shape) : stored };
}

/** Reorder column-major (first index fastest) values into row-major order. */
export function fortranToC(values: Float32Array, shape: readonly number[]): Float32Array {
  const out = new Float32Array(values.length);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let c = 0; c < values.length; c++) {
    // c walks row-major; compute the column-major offset of the same index.
    let f = 0;
    let stride = 1;
    for (let d = 0; d < rank; d++) {
      f += index[d]! * stride;
      stride *= shape[d]!;
    }
    out[c] = values[f]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}
