/**
 * Detach keys: the key sequence (Ctrl-P Ctrl-Q by default) that ends an attach or exec
 * session from the client's side while the container keeps running. docker's syntax:
 * comma-separated keys, each a single character or `ctrl-<x>` (`ctrl-a`..`ctrl-z`, `ctrl-@`,
 * `ctrl-[`, `ctrl-\`, `ctrl-]`, `ctrl-^`, `ctrl-_`).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { InvalidArgumentError } from './errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** The bytes of a detach-keys specification; throws docker's error for a bad one. */
export function parseDetachKeys(spec: string): Buffer {
  const bytes: number[] = [];
  for (const key of spec.split(',')) {
    if (key.length === 1) {
      bytes.push(key.charCodeAt(0));
      continue;
    }
    const match = /^ctrl-(.)$/.exec(key);
    const code = match ? match[1]!.toLowerCase().charCodeAt(0) : -1;
    if (code >= 0x61 && code <= 0x7a) bytes.push(code - 0x60);
    else if (match && '@[\\]^_'.includes(match[1]!)) bytes.push(match[1]!.charCodeAt(0) - 0x40);
    else throw new InvalidArgumentError(`Invalid detach keys (${spec}) provided`);
  }
  return Buffer.from(bytes);
}

/**
 * Passes input through until the detach sequence appears, then emits 'detach' and ends.
 * Bytes of a partial match are held back and released if the sequence breaks off.
 */
export class DetachKeyFilter extends Transform {
  readonly #keys: Buffer;
  #matched = 0;
  #detached = false;

  constructor(keys: Buffer) {
    super();
    this.#keys = keys;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#detached) return callback();
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.#keys[this.#matched]) {
        this.#matched++;
        if (this.#matched === this.#keys.length) {
          this.#detached = true;
          if (out.length > 0) this.push(Buffer.from(out));
          this.emit('detach');
          return callback();
        }
        continue;
      }
      if (this.#matched > 0) {
        out.push(...this.#keys.subarray(0, this.#matched));
        this.#matched = 0;
        if (byte === this.#keys[0]) {
          this.#matched = 1;
          continue;
        }
      }
      out.push(byte);
    }
    if (out.length > 0) this.push(Buffer.from(out));
    callback();
  }
}
