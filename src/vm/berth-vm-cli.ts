/**
 * berth-vm's command line: the OCI runtime commands conmon (and podman) use, with crun's
 * global flags: `berth-vm [--root D] [--log F] [--log-format json|text] <command> ...`.
 * Commands: create, start, state, kill, delete, plus `shim` (internal: the per-container
 * process `create` starts). Errors go to stderr and, with --log, to the log file in the chosen
 * format; the exit status is 1.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { messageOf } from '../common/index.js';
import type { RuntimeSpec } from '../oci/index.js';
import { runExecShim } from './exec-shim.js';
import { describeGuestFailure } from './guest-failure.js';
import { CONSOLE_LOG, CONTROL_SOCKET, runShim } from './shim.js';
import { removeVmCgroup, vmCgroupsPath } from './vm-cgroups.js';
import { effectiveStatus, isShimAlive, readVmRecord, vmStateDir, writeVmRecord } from './vm-state.js';

/** Global flags that take a value (crun's and runc's). */
const VALUE_FLAGS = new Set(['root', 'log', 'log-format', 'bundle', 'b', 'pid-file', 'console-socket', 'process', 'p', 'preserve-fds', 'cwd', 'signal']);
const DEFAULT_ROOT = '/run/berth-vm';
const CREATE_TIMEOUT_MS = 60_000;

class UsageFailure extends Error {}

interface Parsed {
  flags: Map<string, string>;
  positional: string[];
}

/** Split argv into `--flag[=value]` options and positional words (options may come anywhere). */
function parseArgs(argv: readonly string[]): Parsed {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    const match = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/s.exec(arg);
    if (!match) {
      positional.push(arg);
      continue;
    }
    const name = match[1]!;
    if (match[2] !== undefined) flags.set(name, match[2]);
    else if (VALUE_FLAGS.has(name) && i + 1 < argv.length) flags.set(name, argv[++i]!);
    else flags.set(name, 'true');
  }
  return { flags, positional };
}

function signalNumber(value: string | undefined): number {
  if (value === undefined || value === '') return osConstants.signals.SIGTERM;
  if (/^\d+$/.test(value)) return Number(value);
  const name = `SIG${value.toUpperCase().replace(/^SIG/, '')}` as keyof typeof osConstants.signals;
  const number = osConstants.signals[name];
  if (number === undefined) throw new UsageFailure(`unknown signal ${value}`);
  return number;
}

/** One request line to the shim's control socket; resolves with its one reply line. */
function askShim(root: string, id: string, request: string, timeoutMs = CREATE_TIMEOUT_MS): Promise<string> {
  return new Promise((resolveReply, reject) => {
    // sun_path is about 108 bytes: connect relative to the state directory.
    const previous = process.cwd();
    process.chdir(vmStateDir(root, id));
    const socket = connect(CONTROL_SOCKET);
    process.chdir(previous);
    let text = '';
    const timer = setTimeout(() => socket.destroy(new Error(`berth-vm shim did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    socket.on('connect', () => socket.write(`${request}\n`));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolveReply(text.trim());
    });
  });
}

/**
 * Start a helper (`shim` or `exec-shim`) that keeps our stdio and reports `ok` or
 * `error <message>` on fd 3; resolves with it once ready, or throws the error.
 */
async function startHelper(args: string[], what: string): Promise<ReturnType<typeof spawn>> {
  const helper = spawn(process.execPath, [process.argv[1]!, ...args], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
  const readyPipe = helper.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  const reply = await new Promise<string>((resolveReply) => {
    let text = '';
    const timer = setTimeout(() => resolveReply(`error ${what} did not start within ${CREATE_TIMEOUT_MS / 1000} s`), CREATE_TIMEOUT_MS);
    readyPipe.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    readyPipe.on('end', () => {
      clearTimeout(timer);
      resolveReply(text.trim() || `error ${what} exited before it was ready`);
    });
    readyPipe.on('error', () => {});
  });
  readyPipe.destroy();
  if (reply !== 'ok') {
    try {
      helper.kill('SIGKILL');
    } catch {
      // Gone.
    }
    throw new UsageFailure(reply.replace(/^error /, ''));
  }
  helper.unref();
  return helper;
}

async function exec(root: string, parsed: Parsed): Promise<void> {
  const id = parsed.positional[1];
  const processFile = parsed.flags.get('process') ?? parsed.flags.get('p');
  if (!id || !processFile) throw new UsageFailure('exec: --process <file> and a container id are required');
  if (parsed.flags.has('console-socket')) throw new UsageFailure('a terminal (-t) is not supported by berth-vm yet');
  const record = await readVmRecord(root, id);
  if (!record) throw new UsageFailure(`container ${id} does not exist`);
  if (effectiveStatus(record) !== 'running') throw new UsageFailure(`container ${id} is not running`);
  const helper = await startHelper([`--root=${root}`, 'exec-shim', id, processFile], 'the exec');
  const pidFile = parsed.flags.get('pid-file');
  if (pidFile) await writeFile(pidFile, String(helper.pid));
}

async function create(root: string, parsed: Parsed): Promise<void> {
  const id = parsed.positional[1];
  if (!id) throw new UsageFailure('create: container id required');
  const bundle = parsed.flags.get('bundle') ?? parsed.flags.get('b') ?? process.cwd();
  if (parsed.flags.has('console-socket')) throw new UsageFailure('a terminal (-t) is not supported by berth-vm yet');
  const dir = vmStateDir(root, id);
  if (await readVmRecord(root, id)) throw new UsageFailure(`container ${id} already exists`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeVmRecord(root, { id, bundle, pid: 0, status: 'creating', created: new Date().toISOString() });
  const script = process.argv[1]!;
  // The shim keeps our stdio (conmon's pipes) and is reparented to conmon, its subreaper.
  const shim = spawn(process.execPath, [script, `--root=${root}`, 'shim', id], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
  const readyPipe = shim.stdio[3] as NodeJS.ReadableStream;
  const reply = await new Promise<string>((resolveReply) => {
    let text = '';
    const timer = setTimeout(() => resolveReply(`error the VM did not boot within ${CREATE_TIMEOUT_MS / 1000} s`), CREATE_TIMEOUT_MS);
    readyPipe.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    readyPipe.on('end', () => {
      clearTimeout(timer);
      resolveReply(text.trim() || 'error berth-vm shim exited during boot');
    });
    readyPipe.on('error', () => {});
  });
  if (reply !== 'ok') {
    try {
      shim.kill('SIGKILL');
    } catch {
      // Gone.
    }
    await rm(dir, { recursive: true, force: true });
    throw new UsageFailure(reply.replace(/^error /, ''));
  }
  const pidFile = parsed.flags.get('pid-file');
  if (pidFile) await writeFile(pidFile, String(shim.pid));
  shim.unref();
  (readyPipe as unknown as { destroy(): void }).destroy();
}

async function start(root: string, id: string): Promise<void> {
  const record = await readVmRecord(root, id);
  if (!record) throw new UsageFailure(`container ${id} does not exist`);
  if (effectiveStatus(record) !== 'created') throw new UsageFailure(`container ${id} is not in the created state`);
  const reply = await askShim(root, id, 'start');
  if (reply !== 'ok') throw new UsageFailure(reply.replace(/^error \d+ /, '') || 'berth-vm shim gave no answer');
}

async function state(root: string, id: string): Promise<void> {
  const record = await readVmRecord(root, id);
  if (!record) throw new UsageFailure(`container ${id} does not exist`);
  const status = effectiveStatus(record);
  const output = {
    ociVersion: '1.0.2',
    id,
    pid: status === 'stopped' ? 0 : record.pid,
    status,
    bundle: record.bundle,
    created: record.created,
    annotations: { 'io.berth.vm.accel': record.accel ?? '', ...(record.error ? { 'io.berth.vm.error': await guestFailure(root, id, record.error) } : {}) },
  };
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
}

/** The shim's error, with the guest's panic line from the console log when there is one. */
async function guestFailure(root: string, id: string, shimError: string): Promise<string> {
  const consoleText = await readFile(join(vmStateDir(root, id), CONSOLE_LOG), 'utf8').catch(() => '');
  return describeGuestFailure(shimError, consoleText);
}

async function kill(root: string, id: string, signalArg: string | undefined): Promise<void> {
  const record = await readVmRecord(root, id);
  if (!record) throw new UsageFailure(`container ${id} does not exist`);
  const signal = signalNumber(signalArg);
  if (signal === osConstants.signals.SIGKILL && record.status === 'stopped' && isShimAlive(record.pid, id)) {
    // The VM has ended but the shim lingers: SIGKILL is the way out.
    process.kill(record.pid, 'SIGKILL');
    return;
  }
  if (effectiveStatus(record) === 'stopped') throw new UsageFailure(`container ${id} is not running`);
  try {
    const reply = await askShim(root, id, `kill ${signal}`, 10_000);
    if (reply === 'ok') return;
  } catch {
    // The shim does not answer: fall through to killing it for SIGKILL.
  }
  if (signal === osConstants.signals.SIGKILL && isShimAlive(record.pid, id)) {
    process.kill(record.pid, 'SIGKILL');
    return;
  }
  throw new UsageFailure(`kill ${id}: the berth-vm shim does not answer`);
}

function killQemu(dir: string): void {
  try {
    const pid = Number(readFileSync(join(dir, 'qemu.pid'), 'utf8').trim());
    if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('qemu')) process.kill(pid, 'SIGKILL');
  } catch {
    // No QEMU left.
  }
}

async function remove(root: string, id: string, isForced: boolean): Promise<void> {
  const record = await readVmRecord(root, id);
  const dir = vmStateDir(root, id);
  if (!record) {
    // A half-made directory with no state.json is ours to clear; anything else does not exist.
    const exists = await readFile(join(dir, 'shim.log')).then(() => true, () => false);
    if (exists) await rm(dir, { recursive: true, force: true });
    throw new UsageFailure(`container ${id} does not exist`);
  }
  if (effectiveStatus(record) !== 'stopped') {
    if (!isForced && effectiveStatus(record) === 'running') throw new UsageFailure(`cannot delete running container ${id}: use --force`);
    if (isShimAlive(record.pid, id)) process.kill(record.pid, 'SIGKILL');
  }
  // QEMU dies with the shim (pdeathsig); make sure, in case it was reparented first.
  killQemu(dir);
  let cgroupsPath: string | undefined;
  try {
    cgroupsPath = (JSON.parse(await readFile(join(record.bundle, 'config.json'), 'utf8')) as RuntimeSpec).linux?.cgroupsPath;
  } catch {
    // The bundle is gone: the default path is all we can clean.
  }
  await removeVmCgroup(vmCgroupsPath(cgroupsPath, id));
  await rm(dir, { recursive: true, force: true });
}

/** Run berth-vm with the given arguments (without node and the script); resolves with the exit status. */
export async function runBerthVm(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(argv);
  const root = parsed.flags.get('root') ?? DEFAULT_ROOT;
  const logPath = parsed.flags.get('log');
  const logFormat = parsed.flags.get('log-format') ?? 'text';
  const [command, id] = parsed.positional;
  try {
    if (parsed.flags.has('version') || command === '--version') {
      process.stdout.write('berth-vm version 0.1.0\nspec: 1.0.2\n');
      return 0;
    }
    switch (command) {
      case 'create':
        await create(root, parsed);
        return 0;
      case 'start':
        await start(root, id ?? '');
        return 0;
      case 'state':
        await state(root, id ?? '');
        return 0;
      case 'kill':
        await kill(root, id ?? '', parsed.positional[2] ?? parsed.flags.get('signal'));
        return 0;
      case 'delete':
        await remove(root, id ?? '', parsed.flags.has('force') || parsed.flags.has('f'));
        return 0;
      case 'shim':
        await runShim(root, id ?? '');
        return 0;
      case 'exec':
        await exec(root, parsed);
        return 0;
      case 'exec-shim':
        await runExecShim(root, id ?? '', parsed.positional[2] ?? '');
        return 0;
      case 'pause':
      case 'resume':
      case 'update':
        throw new UsageFailure(`${command} is not supported by berth-vm yet`);
      default:
        throw new UsageFailure(`unknown command ${command ?? '(none)'}: use create, start, state, kill or delete`);
    }
  } catch (err) {
    const message = messageOf(err);
    process.stderr.write(`berth-vm: ${message}\n`);
    if (logPath) {
      const line = logFormat === 'json' ? JSON.stringify({ level: 'error', msg: message, time: new Date().toISOString() }) : `${new Date().toISOString()} error: ${message}`;
      try {
        appendFileSync(logPath, `${line}\n`);
      } catch {
        // The log is best effort.
      }
    }
    return 1;
  }
}
