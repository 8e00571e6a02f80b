/**
 * ConmonRuntime against real conmon with crun and runc, on a busybox rootfs in a temp dir and a
 * private runtime root. Needs root. Every container is deleted and its traces checked.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { silentLogger } from '../../../src/common/index.js';
import { cgroupDirsFor, ensureRuntimeCgroups, runCommand } from '../../../src/sys/index.js';
import {
  CannotInvokeError, CommandNotFoundError, ConmonRuntime, ExitWatcher, readLogs, type AttachProcess, type ContainerRuntimeSettings,
} from '../../../src/runtime/index.js';
import { PROCESS_TRAITS } from '../../../src/daemon/index.js';
import { cannotRun } from '../harness.js';
import { ATTACH_HELPER, CONMON, CRUN, RUNC, makeScratch, missingBinary, settingsFor, waitFor, type Scratch } from './fixture.js';

let scratch: Scratch;
let mountedByUs: string[] = [];

before(async () => {
  scratch = await makeScratch();
  const report = await ensureRuntimeCgroups();
  mountedByUs = report.mounted;
});

after(async () => {
  await scratch.dispose();
  // crun leaves the parent of our cgroupsPath; remove it if empty.
  for (const dir of await cgroupDirsFor('/berth-test')) await rmdir(dir).catch(() => {});
  for (const target of mountedByUs) await runCommand('umount', [target]);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** Split Docker multiplexed frames into [stream, text] pairs (whole frames only). */
function demux(buffer: Buffer): [number, string][] {
  const frames: [number, string][] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    if (offset + 8 + length > buffer.length) break;
    assert.deepEqual([...buffer.subarray(offset + 1, offset + 4)], [0, 0, 0]);
    frames.push([buffer[offset]!, buffer.subarray(offset + 8, offset + 8 + length).toString()]);
    offset += 8 + length;
  }
  return frames;
}

for (const [name, runtimePath] of [['crun', CRUN], ['runc', RUNC]] as const) {
  describe(`conmon + ${name}`, async () => {
    const skip = cannotRun(await missingBinary(runtimePath, CONMON, ATTACH_HELPER));
    let runtime: ConmonRuntime;
    const files = (s: ContainerRuntimeSettings): { logPath: string; conmonPidFile: string } => ({
      logPath: join(s.bundleDir, 'ctr.log'), conmonPidFile: join(s.bundleDir, 'conmon.pid'),
    });

    before(() => {
      runtime = new ConmonRuntime({
        runtimePath, conmonPath: CONMON, runtimeRoot: join(scratch.runtimeRoot, name), exitDir: join(scratch.exitDir, name),
        persistDir: join(scratch.persistDir, name), attachHelperPath: ATTACH_HELPER, logger: silentLogger, traits: PROCESS_TRAITS,
      });
    });

    /** Delete `s`'s container and check nothing is left: no monitor, no runtime state, no cgroup. */
    async function removeAndCheck(s: ContainerRuntimeSettings, conmonPid?: number): Promise<void> {
      await runtime.delete(s.id);
      await runtime.delete(s.id); // idempotent
      assert.equal(await runtime.state(s.id), undefined);
      if (conmonPid) await waitFor('conmon to exit', async () => (isAlive(conmonPid) ? undefined : true));
      for (const dir of await cgroupDirsFor(s.cgroupsPath!)) assert.equal(await exists(dir), false, `${dir} left behind`);
      assert.equal(await exists(join(scratch.persistDir, name, s.id)), false, 'conmon\'s directory left behind');
    }

    async function run(args: string[], overrides: Partial<ContainerRuntimeSettings> = {}): Promise<{ s: ContainerRuntimeSettings; conmonPid: number }> {
      const s = settingsFor(scratch, args, overrides);
      const created = await runtime.create(s, files(s));
      assert.equal((await runtime.state(s.id))?.status, 'created');
      await runtime.start(s.id);
      return { s, conmonPid: created.conmonPid };
    }

    test('echo reaches the log file; exit codes 0 and 3', { skip, timeout: 60_000 }, async () => {
      const { s, conmonPid } = await run(['sh', '-c', 'echo hello; echo oops >&2']);
      assert.equal(await waitFor('exit', () => runtime.exitCode(s.id)), 0);
      const records = [];
      for await (const record of readLogs(files(s).logPath)) records.push([record.stream, record.data.toString()]);
      assert.deepEqual(records.sort(), [['stderr', 'oops\n'], ['stdout', 'hello\n']]);
      assert.equal((await runtime.state(s.id))?.status, 'stopped');
      await removeAndCheck(s, conmonPid);

      const three = await run(['sh', '-c', 'exit 3']);
      assert.equal(await waitFor('exit', () => runtime.exitCode(three.s.id)), 3);
      await removeAndCheck(three.s, three.conmonPid);
    });

    test('a missing command is CommandNotFoundError (127) and leaves nothing', { skip, timeout: 60_000 }, async () => {
      const s = settingsFor(scratch, ['nosuch']);
      await assert.rejects(runtime.create(s, files(s)), (err: unknown) =>
        err instanceof CommandNotFoundError && err.exitStatus === 127 && err.message === 'exec: "nosuch": executable file not found in $PATH');
      assert.equal(await exists(files(s).conmonPidFile), false);
      assert.equal(await runtime.exitCode(s.id), undefined);
      await removeAndCheck(s);
    });

    test('a create that fails part-way through the cgroup set-up leaves no cgroup and no conmon directory', { skip, timeout: 60_000 }, async () => {
      // A limit the kernel refuses once the runtime has made the cgroups of the controllers before it.
      for (const overrides of [{ memoryLimitBytes: 100 * 1024 * 1024, memorySwapBytes: 50 * 1024 * 1024 }, { cpusetCpus: '99' }]) {
        const s = settingsFor(scratch, ['true'], overrides);
        await assert.rejects(runtime.create(s, files(s)).then(() => runtime.start(s.id)));
        await removeAndCheck(s);
      }
    });

    test('a non-executable file and a directory are CannotInvokeError (126)', { skip, timeout: 60_000 }, async () => {
      for (const command of ['/notexec', '/bin']) {
        const s = settingsFor(scratch, [command]);
        await assert.rejects(runtime.create(s, files(s)), (err: unknown) => err instanceof CannotInvokeError && err.exitStatus === 126);
        await removeAndCheck(s);
      }
    });

    test('kill: a TERM handler exits with its code, SIGKILL gives 137; listPids sees the processes', { skip, timeout: 60_000 }, async () => {
      const { s, conmonPid } = await run(['sh', '-c', 'trap "exit 7" TERM; while true; do sleep 0.1; done']);
      const state = await runtime.state(s.id);
      assert.equal(state?.status, 'running');
      const pids = await runtime.listPids(s.id);
      assert.ok(pids.includes(state!.pid!), `pids ${pids} should include init ${state!.pid}`);
      await runtime.kill(s.id, 'SIGTERM');
      assert.equal(await waitFor('exit', () => runtime.exitCode(s.id)), 7);
      await removeAndCheck(s, conmonPid);

      const hard = await run(['sleep', '1000']);
      await runtime.kill(hard.s.id, 'KILL');
      assert.equal(await waitFor('exit', () => runtime.exitCode(hard.s.id)), 137);
      await removeAndCheck(hard.s, hard.conmonPid);
    });

    test('delete --force stops a running container', { skip, timeout: 60_000 }, async () => {
      const { s, conmonPid } = await run(['sleep', '1000']);
      await removeAndCheck(s, conmonPid);
    });

    test('attach: stdin in, stdout and stderr out as multiplexed frames', { skip, timeout: 60_000 }, async () => {
      const s = settingsFor(scratch, ['sh', '-c', 'read x; echo out-$x; echo err-$x >&2'], { isStdinOpen: true });
      const created = await runtime.create(s, files(s));
      const attached = await runtime.attachProcess(s.id, { isStdin: true, isTty: false });
      const exited = once(attached, 'exit');
      const chunks: Buffer[] = [];
      attached.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      await runtime.start(s.id);
      attached.stdin.end('hi\n');
      const [code] = (await exited) as [number];
      assert.equal(code, 0);
      const frames = demux(Buffer.concat(chunks));
      assert.deepEqual(frames.filter(([stream]) => stream === 1).map(([, text]) => text).join(''), 'out-hi\n');
      assert.deepEqual(frames.filter(([stream]) => stream === 2).map(([, text]) => text).join(''), 'err-hi\n');
      assert.equal(await waitFor('exit', () => runtime.exitCode(s.id)), 0);
      await removeAndCheck(s, created.conmonPid);
    });

    test('attach with a tty gives raw output', { skip, timeout: 60_000 }, async () => {
      const s = settingsFor(scratch, ['sh', '-c', 'read x; echo tty-$x'], { isStdinOpen: true, isTty: true });
      const created = await runtime.create(s, files(s));
      const attached = await runtime.attachProcess(s.id, { isStdin: true, isTty: true });
      const exited = once(attached, 'exit');
      let text = '';
      attached.stdout.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      await runtime.start(s.id);
      attached.stdin.write('yes\n');
      await waitFor('tty output', async () => (text.includes('tty-yes') ? true : undefined));
      assert.ok(!text.includes('\u0001\u0000\u0000\u0000'), 'no multiplexed headers with a tty');
      assert.deepEqual(await exited, [0, null]);
      await waitFor('exit', () => runtime.exitCode(s.id));
      await removeAndCheck(s, created.conmonPid);
    });

    test('detach while the container prints: the helper exits, the container keeps running', { skip, timeout: 60_000 }, async () => {
      const { s, conmonPid } = await run(['sh', '-c', 'while true; do echo lots-of-output-lots-of-output-lots-of-output; done']);
      try {
        for (let round = 0; round < 3; round++) {
          const attached: AttachProcess = await runtime.attachProcess(s.id, { isStdin: false, isTty: false });
          const exited = once(attached, 'exit');
          let stderr = '';
          attached.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
          let received = 0;
          await new Promise<void>((resolve) => {
            attached.stdout.on('data', (chunk: Buffer) => {
              received += chunk.length;
              if (received > 64 * 1024) resolve();
            });
          });
          attached.stdout.destroy();
          attached.stdin.destroy();
          const [code, signal] = (await exited) as [number | null, string | null];
          assert.deepEqual([code, signal], [0, null], `helper stderr: ${stderr}`);
          assert.equal((await runtime.state(s.id))?.status, 'running');
          assert.ok(isAlive(conmonPid));
        }
      } finally {
        await removeAndCheck(s, conmonPid);
      }
    });

    test('attach to a container that exits: the helper sees the peer vanish', { skip, timeout: 60_000 }, async () => {
      const { s, conmonPid } = await run(['sh', '-c', 'read x; exit 0'], { isStdinOpen: true });
      const attached = await runtime.attachProcess(s.id, { isStdin: true, isTty: false });
      attached.stdout.resume();
      const exited = once(attached, 'exit');
      await runtime.kill(s.id, 'KILL');
      const [code] = (await exited) as [number];
      assert.equal(code, 0);
      await removeAndCheck(s, conmonPid);
    });

    test('the exit watcher reports exits, including ones from before it started', { skip, timeout: 60_000 }, async () => {
      const early = await run(['sh', '-c', 'exit 4']);
      await waitFor('exit', () => runtime.exitCode(early.s.id));
      const watcher = new ExitWatcher(join(scratch.exitDir, name), silentLogger);
      const seen = new Map<string, number>();
      watcher.on('exit', (id, code) => seen.set(id, code));
      try {
        await watcher.start();
        assert.equal(seen.get(early.s.id), 4);
        const late = await run(['sh', '-c', 'sleep 0.2; exit 5']);
        assert.equal(await waitFor('exit event', async () => seen.get(late.s.id)), 5);
        await watcher.acknowledge(late.s.id);
        assert.equal(await runtime.exitCode(late.s.id), undefined);
        await removeAndCheck(late.s, late.conmonPid);
      } finally {
        await watcher.stop();
        await removeAndCheck(early.s, early.conmonPid);
      }
    });

    test('an unknown user fails before anything runs', { skip, timeout: 60_000 }, async () => {
      const s = settingsFor(scratch, ['id'], { user: 'nobody2' });
      await assert.rejects(runtime.create(s, files(s)), /unable to find user nobody2: no matching entries in passwd file/);
      await removeAndCheck(s);
    });

    test('user and default security: uid/gid, caps, hostname', { skip, timeout: 60_000 }, async () => {
      const { s, conmonPid } = await run(['sh', '-c', 'id -u; id -g; hostname; grep CapEff /proc/self/status'], { user: 'app' });
      assert.equal(await waitFor('exit', () => runtime.exitCode(s.id)), 0);
      const log = await readFile(files(s).logPath, 'utf8');
      const lines = log.trim().split('\n').map((line) => line.split(' ').slice(3).join(' '));
      assert.equal(lines[0], '1000');
      assert.equal(lines[1], '1000');
      assert.equal(lines[2], s.hostname);
      assert.match(lines[3]!, /CapEff:\s+0+$/);
      await removeAndCheck(s, conmonPid);
    });
  });
}
