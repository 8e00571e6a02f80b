/**
 * docker exec and berth exec: output, -e/-w/-u, stdin, tty, detached, exit codes
 * (the command's own, 126 for one that cannot start), and refusals for stopped containers and unknown users.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, countProcesses, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

describe('exec', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
    assert.equal((await daemon.docker(['run', '-d', '--name', 'worker', 'busybox', 'sleep', '1000'])).exitCode, 0);
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('runs a command and returns its output and exit code', async () => {
    const ls = await daemon.docker(['exec', 'worker', 'ls', '/']);
    assert.equal(ls.exitCode, 0, ls.stderr);
    assert.match(ls.stdout, /^bin$/m);
    assert.match(ls.stdout, /^etc$/m);
    const both = await daemon.docker(['exec', 'worker', 'sh', '-c', 'echo out; echo err >&2; exit 5']);
    assert.equal(both.stdout, 'out\n');
    assert.equal(both.stderr, 'err\n');
    assert.equal(both.exitCode, 5);
  });

  it('honours -e, -w and -u', async () => {
    const result = await daemon.docker(['exec', '-e', 'A=1', '-w', '/tmp', '-u', 'nobody', 'worker', 'sh', '-c', 'echo $A; pwd; id -u']);
    assert.equal(result.stdout, '1\n/tmp\n65534\n', result.stderr);
    const unknown = await daemon.docker(['exec', '-u', 'nosuchuser', 'worker', 'true']);
    assert.notEqual(unknown.exitCode, 0);
    assert.match(unknown.stdout + unknown.stderr, /unable to find user nosuchuser/);
  });

  it('gives 126 for a missing command (as dockerd, for every exec that cannot start) and for one that cannot run', async () => {
    const missing = await daemon.docker(['exec', 'worker', 'nosuchcommand']);
    assert.equal(missing.exitCode, 126);
    assert.match(missing.stdout + missing.stderr, /executable file not found/);
    const notExecutable = await daemon.docker(['exec', 'worker', '/etc/passwd']);
    assert.equal(notExecutable.exitCode, 126);
  });

  it('passes stdin with -i and closes it at EOF', async () => {
    const result = await daemon.docker(['exec', '-i', 'worker', 'cat'], { input: 'piped data\n' });
    assert.equal(result.stdout, 'piped data\n');
    assert.equal(result.exitCode, 0);
  });

  it('gives a terminal with -t', async () => {
    const result = await daemon.docker(['exec', '-t', 'worker', 'sh', '-c', 'tty']);
    assert.match(result.stdout, /^\/dev\/pts\/\d+/);
  });

  it('runs detached with -d and reports the session through exec inspect', async () => {
    assert.equal((await daemon.docker(['exec', '-d', 'worker', 'sh', '-c', 'echo done > /tmp/detached'])).exitCode, 0);
    for (let i = 0; i < 50; i++) {
      if ((await daemon.docker(['exec', 'worker', 'cat', '/tmp/detached'])).stdout === 'done\n') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await daemon.docker(['exec', 'worker', 'cat', '/tmp/detached'])).stdout, 'done\n');
    const created = await daemon.api('POST', '/containers/worker/exec', JSON.stringify({ Cmd: ['sh', '-c', 'exit 9'], AttachStdout: true }));
    assert.equal(created.status, 201);
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    const before = JSON.parse((await daemon.api('GET', `/exec/${id}/json`)).body) as { Running: boolean; ExitCode: number | null };
    assert.deepEqual([before.Running, before.ExitCode], [false, null]);
    assert.equal((await daemon.api('POST', `/exec/${id}/start`, JSON.stringify({ Detach: true }))).status, 200);
    let inspect = { Running: true, ExitCode: null as number | null };
    for (let i = 0; i < 50 && inspect.ExitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      inspect = JSON.parse((await daemon.api('GET', `/exec/${id}/json`)).body) as typeof inspect;
    }
    assert.deepEqual([inspect.Running, inspect.ExitCode], [false, 9]);
    assert.equal((await daemon.api('POST', `/exec/${id}/start`, JSON.stringify({ Detach: true }))).status, 409);
    assert.equal((await daemon.api('GET', '/exec/nosuch/json')).status, 404);
  });

  it('refuses exec into a stopped container and with no command', async () => {
    await daemon.docker(['create', '--name', 'idle', 'busybox', 'true']);
    const stopped = await daemon.docker(['exec', 'idle', 'true']);
    assert.notEqual(stopped.exitCode, 0);
    assert.match(stopped.stderr, /is not running/);
    const empty = await daemon.api('POST', '/containers/worker/exec', JSON.stringify({ Cmd: [] }));
    assert.equal(empty.status, 400);
    await daemon.docker(['rm', 'idle']);
  });

  it('works through berth exec too, and leaves no exec monitor behind', async () => {
    const result = await daemon.berth(['exec', '-e', 'B=2', 'worker', 'sh', '-c', 'echo $B; exit 3']);
    assert.equal(result.stdout, '2\n');
    assert.equal(result.exitCode, 3);
    const piped = await daemon.berth(['exec', '-i', 'worker', 'wc', '-c'], { input: 'abcd' });
    assert.equal(piped.stdout.trim(), '4');
    assert.equal((await daemon.berth(['exec', 'worker', 'nosuchcommand'])).exitCode, 126);
    // One conmon for the container itself; exec monitors exit with their processes.
    for (let i = 0; i < 30 && (await countProcesses('conmon', daemon.execRoot)) > 1; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await countProcesses('conmon', daemon.execRoot), 1);
  });
});
