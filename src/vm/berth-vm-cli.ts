/**
 * berth-vm's commands that need Node, with crun's global flags: `berth-vm [--root D] [--log F]
 * [--log-format json|text] <command> ...`: create, exec, ps, pause, resume, update. The program
 * conmon runs is native/berth-vm.c, which answers start, state, kill and delete itself and
 * hands the rest here. `create` and `exec` plan and then hand the long-lived part to the C shim
 * (native/berth-vm-shim/). Errors go to stderr and, with --log, to the log file in the chosen
 * format; the exit status is 1.
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { messageOf } from '../common/index.js';
import type { RuntimeSpec } from '../oci/index.js';
import { buildDir } from './guest-assets.js';
import { releaseGuestNetwork } from './guest-network.js';
import { formatGuestProcesses, namesFromIdFile, parseGuestProcessList } from './guest-ps.js';
import { encodeProcessSpec } from './protocol.js';
import { removeVmCgroup, vmCgroupsPath } from './vm-cgroups.js';
import { setVmFrozen } from './vm-freezer.js';
import { guestProcessOf, writeVmPlan } from './vm-plan.js';
import { CONTROL_SOCKET, effectiveStatus, PAUSED_MARK, readVmRecord, vmStateDir, writeVmRecord } from './vm-state.js';

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

/** The C shim next to this installation's other native helpers. */
function shimPath(): string {
  return join(buildDir(), 'berth-vm-shim');
}

/**
 * Start the C shim (`run` or `exec` mode), which keeps our stdio and reports `ok` or
 * `error <message>` on fd 3; resolves once it is ready, or throws its error.
 */
async function startShim(args: string[], what: string): Promise<number> {
  const helper = spawn(shimPath(), args, { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
  const readyPipe = helper.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  const reply = await new Promise<string>((resolveReply) => {
    let text = '';
    const timer = setTimeout(() => resolveReply(`error ${what} did not start within ${CREATE_TIMEOUT_MS / 1000} s`), CREATE_TIMEOUT_MS);
    helper.once('error', (err) => resolveReply(`error cannot run ${shimPath()}: ${messageOf(err)}`));
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
  // `ok`, or `ok <pid>` from a helper that left its first process (exec: see native/berth-vm-shim/main.c).
  const ready = /^ok(?: (\d+))?$/.exec(reply);
  if (!ready) {
    try {
      helper.kill('SIGKILL');
    } catch {
      // Gone.
    }
    throw new UsageFailure(reply.replace(/^error /, ''));
  }
  helper.unref();
  return ready[1] !== undefined ? Number(ready[1]) : helper.pid!;
}

async function exec(root: string, parsed: Parsed): Promise<void> {
  const id = parsed.positional[1];
  const processFile = parsed.flags.get('process') ?? parsed.flags.get('p');
  if (!id || !processFile) throw new UsageFailure('exec: --process <file> and a container id are required');
  const record = await readVmRecord(root, id);
  if (!record) throw new UsageFailure(`container ${id} does not exist`);
  if (effectiveStatus(record) !== 'running') throw new UsageFailure(`container ${id} is not running`);
  const proc = JSON.parse(await readFile(processFile, 'utf8')) as NonNullable<RuntimeSpec['process']>;
  const consoleSocket = parsed.flags.get('console-socket');
  if (proc.terminal && !consoleSocket) throw new UsageFailure('a terminal was requested but no --console-socket was given');
  const spec = encodeProcessSpec(guestProcessOf(proc)).toString('base64');
  const size = proc.consoleSize ?? { height: 0, width: 0 };
  const ttyArgs = proc.terminal && consoleSocket ? [consoleSocket, String(size.height), String(size.width)] : [];
  const pid = await startShim(['exec', vmStateDir(root, id), spec, ...ttyArgs], 'the exec');
  const pidFile = parsed.flags.get('pid-file');
  if (pidFile) await writeFile(pidFile, String(pid));
}

/**
 * `berth-vm ps <id> [-- <ps options>]`: the guest's processes as `ps` prints them
 * (for docker top), user names from the container's /etc/passwd and /etc/group.
 */
async function ps(root: string, id: string, psArgs: string[]): Promise<void> {
  const record = await readVmRecord(root, id);
  if (!record) throw new UsageFailure(`container ${id} does not exist`);
  if (effectiveStatus(record) !== 'running') throw new UsageFailure(`container ${id} is not running`);
  const reply = await askShim(root, id, 'ps', 10_000);
  if (!reply.startsWith('ok')) throw new UsageFailure(reply.replace(/^error \d+ /, '') || 'berth-vm shim gave no answer');
  let rootfs = join(record.bundle, 'rootfs');
  try {
    const spec = JSON.parse(await readFile(join(record.bundle, 'config.json'), 'utf8')) as RuntimeSpec;
    if (spec.root?.path) rootfs = resolve(record.bundle, spec.root.path);
  } catch {
    // The default root, then.
  }
  const names = async (file: string): Promise<Map<number, string>> => namesFromIdFile(await readFile(join(rootfs, file), 'utf8').catch(() => ''));
  const list = parseGuestProcessList(reply.slice(reply.indexOf('\n') + 1));
  process.stdout.write(formatGuestProcesses(list, psArgs, { nowMs: Date.now(), userNames: await names('etc/passwd'), groupNames: await names('etc/group') }));
}

async function create(root: string, parsed: Parsed): Promise<void> {
  const id = parsed.positional[1];
  if (!id) throw new UsageFailure('create: container id required');
  const bundle = parsed.flags.get('bundle') ?? parsed.flags.get('b') ?? process.cwd();
  const dir = vmStateDir(root, id);
  if (await readVmRecord(root, id)) throw new UsageFailure(`container ${id} already exists`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let shimPid: number;
  try {
    await writeVmRecord(root, { id, bundle, pid: 0, status: 'creating', created: new Date().toISOString() });
    const plan = await writeVmPlan(dir, id, bundle, parsed.flags.get('console-socket'));
    await writeVmRecord(root, { id, bundle, pid: 0, status: 'creating', created: new Date().toISOString(), accel: plan.accel });
    // The shim keeps our stdio (conmon's pipes) and is reparented to conmon, its subreaper.
    shimPid = await startShim(['run', dir], 'the VM');
  } catch (err) {
    // Nothing half-made stays: the taps, the state directory and the cgroups the plan made.
    await releaseGuestNetwork(dir);
    await rm(dir, { recursive: true, force: true });
    await removeVmCgroup(vmCgroupsPath(await bundleCgroupsPath(bundle), id));
    throw err instanceof UsageFailure ? err : new UsageFailure(messageOf(err));
  }
  const pidFile = parsed.flags.get('pid-file');
  if (pidFile) await writeFile(pidFile, String(shimPid));
}

async function pauseOrResume(root: string, id: string, isPause: boolean): Promise<void> {
  const record = await readVmRecord(root, id);
  if (!record) throw new UsageFailure(`container ${id} does not exist`);
  if (effectiveStatus(record) !== 'running') throw new UsageFailure(`container ${id} is not running`);
  const mark = join(vmStateDir(root, id), PAUSED_MARK);
  // The mark follows the freezer: made once frozen, removed once thawed.
  await setVmFrozen(vmCgroupsPath(await bundleCgroupsPath(record.bundle), id), isPause);
  if (isPause) await writeFile(mark, '');
  else await rm(mark, { force: true });
}

/** The spec's cgroupsPath; undefined when the bundle is gone (the default path is all we can clean). */
async function bundleCgroupsPath(bundle: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as RuntimeSpec).linux?.cgroupsPath;
  } catch {
    return undefined;
  }
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
      case 'exec':
        await exec(root, parsed);
        return 0;
      case 'ps':
        await ps(root, id ?? '', parsed.positional.slice(2));
        return 0;
      case 'pause':
      case 'resume':
        await pauseOrResume(root, id ?? '', command === 'pause');
        return 0;
      case 'update':
        // The VM's memory and vCPUs are fixed when it boots (microvm has no hot-plug or balloon).
        throw new UsageFailure('the memory and cpus of a running VM container cannot change: stop it, update it, start it again');
      default:
        throw new UsageFailure(`unknown command ${command ?? '(none)'}: use create, exec, ps, pause, resume or update here (start, state, kill and delete are native/berth-vm.c's)`);
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
