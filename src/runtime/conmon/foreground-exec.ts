/**
 * A short exec its caller waits for, with no stdin and no tty (a healthcheck's probe): the OCI
 * runtime's `exec` run in the foreground, without conmon or the attach helper. One process
 * instead of three (conmon, the helper, and the runtime conmon starts); what it gives up is
 * outliving berthd, which a probe does not need (after a restart the next loop probes again).
 * crun and runc both run `exec` in the foreground, write the pid file only once the process
 * exists, and exit with its status; a process that never started leaves no pid file.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { frame, STREAM_STDERR, STREAM_STDOUT } from '../../common/index.js';
import { classifyRuntimeFailure } from '../errors.js';
import type { ExecProcess, ExecSettings } from '../types.js';
import { execProcess } from './conmon-exec.js';

/** How long a kill waits for the runtime to name the process it started. */
const KILL_WAIT_MS = 2000;

export interface ForegroundExecEnvironment {
  runtimePath: string;
  runtimeRoot: string;
  /** A directory for this exec's process spec and pid file, removed by cleanup(). */
  sessionDir: string;
}

/**
 * Start `settings` in the foreground. Its output comes framed as the attach helper frames it;
 * `exited` settles once the runtime has exited and the output is drained, and rejects with the
 * runtime's typed failure when the process never started (a command not found, say).
 */
export async function startForegroundExec(settings: ExecSettings, environment: ForegroundExecEnvironment): Promise<ExecProcess> {
  const dir = environment.sessionDir;
  await mkdir(dir, { recursive: true });
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const specPath = join(dir, 'process.json');
  const pidPath = join(dir, 'pid');
  try {
    await writeFile(specPath, JSON.stringify(await execProcess(settings)));
  } catch (err) {
    await cleanup();
    throw err;
  }
  const child = spawn(environment.runtimePath, [`--root=${environment.runtimeRoot}`, 'exec', '--pid-file', pidPath, '--process', specPath, settings.containerId], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = new PassThrough();
  const stderrText: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.write(frame(STREAM_STDOUT, chunk)));
  child.stderr.on('data', (chunk: Buffer) => {
    stderrText.push(chunk);
    output.write(frame(STREAM_STDERR, chunk));
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (err) => {
      output.end();
      reject(err);
    });
    child.on('close', (code, signal) => {
      output.end();
      void readFile(pidPath, 'utf8').then(
        () => resolve(code ?? (signal ? 128 : -1)),
        () => reject(classifyRuntimeFailure(settings.args[0] ?? '', Buffer.concat(stderrText).toString('utf8').trim() || `exec failed with status ${code ?? signal}`)),
      );
    });
  });
  exited.catch(() => {});
  const containerPid = (): number => {
    try {
      return Number(readFileSync(pidPath, 'utf8').trim()) || 0;
    } catch {
      return 0;
    }
  };
  return {
    pid: child.pid ?? 0,
    output,
    input: null,
    exited,
    stopRelay() {
      output.destroy();
    },
    kill() {
      // The command itself: the runtime then exits with its status. The pid file comes a moment
      // after the process (runc writes it once the process runs), so wait for it briefly; only a
      // runtime that never wrote one is killed itself.
      const deadline = Date.now() + KILL_WAIT_MS;
      const attempt = (): void => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const pid = containerPid();
        if (pid === 0 && Date.now() < deadline) {
          setTimeout(attempt, 10);
          return;
        }
        try {
          process.kill(pid > 0 ? pid : (child.pid ?? 0), 'SIGKILL');
        } catch {
          // Gone already.
        }
      };
      attempt();
    },
    async resize() {
      // No tty: nothing to resize.
    },
    cleanup,
  };
}
