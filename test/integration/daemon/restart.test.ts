/**
 * Persistence: kill -9 of berthd while containers run loses nothing. After a restart the
 * running container is still running and listed, one that exited meanwhile shows its real
 * exit code, logs are intact, and an --rm container that exited meanwhile is gone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

describe('kill -9 of berthd', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('keeps containers, their exit codes and logs across a crash', async () => {
    assert.equal((await daemon.docker(['run', '-d', '--name', 'survivor', 'busybox', 'sh', '-c', 'echo started; sleep 1000'])).exitCode, 0);
    assert.equal((await daemon.docker(['run', '-d', '--name', 'finisher', 'busybox', 'sh', '-c', 'echo bye; sleep 2; exit 7'])).exitCode, 0);
    assert.equal((await daemon.docker(['run', '-d', '--rm', '--name', 'ephemeral', 'busybox', 'sleep', '2'])).exitCode, 0);
    assert.equal((await daemon.docker(['create', '--name', 'idle', 'busybox', 'true'])).exitCode, 0);
    const before = JSON.parse((await daemon.docker(['inspect', 'survivor'])).stdout) as Array<{ State: { Pid: number } }>;

    await daemon.kill9();
    // The containers outlive the daemon: the survivor's process is still there.
    process.kill(before[0]!.State.Pid, 0);
    await new Promise((r) => setTimeout(r, 3500));
    await daemon.restart();

    const survivor = JSON.parse((await daemon.docker(['inspect', 'survivor'])).stdout) as Array<{ State: { Running: boolean; Pid: number } }>;
    assert.equal(survivor[0]?.State.Running, true);
    assert.equal(survivor[0]?.State.Pid, before[0]!.State.Pid);
    assert.match((await daemon.docker(['ps', '--format', '{{.Names}}'])).stdout, /survivor/);
    assert.equal((await daemon.docker(['logs', 'survivor'])).stdout, 'started\n');

    const finisher = JSON.parse((await daemon.docker(['inspect', 'finisher'])).stdout) as Array<{ State: { Status: string; ExitCode: number } }>;
    assert.equal(finisher[0]?.State.Status, 'exited');
    assert.equal(finisher[0]?.State.ExitCode, 7);
    assert.equal((await daemon.docker(['logs', 'finisher'])).stdout, 'bye\n');

    assert.equal((await daemon.docker(['inspect', 'ephemeral'])).exitCode, 1);
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.Status}}', 'idle'])).stdout.trim(), 'created');

    // The daemon still manages what it picked up.
    assert.equal((await daemon.docker(['stop', '-t', '1', 'survivor'])).exitCode, 0);
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.Status}}', 'survivor'])).stdout.trim(), 'exited');
  });
});
