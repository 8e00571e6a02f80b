/**
 * MountHelper: the client of native/berth-mount, one long-lived process that makes mount(2)
 * and umount2(2) calls (and network namespace handles) for berthd, so the rootfs mount of every
 * start and its unmount at every exit, and a bridge container's namespace, cost no process start
 * (10-25 ms each on slow hosts); and that starts the programs berthd would otherwise fork itself
 * for (conmon, CNI plugins), whose fork copies berthd's page tables in its event loop.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Logger } from '../common/index.js';

/** What native/berth-mount takes in one spawn request (program, arguments and environment entries each). */
const MAX_SPAWN_ITEMS = 256;

/** How long past its own timeout a spawn's answer may take before it is given up. */
const SPAWN_ANSWER_GRACE_MS = 5000;

/** errno(3) ETIMEDOUT on Linux. */
const ETIMEDOUT = 110;

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
  readonly #spawns = new Map<string, { resolve: (answer: HelperAnswer) => void; reject: (err: Error) => void }>();
  #lastSpawnId = 0;
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

  /**
   * Start `argv[0]` the way conmon wants it (own session, stdin/stdout on /dev/null, stderr into
   * `stderrPath`, socketpairs as fd 3 and 4 with one byte sent on fd 4) with exactly `env`, and
   * resolve with the first line it writes on fd 3: errno 0 and that line, errno 0 and '' when fd 3
   * closed without one, or the errno of what failed (ETIMEDOUT after `timeoutMs`). Other
   * requests are answered meanwhile.
   */
  spawnReporting(options: { argv: readonly string[]; env: Record<string, string>; cwd: string; stderrPath: string; timeoutMs: number }): Promise<HelperAnswer | undefined> {
    const id = String(++this.#lastSpawnId);
    const env = Object.entries(options.env).map(([key, value]) => `${key}=${value}`);
    const fields = ['spawn', id, options.cwd, options.stderrPath, String(options.timeoutMs), String(options.argv.length), ...options.argv, String(env.length), ...env];
    if (options.argv.length === 0 || options.argv.length > MAX_SPAWN_ITEMS || env.length > MAX_SPAWN_ITEMS) return Promise.resolve({ errno: 7, message: 'Argument list too long' });
    return this.#answerOf(id, fields, options.timeoutMs);
  }

  /** Send a spawn or run request and wait for its out-of-order answer. */
  #answerOf(id: string, fields: string[], timeoutMs: number): Promise<HelperAnswer | undefined> {
    // The helper answers ETIMEDOUT itself after timeoutMs; this covers a waiter that died unanswered.
    let timer: NodeJS.Timeout | undefined;
    const lastResort = new Promise<HelperAnswer>((resolve) => {
      timer = setTimeout(() => {
        if (!this.#spawns.delete(id)) return;
        if (this.#child && this.#waiting() === 0) this.#holdLoop(this.#child, false);
        resolve({ errno: ETIMEDOUT, message: 'no answer from berth-mount' });
      }, timeoutMs + SPAWN_ANSWER_GRACE_MS);
    });
    return Promise.race([this.#ask(fields, id), lastResort]).finally(() => clearTimeout(timer));
  }

  /**
   * Run `argv[0]` to its end with exactly `env`, stdin from the file `stdinPath`, stdout and
   * stderr into the files `stdoutPath` and `stderrPath` (a CNI plugin, without a fork of berthd):
   * errno 0 with the exit status as the message (128+N for signal N), or the errno of what
   * failed (ETIMEDOUT once `timeoutMs` passed and the program was killed). Once this returns the
   * request is on its way: the program runs even if berthd dies now.
   */
  run(options: { argv: readonly string[]; env: Record<string, string>; stdinPath: string; stdoutPath: string; stderrPath: string; timeoutMs: number }): Promise<HelperAnswer | undefined> {
    const env = Object.entries(options.env).map(([key, value]) => `${key}=${value}`);
    if (options.argv.length === 0 || options.argv.length > MAX_SPAWN_ITEMS || env.length > MAX_SPAWN_ITEMS) return Promise.resolve({ errno: 7, message: 'Argument list too long' });
    const id = String(++this.#lastSpawnId);
    const fields = ['run', id, options.stdinPath, options.stdoutPath, options.stderrPath, String(options.timeoutMs), String(options.argv.length), ...options.argv, String(env.length), ...env];
    return this.#answerOf(id, fields, options.timeoutMs);
  }

  /** End the helper (it exits at its stdin's end). */
  close(): void {
    this.#child?.stdin.end();
    this.#child = undefined;
  }

  /** Send a request; `spawnId` names a spawn, whose answer comes out of order. */
  async #ask(fields: string[], spawnId?: string): Promise<HelperAnswer | undefined> {
    if (fields.some((field) => field.includes('\0'))) return { errno: 22, message: 'Invalid argument' };
    const child = this.#started();
    if (!child) return undefined;
    return new Promise<HelperAnswer>((resolve, reject) => {
      // While an answer is awaited the pipe must hold the event loop: at berthd's start, recovery's
      // unmounts may be all there is to wait for (an unref'd pipe would let Node exit mid-await).
      if (this.#waiting() === 0) this.#holdLoop(child, true);
      if (spawnId === undefined) this.#pending.push({ resolve, reject });
      else this.#spawns.set(spawnId, { resolve, reject });
      child.stdin.write(fields.map((field) => `${field}\0`).join(''));
    }).catch((err: unknown) => {
      // Never spawned (ENOENT and the like): use the fallback from now on.
      if (this.#isUnavailable) return undefined;
      throw err;
    });
  }

  #waiting(): number {
    return this.#pending.length + this.#spawns.size;
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
        if (line.startsWith('@')) {
          // "@ID ERRNO TEXT": a spawn's answer.
          const [, id = '', errno = '', text = ''] = /^@(\S*) (\S*) ?(.*)$/.exec(line) ?? [];
          const waiting = this.#spawns.get(id);
          this.#spawns.delete(id);
          waiting?.resolve({ errno: Number(errno), message: text });
        } else {
          const space = line.indexOf(' ');
          const answer = space < 0 ? { errno: Number(line), message: '' } : { errno: Number(line.slice(0, space)), message: line.slice(space + 1) };
          this.#pending.shift()?.resolve(answer);
        }
        if (this.#waiting() === 0) this.#holdLoop(child, false);
      }
    });
    const fail = (err: Error): void => {
      if (this.#child === child) this.#child = undefined;
      for (const waiting of this.#pending.splice(0)) waiting.reject(err);
      for (const waiting of this.#spawns.values()) waiting.reject(err);
      this.#spawns.clear();
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
