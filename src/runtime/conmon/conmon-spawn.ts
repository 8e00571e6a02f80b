/**
 * Starting conmon for a container's create: its arguments, then the process in its own session,
 * with socketpairs as its sync (fd 3) and start (fd 4) pipes, through berthd's spawn helper when
 * there is one (a fork of berthd blocks its event loop ~15 ms), else from Node; then waiting for
 * its report.
 */
import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../../common/index.js';
import type { MountHelper } from '../../sys/index.js';
import { RuntimeError } from '../errors.js';
import type { CreateOptions, LogFileOptions } from '../runtime.js';
import type { ContainerRuntimeSettings } from '../types.js';

/** conmon's report on the sync pipe. */
export interface SyncMessage {
  data: number;
  message?: string;
}

/** Which conmon, through what, and how long to wait for its report. */
export interface ConmonSpawnOptions {
  conmonPath: string;
  spawnHelper?: MountHelper;
  timeoutMs: number;
}

/** errno(3) ETIMEDOUT on Linux: the helper's answer when conmon did not report in time. */
const ETIMEDOUT = 110;

function lastLines(text: string): string {
  return text.trim().split('\n').filter((line) => line.trim() !== '').slice(-3).join('; ');
}

/**
 * Spawn conmon in its own session with socketpairs as sync (fd 3) and start (fd 4) pipes,
 * release it with one byte on the start pipe, and wait for its JSON report on the sync pipe;
 * through the spawn helper when there is one (it keeps no end), else from Node, closing all
 * our ends before returning so conmon holds nothing of ours.
 */
export async function spawnConmon(args: string[], persist: string, options: ConmonSpawnOptions): Promise<SyncMessage> {
  const env = { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' };
  const { timeoutMs } = options;
  const stderrPath = join(persist, 'conmon.stderr');
  const definedEnv = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const answer = await options.spawnHelper?.spawnReporting({ argv: [options.conmonPath, ...args], env: definedEnv, cwd: persist, stderrPath, timeoutMs });
  if (answer !== undefined) {
    if (answer.errno === ETIMEDOUT) throw new RuntimeError(`conmon did not report within ${timeoutMs} ms`);
    if (answer.errno !== 0) throw new RuntimeError(`cannot run conmon: ${answer.message}`);
    const parsed = (() => {
      try {
        return JSON.parse(answer.message) as SyncMessage;
      } catch {
        return undefined;
      }
    })();
    if (parsed !== undefined && typeof parsed.data === 'number') return parsed;
    const stderr = await readFile(stderrPath, 'utf8').catch(() => '');
    throw new RuntimeError(`conmon exited without reporting: ${lastLines(stderr) || 'no message'}`);
  }
  return spawnConmonFromNode(options.conmonPath, args, persist, env, timeoutMs);
}

/** spawnConmon without the helper: the same, through child_process. */
async function spawnConmonFromNode(conmonPath: string, args: string[], persist: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<SyncMessage> {
  const stderrFile = await open(join(persist, 'conmon.stderr'), 'w');
  let child;
  try {
    child = spawn(conmonPath, args, {
      detached: true,
      stdio: ['ignore', 'ignore', stderrFile.fd, 'pipe', 'pipe'],
      env,
      // conmon writes its `oom` file into its working directory as well as the persist dir.
      cwd: persist,
    });
  } finally {
    await stderrFile.close();
  }
  const syncPipe = child.stdio[3] as unknown as NodeJS.ReadableStream & { destroy(): void };
  const startPipe = child.stdio[4] as unknown as NodeJS.WritableStream & { destroy(): void };
  child.unref();
  try {
    return await new Promise<SyncMessage>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new RuntimeError(`conmon did not report within ${timeoutMs} ms`)), timeoutMs);
      const finish = (result: SyncMessage | Error): void => {
        clearTimeout(timer);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      child.once('error', (err) => finish(new RuntimeError(`cannot run conmon: ${messageOf(err)}`, { cause: err })));
      syncPipe.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        // conmon writes one JSON object per report; a stream socket may split or join them.
        for (const line of text.split('\n')) {
          try {
            const parsed = JSON.parse(line) as SyncMessage;
            if (typeof parsed.data === 'number') return finish(parsed);
          } catch {
            // Not complete yet.
          }
        }
      });
      syncPipe.on('error', () => {});
      syncPipe.on('end', () => {
        void readFile(join(persist, 'conmon.stderr'), 'utf8')
          .catch(() => '')
          .then((stderr) => finish(new RuntimeError(`conmon exited without reporting: ${lastLines(stderr) || 'no message'}`)));
      });
      startPipe.on('error', () => {});
      startPipe.write('0');
    });
  } finally {
    syncPipe.destroy();
    startPipe.destroy();
  }
}

/** What conmon is started with for one container's create. */
export interface ConmonCreate {
  id: string;
  bundleDir: string;
  /** conmon's per-container directory (its stderr, exit and oom files). */
  persistDir: string;
  settings: Pick<ContainerRuntimeSettings, 'isTty' | 'isStdinOpen' | 'isStdinOnce'>;
  create: CreateOptions;
  runtimePath: string;
  runtimeRoot: string;
  exitDir: string;
}

/** conmon's arguments for a create: the runtime, the bundle, the exit and log files, stdio. */
export function conmonCreateArgs(c: ConmonCreate): string[] {
  const args = [
    '--api-version', '1',
    '-c', c.id,
    '-u', c.id,
    '-n', c.id,
    '-r', c.runtimePath,
    '-b', c.bundleDir,
    '-p', join(c.bundleDir, 'pidfile'),
    '--exit-dir', c.exitDir,
    '--persist-dir', c.persistDir,
    '--full-attach',
    ...logArgs(c.create.logPath, c.create.log),
    '--log-level', 'error',
    '--conmon-pidfile', c.create.conmonPidFile,
    '--runtime-arg', `--root=${c.runtimeRoot}`,
    // The runtime's own errors go to a file conmon relays on the sync pipe.
    '--runtime-arg', '--log-format=json',
    '--runtime-arg', `--log=${join(c.bundleDir, 'oci-log')}`,
  ];
  const { isTty, isStdinOpen, isStdinOnce } = c.settings;
  if (isTty) args.push('-t');
  if (isStdinOpen) args.push('-i');
  // conmon closes the container's stdin when any attach client goes away. docker closes it only
  // for StdinOnce without a tty (`docker run -i`); with a tty a detach must leave the shell usable
  // for the next attach, and `docker run -di` keeps stdin open for every later `docker attach`.
  if (isStdinOpen && (isTty || isStdinOnce === false)) args.push('--leave-stdin-open');
  return args;
}

/**
 * conmon's log arguments: no log at all, or its k8s-file. With one file and a size cap
 * (json-file's max-file=1) conmon's own cap does what dockerd does, starting the file over;
 * with more files berthd rotates (LogRotator) and conmon has no cap.
 */
function logArgs(logPath: string, log: LogFileOptions | undefined): string[] {
  if (log?.isDisabled) return ['-l', 'none:'];
  const args = ['-l', `k8s-file:${logPath}`];
  if (log && log.maxSizeBytes > 0 && log.maxFiles < 2) args.push('--log-size-max', String(log.maxSizeBytes));
  return args;
}
