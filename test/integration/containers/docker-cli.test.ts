/**
 * The foundation through the real docker CLI: run, exit codes, lifecycle, logs, inspect,
 * top, ps filters, images, and bad input that must change nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, countProcesses, hasDocker, mountsUnder, startTestDaemon, type TestDaemon } from '../harness.js';

describe('docker CLI against berthd', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('runs a container in the foreground and prints its output', async () => {
    const result = await daemon.docker(['run', '--rm', 'busybox', 'echo', 'hello']);
    assert.equal(result.stderr, '');
    assert.equal(result.stdout, 'hello\n');
    assert.equal(result.exitCode, 0);
    // --rm removed it.
    const ps = await daemon.docker(['ps', '-aq']);
    assert.equal(ps.stdout.trim(), '');
  });

  it('keeps stdout and stderr apart', async () => {
    const result = await daemon.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(result.stdout, 'out\n');
    assert.equal(result.stderr, 'err\n');
  });

  it('gives the container its exit code, 127 for a missing command and 126 for one that cannot run', async () => {
    assert.equal((await daemon.docker(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3'])).exitCode, 3);
    const missing = await daemon.docker(['run', '--rm', 'busybox', 'nosuchcommand']);
    assert.equal(missing.exitCode, 127);
    assert.match(missing.stderr, /executable file not found/);
    const notExecutable = await daemon.docker(['run', '--rm', 'busybox', '/etc/passwd']);
    assert.equal(notExecutable.exitCode, 126);
    assert.match(notExecutable.stderr, /permission denied/);
  });

  it('runs as a non-root user who can read the root directory', async () => {
    const result = await daemon.docker(['run', '--rm', '-u', '1000:1000', 'busybox', 'sh', '-c', 'id -u; ls / | grep -c bin']);
    assert.equal(result.stdout, '1000\n1\n', result.stderr);
  });

  it('leaves nothing behind when start fails', async () => {
    const result = await daemon.docker(['run', '--name', 'failing', 'busybox', 'nosuchcommand']);
    assert.equal(result.exitCode, 127);
    const inspect = JSON.parse((await daemon.docker(['inspect', 'failing'])).stdout) as Array<{ State: { Status: string; ExitCode: number; Running: boolean } }>;
    assert.equal(inspect[0]?.State.Running, false);
    assert.equal(inspect[0]?.State.ExitCode, 127);
    assert.deepEqual(await mountsUnder(daemon.dir), []);
    assert.equal(await countProcesses('conmon', daemon.execRoot), 0);
    assert.equal((await daemon.docker(['rm', 'failing'])).exitCode, 0);
  });

  it('answers an unknown image with exit 125 and creates nothing', async () => {
    const result = await daemon.docker(['run', '--pull', 'never', 'nosuchimage:1']);
    assert.equal(result.exitCode, 125);
    assert.match(result.stderr, /No such image/);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout.trim(), '');
  });

  it('refuses a bad flag value with exit 125', async () => {
    const result = await daemon.docker(['run', '--memory', 'abc', 'busybox', 'true']);
    assert.equal(result.exitCode, 125);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout.trim(), '');
  });

  it('runs detached, lists, inspects, tops, stops and removes', async () => {
    const run = await daemon.docker(['run', '-d', '--name', 'sleeper', '--label', 'role=test', 'busybox', 'sleep', '1000']);
    assert.equal(run.exitCode, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);

    const ps = await daemon.docker(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}']);
    assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)} sleeper Up `, 'm'));
    assert.equal((await daemon.docker(['ps', '-q', '--filter', 'label=role=test'])).stdout.trim(), id.slice(0, 12));
    assert.equal((await daemon.docker(['ps', '-q', '--filter', 'name=nomatch'])).stdout.trim(), '');
    assert.equal((await daemon.docker(['ps', '-q', '--filter', 'status=running', '--filter', 'ancestor=busybox'])).stdout.trim(), id.slice(0, 12));

    const inspect = JSON.parse((await daemon.docker(['inspect', 'sleeper'])).stdout) as Array<{
      Id: string;
      Name: string;
      State: { Running: boolean; Pid: number; Status: string };
      Config: { Cmd: string[]; Labels: Record<string, string> };
      HostConfig: { Isolation: string };
    }>;
    const info = inspect[0]!;
    assert.equal(info.Id, id);
    assert.equal(info.Name, '/sleeper');
    assert.equal(info.State.Running, true);
    assert.ok(info.State.Pid > 0);
    assert.deepEqual(info.Config.Cmd, ['sleep', '1000']);
    assert.equal(info.Config.Labels['role'], 'test');

    // The host sees the container's process under its host PID.
    const top = await daemon.docker(['top', 'sleeper']);
    assert.equal(top.exitCode, 0, top.stderr);
    assert.match(top.stdout, /sleep 1000/);
    assert.match(top.stdout, new RegExp(`\\b${info.State.Pid}\\b`));

    const conflict = await daemon.docker(['run', '-d', '--name', 'sleeper', 'busybox', 'true']);
    assert.equal(conflict.exitCode, 125);
    assert.match(conflict.stderr, /is already in use/);

    const rmRunning = await daemon.docker(['rm', 'sleeper']);
    assert.notEqual(rmRunning.exitCode, 0);
    assert.match(rmRunning.stderr, /container is running/);

    const stop = await daemon.docker(['stop', '-t', '1', 'sleeper']);
    assert.equal(stop.exitCode, 0, stop.stderr);
    // sleep as PID 1 has no TERM handler, so the kernel ignores TERM: stop ends with SIGKILL, as with dockerd.
    const stopped = JSON.parse((await daemon.docker(['inspect', 'sleeper'])).stdout) as Array<{ State: { Status: string; ExitCode: number } }>;
    assert.equal(stopped[0]?.State.Status, 'exited');
    assert.equal(stopped[0]?.State.ExitCode, 137);
    assert.match((await daemon.docker(['ps', '-a', '--filter', 'exited=137', '--format', '{{.Names}}'])).stdout, /sleeper/);

    assert.equal((await daemon.docker(['rm', 'sleeper'])).exitCode, 0);
    assert.deepEqual(await mountsUnder(daemon.dir), []);
    const gone = await daemon.docker(['inspect', 'sleeper']);
    assert.equal(gone.exitCode, 1);
    assert.match(gone.stderr, /No such (container|object)/);
  });

  it('kills with a signal, restarts, and force-removes a running container', async () => {
    const script = 'trap "exit 42" TERM; while true; do sleep 0.2; done';
    assert.equal((await daemon.docker(['run', '-d', '--name', 'killme', 'busybox', 'sh', '-c', script])).exitCode, 0);
    assert.equal((await daemon.docker(['kill', '-s', 'TERM', 'killme'])).exitCode, 0);
    assert.equal((await daemon.docker(['wait', 'killme'])).stdout.trim(), '42');
    const bad = await daemon.docker(['kill', '-s', 'BOGUS', 'killme']);
    assert.notEqual(bad.exitCode, 0);
    assert.equal((await daemon.docker(['restart', '-t', '1', 'killme'])).exitCode, 0);
    const restarted = JSON.parse((await daemon.docker(['inspect', 'killme'])).stdout) as Array<{ State: { Running: boolean } }>;
    assert.equal(restarted[0]?.State.Running, true);
    assert.equal((await daemon.docker(['rm', '-f', 'killme'])).exitCode, 0);
    assert.equal(await countProcesses('conmon', daemon.execRoot), 0);
  });

  it('serves logs with tail, timestamps and follow', async () => {
    const run = await daemon.docker(['run', '--name', 'logger', 'busybox', 'sh', '-c', 'echo one; echo two >&2; echo three']);
    assert.equal(run.exitCode, 0);
    const all = await daemon.docker(['logs', 'logger']);
    assert.equal(all.stdout, 'one\nthree\n');
    assert.equal(all.stderr, 'two\n');
    // conmon reads stdout and stderr apart, so which of them is last is not fixed: count lines.
    const tail = await daemon.docker(['logs', '--tail', '1', 'logger']);
    assert.equal((tail.stdout + tail.stderr).split('\n').filter(Boolean).length, 1);
    const stamped = await daemon.docker(['logs', '-t', 'logger']);
    assert.match(stamped.stdout, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z one$/m);

    // --since in the future and --until in the past select nothing; a window around now selects all.
    assert.equal((await daemon.docker(['logs', '--since', '2099-01-01T00:00:00Z', 'logger'])).stdout, '');
    assert.equal((await daemon.docker(['logs', '--until', '2000-01-01T00:00:00Z', 'logger'])).stdout, '');
    assert.equal((await daemon.docker(['logs', '--since', '10m', '--until', '2099-01-01T00:00:00Z', 'logger'])).stdout, 'one\nthree\n');

    await daemon.docker(['run', '-d', '--name', 'follower', 'busybox', 'sh', '-c', 'echo a; sleep 1; echo b']);
    const followed = await daemon.docker(['logs', '-f', 'follower']);
    assert.equal(followed.stdout, 'a\nb\n');
    await daemon.docker(['rm', '-f', 'logger', 'follower']);
  });

  it('waits for a container and reports its code', async () => {
    await daemon.docker(['run', '-d', '--name', 'waiter', 'busybox', 'sh', '-c', 'sleep 1; exit 5']);
    const wait = await daemon.docker(['wait', 'waiter']);
    assert.equal(wait.stdout.trim(), '5');
    await daemon.docker(['rm', 'waiter']);
  });

  it('lists, inspects, tags and removes images; refuses to remove one in use', async () => {
    const images = await daemon.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    assert.match(images.stdout, /^busybox:latest [0-9a-f]{12}$/m);
    const inspect = JSON.parse((await daemon.docker(['image', 'inspect', 'busybox'])).stdout) as Array<{ Id: string; Config: { Cmd: string[] }; RootFS: { Layers: string[] } }>;
    assert.deepEqual(inspect[0]?.Config.Cmd, ['sh']);
    assert.equal(inspect[0]?.RootFS.Layers.length, 1);

    assert.equal((await daemon.docker(['tag', 'busybox', 'mybox:1'])).exitCode, 0);
    assert.match((await daemon.docker(['images'])).stdout, /mybox\s+1\s/);
    const history = await daemon.docker(['history', 'mybox:1']);
    assert.equal(history.exitCode, 0, history.stderr);

    await daemon.docker(['create', '--name', 'user', 'mybox:1', 'true']);
    // Removing one of two tags only untags.
    const untag = await daemon.docker(['rmi', 'mybox:1']);
    assert.equal(untag.exitCode, 0, untag.stderr);
    assert.match(untag.stdout, /Untagged: mybox:1/);
    // The last tag of an image a container uses is refused.
    const refused = await daemon.docker(['rmi', 'busybox']);
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.stderr, /conflict/);
    await daemon.docker(['rm', 'user']);
  });

  it('prunes images no container uses', async () => {
    assert.equal((await daemon.docker(['tag', 'busybox', 'spare:1'])).exitCode, 0);
    // Dangling-only prune keeps tagged images.
    assert.equal((await daemon.docker(['image', 'prune', '-f'])).exitCode, 0);
    assert.match((await daemon.docker(['images', '--format', '{{.Repository}}'])).stdout, /spare/);
    // `until` takes every format docker's does: a Go duration here.
    const untilDuration = await daemon.docker(['image', 'prune', '-f', '--filter', 'until=24h']);
    assert.equal(untilDuration.exitCode, 0, untilDuration.stderr);
    assert.match((await daemon.docker(['images', '--format', '{{.Repository}}'])).stdout, /spare/);
    await daemon.docker(['create', '--name', 'keeper', 'busybox', 'true']);
    const prune = await daemon.docker(['image', 'prune', '-a', '-f']);
    assert.equal(prune.exitCode, 0, prune.stderr);
    // The image is in use by 'keeper', so both of its tags stay.
    assert.match((await daemon.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, /busybox:latest/);
    await daemon.docker(['rm', 'keeper']);
  });

  it('prunes stopped containers', async () => {
    await daemon.docker(['run', '--name', 'p1', 'busybox', 'true']);
    // Created just now, so not before 24 hours ago: an `until=24h` prune keeps it.
    const recent = await daemon.docker(['container', 'prune', '-f', '--filter', 'until=24h']);
    assert.equal(recent.exitCode, 0, recent.stderr);
    assert.notEqual((await daemon.docker(['ps', '-aq', '--filter', 'name=p1'])).stdout.trim(), '');
    const prune = await daemon.docker(['container', 'prune', '-f']);
    assert.equal(prune.exitCode, 0, prune.stderr);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout.trim(), '');
  });
});
