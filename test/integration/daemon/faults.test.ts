/**
 * Faults of the parts under berthd, each ending with a clear state and nothing left behind: conmon
 * (the container's monitor) killed under a running container.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from '../../../src/sys/index.js';
import { eventually, startTestDaemon, type TestDaemon } from '../harness.js';

describe('faults of the parts', () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('ends a container whose conmon is killed, says why, and leaves nothing', async () => {
    const id = (await daemon.berth(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000'])).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = await runCommand('ps', ['-eo', 'pid=,args=']);
    const conmon = ps.stdout.split('\n').find((line) => /\bconmon\b/.test(line) && line.includes(`-c ${id}`));
    assert.ok(conmon, 'conmon runs for the container');
    process.kill(Number(conmon.trim().split(/\s+/)[0]), 'SIGKILL');
    const state = await eventually(async () => {
      const inspect = JSON.parse((await daemon.api('GET', `/containers/${id}/json`)).body) as { State: { Status: string; ExitCode: number; Error: string } };
      return inspect.State.Status === 'exited' ? inspect.State : undefined;
    }, 'the container to be recorded as exited');
    assert.equal(state.ExitCode, 137);
    assert.match(state.Error, /monitor \(conmon\) died/);
    const check = await daemon.berth(['system', 'check']);
    assert.equal(check.exitCode, 0, check.stdout);
    const rm = await daemon.berth(['rm', id]);
    assert.equal(rm.exitCode, 0, rm.stderr);
    const left = await runCommand('ps', ['-eo', 'args=']);
    assert.ok(!left.stdout.includes(id), 'no process of the container is left');
  });
});
