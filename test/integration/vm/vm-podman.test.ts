/**
 * berth-vm on its own: podman drives it as it drives crun (`podman --runtime .../berth-vm`),
 * with its own conmon, storage and state. Runs where podman is installed; podman gets a private
 * root, runroot and the busybox image saved from a Berth test daemon, and all of it is removed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NO_DOCKER, cannotRun, REPO, hasDocker, mountsUnder, startTestDaemon, type TestDaemon } from '../harness.js';

const run = promisify(execFile);
const PODMAN = '/usr/bin/podman';
const BERTH_VM = join(REPO, 'build', 'berth-vm');
const VM_TIMEOUT_MS = 120_000;

const skip = cannotRun(!hasDocker ? NO_DOCKER : !existsSync(PODMAN) && 'podman is not installed (scripts/test-deps installs it)');

describe('berth-vm driven by podman', { skip }, () => {
  let daemon: TestDaemon;
  let dir: string;
  const podman = async (args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> => {
    const base = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', BERTH_VM];
    try {
      const { stdout, stderr } = await run(PODMAN, [...base, ...args], { timeout: VM_TIMEOUT_MS });
      return { exitCode: 0, stdout, stderr };
    } catch (err) {
      const failed = err as { code?: number; stdout?: string; stderr?: string };
      return { exitCode: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  };

  before(async () => {
    daemon = await startTestDaemon();
    dir = await mkdtemp(join(tmpdir(), 'berth-podman-'));
    const saved = await daemon.docker(['save', '-o', join(dir, 'busybox.tar'), 'busybox']);
    assert.equal(saved.exitCode, 0, saved.stderr);
    const loaded = await podman(['load', '-i', join(dir, 'busybox.tar')]);
    assert.equal(loaded.exitCode, 0, loaded.stderr);
  });
  after(async () => {
    if (dir) {
      await podman(['rm', '-a', '-f']);
      for (const mount of (await mountsUnder(dir)).reverse()) await run('umount', ['-l', mount]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
    await daemon?.cleanup();
  });

  it('runs a container on the guest kernel with its exit code and output', async () => {
    const result = await podman(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'uname -r; exit 3']);
    assert.equal(result.exitCode, 3, result.stderr);
    const { stdout: hostRelease } = await run('uname', ['-r']);
    assert.notEqual(result.stdout.trim(), hostRelease.trim());
    assert.match(result.stdout, /^\d+\.\d+\.\d+/);
  });

  it('execs into a running one, stops and removes it, leaving no VM', async () => {
    const started = await podman(['run', '-d', '--name', 'pv', '--network', 'none', 'busybox', 'sleep', '1000']);
    assert.equal(started.exitCode, 0, started.stderr);
    const exec = await podman(['exec', 'pv', 'sh', '-c', 'echo in-exec; exit 4']);
    assert.equal(exec.exitCode, 4, exec.stderr);
    assert.equal(exec.stdout, 'in-exec\n');
    assert.equal((await podman(['stop', '-t', '1', 'pv'])).exitCode, 0);
    assert.equal((await podman(['rm', 'pv'])).exitCode, 0);
    const { stdout: processes } = await run('ps', ['-eo', 'args']);
    assert.ok(!processes.split('\n').some((line) => line.includes('qemu-system') && line.includes(dir)), 'no QEMU of podman\'s left');
  });
});
