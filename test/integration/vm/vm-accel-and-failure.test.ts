/**
 * What a VM container ran with and how it ended, as users see it: the daemon's accelerator in
 * `docker info` / `berth info`, a container's in inspect (`VM.Accelerator`), and a VM that ends
 * without the container's exit status (a real guest kernel panic; QEMU killed from the host is in vm-failures.test.ts)
 * shown as Exited (255) with the reason in `State.Error`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, eventually, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const KERNEL_DIR = '/var/cache/berth/guest';
const VM_TIMEOUT_MS = 120_000;

interface Inspected {
  State: { Status: string; ExitCode: number; Error: string };
  HostConfig: { Isolation: string };
  VM?: { Accelerator: string };
}


describe('vm accelerator and failures', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  const inspect = async (id: string): Promise<Inspected> => {
    const result = await daemon.docker(['inspect', id]);
    assert.equal(result.exitCode, 0, result.stderr);
    return (JSON.parse(result.stdout) as Inspected[])[0]!;
  };

  it('docker info and berth info name the accelerator and the guest kernel', async () => {
    const guestRelease = (await readFile(join(KERNEL_DIR, 'release'), 'utf8')).trim();
    const docker = await daemon.docker(['info']);
    assert.equal(docker.exitCode, 0, docker.stderr);
    assert.match(docker.stdout, /^ VM Accelerator: (kvm|tcg) \(.+\)$/m);
    assert.match(docker.stdout, new RegExp(`^ VM Guest Kernel: ${guestRelease.replaceAll('.', '\\.')} \\((berth|debian)\\)$`, 'm'));
    const berth = await daemon.berth(['info']);
    assert.equal(berth.exitCode, 0, berth.stderr);
    const dockerAccel = /^ VM Accelerator: (.*)$/m.exec(docker.stdout)![1];
    assert.match(berth.stdout, new RegExp(`^ VM Accelerator: ${dockerAccel!.replace(/[()]/g, '\\$&')}$`, 'm'));
    const formatted = await daemon.docker(['info', '--format', '{{json .SystemStatus}}']);
    assert.match(formatted.stdout, /"VM Accelerator"/);
  });

  it('inspect shows what the VM ran with', async () => {
    const info = await daemon.docker(['info']);
    const daemonAccel = /^ VM Accelerator: (\w+)/m.exec(info.stdout)![1];
    const run = await daemon.docker(['run', '--name', 'accel', '--isolation=vm', 'busybox', 'true'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    const id = 'accel';
    const state = await inspect(id);
    assert.equal(state.HostConfig.Isolation, 'vm');
    assert.equal(state.VM?.Accelerator, daemonAccel);
    const formatted = await daemon.docker(['inspect', '-f', '{{.VM.Accelerator}}', id]);
    assert.equal(formatted.stdout.trim(), daemonAccel);
    await daemon.docker(['rm', id]);
    // Process containers have no VM block.
    const proc = await daemon.docker(['create', 'busybox', 'true']);
    assert.equal((await inspect(proc.stdout.trim())).VM, undefined);
    await daemon.docker(['rm', proc.stdout.trim()]);
  });

  it('a guest kernel panic ends the container as Exited (255) with the reason in State.Error', async () => {
    const config = await readFile(join(KERNEL_DIR, 'config'), 'utf8');
    assert.match(config, /^CONFIG_MAGIC_SYSRQ=y$/m, 'the guest kernel lacks MAGIC_SYSRQ: run scripts/setup to rebuild it');
    const run = await daemon.docker(['run', '--name', 'panics', '--privileged', '--isolation=vm', 'busybox', 'sh', '-c', 'echo c >/proc/sysrq-trigger; sleep 30'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 255, run.stderr);
    const state = await inspect('panics');
    assert.equal(state.State.Status, 'exited');
    assert.equal(state.State.ExitCode, 255);
    assert.match(state.State.Error, /the VM ended without the container's exit status/);
    assert.match(state.State.Error, /panic|sysrq/i);
    const formatted = await daemon.docker(['inspect', '-f', '{{.State.Error}}', 'panics']);
    assert.equal(formatted.stdout.trim(), state.State.Error);
    await daemon.docker(['rm', 'panics']);
  });
});
