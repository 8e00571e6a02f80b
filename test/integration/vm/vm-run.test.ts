/**
 * VM isolation end to end on real QEMU (KVM where a probe boot works, TCG otherwise: never
 * skipped): the guest's own kernel, exit codes carried back, output relayed to logs, only QEMU
 * visible in the host's process table, exec, a berthd kill -9, and nothing left behind by
 * stop/kill/rm.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { release } from 'node:os';
import { NO_DOCKER, cannotRun, eventually, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const KERNEL_DIR = '/var/cache/berth/guest';
const VM_TIMEOUT_MS = 120_000;

/** Command lines of every host process, NUL-separated args joined by spaces. */
async function hostProcesses(): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline !== '') lines.push(cmdline.split('\0').join(' ').trim());
  }
  return lines;
}


describe('vm isolation', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it("runs the image on the guest's own kernel", async () => {
    const guestRelease = (await readFile(join(KERNEL_DIR, 'release'), 'utf8')).trim();
    const run = await daemon.berth(['run', '--rm', '--isolation=vm', 'busybox', 'uname', '-r'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stdout.trim(), guestRelease);
    assert.notEqual(run.stdout.trim(), release());
  });

  it('carries exit codes back, and says when a command is missing', async () => {
    const ok = await daemon.docker(['run', '--rm', '--isolation=hyperv', 'busybox', 'true'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(ok.exitCode, 0, ok.stderr);
    const three = await daemon.docker(['run', '--rm', '--isolation=vm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(three.exitCode, 3, three.stderr);
    assert.equal(three.stdout, 'out\n');
    assert.match(three.stderr, /err/);
    const missing = await daemon.docker(['run', '--rm', '--isolation=vm', 'busybox', 'nosuchcommand'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(missing.exitCode, 127, missing.stderr);
    assert.match(missing.stderr, /executable file not found/);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout.trim(), '');
  });

  it('shows only QEMU on the host, relays logs, and leaves nothing behind after stop and rm', async () => {
    const marker = `berth-vm-test-${process.pid}`;
    // A sleep no other test runs at the same time, so the host-side check below means something.
    const sleepSeconds = String(100000 + process.pid);
    const id = (await daemon.docker(['run', '-d', '--isolation=vm', '-e', `MARK=${marker}`, 'busybox', 'sh', '-c', `echo "hello $MARK"; exec sleep ${sleepSeconds}`], { timeoutMs: VM_TIMEOUT_MS })).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const inspect = JSON.parse((await daemon.docker(['inspect', id])).stdout) as { HostConfig: { Isolation: string }; State: { Running: boolean } }[];
    assert.equal(inspect[0]!.HostConfig.Isolation, 'vm');
    assert.equal(inspect[0]!.State.Running, true);
    await eventually(async () => (await daemon.docker(['logs', id])).stdout.includes(`hello ${marker}`), 'the greeting in docker logs');

    const processes = await hostProcesses();
    assert.ok(processes.some((p) => p.includes('qemu-system-x86_64') && p.includes(id)), 'a QEMU process for the container');
    assert.ok(!processes.some((p) => p === `sleep ${sleepSeconds}`), "the container's process is not on the host");
    const top = await daemon.docker(['top', id]);
    assert.equal(top.exitCode, 0, top.stderr);

    const stop = await daemon.docker(['stop', '-t', '5', id], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(stop.exitCode, 0, stop.stderr);
    const state = JSON.parse((await daemon.docker(['inspect', id])).stdout) as { State: { Running: boolean; ExitCode: number } }[];
    assert.equal(state[0]!.State.Running, false);
    assert.notEqual(state[0]!.State.ExitCode, 0);
    assert.equal((await daemon.docker(['rm', id])).exitCode, 0);
    await eventually(async () => !(await hostProcesses()).some((p) => p.includes(id)), 'no process mentions the container');
    const left = await readdir(join(daemon.execRoot, 'runtime', 'berth-vm')).catch(() => [] as string[]);
    assert.ok(!left.includes(id), 'berth-vm state directory left behind');
  });

  it('survives a kill -9 of berthd: still running, logs intact, stoppable after restart', async () => {
    const id = (await daemon.docker(['run', '-d', '--isolation=vm', 'busybox', 'sh', '-c', 'echo before; exec sleep 1000'], { timeoutMs: VM_TIMEOUT_MS })).stdout.trim();
    await eventually(async () => (await daemon.docker(['logs', id])).stdout.includes('before'), 'the first line in docker logs');
    await daemon.kill9();
    await daemon.restart();
    const inspect = JSON.parse((await daemon.docker(['inspect', id])).stdout) as { State: { Running: boolean } }[];
    assert.equal(inspect[0]!.State.Running, true);
    assert.equal((await daemon.docker(['logs', id])).stdout, 'before\n');
    assert.equal((await daemon.docker(['kill', id])).exitCode, 0);
    assert.equal((await daemon.docker(['wait', id], { timeoutMs: VM_TIMEOUT_MS })).stdout.trim(), '137');
    assert.equal((await daemon.docker(['rm', id])).exitCode, 0);
  });

  it('execs in the running VM: output, env, cwd, stdin, exit codes', async () => {
    const id = (await daemon.docker(['run', '-d', '--isolation=vm', 'busybox', 'sleep', '1000'], { timeoutMs: VM_TIMEOUT_MS })).stdout.trim();
    const run = await daemon.docker(['exec', '-e', 'X=1', '-w', '/etc', id, 'sh', '-c', 'echo $X $(pwd) $(uname -r); echo e >&2; exit 5']);
    assert.equal(run.exitCode, 5, run.stderr);
    assert.equal(run.stdout, `1 /etc ${(await readFile(join(KERNEL_DIR, 'release'), 'utf8')).trim()}\n`);
    assert.equal(run.stderr, 'e\n');
    const piped = await daemon.docker(['exec', '-i', id, 'cat'], { input: 'piped\n' });
    assert.equal(piped.stdout, 'piped\n', piped.stderr);
    const missing = await daemon.docker(['exec', id, 'nosuchcommand']);
    assert.equal(missing.exitCode, 126);
    assert.match(missing.stderr, /executable file not found/);
    assert.equal((await daemon.docker(['rm', '-f', id])).exitCode, 0);
  });

  it('kill and rm -f end a running VM container', async () => {
    const id = (await daemon.docker(['run', '-d', '--isolation=vm', 'busybox', 'sleep', '1000'], { timeoutMs: VM_TIMEOUT_MS })).stdout.trim();
    assert.equal((await daemon.docker(['kill', id])).exitCode, 0);
    const exit = await daemon.docker(['wait', id], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(exit.stdout.trim(), '137');
    const id2 = (await daemon.docker(['run', '-d', '--isolation=vm', 'busybox', 'sleep', '1000'], { timeoutMs: VM_TIMEOUT_MS })).stdout.trim();
    assert.equal((await daemon.docker(['rm', '-f', id, id2])).exitCode, 0);
    await eventually(async () => !(await hostProcesses()).some((p) => p.includes(id) || p.includes(id2)), 'no process mentions either container');
  });
});
