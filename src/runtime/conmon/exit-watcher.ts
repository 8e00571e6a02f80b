/**
 * ExitWatcher: reports container exits from conmon's exit directory, including exits that
 * happened while berthd was down (found by the scan at start).
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoOf, messageOf, type Logger } from '../../common/index.js';

const CONTAINER_ID = /^[0-9a-f]{64}$/;

/** Events: `exit` (id: string, exitCode: number), once per exit file, in no guaranteed order. */
export interface ExitWatcherEvents {
  exit: [id: string, exitCode: number];
  error: [error: Error];
}

/**
 * Watches `exitDir`. Contract: after `start()` resolves, every exit file present or written later
 * is reported once; `acknowledge(id)` deletes the file (the engine calls it once the exit is
 * recorded, so a restart does not report it again). Temp files (leading dot) are ignored.
 */
export class ExitWatcher extends EventEmitter<ExitWatcherEvents> {
  readonly #exitDir: string;
  readonly #logger: Logger;
  readonly #reported = new Set<string>();
  #watcher: FSWatcher | undefined;
  #pollTimer: NodeJS.Timeout | undefined;

  constructor(exitDir: string, logger: Logger) {
    super();
    this.#exitDir = exitDir;
    this.#logger = logger;
  }

  /** Start watching, then report every exit file already there. */
  async start(): Promise<void> {
    await mkdir(this.#exitDir, { recursive: true });
    this.#watcher = watch(this.#exitDir, (_event, name) => {
      if (name) void this.#check(name.toString());
    });
    this.#watcher.on('error', (err) => this.#logger.warn('exit dir watch failed', { error: messageOf(err) }));
    // A slow rescan covers events fs.watch coalesces or drops under load.
    this.#pollTimer = setInterval(() => void this.#scan(), 2000);
    this.#pollTimer.unref();
    await this.#scan();
  }

  /** Stop watching; no events after this resolves. */
  async stop(): Promise<void> {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    this.#pollTimer = undefined;
  }

  /** Remove `id`'s exit file and allow a later exit of the same id to be reported. */
  async acknowledge(id: string): Promise<void> {
    await rm(join(this.#exitDir, id), { force: true });
    this.#reported.delete(id);
  }

  async #scan(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#exitDir);
    } catch (err) {
      this.#logger.warn('exit dir scan failed', { error: messageOf(err) });
      return;
    }
    for (const id of [...this.#reported]) if (!names.includes(id)) this.#reported.delete(id);
    for (const name of names) await this.#check(name);
  }

  async #check(name: string): Promise<void> {
    // Exit files are named after container ids. conmon writes them with glib's
    // g_file_set_contents, through a temp file `<id>.XXXXXX` renamed into place: reporting
    // (and so acknowledging, which deletes) that temp file would make the rename fail and
    // lose the exit.
    if (!CONTAINER_ID.test(name) || this.#reported.has(name) || !this.#watcher) return;
    let code: number | undefined;
    try {
      code = await readExitFile(join(this.#exitDir, name));
    } catch (err) {
      this.#logger.warn('exit file unreadable', { id: name, error: messageOf(err) });
      return;
    }
    // An empty file is one conmon is still writing; its rename or next scan brings it back.
    if (code === undefined || this.#reported.has(name) || !this.#watcher) return;
    this.#reported.add(name);
    this.emit('exit', name, code);
  }
}

/** Parse a conmon exit file; undefined when it is missing or still empty. */
export async function readExitFile(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
  if (text === '') return undefined;
  const code = Number(text);
  return Number.isInteger(code) ? code : undefined;
}
