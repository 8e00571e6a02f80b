/**
 * Reading conmon's k8s-file logs (`<RFC3339Nano> <stdout|stderr> <P|F> <text>` per line) the way
 * `docker logs` needs them: filtered, tailed, partial records joined, optionally followed.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch } from 'node:fs';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { errnoOf } from '../../common/index.js';
import type { LogRecord, ReadLogsOptions } from '../types.js';
import { logFilesOf } from './log-rotation.js';

const gunzipAsync = promisify(gunzip);

/** Nanoseconds since the epoch of an RFC3339(Nano) timestamp; throws on malformed input. */
export function timestampToNs(timestamp: string): bigint {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  if (!match) throw new Error(`invalid timestamp ${timestamp}`);
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(seconds)) throw new Error(`invalid timestamp ${timestamp}`);
  const fraction = BigInt((match[2] ?? '').padEnd(9, '0'));
  return BigInt(seconds) * 1_000_000n + fraction;
}

interface RawRecord {
  stream: 'stdout' | 'stderr';
  timestamp: string;
  isPartial: boolean;
  data: Buffer;
}

function parseLine(line: Buffer): RawRecord | undefined {
  const first = line.indexOf(0x20);
  const second = first < 0 ? -1 : line.indexOf(0x20, first + 1);
  const third = second < 0 ? -1 : line.indexOf(0x20, second + 1);
  if (third < 0) {
    // "<ts> <stream> <F>" with empty content has no third space.
    if (second < 0) return undefined;
  }
  const timestamp = line.subarray(0, first).toString('latin1');
  const stream = line.subarray(first + 1, second).toString('latin1');
  const tag = line.subarray(second + 1, third < 0 ? line.length : third).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  if (tag !== 'P' && tag !== 'F' && !tag.startsWith('P') && !tag.startsWith('F')) return undefined;
  const data = third < 0 ? Buffer.alloc(0) : line.subarray(third + 1);
  return { stream, timestamp, isPartial: tag.startsWith('P'), data: Buffer.from(data) };
}

/** Incremental parser: feed bytes, take completed entries. */
class K8sFileParser {
  #rest: Buffer = Buffer.alloc(0);
  #pending = new Map<'stdout' | 'stderr', Buffer[]>();

  feed(chunk: Buffer): LogRecord[] {
    const buffer = this.#rest.length > 0 ? Buffer.concat([this.#rest, chunk]) : chunk;
    const records: LogRecord[] = [];
    let start = 0;
    for (let newline = buffer.indexOf(0x0a, start); newline >= 0; newline = buffer.indexOf(0x0a, start)) {
      const raw = parseLine(buffer.subarray(start, newline));
      start = newline + 1;
      if (!raw) continue;
      const parts = this.#pending.get(raw.stream) ?? [];
      parts.push(raw.data);
      if (raw.isPartial) {
        this.#pending.set(raw.stream, parts);
        continue;
      }
      this.#pending.delete(raw.stream);
      parts.push(Buffer.from('\n'));
      records.push({ stream: raw.stream, timestamp: raw.timestamp, data: Buffer.concat(parts) });
    }
    this.#rest = Buffer.from(buffer.subarray(start));
    return records;
  }

  /** Partial records never completed (the writer is done): returned without a newline. */
  flush(lastTimestamp: string): LogRecord[] {
    const records: LogRecord[] = [];
    for (const [stream, parts] of this.#pending) records.push({ stream, timestamp: lastTimestamp, data: Buffer.concat(parts) });
    this.#pending.clear();
    return records;
  }
}

function makeFilter(options: ReadLogsOptions): (record: LogRecord) => boolean {
  const wantsAll = options.stdout === undefined && options.stderr === undefined;
  const wantsStdout = wantsAll || options.stdout === true;
  const wantsStderr = wantsAll || options.stderr === true;
  return (record) => {
    if (record.stream === 'stdout' ? !wantsStdout : !wantsStderr) return false;
    if (options.sinceNs !== undefined || options.untilNs !== undefined) {
      let ns: bigint;
      try {
        ns = timestampToNs(record.timestamp);
      } catch {
        return false;
      }
      if (options.sinceNs !== undefined && ns < options.sinceNs) return false;
      if (options.untilNs !== undefined && ns > options.untilNs) return false;
    }
    return true;
  };
}

function waitForChange(path: string, pollMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    let watcher: ReturnType<typeof watch> | undefined;
    const done = (): void => {
      clearTimeout(timer);
      watcher?.close();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, pollMs);
    try {
      watcher = watch(path, done);
      watcher.on('error', done);
    } catch {
      // Polling alone is enough.
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** One file of a log snapshot: opened, so a rename or removal by a rotation cannot take it away. */
interface SnapshotFile {
  path: string;
  handle: FileHandle;
  inode: number;
}

/** The log's files, oldest first, each opened; `current` is `path` itself when it exists. */
interface LogSnapshot {
  rotated: SnapshotFile[];
  current: SnapshotFile | undefined;
}

async function closeAll(files: SnapshotFile[]): Promise<void> {
  await Promise.all(files.map((file) => file.handle.close().catch(() => {})));
}

/** The names and inodes of `path`'s files now, oldest first, or undefined when one vanished while looking. */
async function listInodes(path: string): Promise<{ path: string; inode: number }[] | undefined> {
  const listed: { path: string; inode: number }[] = [];
  for (const file of await logFilesOf(path)) {
    const info = await stat(file).catch((err: unknown) => (errnoOf(err) === 'ENOENT' ? undefined : Promise.reject(err)));
    if (info) listed.push({ path: file, inode: info.ino });
    else if (file !== path) return undefined;
  }
  return listed;
}

/** How many times a snapshot is retried while rotations keep moving the files under it. */
const SNAPSHOT_ATTEMPTS = 50;

/**
 * Open every file of the log at once, so that a rotation running meanwhile (renaming `.1` to
 * `.2`, gzipping `.1`, moving the current file to `.1`) cannot make a file vanish between
 * listing and reading: open file handles keep their content whatever is renamed. The set is
 * consistent when listing again finds the same names on the same inodes; otherwise it is taken
 * again. After many tries under constant rotation the last set is used as it is.
 */
async function openLogSnapshot(path: string): Promise<LogSnapshot> {
  let opened: SnapshotFile[] = [];
  for (let attempt = 1; ; attempt++) {
    await closeAll(opened);
    opened = [];
    const listed = await listInodes(path);
    if (!listed) continue;
    let isComplete = true;
    for (const file of listed) {
      try {
        const handle = await open(file.path, 'r');
        opened.push({ path: file.path, handle, inode: (await handle.stat()).ino });
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') {
          await closeAll(opened);
          throw err;
        }
        isComplete = false;
        break;
      }
    }
    const again = isComplete ? await listInodes(path) : undefined;
    const isStable =
      again !== undefined &&
      again.length === opened.length &&
      again.every((file, index) => file.path === opened[index]?.path && file.inode === opened[index]?.inode);
    if (isStable || (isComplete && attempt >= SNAPSHOT_ATTEMPTS)) {
      const last = opened.at(-1);
      // Between a rotation's rename and conmon's reopen there is no current file, and conmon
      // still appends to `.1`: that file is then read as the current one, and left for the new
      // file once it appears.
      const isStillWritten = last !== undefined && last.path !== path && !last.path.endsWith('.gz') && last.path === `${path}.1`;
      const current = last?.path === path || isStillWritten ? last : undefined;
      return { rotated: current ? opened.slice(0, -1) : opened, current };
    }
    if (attempt >= SNAPSHOT_ATTEMPTS * 2) {
      await closeAll(opened);
      return { rotated: [], current: undefined };
    }
  }
}

/** Nanoseconds of a timestamp, or undefined for an empty or malformed one. */
function nsOrUndefined(timestamp: string): bigint | undefined {
  try {
    return timestampToNs(timestamp);
  } catch {
    return undefined;
  }
}

/** The whole of a rotated log file, gunzipped when its name ends in .gz. */
async function readRotated(file: SnapshotFile): Promise<Buffer> {
  const data = await file.handle.readFile();
  return file.path.endsWith('.gz') ? await gunzipAsync(data) : data;
}

/**
 * Iterate the entries of the k8s-file log at `path`, its rotated files (`path.N[.gz]`, see
 * log-rotation.ts) first. A missing file reads as empty (and is waited for when following).
 * Without `follow` it ends at the end of the file; with it, it follows the file across
 * rotations and ends once `isDone()` is true and the file is drained, or when `signal` aborts.
 */
export async function* readLogs(path: string, options: ReadLogsOptions = {}): AsyncGenerator<LogRecord> {
  const keep = makeFilter(options);
  const parser = new K8sFileParser();
  const pollMs = options.pollMs ?? 250;
  let handle: FileHandle | undefined;
  let handleInode = -1;
  let position = 0;
  let lastTimestamp = '';
  const chunk = Buffer.alloc(64 * 1024);

  // Without follow, the read ends at the snapshot's current file: following it into the file a
  // rotation made since could skip a file between them (two rotations during one read).
  const readAvailable = async (followRotation = true): Promise<LogRecord[]> => {
    if (!handle) {
      try {
        handle = await open(path, 'r');
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') return [];
        throw err;
      }
      handleInode = (await handle.stat()).ino;
    }
    const records: LogRecord[] = [];
    const drain = async (from: FileHandle): Promise<void> => {
      for (;;) {
        const { bytesRead } = await from.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) return;
        position += bytesRead;
        for (const record of parser.feed(chunk.subarray(0, bytesRead))) {
          lastTimestamp = record.timestamp;
          records.push(record);
        }
      }
    };
    await drain(handle);
    // If the file was rotated (or truncated by conmon's size cap, which also makes a new file),
    // conmon already writes the new one: drain the old file once more, read the files rotated
    // since ours (two rotations between two reads leave one between them), then go on with the new.
    const current = await stat(path).catch(() => undefined);
    if (followRotation && current && current.ino !== handleInode) {
      await drain(handle);
      await handle.close();
      handle = undefined;
      position = 0;
      records.push(...(await readRotatedSince(handleInode)));
      records.push(...(await readAvailable()));
    }
    return records;
  };

  // The rotated files newer than the one with inode `ours`, as a fresh snapshot finds them. When
  // ours is gone from the list (gzipped under a new inode, or dropped by max-file), its place is
  // unknown: every rotated file is read and only records after the last one seen are kept.
  const readRotatedSince = async (ours: number): Promise<LogRecord[]> => {
    const snapshot = await openLogSnapshot(path);
    await snapshot.current?.handle.close();
    const index = snapshot.rotated.findIndex((file) => file.inode === ours);
    if (index < 0) return readRotatedFiles(snapshot.rotated, nsOrUndefined(lastTimestamp));
    await closeAll(snapshot.rotated.slice(0, index + 1));
    return readRotatedFiles(snapshot.rotated.slice(index + 1));
  };

  // Rotated files in order through the parser, each closed after; with `seenUntilNs`, records at or before it are dropped.
  const readRotatedFiles = async (files: SnapshotFile[], seenUntilNs?: bigint): Promise<LogRecord[]> => {
    const records: LogRecord[] = [];
    try {
      for (const file of files) {
        for (const record of parser.feed(await readRotated(file))) {
          if (seenUntilNs !== undefined && (nsOrUndefined(record.timestamp) ?? 0n) <= seenUntilNs) continue;
          lastTimestamp = record.timestamp;
          records.push(record);
        }
      }
    } finally {
      await closeAll(files);
    }
    return records;
  };

  // The rotated files and the current one are opened together (see openLogSnapshot): reading
  // the rotated ones first and opening the current file afterwards could miss the records a
  // rotation moved in between.
  const snapshot = await openLogSnapshot(path);
  if (snapshot.current) {
    handle = snapshot.current.handle;
    handleInode = snapshot.current.inode;
  }
  try {
    let initial = [...(await readRotatedFiles(snapshot.rotated)), ...(await readAvailable(options.follow === true))].filter(keep);
    if (options.tailLines !== undefined && options.tailLines >= 0) initial = options.tailLines === 0 ? [] : initial.slice(-options.tailLines);
    yield* initial;
    if (!options.follow) {
      yield* parser.flush(lastTimestamp).filter(keep);
      return;
    }
    for (;;) {
      if (options.signal?.aborted) return;
      // Read isDone before draining so output written just before the exit is not lost.
      const isDone = options.isDone?.() ?? false;
      for (const record of (await readAvailable()).filter(keep)) yield record;
      if (isDone) {
        yield* parser.flush(lastTimestamp).filter(keep);
        return;
      }
      await waitForChange(path, pollMs, options.signal);
    }
  } finally {
    await handle?.close();
  }
}
