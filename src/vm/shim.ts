/**
 * The shim: the one long-lived host process of a VM container besides QEMU. `berth-vm create`
 * starts it; its pid is the container's pid, so conmon waits for it and records its exit code,
 * which is the container's. It boots QEMU (which dies with it: PR_SET_PDEATHSIG through
 * setpriv), speaks the agent's channel, relays its own stdio (conmon's pipes) to the container's
 * process, and answers `berth-vm start/kill` on a control socket in the state directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { messageOf } from '../common/index.js';
import type { RuntimeSpec } from '../oci/index.js';
import { chooseAccel, findGuestAssets, hostTscKhz } from './guest-assets.js';
import { encodeData, encodeFrame, encodeProcessSpec, FrameDecoder, FrameType, u32Payload, resizePayload, type Frame } from './protocol.js';
import { MAX_GUEST_SHARES, mountField, planGuestMounts } from './guest-mounts.js';
import { prepareGuestNetwork, releaseGuestNetwork } from './guest-network.js';
import { qemuArgs } from './qemu-command.js';
import { readyReporter, writeAllSync } from './sync-io.js';
import { joinVmCgroup, vmCgroupsPath } from './vm-cgroups.js';
import { readVmRecord, vmStateDir, writeVmRecord, type VmRecord } from './vm-state.js';

/** Names inside the state directory; sockets are reached relative to it (sun_path is short). */
export const AGENT_SOCKET = 'agent.sock';
export const CONTROL_SOCKET = 'ctl.sock';
export const CONSOLE_LOG = 'console.log';

const MIN_MEMORY_MIB = 64;
const DEFAULT_MEMORY_MIB = 128;
const POWER_OFF_GRACE_MS = 3000;

/** The host end of one exec session: a control connection switched to frames. */
interface ExecSession {
  socket: Socket;
  isStarted: boolean;
  errorMessage: string;
  decoder: FrameDecoder;
}

function bootTimeoutMs(accel: string): number {
  return accel === 'kvm' ? 10_000 : 40_000;
}

/** The last few meaningful console lines: what a panicking guest said. */
function consoleTail(dir: string): string {
  let text = '';
  try {
    text = readFileSync(resolve(dir, CONSOLE_LOG), 'utf8');
  } catch {
    return '';
  }
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(-3).join('; ');
}

/** VM size from the spec's limits: --memory (plus room for the guest kernel) and --cpus. */
function vmSize(spec: RuntimeSpec): { memoryMiB: number; cpus: number } {
  const limit = spec.linux?.resources?.memory?.limit;
  const memoryMiB = limit && limit > 0 ? Math.max(MIN_MEMORY_MIB, Math.ceil(limit / 1048576) + 32) : DEFAULT_MEMORY_MIB;
  const cpu = spec.linux?.resources?.cpu;
  const cpus = cpu?.quota && cpu.quota > 0 && cpu.period ? Math.max(1, Math.min(8, Math.ceil(cpu.quota / cpu.period))) : 1;
  return { memoryMiB, cpus };
}

function listen(server: Server, path: string): Promise<void> {
  rmSync(path, { force: true });
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolveListen());
  });
}

/** Run the shim for a created container; never returns (exits with the container's code). */
export async function runShim(root: string, id: string): Promise<never> {
  const dir = vmStateDir(root, id);
  process.chdir(dir);
  const log = (message: string): void => {
    try {
      appendFileSync('shim.log', `${new Date().toISOString()} ${message}\n`);
    } catch {
      // Nowhere to log.
    }
  };
  const reportToCreate = readyReporter(3);

  let record = (await readVmRecord(root, id)) as VmRecord;
  let qemu: ChildProcess | undefined;
  let agent: Socket | undefined;
  const agentServer = createServer();
  const controlServer = createServer();
  let isFinishing = false;
  // Control connections still being answered: exiting before their reply is written would
  // turn a successful `berth-vm start` of a quick process into a failure.
  const openControls = new Set<Socket>();
  const controlsClosed = (): Promise<void> =>
    new Promise((resolveClosed) => {
      const deadline = Date.now() + 2000;
      const poll = (): void => {
        if (openControls.size === 0 || Date.now() > deadline) resolveClosed();
        else setTimeout(poll, 10);
      };
      poll();
    });

  const cleanupAndExit = (code: number, error?: string): never => {
    try {
      qemu?.kill('SIGKILL');
    } catch {
      // Gone already.
    }
    rmSync(AGENT_SOCKET, { force: true });
    rmSync(CONTROL_SOCKET, { force: true });
    record = { ...record, status: 'stopped', exitCode: code, ...(error ? { error } : {}) };
    // Whatever happens to the last writes, the shim must end: conmon reports the exit only then.
    setTimeout(() => process.exit(code), 4000);
    // [guest-network] the taps and tc redirects go with the VM.
    void releaseGuestNetwork(dir).then(() => writeVmRecord(root, record)).catch(() => {}).then(controlsClosed).finally(() => process.exit(code));
    // process.exit above ends us; this keeps the type checker's never.
    return undefined as never;
  };

  let guestStartFields: string[] = [];
  const send = (frame: Buffer): void => {
    agent?.write(frame);
  };

  try {
    const spec = JSON.parse(readFileSync(resolve(record.bundle, 'config.json'), 'utf8')) as RuntimeSpec;
    if (!spec.process) throw new Error('config.json has no process');
    if (spec.process.terminal) throw new Error('a terminal (-t) is not supported by berth-vm yet');
    const assets = await findGuestAssets();
    const tscKhz = await hostTscKhz();
    const accel = await chooseAccel(assets, tscKhz);
    record = { ...record, accel };
    const rootfsPath = resolve(record.bundle, spec.root?.path ?? 'rootfs');
    // [guest-network] a tap beside each of the netns's interfaces; each takes a virtio-mmio slot.
    const network = await prepareGuestNetwork(spec, dir);
    const mountPlan = planGuestMounts(spec.mounts ?? [], MAX_GUEST_SHARES - (network?.deviceCount ?? 0));
    guestStartFields = [...mountPlan.mounts.map(mountField), ...(network?.startFields ?? [])];
    // Before QEMU starts, so it is born in the container's cgroup.
    await joinVmCgroup(vmCgroupsPath(spec.linux?.cgroupsPath, id), process.pid);
    await listen(agentServer, AGENT_SOCKET);
    await listen(controlServer, CONTROL_SOCKET);
    const args = qemuArgs({
      ...assets, accel, tscKhz, ...vmSize(spec),
      agentSocketPath: AGENT_SOCKET,
      consoleLogPath: CONSOLE_LOG,
      rootfsPath,
      pidFilePath: 'qemu.pid',
      shares: mountPlan.shares,
    }).concat(network?.qemuArgs ?? []); // [guest-network]
    const qemuLog = openSync('qemu.log', 'w');
    // [guest-network] QEMU opens the taps inside the container's network namespace.
    const launcher = [...(network ? ['/usr/bin/nsenter', `--net=${network.netnsPath}`, '--'] : []), '/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', assets.qemuPath, ...args];
    qemu = spawn(launcher[0]!, launcher.slice(1), { cwd: dir, stdio: ['ignore', 'ignore', qemuLog] });
    closeSync(qemuLog);
    const bootStart = performance.now();
    const booted = new Promise<Socket>((resolveBoot, reject) => {
      const timer = setTimeout(() => reject(new Error(`the guest agent did not answer within ${bootTimeoutMs(accel) / 1000} s (${accel})`)), bootTimeoutMs(accel));
      qemu!.once('error', (err) => reject(new Error(`cannot run QEMU: ${messageOf(err)}`)));
      qemu!.once('exit', () => {
        const qemuErr = (() => {
          try {
            return readFileSync('qemu.log', 'utf8').trim().split('\n').slice(-2).join('; ');
          } catch {
            return '';
          }
        })();
        reject(new Error(`QEMU exited during boot: ${qemuErr || consoleTail(dir) || 'no message'}`));
      });
      agentServer.once('connection', (socket) => {
        const decoder = new FrameDecoder();
        const onData = (chunk: Buffer): void => {
          for (const frame of decoder.push(chunk)) {
            if (frame.type === FrameType.ready) {
              socket.off('data', onData);
              clearTimeout(timer);
              resolveBoot(socket);
            }
          }
        };
        socket.on('data', onData);
      });
    });
    agent = await booted;
    qemu.removeAllListeners('exit');
    log(`booted with ${accel} in ${Math.round(performance.now() - bootStart)} ms`);
  } catch (err) {
    log(`boot failed: ${messageOf(err)}`);
    reportToCreate(`error ${messageOf(err)}`);
    cleanupAndExit(1, messageOf(err));
  }

  // ---- running: frames from the agent, requests on the control socket ----
  const pendingStart: ((reply: string) => void)[] = [];
  const sessions = new Map<number, ExecSession>();
  let nextSessionId = 1;
  // [guest-ps] `ps` requests waiting for their PS_LIST, by session id.
  const pendingPs = new Map<number, (listing: Buffer) => void>();
  /** A frame of an exec session: answer its request line first, then pass frames through. */
  const routeExecFrame = (frame: Frame): void => {
    const session = sessions.get(frame.sessionId);
    if (!session) return;
    if (!session.isStarted) {
      if (frame.type === FrameType.started) {
        session.isStarted = true;
        session.socket.write('ok\n');
      } else if (frame.type === FrameType.error) {
        session.errorMessage = frame.payload.toString('utf8');
      } else if (frame.type === FrameType.exit) {
        sessions.delete(frame.sessionId);
        session.socket.end(`error ${frame.payload.readUInt32BE(0)} ${session.errorMessage || 'exec failed'}\n`);
      }
      return;
    }
    session.socket.write(encodeFrame(frame.type, 0, frame.payload));
    if (frame.type === FrameType.exit) {
      sessions.delete(frame.sessionId);
      session.socket.end();
    }
  };
  let isStarted = false;
  let errorMessage = '';

  const finish = (code: number, error?: string): void => {
    if (isFinishing) return;
    isFinishing = true;
    send(encodeFrame(FrameType.powerOff, 0));
    const timer = setTimeout(() => cleanupAndExit(code, error), POWER_OFF_GRACE_MS);
    qemu!.once('exit', () => {
      clearTimeout(timer);
      cleanupAndExit(code, error);
    });
  };

  const decoder = new FrameDecoder();
  agent!.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      log(`bad frame from the agent: ${messageOf(err)}`);
      finish(255, `the guest agent broke the protocol: ${messageOf(err)}`);
      return;
    }
    for (const frame of frames) {
      if (frame.type === FrameType.psList) { // [guest-ps]
        pendingPs.get(frame.sessionId)?.(frame.payload);
        pendingPs.delete(frame.sessionId);
        continue;
      }
      if (frame.sessionId !== 0) {
        routeExecFrame(frame);
        continue;
      }
      switch (frame.type) {
        case FrameType.stdout:
          writeAllSync(1, frame.payload);
          break;
        case FrameType.stderr:
          writeAllSync(2, frame.payload);
          break;
        case FrameType.started:
          isStarted = true;
          record = { ...record, status: 'running' };
          pendingStart.shift()?.('ok');
          break;
        case FrameType.error:
          errorMessage = frame.payload.toString('utf8');
          break;
        case FrameType.exit: {
          const code = frame.payload.readUInt32BE(0);
          const waiter = pendingStart.shift();
          if (waiter) waiter(`error ${code} ${errorMessage || `exit status ${code}`}`);
          finish(code);
          break;
        }
        default:
          break;
      }
    }
  });
  agent!.on('error', () => {});
  qemu!.once('exit', () => {
    if (isFinishing) return;
    const tail = consoleTail(dir);
    const error = `the VM ended without the container's exit status${tail ? `: ${tail}` : ''}`;
    log(error);
    pendingStart.shift()?.(`error 255 ${error}`);
    isFinishing = true;
    cleanupAndExit(255, error);
  });

  const startProcess = (spec: RuntimeSpec): Promise<string> =>
    new Promise((resolveStart) => {
      const proc = spec.process!;
      pendingStart.push(resolveStart);
      send(encodeFrame(FrameType.start, 0, encodeProcessSpec({
        args: proc.args,
        env: proc.env ?? [],
        cwd: proc.cwd,
        uid: proc.user.uid,
        gid: proc.user.gid,
        additionalGids: proc.user.additionalGids ?? [],
        isTty: false,
        ...(spec.hostname ? { hostname: spec.hostname } : {}),
        startFields: guestStartFields,
      })));
    });

  const relayStdin = (): void => {
    process.stdin.on('data', (chunk: Buffer) => send(encodeData(FrameType.stdin, 0, chunk)));
    process.stdin.on('end', () => send(encodeFrame(FrameType.stdinClose, 0)));
    process.stdin.on('error', () => send(encodeFrame(FrameType.stdinClose, 0)));
  };

  controlServer.on('connection', (socket) => {
    let text = '';
    let isRequestRead = false;
    openControls.add(socket);
    socket.on('close', () => openControls.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      if (isRequestRead) return;
      text += chunk.toString('latin1');
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      isRequestRead = true;
      const [command, ...rest] = text.slice(0, newline).split(' ');
      const reply = (line: string): void => {
        socket.end(`${line}\n`);
      };
      if (command === 'exec') {
        // An exec session: the rest of this connection carries its frames (see berth-vm exec).
        if (!isStarted || isFinishing) return reply('error 1 container is not running');
        const sessionId = nextSessionId++;
        const session: ExecSession = { socket, isStarted: false, errorMessage: '', decoder: new FrameDecoder() };
        sessions.set(sessionId, session);
        socket.removeAllListeners('data');
        socket.on('data', (more: Buffer) => {
          let frames: Frame[];
          try {
            frames = session.decoder.push(more);
          } catch {
            socket.destroy();
            return;
          }
          for (const frame of frames) send(encodeFrame(frame.type, sessionId, frame.payload));
        });
        socket.on('close', () => {
          // The exec's host side went away: end the process rather than leave it orphaned.
          if (sessions.delete(sessionId)) send(encodeFrame(FrameType.signal, sessionId, u32Payload(9)));
        });
        send(encodeFrame(FrameType.exec, sessionId, Buffer.from(rest.join(' '), 'base64')));
        return;
      }
      if (command === 'ps') {
        // [guest-ps] the agent's process list: `ok`, then PS_LIST's text, then close.
        if (!isStarted || isFinishing) return reply('error 1 container is not running');
        const sessionId = nextSessionId++;
        pendingPs.set(sessionId, (listing) => socket.end(Buffer.concat([Buffer.from('ok\n'), listing])));
        send(encodeFrame(FrameType.ps, sessionId));
        return;
      }
      if (command === 'start') {
        if (isStarted || isFinishing) return reply('error 1 container is not in the created state');
        const spec = JSON.parse(readFileSync(resolve(record.bundle, 'config.json'), 'utf8')) as RuntimeSpec;
        void startProcess(spec).then((result) => {
          if (result === 'ok') {
            reply('ok');
            if (!isFinishing) void writeVmRecord(root, record).catch(() => {});
            relayStdin();
          } else {
            reply(result);
          }
        });
      } else if (command === 'kill') {
        const signal = Number(rest[0]);
        if (!isStarted) {
          // Nothing runs in the VM yet: ending it is the whole kill.
          finish(128 + signal);
        } else {
          send(encodeFrame(FrameType.signal, 0, u32Payload(signal)));
        }
        reply('ok');
      } else if (command === 'resize') {
        send(encodeFrame(FrameType.resize, 0, resizePayload(Number(rest[0]), Number(rest[1]))));
        reply('ok');
      } else {
        reply(`error 1 unknown request ${command}`);
      }
    });
  });

  record = { ...record, status: 'created', pid: process.pid };
  await writeVmRecord(root, record);
  reportToCreate('ok');
  return new Promise<never>(() => {});
}
