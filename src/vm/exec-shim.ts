/**
 * The host side of one exec in a VM container: `berth-vm exec` (as conmon runs it: `exec -d
 * --pid-file P --process F <id>`) starts this process, whose pid conmon then watches. It asks the
 * container's shim for an exec session on the control socket (`exec <base64 process spec>`),
 * and once the shim answers `ok` relays its stdio as frames of that session and exits with the
 * exec's exit code, as an exec'd process under crun would.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { constants as osConstants } from 'node:os';
import { messageOf } from '../common/index.js';
import type { RuntimeSpec } from '../oci/index.js';
import { encodeData, encodeFrame, encodeProcessSpec, FrameDecoder, FrameType, u32Payload } from './protocol.js';
import { CONTROL_SOCKET } from './shim.js';
import { readyReporter, writeAllSync } from './sync-io.js';
import { vmStateDir } from './vm-state.js';

/** Run one exec session; never returns. Reports `ok` or `error <message>` on fd 3 first. */
export async function runExecShim(root: string, id: string, processFile: string): Promise<never> {
  const report = readyReporter(3);
  let payload: string;
  try {
    const proc = JSON.parse(readFileSync(processFile, 'utf8')) as NonNullable<RuntimeSpec['process']>;
    if (proc.terminal) throw new Error('a terminal (-t) is not supported by berth-vm yet');
    payload = encodeProcessSpec({
      args: proc.args,
      env: proc.env ?? [],
      cwd: proc.cwd,
      uid: proc.user.uid,
      gid: proc.user.gid,
      additionalGids: proc.user.additionalGids ?? [],
      isTty: false,
    }).toString('base64');
  } catch (err) {
    report(`error ${messageOf(err)}`);
    process.exit(1);
  }

  process.chdir(vmStateDir(root, id));
  const socket = connect(CONTROL_SOCKET);
  socket.on('connect', () => socket.write(`exec ${payload}\n`));
  let pending = Buffer.alloc(0);
  let isStarted = false;
  const decoder = new FrameDecoder();
  const onFrames = (data: Buffer): void => {
    for (const frame of decoder.push(data)) {
      if (frame.type === FrameType.stdout) writeAllSync(1, frame.payload);
      else if (frame.type === FrameType.stderr) writeAllSync(2, frame.payload);
      else if (frame.type === FrameType.exit) process.exit(frame.payload.readUInt32BE(0));
    }
  };
  socket.on('data', (chunk: Buffer) => {
    if (isStarted) return onFrames(chunk);
    pending = Buffer.concat([pending, chunk]);
    const newline = pending.indexOf(0x0a);
    if (newline < 0) return;
    const line = pending.subarray(0, newline).toString('utf8');
    const rest = pending.subarray(newline + 1);
    if (line !== 'ok') {
      const match = /^error (\d+) (.*)$/s.exec(line);
      report(`error ${match ? match[2] : line}`);
      process.exit(match ? Number(match[1]) : 1);
    }
    isStarted = true;
    report('ok');
    process.stdin.on('data', (data: Buffer) => socket.write(encodeData(FrameType.stdin, 0, data)));
    process.stdin.on('end', () => socket.write(encodeFrame(FrameType.stdinClose, 0)));
    process.stdin.on('error', () => socket.write(encodeFrame(FrameType.stdinClose, 0)));
    for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const) {
      process.on(name, () => socket.write(encodeFrame(FrameType.signal, 0, u32Payload(osConstants.signals[name]))));
    }
    if (rest.length > 0) onFrames(rest);
  });
  socket.on('error', (err) => {
    report(`error cannot reach the container's berth-vm shim: ${messageOf(err)}`);
  });
  socket.on('close', () => {
    report('error the container stopped');
    // The VM ended under the exec: as if the process was killed.
    process.exit(isStarted ? 137 : 1);
  });
  return new Promise<never>(() => {});
}
