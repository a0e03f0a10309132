/**
 * The latest-item slot between a producer (a camera connection) and a consumer (recognition):
 * one place, overwritten by newer items. This is what keeps a slow consumer on the newest frame
 * instead of an ever-growing backlog.
 */

/**
 * A one-item mailbox. `put` replaces an item not yet taken (counted in {@link dropped});
 * `take` waits for the next item. After `close`, pending and later `take`s resolve `undefined`.
 *
 * @example
 * const slot = new LatestSlot<number>();
 * slot.put(1); slot.put(2);       // 1 is dropped
 * await slot.take();              // 2
 */
export class LatestSlot<T> {
  #item: T | undefined;
  #has = false;
  #closed = false;
  #waiter: ((item: T | undefined) => void) | undefined;
  #emptyWaiters: (() => void)[] = [];
  #dropped = 0;
  readonly #onDrop: ((item: T) => void) | undefined;

  /** @param onDrop - called with each item that is overwritten (to release its resources). */
  constructor(onDrop?: (item: T) => void) {
    this.#onDrop = onDrop;
  }

  /** Items overwritten before they were taken. */
  get dropped(): number {
    return this.#dropped;
  }

  /** True when an item waits to be taken. */
  get full(): boolean {
    return this.#has;
  }

  /** True after {@link end} or {@link close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Offer `item`: hand it to a waiting consumer, or keep it, dropping the one kept before. Ignored after close. */
  put(item: T): void {
    if (this.#closed) return;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter(item);
      this.#notifyEmpty();
      return;
    }
    if (this.#has) {
      this.#dropped++;
      const old = this.#item as T;
      this.#onDrop?.(old);
    }
    this.#item = item;
    this.#has = true;
  }

  /** The next item: the one kept, or the next one put; `undefined` once closed. One consumer at a time. */
  take(): Promise<T | undefined> {
    if (this.#has) {
      const item = this.#item as T;
      this.#item = undefined;
      this.#has = false;
      this.#notifyEmpty();
      return Promise.resolve(item);
    }
    if (this.#closed) return Promise.resolve(undefined);
    if (this.#waiter) return Promise.reject(new Error('LatestSlot: take() while another take() is pending'));
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /**
   * Resolves when the slot is empty (at once if it is): producers that must not drop (a file
   * read as fast as possible) wait on this before reading the next item.
   */
  whenEmpty(): Promise<void> {
    if (!this.#has || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  /** Drop the kept item without counting it (a reconnect makes it stale). */
  clear(): void {
    if (this.#has) this.#onDrop?.(this.#item as T);
    this.#item = undefined;
    this.#has = false;
    this.#notifyEmpty();
  }

  /**
   * No more items: the kept item (if any) can still be taken, then takes resolve `undefined`.
   * Later puts are ignored.
   */
  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#has) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.(undefined);
    }
    this.#notifyEmpty();
  }

  /** End now: the kept item is released; pending and later takes resolve `undefined`. */
  close(): void {
    this.end();
    this.clear();
  }

  #notifyEmpty(): void {
    const ws = this.#emptyWaiters;
    this.#emptyWaiters = [];
    for (const w of ws) w();
  }
}
