/**
 * Exec sessions through conmon, as podman runs them: conmon in exec mode (`-e`) runs
 * `<runtime> exec --process <spec>` for a running container, holds the new process's stdio,
 * and reports its pid and then its exit status on the sync pipe. With `--exec-attach` conmon
 * waits, after making the attach socket, for a second start message, so the attach helper
 * connects before the command runs and no output is lost.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { constants, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { RuntimeProcess, RuntimeSpec } from '../../oci/index.js';
import { classifyRuntimeFailure, RuntimeError } from '../errors.js';
import { resolveUser } from '../spec/index.js';
import type { ExecProcess, ExecSettings } from '../types.js';
import { startAttachHelper } from './attach-helper.js';

/** Paths and binaries an exec needs. */
export interface ExecEnvironment {
  conmonPath: string;
  runtimePath: string;
  runtimeRoot: string;
  attachHelperPath: string;
  /** A directory for this session's files (process spec, attach socket, exit file). */
  sessionDir: string;
}

interface SyncMessage {
  data: number;
  message?: string;
}

/** Reads conmon's JSON messages from one pipe, in order. */
class MessageReader {
  #text = '';
  #queue: SyncMessage[] = [];
  #waiters: Array<{ resolve: (m: SyncMessage) => void; reject: (e: Error) => void }> = [];
  #ended: Error | undefined;

  constructor(stream: Readable, onEndMessage: () => Promise<string>) {
    stream.on('data', (chunk: Buffer) => {
      this.#text += chunk.toString('utf8');
      // conmon ends each message with a newline; a stream socket may split or join them.
      for (let newline = this.#text.indexOf('\n'); newline >= 0; newline = this.#text.indexOf('\n')) {
        const line = this.#text.slice(0, newline).trim();
        this.#text = this.#text.slice(newline + 1);
        if (line) this.#push(line);
      }
    });
    stream.on('error', () => {});
    stream.on('end', () => {
      void onEndMessage().then((detail) => {
        this.#ended = new RuntimeError(`conmon exited without reporting${detail ? `: ${detail}` : ''}`);
        for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#ended);
      });
    });
  }

  #push(line: string): void {
    let message: SyncMessage;
    try {
      message = JSON.parse(line) as SyncMessage;
    } catch {
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(message);
    else this.#queue.push(message);
  }

  next(): Promise<SyncMessage> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }
}

/** Build the exec's OCI process from the container's own, as docker does. */
export async function execProcess(settings: ExecSettings): Promise<RuntimeProcess> {
  const spec = JSON.parse(await readFile(join(settings.bundleDir, 'config.json'), 'utf8')) as RuntimeSpec;
  const base = spec.process;
  if (!base || !spec.root) throw new RuntimeError(`container ${settings.containerId} has no process in its bundle`);
  const rootfs = spec.root.path.startsWith('/') ? spec.root.path : join(settings.bundleDir, spec.root.path);
  const env = [...(base.env ?? [])];
  for (const entry of settings.env) {
    const key = entry.split('=')[0];
    const at = env.findIndex((e) => e.split('=')[0] === key);
    if (at >= 0) env[at] = entry;
    else env.push(entry);
  }
  const process: RuntimeProcess = { ...base, terminal: settings.isTty, args: settings.args, env, cwd: settings.cwd || base.cwd };
  if (settings.user !== '') {
    const user = await resolveUser(rootfs, settings.user);
    process.user = { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids };
  }
  if (settings.consoleSize) process.consoleSize = settings.consoleSize;
  else delete process.consoleSize;
  if (settings.privilegedCapabilities) {
    const caps = settings.privilegedCapabilities;
    process.capabilities = { bounding: caps, effective: caps, permitted: caps };
  }
  return process;
}

/**
 * Start an exec. Resolves once the process runs (its stdio already connected), or rejects
 * with the typed errors of a command that cannot be found or invoked; nothing is left then.
 */
export async function startExec(settings: ExecSettings, environment: ExecEnvironment): Promise<ExecProcess> {
  const dir = environment.sessionDir;
  await mkdir(join(dir, 'exits'), { recursive: true });
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  let helper: ChildProcessByStdio<Writable, Readable, Readable> | undefined;
  try {
    const process = await execProcess(settings);
    const specPath = join(dir, 'process.json');
    await writeFile(specPath, JSON.stringify(process));
    const args = [
      '--api-version', '1',
      '-c', settings.containerId,
      '-u', settings.execId,
      '-n', settings.execId,
      '-r', environment.runtimePath,
      '-b', dir,
      '-p', join(dir, 'pid'),
      // Its own exit dir: conmon names the file after the container id.
      '--exit-dir', join(dir, 'exits'),
      '--persist-dir', dir,
      '--full-attach',
      '-l', `k8s-file:${join(dir, 'exec.log')}`,
      '--log-level', 'error',
      '-e',
      '--exec-attach',
      '--exec-process-spec', specPath,
      '--runtime-arg', `--root=${environment.runtimeRoot}`,
    ];
    if (settings.isTty) args.push('-t');
    if (settings.isStdinOpen) args.push('-i');
    const stderrFile = await open(join(dir, 'conmon.stderr'), 'w');
    let conmon;
    try {
      conmon = spawn(environment.conmonPath, args, {
        detached: true,
        stdio: ['ignore', 'ignore', stderrFile.fd, 'pipe', 'pipe', 'pipe'],
        env: { ...globalThis.process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', _OCI_ATTACHPIPE: '5' },
      });
    } finally {
      await stderrFile.close();
    }
    conmon.unref();
    conmon.on('error', () => {});
    const conmonStderr = (): Promise<string> => readFile(join(dir, 'conmon.stderr'), 'utf8').then((t) => t.trim().split('\n').slice(-2).join('; '), () => '');
    const sync = new MessageReader(conmon.stdio[3] as Readable, conmonStderr);
    const attachReady = new MessageReader((conmon.stdio as unknown as Readable[])[5]!, conmonStderr);
    const startPipe = conmon.stdio[4] as Writable;
    startPipe.on('error', () => {});

    // First start message: conmon proceeds to make the attach socket, then says so.
    startPipe.write('0');
    const ready = await attachReady.next();
    if (ready.data < 0) throw new RuntimeError(ready.message ?? 'conmon could not set up the exec attach socket');
    helper = await startAttachHelper(environment.attachHelperPath, {
      socketPath: join(dir, 'attach'),
      isTty: settings.isTty,
      isStdin: settings.isStdinOpen,
      ...(settings.client ? { client: settings.client } : {}),
      ...(settings.isStdinFromClient ? { isStdinFromClient: true } : {}),
    });
    const attached = helper;
    // Second start message: now the runtime runs the command.
    startPipe.end('0');

    const started = await sync.next();
    if (started.data <= 0) {
      // berth-vm names itself on its messages; the user asked docker, not berth-vm.
      const message = (started.message ?? (await conmonStderr()) ?? '').replace(/^berth-vm: /, '');
      throw classifyRuntimeFailure(settings.args[0] ?? '', message || `exec failed with status ${started.data}`);
    }
    const exited = sync.next().then(
      (message) => message.data,
      async () => {
        // The sync pipe broke: fall back on the exit file.
        const text = await readFile(join(dir, 'exits', settings.containerId), 'utf8').catch(() => '');
        const code = Number(text.trim());
        return Number.isInteger(code) && text.trim() !== '' ? code : -1;
      },
    );
    let hasExited = false;
    const noteExit = (): void => void (hasExited = true);
    exited.then(noteExit, noteExit);
    return {
      pid: started.data,
      output: attached.stdout,
      input: settings.isStdinOpen ? attached.stdin : null,
      stopRelay() {
        if (attached.exitCode === null && attached.signalCode === null) attached.kill('SIGTERM');
      },
      kill() {
        // Only while it runs: its pid may be another process's once it has been reaped.
        if (hasExited) return;
        try {
          globalThis.process.kill(started.data, 'SIGKILL');
        } catch {
          // Gone already.
        }
      },
      exited,
      async resize(height: number, width: number) {
        // O_NONBLOCK: a fifo whose reader (conmon) is gone must not hang us.
        const handle = await open(join(dir, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
        if (!handle) return;
        try {
          await handle.write(`1 ${Math.floor(height)} ${Math.floor(width)}\n`);
        } finally {
          await handle.close();
        }
      },
      cleanup,
    };
  } catch (err) {
    if (helper && helper.exitCode === null) helper.kill('SIGKILL');
    await cleanup();
    throw err;
  }
}
