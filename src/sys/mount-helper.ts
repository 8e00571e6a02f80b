/**
 * MountHelper: the client of native/berth-mount, one long-lived process that makes mount(2)
 * and umount2(2) calls (and network namespace handles) for berthd, so the rootfs mount of every
 * start and its unmount at every exit, and a bridge container's namespace, cost no process start
 * (10-25 ms each on slow hosts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Logger } from '../common/index.js';

/** An answer of the helper: 0 for success, else the errno and its text. */
export interface HelperAnswer {
  errno: number;
  message: string;
}

/**
 * Contract: requests are answered in the order they were sent. Any method resolves undefined
 * when the helper cannot be used at all (not built, cannot start): the caller then does the
 * work another way. A helper that dies is started again at the next request; the requests it
 * had not answered reject.
 */
export class MountHelper {
  readonly #path: string;
  readonly #logger: Logger | undefined;
  #child: ChildProcessWithoutNullStreams | undefined;
  #isUnavailable = false;
  #pending: Array<{ resolve: (answer: HelperAnswer) => void; reject: (err: Error) => void }> = [];
  #buffered = '';

  constructor(path: string, logger?: Logger) {
    this.#path = path;
    this.#logger = logger;
  }

  /** mount(source, target, type, 0, data), relative paths in data resolved in `dir` ('' for none). */
  mount(dir: string, type: string, source: string, target: string, data: string): Promise<HelperAnswer | undefined> {
    return this.#ask(['mount', dir, type, source, target, data]);
  }

  /** umount2(target, 0), or with `isLazy` MNT_DETACH. */
  unmount(target: string, isLazy = false): Promise<HelperAnswer | undefined> {
    return this.#ask([isLazy ? 'detach' : 'umount', target]);
  }

  /** A new network namespace bind-mounted on the existing file `target`, its loopback up if asked. */
  makeNetns(target: string, isLoopbackUp: boolean): Promise<HelperAnswer | undefined> {
    return this.#ask(['netns', target, isLoopbackUp ? '1' : '0']);
  }

  /** End the helper (it exits at its stdin's end). */
  close(): void {
    this.#child?.stdin.end();
    this.#child = undefined;
  }

  async #ask(fields: string[]): Promise<HelperAnswer | undefined> {
    if (fields.some((field) => field.includes('\0'))) return { errno: 22, message: 'Invalid argument' };
    const child = this.#started();
    if (!child) return undefined;
    return new Promise<HelperAnswer>((resolve, reject) => {
      // While an answer is awaited the pipe must hold the event loop: at berthd's start, recovery's
      // unmounts may be all there is to wait for (an unref'd pipe would let Node exit mid-await).
      if (this.#pending.length === 0) this.#holdLoop(child, true);
      this.#pending.push({ resolve, reject });
      child.stdin.write(fields.map((field) => `${field}\0`).join(''));
    }).catch((err: unknown) => {
      // Never spawned (ENOENT and the like): use the fallback from now on.
      if (this.#isUnavailable) return undefined;
      throw err;
    });
  }

  #holdLoop(child: ChildProcessWithoutNullStreams, isHeld: boolean): void {
    const stdout = child.stdout as unknown as { ref?: () => void; unref?: () => void };
    if (isHeld) stdout.ref?.();
    else stdout.unref?.();
  }

  #started(): ChildProcessWithoutNullStreams | undefined {
    if (this.#isUnavailable) return undefined;
    if (this.#child) return this.#child;
    const child = spawn(this.#path, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    this.#buffered = '';
    // Idle, it must not keep berthd alive (see #holdLoop for while it works).
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr] as unknown as Array<{ unref?: () => void }>) stream.unref?.();
    child.stdin.on('error', () => {});
    child.stderr.on('data', (chunk: Buffer) => this.#logger?.warn('berth-mount', { message: chunk.toString('utf8').trim() }));
    child.stdout.on('data', (chunk: Buffer) => {
      this.#buffered += chunk.toString('utf8');
      let newline;
      while ((newline = this.#buffered.indexOf('\n')) >= 0) {
        const line = this.#buffered.slice(0, newline);
        this.#buffered = this.#buffered.slice(newline + 1);
        const space = line.indexOf(' ');
        const answer = space < 0 ? { errno: Number(line), message: '' } : { errno: Number(line.slice(0, space)), message: line.slice(space + 1) };
        this.#pending.shift()?.resolve(answer);
        if (this.#pending.length === 0) this.#holdLoop(child, false);
      }
    });
    const fail = (err: Error): void => {
      if (this.#child === child) this.#child = undefined;
      for (const waiting of this.#pending.splice(0)) waiting.reject(err);
    };
    child.once('error', (err) => {
      this.#isUnavailable = true;
      this.#logger?.info('berth-mount cannot run; mounting through mount(8)', { error: err.message });
      fail(err);
    });
    child.once('exit', (code, signal) => fail(new Error(`berth-mount exited (${signal ?? code})`)));
    return child;
  }
}
