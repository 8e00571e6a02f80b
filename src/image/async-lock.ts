/**
 * A minimal async mutex: callers of `run` execute one at a time, in call order.
 */

/** Serialises async critical sections; a failing section does not block the next. */
export class AsyncLock {
  #tail: Promise<unknown> = Promise.resolve();

  /** Run `fn` once every earlier `run` has settled; resolves or rejects with its result. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => {});
    return result;
  }
}
