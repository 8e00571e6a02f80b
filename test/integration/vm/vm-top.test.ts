/**
 * `docker top` of a VM container shows the guest's processes (ping), not the host's shim and
 * QEMU, in `ps -ef`'s columns by default and with `-o` field lists; a field ps does not know is a
 * one-line error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const VM_TIMEOUT_MS = 120_000;

describe('vm isolation: top', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.docker(['rm', '-f', 'vmtop']).catch(() => {});
    await daemon?.cleanup();
  });

  it("lists the guest's processes, not QEMU", async () => {
    const run = await daemon.docker(['run', '-d', '--name', 'vmtop', '--isolation=hyperv', 'busybox', 'ping', '-c', '1000', '127.0.0.1'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);

    const top = await daemon.docker(['top', 'vmtop']);
    assert.equal(top.exitCode, 0, top.stderr);
    const [header, ...rows] = top.stdout.trim().split('\n');
    assert.deepEqual(header!.trim().split(/\s+/), ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    assert.equal(rows.length, 1, top.stdout);
    const fields = rows[0]!.trim().split(/\s+/);
    assert.equal(fields[0], 'root');
    // The guest's pid: ping is a child of the agent, PID 1 in the VM.
    assert.equal(fields[2], '1');
    assert.equal(fields.slice(7).join(' '), 'ping -c 1000 127.0.0.1');
    assert.doesNotMatch(top.stdout, /qemu|berth-vm/);

    const custom = await daemon.docker(['top', 'vmtop', '-o', 'pid,user,comm']);
    assert.equal(custom.exitCode, 0, custom.stderr);
    const lines = custom.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.deepEqual(lines[0], ['PID', 'USER', 'COMMAND']);
    assert.deepEqual(lines[1]!.slice(1), ['root', 'ping']);

    const bad = await daemon.docker(['top', 'vmtop', '-o', 'nosuchfield']);
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /unknown user-defined format specifier "nosuchfield"/);
    assert.equal((await daemon.docker(['rm', '-f', 'vmtop'])).exitCode, 0);
  });
});
