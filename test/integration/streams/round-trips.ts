/**
 * md5 round trips through a real CLI (docker's or berth's) against a test daemon: stdin from a
 * file, stdin from a pipe, and the container's stdout, through `run -i`, `start -ai`, `attach`
 * and `exec -i`, with and without `--rm`. Shared by the process and VM stream tests.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { runCommand } from '../../../src/sys/index.js';
import { DOCKER, REPO, type TestDaemon } from '../harness.js';

export type Cli = 'docker' | 'berth';
export type Path = 'run' | 'start' | 'attach' | 'exec';
/** stdin-file: `< file` into md5sum; stdin-pipe: `cat file |` into md5sum; stdout: cat's output through md5sum here. */
export type Direction = 'stdin-file' | 'stdin-pipe' | 'stdout';
export const DIRECTIONS: readonly Direction[] = ['stdin-file', 'stdin-pipe', 'stdout'];

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** A file of random bytes (with the detach keys' bytes 0x10 0x11 at the front) and its md5. */
export interface Payload {
  path: string;
  sizeBytes: number;
  md5: string;
}

export async function makePayload(dir: string, sizeBytes: number): Promise<Payload> {
  const path = join(dir, `payload-${sizeBytes}`);
  const hash = createHash('md5');
  const out = createWriteStream(path);
  let left = sizeBytes;
  let first = true;
  while (left > 0) {
    const chunk = randomBytes(Math.min(left, MiB));
    // Ctrl-P Ctrl-Q in the data: without a tty they are data, never a detach.
    if (first && chunk.length >= 2) chunk.set([0x10, 0x11], 0);
    first = false;
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
    left -= chunk.length;
  }
  out.end();
  await once(out, 'finish');
  return { path, sizeBytes, md5: hash.digest('hex') };
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** One round trip's description, for assertion messages. */
export interface RoundTrip {
  cli: Cli;
  path: Path;
  direction: Direction;
  remove: boolean;
  payload: Payload;
}

/**
 * Runs round trips against one daemon. `runFlags` go on every `run`/`create` (`--isolation=vm`).
 * `worker` names a running container for `exec` (made by the caller).
 */
export class RoundTripper {
  readonly #daemon: TestDaemon;
  readonly #runFlags: readonly string[];
  readonly #worker: string;
  readonly #timeoutMs: number;
  #serial = 0;

  constructor(daemon: TestDaemon, options: { runFlags?: readonly string[]; worker: string; timeoutMs?: number }) {
    this.#daemon = daemon;
    this.#runFlags = options.runFlags ?? [];
    this.#worker = options.worker;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
  }

  #cli(cli: Cli): string {
    return cli === 'docker' ? quote(DOCKER) : `${quote(process.execPath)} ${quote(join(REPO, 'dist/src/bin/berth.js'))}`;
  }

  async #sh(script: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return runCommand('bash', ['-o', 'pipefail', '-c', script], { env: this.#daemon.env, timeoutMs: this.#timeoutMs });
  }

  /** Run one round trip and assert the md5 that comes back is the payload's. */
  async check(trip: RoundTrip): Promise<void> {
    const { cli, path, direction, remove, payload } = trip;
    const c = this.#cli(cli);
    const name = `rt-${process.pid}-${++this.#serial}`;
    const flags = [...this.#runFlags.map(quote), ...(remove ? ['--rm'] : [])].join(' ');
    const reads = direction === 'stdout' ? 'cat' : 'md5sum';
    // What the container runs for attach: it must end on its own after the payload (stdin stays
    // open across attaches for `run -di`), so it reads exactly the payload's size.
    const attachCommand = direction === 'stdout' ? `head -c ${payload.sizeBytes}` : `head -c ${payload.sizeBytes} | md5sum`;
    let setup = '';
    let session: string;
    switch (path) {
      case 'run':
        session = `${c} run -i ${flags} --name ${name} busybox ${reads}`;
        break;
      case 'start':
        setup = `${c} create -i ${flags} --name ${name} busybox ${reads} >/dev/null`;
        session = `${c} start -ai ${name}`;
        break;
      case 'attach':
        setup = `${c} run -di ${flags} --name ${name} busybox sh -c ${quote(attachCommand)} >/dev/null`;
        session = `${c} attach ${name}`;
        break;
      case 'exec':
        session = `${c} exec -i ${this.#worker} ${reads}`;
        break;
    }
    const file = quote(payload.path);
    const script =
      direction === 'stdin-file' ? `${session} < ${file}` : direction === 'stdin-pipe' ? `cat ${file} | ${session}` : `${session} < ${file} | md5sum`;
    const label = `${cli} ${path}${remove ? ' --rm' : ''} ${direction} ${payload.sizeBytes} B`;
    if (setup) {
      const made = await this.#sh(setup);
      assert.equal(made.exitCode, 0, `${label}: setup: ${made.stderr}`);
    }
    try {
      const result = await this.#sh(script);
      assert.equal(result.exitCode, 0, `${label}: exit ${result.exitCode}: ${result.stderr}`);
      assert.equal(result.stdout.split(/\s/)[0], payload.md5, `${label}: md5 of what came back (stderr: ${result.stderr.trim()})`);
    } finally {
      if (path !== 'exec' && !remove) await this.#sh(`${c} rm -f ${name} >/dev/null 2>&1 || true`);
    }
  }
}

/**
 * The plan for one CLI and path: every direction once for the small sizes, and `repeats` runs
 * of each size where the bug showed, rotating through the directions and alternating --rm.
 */
export function plan(cli: Cli, path: Path, payloads: { small: Payload[]; large: Payload[] }, repeats: number): RoundTrip[] {
  const trips: RoundTrip[] = [];
  for (const payload of payloads.small) {
    // attach needs a container that waits for its input: 0 bytes leaves nothing to wait for.
    if (path === 'attach' && payload.sizeBytes === 0) continue;
    for (const direction of DIRECTIONS) trips.push({ cli, path, direction, remove: path !== 'exec' && trips.length % 2 === 0, payload });
  }
  for (const payload of payloads.large) {
    for (let run = 0; run < repeats; run++) {
      trips.push({ cli, path, direction: DIRECTIONS[run % DIRECTIONS.length]!, remove: path !== 'exec' && run % 2 === 0, payload });
    }
  }
  return trips;
}
