/**
 * Integration test harness: a private berthd (its own root, exec root and socket under a
 * temp dir), the real docker CLI and the berth CLI pointed at it, and a cleanup that
 * removes every container, mount and file the test made.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { get, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, type CommandResult } from '../../src/sys/index.js';

/** The repository's top directory (this file runs from dist/test/integration). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The docker CLI the tests drive: the first `docker` on PATH (Debian's is /usr/bin/docker), else /usr/local/bin/docker. */
export const DOCKER = findOnPath('docker') ?? '/usr/local/bin/docker';
export const hasDocker = existsSync(DOCKER);
/** The reason given when no docker CLI was found. */
export const NO_DOCKER = 'no docker CLI on PATH (scripts/test-deps installs one)';

/** The first executable `name` in PATH's directories, if any. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not here: the next directory.
    }
  }
  return undefined;
}

/**
 * Why a test cannot run here, as a `skip` value: false when it can. Under CI=true a test may
 * not pass by skipping (STYLE.md, Tests): it throws instead, so the test (or its whole file)
 * fails with the reason.
 */
export function cannotRun(reason: string | false | null | undefined): string | false {
  if (!reason) return false;
  if (process.env['CI'] === 'true') throw new Error(`cannot run: ${reason} (under CI=true a test may not skip; scripts/test-deps installs what the tests need)`);
  return reason;
}

export interface TestDaemon {
  dir: string;
  root: string;
  execRoot: string;
  socket: string;
  /** The daemon's CRI (gRPC) socket, given with --cri-socket. */
  criSocket: string;
  env: NodeJS.ProcessEnv;
  /** Run the real docker CLI against this daemon. */
  docker(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** Run Berth's own CLI against this daemon. */
  berth(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** A raw API call: status and body text. */
  api(method: string, path: string, body?: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }>;
  /** SIGKILL the daemon (containers stay up under conmon). */
  kill9(): Promise<void>;
  /** Start the daemon again on the same state (one still running is stopped first); `daemonEnv` replaces the environment it was started with for this run. */
  restart(options?: { daemonEnv?: NodeJS.ProcessEnv }): Promise<void>;
  /** Resolves once the daemon process started last has exited (killed, or crashed at a crash point). */
  exited(): Promise<void>;
  /** The PID of the daemon process started last. */
  pid(): number;
  /** Remove every container, stop the daemon, unmount and delete everything under dir. */
  cleanup(): Promise<void>;
}

function spawnDaemon(root: string, execRoot: string, socket: string, logPath: string, daemonEnv: NodeJS.ProcessEnv, daemonArgs: readonly string[] = []): ChildProcess {
  const criSocket = join(dirname(socket), 'cri.sock');
  const args = [join(REPO, 'dist/src/bin/berthd.js'), '--root', root, '--exec-root', execRoot, '--host', `unix://${socket}`, '--cri-socket', criSocket, '--log-level', 'debug', '--no-default-registry', ...daemonArgs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: false, env: { ...process.env, ...daemonEnv } });
  child.stderr?.on('data', (chunk: Buffer) => {
    void import('node:fs').then((fs) => fs.appendFileSync(logPath, chunk));
  });
  return child;
}

async function waitForPing(socket: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const req = request({ socketPath: socket, path: '/_ping', method: 'GET' }, (res) => {
        res.resume();
        done(res.statusCode === 200);
      });
      req.on('error', () => done(false));
      req.end();
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`berthd did not answer on ${socket}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Start a private berthd for one test file. options.daemonEnv adds to its environment (which conmon hands on to the
 * runtimes: berth-vm's BERTH_VM_* knobs, for instance).
 */
export async function startTestDaemon(options: { daemonEnv?: NodeJS.ProcessEnv; rootSizeBytes?: number; daemonArgs?: string[] } = {}): Promise<TestDaemon> {
  const daemonEnv = options.daemonEnv ?? {};
  const dir = await mkdtemp(join(tmpdir(), 'berth-it-'));
  const root = join(dir, 'root');
  const execRoot = join(dir, 'run');
  const socket = join(dir, 'berth.sock');
  const logPath = join(dir, 'berthd.log');
  if (options.rootSizeBytes !== undefined) {
    // A small filesystem of its own under the root, to fill (cleanup unmounts what is below dir).
    await mkdir(root, { recursive: true });
    const mounted = await runCommand('mount', ['-t', 'tmpfs', '-o', `size=${options.rootSizeBytes}`, 'berth-test-root', root]);
    if (mounted.exitCode !== 0) throw new Error(`mounting a small root: ${mounted.stderr}`);
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: `unix://${socket}`,
    BERTH_HOST: `unix://${socket}`,
    DOCKER_CONFIG: join(dir, 'docker-config'),
    DOCKER_CLI_HINTS: 'false',
  };
  const daemonArgs = options.daemonArgs ?? [];
  let child = spawnDaemon(root, execRoot, socket, logPath, daemonEnv, daemonArgs);
  try {
    await waitForPing(socket, 20_000);
  } catch (err) {
    child.kill('SIGKILL');
    const log = await readFile(logPath, 'utf8').catch(() => '');
    throw new Error(`${(err as Error).message}\n${log.slice(-3000)}`);
  }

  const daemon: TestDaemon = {
    dir,
    root,
    execRoot,
    socket,
    criSocket: join(dir, 'cri.sock'),
    env,
    docker: (args, options = {}) => runCommand(DOCKER, args, { env, timeoutMs: options.timeoutMs ?? 60_000, ...(options.input !== undefined ? { input: options.input } : {}) }),
    berth: (args, options = {}) =>
      runCommand(process.execPath, [join(REPO, 'dist/src/bin/berth.js'), ...args], { env, timeoutMs: options.timeoutMs ?? 60_000, ...(options.input !== undefined ? { input: options.input } : {}) }),
    api: (method, path, body) =>
      new Promise((done, fail) => {
        const req = request({ socketPath: socket, path, method, headers: body !== undefined ? { 'Content-Type': 'application/json' } : {} }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        });
        req.on('error', fail);
        req.end(body);
      }),
    async kill9() {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await exited;
    },
    async restart(restartOptions = {}) {
      // A daemon still running is stopped first: two daemons on one root would fight over it.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await exited;
      }
      child = spawnDaemon(root, execRoot, socket, logPath, restartOptions.daemonEnv ?? daemonEnv, daemonArgs);
      await waitForPing(socket, 20_000);
    },
    pid() {
      return child.pid ?? 0;
    },
    exited() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise<void>((r) => child.once('exit', () => r()));
    },
    async cleanup() {
      if (child.exitCode !== null || child.signalCode !== null) {
        // A test that ended with the daemon killed leaves its containers running and its bridge up:
        // a daemon started again picks them up, so that the removal below reaches them.
        child = spawnDaemon(root, execRoot, socket, logPath, daemonEnv, daemonArgs);
        await waitForPing(socket, 20_000).catch(() => child.kill('SIGKILL'));
      }
      if (child.exitCode === null && child.signalCode === null) {
        const ids = (await daemon.api('GET', '/containers/json?all=1').catch(() => ({ body: '[]' }))).body;
        for (const container of JSON.parse(ids || '[]') as Array<{ Id: string }>) {
          await daemon.api('DELETE', `/containers/${container.Id}?force=1`).catch(() => {});
        }
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await exited;
      }
      // A CRI pod's process-namespace holder (src/cri/pid-handle.ts) outlives berthd as the pod
      // does: those of pods a failed test left are ended by their pid.
      const holders = (await runCommand('ps', ['-eo', 'pid=,args='])).stdout.split('\n').filter((line) => line.includes(`--pid=${dir}/`));
      for (const line of holders) {
        try {
          process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      // Anything still mounted below our dir (a test that failed half-way) goes too.
      const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '');
      for (const mountPoint of mounts.filter((m) => m.startsWith(dir)).reverse()) {
        await runCommand('umount', ['-l', mountPoint]);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return daemon;
}

/** Count this machine's processes whose command is exactly `name` with an argument containing `marker`. */
export async function countProcesses(name: string, marker: string): Promise<number> {
  const result = await runCommand('ps', ['-eo', 'comm=,args=']);
  return result.stdout.split('\n').filter((line) => line.startsWith(name) && line.includes(marker)).length;
}

/** Mount points below `dir`. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dir));
}

/**
 * Poll check until it gives something other than undefined or false, and return that; fails the
 * test after limitMs (bounded: a hang fails, it is not timed). For conditions that come about
 * on their own (a log line, a process gone, a restart).
 */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, limitMs = 60_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`never happened within ${limitMs / 1000} s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The body of a plain HTTP GET of `url` (a published port, say), as text. */
export function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    }).on('error', reject);
  });
}
