/**
 * A growable byte queue for stream parsers: append at the end, consume from the front, search
 * with `Buffer.indexOf`. Amortized O(1) per appended byte; the backing store is compacted, not
 * reallocated, when the front has been consumed.
 */

/** Bytes received but not yet parsed. */
export class ByteQueue {
  #buf: Buffer;
  #start = 0;
  #end = 0;

  /** @param initialCapacity - bytes allocated up front (grows by doubling). */
  constructor(initialCapacity = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  /** Bytes held. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** Append a copy of `chunk`. */
  append(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.#end + n > this.#buf.length) {
      const used = this.#end - this.#start;
      if (used + n <= this.#buf.length && this.#start > 0) {
        this.#buf.copy(this.#buf, 0, this.#start, this.#end);
      } else {
        let cap = this.#buf.length * 2;
        while (cap < used + n) cap *= 2;
        const next = Buffer.allocUnsafe(cap);
        this.#buf.copy(next, 0, this.#start, this.#end);
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = used;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += n;
  }

  /** The byte at `i` (relative to the front), or -1 past the end. */
  at(i: number): number {
    return i >= 0 && i < this.length ? this.#buf[this.#start + i]! : -1;
  }

  /** Position of `needle` at or after `from` (relative to the front), or -1. */
  indexOf(needle: Uint8Array | number, from = 0): number {
    const i = this.#buf.subarray(this.#start, this.#end).indexOf(needle, Math.max(0, from));
    return i;
  }

  /** A copy of bytes `[from, to)` (relative to the front), as a fresh Buffer the caller owns. */
  copy(from: number, to: number): Buffer {
    return Buffer.from(this.#buf.subarray(this.#start + from, this.#start + to));
  }

  /** A view (no copy) of bytes `[from, to)`; valid until the next append or consume. */
  view(from = 0, to = this.length): Buffer {
    return this.#buf.subarray(this.#start + from, this.#start + to);
  }

  /** Drop the first `n` bytes. */
  consume(n: number): void {
    this.#start = Math.min(this.#end, this.#start + Math.max(0, n));
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
  }

  /** Drop everything. */
  clear(): void {
    this.#start = 0;
    this.#end = 0;
  }
}
