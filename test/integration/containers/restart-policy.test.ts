/**
 * Restart policies and kill as dockerd's state machine, through the real docker CLI and raw
 * API calls: kill returns once the exit is recorded (docker-py inspects right after), a
 * restarting container cannot be removed without -f, on-failure:N counts, and policies survive
 * a berthd restart (unless-stopped stays down once stopped). The backoff's timing is the unit
 * tests' (container-service.test.ts, on an injected clock); nothing here asserts durations.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, eventually, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

interface StateView {
  Status: string;
  Running: boolean;
  Restarting: boolean;
  ExitCode: number;
}

describe('restart policies and kill', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  const inspect = async (ref: string): Promise<{ State: StateView; RestartCount: number }> => {
    const result = await daemon.api('GET', `/containers/${ref}/json`);
    assert.equal(result.status, 200, result.body);
    return JSON.parse(result.body) as { State: StateView; RestartCount: number };
  };

  it('answers POST /kill only once the exit is recorded: an inspect right after shows 137', async () => {
    for (let round = 0; round < 3; round++) {
      const created = await daemon.api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['sleep', '1000'] }));
      assert.equal(created.status, 201, created.body);
      const { Id: id } = JSON.parse(created.body) as { Id: string };
      assert.equal((await daemon.api('POST', `/containers/${id}/start`)).status, 204);
      assert.equal((await daemon.api('POST', `/containers/${id}/kill`)).status, 204);
      const { State } = await inspect(id);
      assert.equal(State.Running, false);
      assert.equal(State.Status, 'exited');
      assert.equal(State.ExitCode, 137);
    }
  });

  it('refuses rm of a container its policy keeps restarting, until it is stopped', async () => {
    const run = await daemon.docker(['run', '-d', '--name', 'flapper', '--restart', 'always', 'busybox', 'false']);
    assert.equal(run.exitCode, 0, run.stderr);
    await eventually(async () => {
      const view = await inspect('flapper');
      return view.RestartCount >= 2 && view.State.Status === 'restarting';
    }, 'the container restarting between runs');
    const rm = await daemon.docker(['rm', 'flapper']);
    assert.equal(rm.exitCode, 1);
    // Restarting, or (rarely) caught in its next short run: refused either way.
    assert.match(rm.stderr, /cannot remove container "\/flapper": container is (restarting|running): stop the container before removing or force remove/);
    assert.equal((await daemon.docker(['stop', 'flapper'])).exitCode, 0);
    const stopped = await inspect('flapper');
    assert.equal(stopped.State.Status, 'exited');
    assert.equal(stopped.State.Restarting, false);
    assert.equal((await daemon.docker(['rm', 'flapper'])).exitCode, 0);
  });

  it('counts on-failure:N and then leaves the container exited', async () => {
    const run = await daemon.docker(['run', '-d', '--name', 'tries', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3']);
    assert.equal(run.exitCode, 0, run.stderr);
    const final = await eventually(async () => {
      const view = await inspect('tries');
      return view.RestartCount === 2 && view.State.Status === 'exited' ? view : undefined;
    }, 'two restarts, then exited');
    assert.equal(final.State.ExitCode, 3);
  });

  it('keeps policies across a berthd restart: unless-stopped stays down once stopped, always comes back', async () => {
    for (const [name, policy] of [['keeper', 'unless-stopped'], ['returner', 'always']]) {
      const run = await daemon.docker(['run', '-d', '--name', name!, '--restart', policy!, 'busybox', 'sleep', '1000']);
      assert.equal(run.exitCode, 0, run.stderr);
      assert.equal((await daemon.docker(['stop', '-t', '1', name!])).exitCode, 0);
    }
    await daemon.kill9();
    await daemon.restart();
    assert.equal((await inspect('keeper')).State.Status, 'exited');
    await eventually(async () => (await inspect('returner')).State.Running, 'the always container running again');
    const policy = await daemon.docker(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}', 'returner']);
    assert.equal(policy.stdout.trim(), 'always');
  });
});
