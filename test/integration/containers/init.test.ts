/**
 * `--init` as dockerd runs it: Debian's tini-static bound read-only at /sbin/docker-init and
 * put before the command, so it is PID 1, forwards signals and reaps; the container's exit code
 * is its command's. `berthd --init` makes it the default that `--init=false` turns off. In a VM
 * container: test/integration/vm/vm-pid-namespace.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cannotRun, hasDocker, NO_DOCKER, startTestDaemon, type TestDaemon } from '../harness.js';

describe('--init', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let initByDefault: TestDaemon | undefined;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
    await initByDefault?.cleanup();
  });

  const run = async (on: TestDaemon, args: string[]): Promise<{ exitCode: number; stdout: string }> => {
    const result = await on.docker(['run', '--rm', ...args]);
    return { exitCode: result.exitCode, stdout: result.stdout.trim() };
  };

  it('runs docker-init as PID 1 with the command as its child; the exit code is the command\'s', async () => {
    assert.deepEqual(await run(daemon, ['--init', 'busybox', 'cat', '/proc/1/comm']), { exitCode: 0, stdout: 'docker-init' });
    assert.deepEqual(await run(daemon, ['busybox', 'cat', '/proc/1/comm']), { exitCode: 0, stdout: 'cat' });
    const ps = await run(daemon, ['--init', 'busybox', 'ps', '-o', 'pid,args']);
    assert.match(ps.stdout, /^\s*1 \/sbin\/docker-init -- ps -o pid,args$/m);
    assert.equal((await run(daemon, ['--init', 'busybox', 'sh', '-c', 'exit 7'])).exitCode, 7);
    // The init is read-only in the container.
    assert.notEqual((await run(daemon, ['--init', 'busybox', 'sh', '-c', 'echo x > /sbin/docker-init'])).exitCode, 0);
    const inspect = await daemon.docker(['create', '--init', 'busybox', 'true']);
    assert.equal((await daemon.docker(['inspect', '-f', '{{.HostConfig.Init}} {{.Path}}', inspect.stdout.trim()])).stdout.trim(), 'true true');
    // Inspect shows what was asked, as dockerd's: false for --init=false, nothing when unset.
    const off = (await daemon.docker(['create', '--init=false', 'busybox', 'true'])).stdout.trim();
    assert.equal((await daemon.docker(['inspect', '-f', '{{json .HostConfig.Init}}', off])).stdout.trim(), 'false');
    const unset = (await daemon.docker(['create', 'busybox', 'true'])).stdout.trim();
    assert.equal((await daemon.docker(['inspect', '-f', '{{json .HostConfig.Init}}', unset])).stdout.trim(), 'null');
    assert.equal((await daemon.docker(['rm', off, unset, inspect.stdout.trim()])).exitCode, 0);
  });

  it('forwards the stop signal to the command (which as PID 1 would ignore it) and reaps orphans', async () => {
    const id = (await daemon.docker(['run', '-d', '--init', 'busybox', 'sleep', '300'])).stdout.trim();
    const stop = await daemon.docker(['stop', '-t', '60', id]);
    assert.equal(stop.exitCode, 0, stop.stderr);
    // SIGTERM reached sleep through the init: 143, not the 137 of a kill at the timeout.
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.ExitCode}}', id])).stdout.trim(), '143');
    // An orphaned child that exits is reaped: no zombie stays.
    const zombies = await run(daemon, ['--init', 'busybox', 'sh', '-c', '(sleep 0.2 &) ; sleep 1; cat /proc/[0-9]*/status | grep -c "^State:.*Z" || true']);
    assert.equal(zombies.stdout, '0');
  });

  it('berthd --init makes it the default; --init=false turns it off', async () => {
    initByDefault = await startTestDaemon({ daemonArgs: ['--init'] });
    assert.equal((await run(initByDefault, ['busybox', 'cat', '/proc/1/comm'])).stdout, 'docker-init');
    assert.equal((await run(initByDefault, ['--init=false', 'busybox', 'cat', '/proc/1/comm'])).stdout, 'cat');
    // The daemon's default applies at start; inspect shows the container asked nothing, as dockerd's.
    const id = (await initByDefault.docker(['create', 'busybox', 'true'])).stdout.trim();
    assert.equal((await initByDefault.docker(['inspect', '-f', '{{json .HostConfig.Init}}', id])).stdout.trim(), 'null');
    assert.equal((await initByDefault.docker(['rm', id])).exitCode, 0);
  });
});
