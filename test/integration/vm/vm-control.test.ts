/**
 * The container commands beyond run for VM containers: pause/unpause freeze and thaw the whole
 * VM, stats reads the VM's host cost, update changes the restart policy but refuses a new size
 * for a running VM, and -u runs as the given user inside the guest.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const VM_TIMEOUT_MS = 120_000;

describe('vm isolation: pause, stats, update, user', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('pauses and unpauses the VM, reads its stats, updates the restart policy but not its size', async () => {
    const started = await daemon.docker(['run', '-d', '--name', 'ctl', '--isolation=vm', 'busybox', 'sh', '-c', 'while true; do date +%s >> /tick; sleep 0.2; done'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(started.exitCode, 0, started.stderr);

    assert.equal((await daemon.docker(['pause', 'ctl'])).exitCode, 0);
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.Status}}', 'ctl'])).stdout.trim(), 'paused');
    const refused = await daemon.docker(['exec', 'ctl', 'true']);
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.stderr, /is paused, unpause the container before exec/);
    assert.equal((await daemon.docker(['unpause', 'ctl'])).exitCode, 0);
    // Thawed: the guest runs on and answers an exec.
    const lines = async (): Promise<number> => Number((await daemon.docker(['exec', 'ctl', 'sh', '-c', 'wc -l < /tick'], { timeoutMs: VM_TIMEOUT_MS })).stdout.trim());
    const before = await lines();
    let after = before;
    for (let i = 0; i < 100 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await lines();
    }
    assert.ok(after > before, 'the guest keeps running after unpause');

    const stats = await daemon.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', 'ctl'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(stats.exitCode, 0, stats.stderr);
    assert.match(stats.stdout, /^ctl \d+(\.\d+)?[KMG]iB \/ /);

    assert.equal((await daemon.docker(['update', '--restart', 'on-failure:2', 'ctl'])).exitCode, 0);
    assert.equal((await daemon.docker(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}', 'ctl'])).stdout.trim(), 'on-failure');
    const resize = await daemon.docker(['update', '--memory', '256m', '--memory-swap', '512m', 'ctl']);
    assert.notEqual(resize.exitCode, 0);
    assert.match(resize.stderr, /memory and cpus of a running VM container cannot change/);
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.Running}}', 'ctl'])).stdout.trim(), 'true');
    assert.equal((await daemon.docker(['rm', '-f', 'ctl'])).exitCode, 0);
  });

  it('runs and execs as another user with -u', async () => {
    const run = await daemon.docker(['run', '--rm', '-u', 'nobody', '--isolation=vm', 'busybox', 'id', '-u'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stdout.trim(), '65534');
    await daemon.docker(['run', '-d', '--name', 'users', '--isolation=vm', 'busybox', 'sleep', '1000'], { timeoutMs: VM_TIMEOUT_MS });
    const exec = await daemon.docker(['exec', '-u', 'nobody', '-e', 'A=1', '-w', '/tmp', 'users', 'sh', '-c', 'echo $A; pwd; id -u']);
    assert.equal(exec.stdout, '1\n/tmp\n65534\n');
    const unknown = await daemon.docker(['exec', '-u', 'nosuchuser', 'users', 'true']);
    assert.notEqual(unknown.exitCode, 0);
    assert.match(unknown.stderr, /unable to find user nosuchuser/);
    await daemon.docker(['rm', '-f', 'users']);
  });
});
