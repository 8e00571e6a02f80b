/**
 * A VM container's processes live in a PID namespace of their own inside the guest, as a process
 * container's do: its command is PID 1 (the guest agent stays outside), exec sessions join that
 * namespace, and a PID 1 without a handler ignores `docker stop`'s SIGTERM, so stop ends it with
 * SIGKILL after the grace period, as dockerd does. Execs join the mount namespace the container
 * started with, even after its process unshared another. `--init` puts docker-init before the
 * command as PID 1, which forwards the stop signal.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const VM_TIMEOUT_MS = 120_000;

describe('vm isolation: PID and mount namespaces in the guest', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.docker(['rm', '-f', 'vmpid', 'vmmnt']).catch(() => {});
    await daemon?.cleanup();
  });

  const waitFor = async (isDone: () => Promise<boolean>, what: string): Promise<void> => {
    for (let i = 0; i < 600; i++) {
      if (await isDone()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`never: ${what}`);
  };
  const waitForLog = (name: string, text: string): Promise<void> =>
    waitFor(async () => (await daemon.docker(['logs', name])).stdout.includes(text), `"${text}" in the logs of ${name}`);

  it("runs the command as PID 1 with a /proc of its own namespace", async () => {
    const run = await daemon.docker(['run', '--rm', '--isolation=vm', '--network', 'none', 'busybox', 'sh', '-c', 'cat /proc/1/comm; echo "self=$$"; ps -o pid,comm; exit 0'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    // (exit 0 keeps sh from exec'ing ps in its place as its last command.)
    const [comm, self, header, ...rows] = run.stdout.trim().split('\n').map((line) => line.trim());
    assert.equal(comm, 'sh');
    assert.equal(self, 'self=1');
    assert.match(header!, /^PID\s+COMMAND$/);
    // Only the container's processes: sh and the ps it runs, no agent (/init) and no kernel threads.
    assert.deepEqual(rows.map((row) => row.split(/\s+/)[1]), ['sh', 'ps'], run.stdout);
    assert.equal(rows[0]!.split(/\s+/)[0], '1');
  });

  it('joins the namespace with exec, and stop kills a PID 1 that ignores SIGTERM after the grace period', async () => {
    const started = await daemon.docker(['run', '-d', '--name', 'vmpid', '--isolation=vm', '--network', 'none', 'busybox', 'sleep', '1000'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(started.exitCode, 0, started.stderr);
    const exec = await daemon.docker(['exec', 'vmpid', 'sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; echo; echo "self=$$"'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(exec.exitCode, 0, exec.stderr);
    const [cmdline, self] = exec.stdout.split('\n');
    assert.equal(cmdline!.trim(), 'sleep 1000');
    assert.match(self!, /^self=\d+$/);
    assert.notEqual(self, 'self=1');

    // SIGTERM alone changes nothing: sleep as PID 1 has no handler for it.
    assert.equal((await daemon.docker(['kill', '-s', 'TERM', 'vmpid'])).exitCode, 0);
    assert.equal((await daemon.docker(['exec', 'vmpid', 'true'], { timeoutMs: VM_TIMEOUT_MS })).exitCode, 0);
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.Running}}', 'vmpid'])).stdout.trim(), 'true');
    const stop = await daemon.docker(['stop', '-t', '1', 'vmpid'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(stop.exitCode, 0, stop.stderr);
    // 137: killed at the timeout, not the 143 of a SIGTERM that took.
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.ExitCode}}', 'vmpid'])).stdout.trim(), '137');
    assert.equal((await daemon.docker(['rm', 'vmpid'])).exitCode, 0);
  });

  it('runs docker-init as PID 1 with --init, forwarding the stop signal to the command', async () => {
    const run = await daemon.docker(['run', '--rm', '--init', '--isolation=vm', '--network', 'none', 'busybox', 'cat', '/proc/1/comm'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'docker-init');
    const id = (await daemon.docker(['run', '-d', '--init', '--isolation=vm', '--network', 'none', 'busybox', 'sleep', '300'], { timeoutMs: VM_TIMEOUT_MS })).stdout.trim();
    // Once sleep runs, the init has its signals set up: a SIGTERM before that would be dropped, as
    // for any PID 1 without a handler (a process container has the same window, only shorter).
    await waitFor(async () => (await daemon.docker(['top', id])).stdout.includes('sleep 300'), 'sleep running under the init');
    const stop = await daemon.docker(['stop', '-t', '60', id], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(stop.exitCode, 0, stop.stderr);
    // SIGTERM reached sleep through the init: 143, not the 137 of a kill at the timeout.
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.ExitCode}}', id])).stdout.trim(), '143');
    assert.equal((await daemon.docker(['rm', id])).exitCode, 0);
  });

  it("execs join the container's first mount namespace, not one its process unshared", async () => {
    const started = await daemon.docker(['run', '-d', '--name', 'vmmnt', '--privileged', '--isolation=vm', '--network', 'none', 'busybox',
      'unshare', '-m', 'sh', '-c', 'mkdir -p /inner && mount -t tmpfs none /inner && touch /inner/mounted && echo ready && exec sleep 1000'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(started.exitCode, 0, started.stderr);
    await waitForLog('vmmnt', 'ready');
    const inside = await daemon.docker(['exec', 'vmmnt', 'ls', '-A', '/inner'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(inside.exitCode, 0, inside.stderr);
    assert.equal(inside.stdout, '', 'the exec sees the tmpfs mounted in the namespace PID 1 unshared');
    assert.equal((await daemon.docker(['rm', '-f', 'vmmnt'])).exitCode, 0);
  });
});
