/**
 * json-file's rotation over conmon's log file: when `ctr.log` reaches max-size it becomes
 * `ctr.log.1` (older ones shift up to max-file - 1, gzipped with compress, as dockerd names
 * them), and conmon is told through its ctl fifo to reopen a fresh `ctr.log`. conmon keeps
 * writing into the renamed file until it reopens, so no record is lost. Rotation runs in
 * berthd: while berthd is down the file grows, and the next berthd rotates it.
 */
import { watch, createReadStream, createWriteStream, type FSWatcher } from 'node:fs';
import { constants, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { errnoOf, messageOf, type Logger } from '../../common/index.js';

/** When to rotate and how many files to keep. */
export interface LogRotationPolicy {
  maxSizeBytes: number;
  /** The current file plus the rotated ones; at least 2 for rotation to keep anything. */
  maxFiles: number;
  compress: boolean;
}

/**
 * `path`'s rotated files and then `path`, oldest first (only those that exist). While `.N` is
 * compressed, `.N` and `.N.gz` briefly both exist with the same records: only `.N` is listed.
 */
export async function logFilesOf(path: string): Promise<string[]> {
  const prefix = `${basename(path)}.`;
  const entries = await readdir(dirname(path)).catch(() => [] as string[]);
  const plain = new Set(entries.filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length))));
  const rotated = entries
    .map((name) => ({ name, match: name.startsWith(prefix) ? /^(\d+)(\.gz)?$/.exec(name.slice(prefix.length)) : null }))
    .filter((entry): entry is { name: string; match: RegExpExecArray } => entry.match !== null)
    .filter((entry) => entry.match[2] === undefined || !plain.has(`${prefix}${entry.match[1]}`))
    .sort((a, b) => Number(b.match[1]) - Number(a.match[1]))
    .map((entry) => join(dirname(path), entry.name));
  return [...rotated, path];
}

/** Ask conmon to reopen its log file: its ctl fifo's `2 0 0` line. A gone conmon is not an error. */
export async function askConmonToReopenLog(ctlPath: string): Promise<void> {
  let handle;
  try {
    // O_NONBLOCK: a fifo whose reader (conmon) is gone must not hang us.
    handle = await open(ctlPath, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENXIO') return;
    throw err;
  }
  try {
    await handle.write('2 0 0\n');
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function gzipFile(path: string): Promise<void> {
  const temp = `${path}.gz.tmp`;
  await pipeline(createReadStream(path), createGzip(), createWriteStream(temp, { mode: 0o600 }));
  await rename(temp, `${path}.gz`);
  await rm(path, { force: true });
}

/**
 * Rotate `path` once as dockerd's json-file does: drop the oldest, shift the rest up, rename
 * the current file to `.1`, have conmon reopen (`reopen`), then gzip `.1` once conmon writes
 * the new file. Needs policy.maxFiles >= 2.
 */
export async function rotateLogFile(path: string, policy: LogRotationPolicy, reopen: () => Promise<void>): Promise<void> {
  const extension = policy.compress ? '.gz' : '';
  await rm(`${path}.${policy.maxFiles - 1}${extension}`, { force: true });
  for (let index = policy.maxFiles - 1; index > 1; index--) {
    await rename(`${path}.${index - 1}${extension}`, `${path}.${index}${extension}`).catch((err: unknown) => {
      if (errnoOf(err) !== 'ENOENT') throw err;
    });
  }
  await rename(path, `${path}.1`);
  await reopen();
  if (!policy.compress) return;
  // conmon reopens from its main loop: wait (briefly) until it writes the new file, so it has
  // let go of the old one before that is compressed.
  for (let waited = 0; waited < 2000 && !(await exists(path)); waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  await gzipFile(`${path}.1`);
}

interface Watched {
  path: string;
  policy: LogRotationPolicy;
  reopen: () => Promise<void>;
  watcher: FSWatcher | undefined;
  poll: NodeJS.Timeout;
  busy: boolean;
  again: boolean;
}

/** How often a watched log's size is checked when no change was signalled. */
const POLL_MS = 1000;

/**
 * Keeps the logs of running containers rotated: each is checked when it changes (inotify,
 * with a slow poll as a safety net) and rotated once it reaches its max-size.
 */
export class LogRotator {
  readonly #watched = new Map<string, Watched>();
  readonly #logger: Logger;
  readonly #pollMs: number;

  /** `pollMs`: the safety net's period (tests lengthen it to see the watch alone at work). */
  constructor(logger: Logger, pollMs = POLL_MS) {
    this.#logger = logger;
    this.#pollMs = pollMs;
  }

  /** Start keeping container `id`'s log at `path` rotated; replaces an earlier watch of `id`. */
  watch(id: string, path: string, policy: LogRotationPolicy, reopen: () => Promise<void>): void {
    this.unwatch(id);
    const entry: Watched = { path, policy, reopen, watcher: undefined, busy: false, again: false, poll: setInterval(() => void this.#check(entry), this.#pollMs) };
    entry.poll.unref();
    this.#watched.set(id, entry);
    this.#arm(entry);
    void this.#check(entry);
  }

  /** Stop watching `id` (its container exited or was deleted). */
  unwatch(id: string): void {
    const entry = this.#watched.get(id);
    if (!entry) return;
    this.#watched.delete(id);
    clearInterval(entry.poll);
    entry.watcher?.close();
  }

  /**
   * Watch the file's directory, not the file: a watch of the file would follow it to `.1` at a
   * rotation, and the new file conmon opens a moment later would go unwatched until the poll,
   * by which time a fast writer has put hundreds of megabytes into it.
   */
  #arm(entry: Watched): void {
    entry.watcher?.close();
    entry.watcher = undefined;
    const name = basename(entry.path);
    try {
      entry.watcher = watch(dirname(entry.path), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) void this.#check(entry);
      });
      entry.watcher.on('error', () => {});
    } catch {
      // No directory yet: the poll finds it.
    }
  }

  async #check(entry: Watched): Promise<void> {
    if (entry.busy) {
      entry.again = true;
      return;
    }
    entry.busy = true;
    try {
      do {
        entry.again = false;
        const size = await stat(entry.path).then((info) => info.size, () => 0);
        if (size < entry.policy.maxSizeBytes) {
          if (!entry.watcher) this.#arm(entry);
          continue;
        }
        await rotateLogFile(entry.path, entry.policy, entry.reopen);
        // What conmon wrote since the size was read went to the renamed file: look again.
        entry.again = true;
      } while (entry.again);
    } catch (err) {
      this.#logger.warn('log rotation failed', { path: entry.path, error: messageOf(err) });
    } finally {
      entry.busy = false;
    }
  }
}
