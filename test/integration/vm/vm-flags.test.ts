/**
 * The run flags and container commands of the VM user story that other VM tests do not cover:
 * --entrypoint, labels, --memory and --cpus sizing the VM, stop delivering SIGTERM to the
 * container's process, restart, wait, and cp and diff through the shared root, through the
 * docker CLI and berth.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const VM_TIMEOUT_MS = 120_000;

/** Wait (bounded) until the container's log has printed `up` count times: its trap is set. */
async function waitForUp(daemon: TestDaemon, name: string, count: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const logs = await daemon.docker(['logs', name]);
    if ((logs.stdout.match(/^up$/gm) ?? []).length >= count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${name} never said up ${count} time(s)`);
}

describe('vm isolation: run flags and container commands', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let scratch: string;
  before(async () => {
    daemon = await startTestDaemon();
    scratch = await mkdtemp(join(tmpdir(), 'berth-vm-flags-'));
  });
  after(async () => {
    await daemon?.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });

  it('sizes the VM from --memory and --cpus, and honours --entrypoint and labels', async () => {
    const run = await daemon.berth(['run', '--rm', '--isolation=vm', '--memory', '256m', '--cpus', '2', '--label', 'tier=vm', '--entrypoint', 'sh', 'busybox', '-c', "nproc; awk '/MemTotal/ { print $2 }' /proc/meminfo"], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    const [cpus, memKib] = run.stdout.trim().split('\n').map(Number);
    assert.equal(cpus, 2);
    // 256 MiB for the container plus the guest kernel's room, less what the kernel keeps.
    assert.ok(memKib! > 256 * 1024 && memKib! < 320 * 1024, `MemTotal ${memKib} kB`);
    const labelled = await daemon.docker(['run', '-d', '--isolation=vm', '--label', 'tier=vm', 'busybox', 'true'], { timeoutMs: VM_TIMEOUT_MS });
    const id = labelled.stdout.trim();
    assert.equal((await daemon.docker(['wait', id], { timeoutMs: VM_TIMEOUT_MS })).stdout.trim(), '0');
    assert.equal((await daemon.docker(['inspect', '-f', '{{index .Config.Labels "tier"}} {{.HostConfig.Isolation}}', id])).stdout.trim(), 'vm vm');
    await daemon.docker(['rm', id]);
  });

  it('stops with SIGTERM to the container process, restarts, and waits for the exit code', async () => {
    const started = await daemon.docker(['run', '-d', '--name', 'graceful', '--isolation=vm', 'busybox', 'sh', '-c', 'trap "echo got-term; exit 7" TERM; echo up; while true; do sleep 0.1; done'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(started.exitCode, 0, started.stderr);
    await waitForUp(daemon, 'graceful', 1);
    assert.equal((await daemon.docker(['stop', '-t', '20', 'graceful'], { timeoutMs: VM_TIMEOUT_MS })).exitCode, 0);
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.ExitCode}}', 'graceful'])).stdout.trim(), '7');
    assert.match((await daemon.docker(['logs', 'graceful'])).stdout, /up\ngot-term\n/);
    // restart boots a new VM from the same root.
    assert.equal((await daemon.docker(['restart', '-t', '20', 'graceful'], { timeoutMs: VM_TIMEOUT_MS })).exitCode, 0);
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.Running}}', 'graceful'])).stdout.trim(), 'true');
    await waitForUp(daemon, 'graceful', 2);
    const waited = daemon.docker(['wait', 'graceful'], { timeoutMs: VM_TIMEOUT_MS });
    await daemon.docker(['kill', '-s', 'TERM', 'graceful']);
    assert.equal((await waited).stdout.trim(), '7');
    await daemon.docker(['rm', 'graceful']);
  });

  it('keeps the root read-only with --read-only while volumes and tmpfs mounts stay writable', async () => {
    const run = await daemon.docker(['run', '--rm', '--isolation=vm', '--network', 'none', '--read-only', '--tmpfs', '/run', '-v', '/data', 'busybox', 'sh', '-c', 'touch /x 2>&1; touch /data/ok && echo data-writable; touch /run/ok && echo run-writable'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /touch: \/x: Read-only file system/);
    assert.match(run.stdout, /data-writable\nrun-writable/);
  });

  it("gives the container process docker's default capabilities and seccomp filter, --cap-drop/--cap-add and --privileged, and a read-only /proc/sys", async () => {
    const status = async (args: string[]): Promise<string> => {
      const run = await daemon.docker(['run', '--rm', '--isolation=vm', '--network', 'none', ...args, 'busybox', 'sh', '-c', 'grep -E "CapEff|Seccomp:" /proc/self/status; echo "interrupts=$(wc -c < /proc/interrupts)"; echo 1 > /proc/sys/vm/drop_caches 2>&1 | head -1'], { timeoutMs: VM_TIMEOUT_MS });
      assert.equal(run.exitCode, 0, run.stderr);
      return run.stdout + run.stderr;
    };
    const defaults = await status([]);
    assert.match(defaults, /CapEff:\s+00000000a80425fb/);
    assert.match(defaults, /Read-only file system/);
    assert.match(defaults, /Seccomp:\s+2/);
    assert.match(defaults, /interrupts=0\n/);
    assert.match(await status(['--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN']), /CapEff:\s+0000000000001000/);
    // --privileged: everything berthd itself may hold (its bounding set), as in process mode.
    const privileged = await status(['--privileged']);
    assert.match(privileged, /CapEff:\s+0000[0-9a-f]{2}f{2}[0-9a-f]{6}/);
    // --privileged also runs without a seccomp filter, as docker's.
    assert.match(privileged, /Seccomp:\s+0/);
    // ... and sees the kernel files a default container has masked.
    assert.doesNotMatch(privileged, /interrupts=0\n/);
    assert.match(await status(['-u', 'nobody']), /CapEff:\s+0{16}/);
  });

  it('copies into and out of a running VM container, and diffs its root', async () => {
    await daemon.docker(['run', '-d', '--name', 'files', '--isolation=vm', 'busybox', 'sh', '-c', 'echo from-guest > /guest.txt; rm /etc/shells 2>/dev/null; sleep 1000'], { timeoutMs: VM_TIMEOUT_MS });
    // The guest writes through 9p; wait until the host sees it.
    for (let i = 0; i < 100; i++) {
      if ((await daemon.docker(['exec', 'files', 'test', '-f', '/guest.txt'])).exitCode === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const out = join(scratch, 'guest.txt');
    assert.equal((await daemon.docker(['cp', 'files:/guest.txt', out])).exitCode, 0);
    assert.equal(await readFile(out, 'utf8'), 'from-guest\n');
    await writeFile(join(scratch, 'host.txt'), 'from-host\n');
    assert.equal((await daemon.docker(['cp', join(scratch, 'host.txt'), 'files:/tmp/'])).exitCode, 0);
    const read = await daemon.docker(['exec', 'files', 'cat', '/tmp/host.txt']);
    assert.equal(read.stdout, 'from-host\n');
    const diff = await daemon.docker(['diff', 'files']);
    assert.match(diff.stdout, /^A \/guest\.txt$/m);
    assert.match(diff.stdout, /^A \/tmp\/host\.txt$/m);
    await daemon.docker(['rm', '-f', 'files']);
  });
});
