/**
 * Berth's one lock: it serialises operations per key (a container id; one constant key for a
 * store that takes one writer at a time). Operations on one key run one at a time, in call
 * order, and a failing one does not block the next; different keys proceed in parallel.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  /** Run `operation` once every earlier operation on `key` has settled; settles as it does. */
  async run<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await operation();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
