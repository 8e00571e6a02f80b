/**
 * Healthchecks as dockerd runs them, through the real docker CLI and berth's own: `--health-*`
 * flags and an image's HEALTHCHECK (built with the classic builder), probes as execs in the
 * container, State.Health in inspect (status, failing streak, the last five results with their
 * output), `(healthy)` in ps and the `health` filter, `health_status` and exec events, a
 * timed-out probe killed, the loop ended by stop and pause and begun again by start, and the
 * health kept across a berthd restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cannotRun, eventually, hasDocker, NO_DOCKER, startTestDaemon, type TestDaemon } from '../harness.js';

interface Health {
  Status: string;
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

describe('healthchecks', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
    daemon.env['DOCKER_BUILDKIT'] = '0';
  });
  after(async () => {
    await daemon?.cleanup();
  });

  const docker = async (args: string[], input?: string): Promise<string> => {
    const result = await daemon.docker(args, { timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
    assert.equal(result.exitCode, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const health = async (name: string): Promise<Health | null> => JSON.parse(await docker(['inspect', '-f', '{{json .State.Health}}', name])) as Health | null;
  const healthIs = (name: string, status: string): Promise<Health> =>
    eventually(async () => {
      const h = await health(name);
      return h?.Status === status ? h : undefined;
    }, `${name} ${status}`);
  const psNames = async (filter: string): Promise<string[]> => (await docker(['ps', '--filter', filter, '--format', '{{.Names}}'])).split('\n').filter(Boolean).sort();

  it('--health-cmd: starting, then healthy, shown by inspect, ps, the health filter and events', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await docker(['run', '-d', '--name', 'hc-ok', '--health-cmd', 'echo fine', '--health-interval', '1s', 'busybox', 'sleep', '300']);
    await docker(['run', '-d', '--name', 'hc-slow', '--health-cmd', 'true', '--health-interval', '1h', 'busybox', 'sleep', '300']);
    await docker(['run', '-d', '--name', 'hc-none', 'busybox', 'sleep', '300']);
    assert.equal((await health('hc-slow'))?.Status, 'starting');
    assert.match(await docker(['ps', '--filter', 'name=hc-slow', '--format', '{{.Status}}']), /^Up .* \(health: starting\)$/);
    const h = await healthIs('hc-ok', 'healthy');
    assert.equal(h.FailingStreak, 0);
    assert.equal(h.Log[0]!.ExitCode, 0);
    assert.equal(h.Log[0]!.Output, 'fine\n');
    assert.ok(Date.parse(h.Log[0]!.End) >= Date.parse(h.Log[0]!.Start));
    assert.match(await docker(['ps', '--filter', 'name=hc-ok', '--format', '{{.Status}}']), /^Up .* \(healthy\)$/);
    assert.deepEqual(await psNames('health=healthy'), ['hc-ok']);
    assert.deepEqual(await psNames('health=starting'), ['hc-slow']);
    assert.deepEqual(await psNames('health=none'), ['hc-none']);
    assert.equal(await health('hc-none'), null);
    const config = JSON.parse(await docker(['inspect', '-f', '{{json .Config.Healthcheck}}', 'hc-ok'])) as Record<string, unknown>;
    assert.deepEqual(config, { Test: ['CMD-SHELL', 'echo fine'], Interval: 1e9 });
    const until = Math.ceil(Date.now() / 1000) + 1;
    const events = await docker(['events', '--since', String(since), '--until', String(until), '--filter', 'container=hc-ok', '--format', '{{.Action}}']);
    assert.ok(events.split('\n').includes('health_status: healthy'), events);
    assert.ok(events.split('\n').includes('exec_create: /bin/sh -c echo fine'), events);
    assert.ok(events.split('\n').includes('exec_start: /bin/sh -c echo fine'), events);
    const filtered = await docker(['events', '--since', String(since), '--until', String(until), '--filter', 'event=health_status', '--format', '{{.Actor.Attributes.name}} {{.Action}}']);
    assert.deepEqual(filtered.split('\n'), ['hc-ok health_status: healthy']);
  });

  it('failing probes count to --health-retries and make the container unhealthy, with their output', async () => {
    await docker(['run', '-d', '--name', 'hc-bad', '--health-cmd', 'echo broken >&2; exit 3', '--health-interval', '1s', '--health-retries', '2', 'busybox', 'sleep', '300']);
    const h = await healthIs('hc-bad', 'unhealthy');
    assert.ok(h.FailingStreak >= 2, JSON.stringify(h));
    assert.equal(h.Log.at(-1)!.ExitCode, 3);
    assert.equal(h.Log.at(-1)!.Output, 'broken\n');
    assert.match(await docker(['ps', '--filter', 'name=hc-bad', '--format', '{{.Status}}']), /\(unhealthy\)$/);
    assert.deepEqual(await psNames('health=unhealthy'), ['hc-bad']);
    // Only the last five results are kept.
    await eventually(async () => ((await health('hc-bad'))?.FailingStreak ?? 0) >= 6, 'six failures');
    assert.equal((await health('hc-bad'))!.Log.length, 5);
  });

  it('a probe past --health-timeout is killed and fails with dockerd\'s message', async () => {
    await docker(['run', '-d', '--name', 'hc-hang', '--health-cmd', 'sleep 77', '--health-interval', '1s', '--health-timeout', '1s', '--health-retries', '1', 'busybox', 'sleep', '300']);
    const h = await healthIs('hc-hang', 'unhealthy');
    assert.equal(h.Log[0]!.ExitCode, -1);
    assert.equal(h.Log[0]!.Output, 'Health check exceeded timeout (1s)');
    await eventually(async () => ((await health('hc-hang'))?.Log.length ?? 0) >= 3, 'three timed-out probes');
    // Killed probes do not pile up: at most the one under way is left.
    const sleeps = (await docker(['exec', 'hc-hang', 'ps', '-o', 'args'])).split('\n').filter((line) => line.includes('sleep 77'));
    assert.ok(sleeps.length <= 1, sleeps.join('\n'));
  });

  it('stop and pause end the probes (unhealthy, as dockerd); start begins again from starting', async () => {
    await docker(['run', '-d', '--name', 'hc-life', '--health-cmd', 'true', '--health-interval', '1s', 'busybox', 'sleep', '300']);
    await healthIs('hc-life', 'healthy');
    await docker(['pause', 'hc-life']);
    const paused = await health('hc-life');
    assert.equal(paused?.Status, 'unhealthy');
    await docker(['unpause', 'hc-life']);
    await healthIs('hc-life', 'healthy');
    await docker(['stop', '-t', '1', 'hc-life']);
    const stopped = await health('hc-life');
    assert.equal(stopped?.Status, 'unhealthy');
    // No probe runs on a stopped container: its log stays as it was.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.deepEqual((await health('hc-life'))?.Log, stopped?.Log);
    await docker(['start', 'hc-life']);
    const restarted = await health('hc-life');
    assert.equal(restarted?.Status, 'starting');
    assert.equal(restarted?.FailingStreak, 0);
    await healthIs('hc-life', 'healthy');
  });

  it('an image\'s HEALTHCHECK applies; flags override it field by field; --no-healthcheck turns it off', async () => {
    await docker(['build', '-t', 'hc-image:1', '-'], 'FROM busybox\nHEALTHCHECK --interval=1s --retries=1 CMD ["sh", "-c", "test -f /ready"]\nCMD ["sleep", "300"]\n');
    await docker(['run', '-d', '--name', 'hc-img', 'hc-image:1']);
    const unready = await healthIs('hc-img', 'unhealthy');
    assert.equal(unready.Log[0]!.ExitCode, 1);
    await docker(['exec', 'hc-img', 'touch', '/ready']);
    await healthIs('hc-img', 'healthy');
    // A flag replaces only its own field: the image's test and retries stay.
    await docker(['run', '-d', '--name', 'hc-img-slow', '--health-interval', '1h', 'hc-image:1']);
    const merged = JSON.parse(await docker(['inspect', '-f', '{{json .Config.Healthcheck}}', 'hc-img-slow'])) as Record<string, unknown>;
    assert.deepEqual(merged, { Test: ['CMD', 'sh', '-c', 'test -f /ready'], Interval: 3600e9, Retries: 1 });
    await docker(['run', '-d', '--name', 'hc-img-off', '--no-healthcheck', 'hc-image:1']);
    assert.equal(await health('hc-img-off'), null);
    assert.deepEqual(JSON.parse(await docker(['inspect', '-f', '{{json .Config.Healthcheck.Test}}', 'hc-img-off'])), ['NONE']);
  });

  it('refuses healthcheck values dockerd refuses, creating nothing', async () => {
    const before = await docker(['ps', '-aq']);
    const tooShort = await daemon.api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['true'], Healthcheck: { Test: ['CMD', 'true'], Interval: 1000 } }));
    assert.equal(tooShort.status, 400);
    assert.match(tooShort.body, /Interval in Healthcheck cannot be less than 1ms/);
    const negative = await daemon.api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['true'], Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } }));
    assert.equal(negative.status, 400);
    assert.match(negative.body, /Retries in Healthcheck cannot be negative/);
    const cli = await daemon.docker(['run', '--rm', '--no-healthcheck', '--health-cmd', 'true', 'busybox', 'true']);
    assert.equal(cli.exitCode, 125);
    assert.match(cli.stderr, /--no-healthcheck conflicts with --health-\* options/);
    assert.equal(await docker(['ps', '-aq']), before);
  });

  it('an unknown test type is taken as dockerd takes it: the container runs, its health stays starting, no probe runs', async () => {
    const create = async (name: string, test: string[]): Promise<void> => {
      const created = await daemon.api('POST', `/containers/create?name=${name}`, JSON.stringify({ Image: 'busybox', Cmd: ['sleep', '300'], Healthcheck: { Test: test, Interval: 1e8 } }));
      assert.equal(created.status, 201, created.body);
      await docker(['start', name]);
    };
    await create('hc-unknown', ['SHELL', 'true']);
    await create('hc-known', ['CMD', 'true']);
    // Once the probed twin has been probed twice, the unknown one would have been too.
    await eventually(async () => ((await health('hc-known'))?.Log.length ?? 0) >= 2, 'hc-known probed twice');
    const unknown = await health('hc-unknown');
    assert.equal(unknown?.Status, 'starting');
    assert.deepEqual(unknown?.Log, []);
    assert.match(await docker(['ps', '--filter', 'name=hc-unknown', '--format', '{{.Status}}']), /^Up .* \(health: starting\)$/);
    await docker(['rm', '-f', 'hc-unknown', 'hc-known']);
  });

  it('berth run --health-cmd: the berth CLI shows the same health', async () => {
    const run = await daemon.berth(['run', '-d', '--name', 'hc-berth', '--health-cmd', 'true', '--health-interval', '1s', '--health-retries', '2', 'busybox', 'sleep', '300']);
    assert.equal(run.exitCode, 0, run.stderr);
    await healthIs('hc-berth', 'healthy');
    const ps = await daemon.berth(['ps', '--filter', 'health=healthy', '--format', '{{.Names}} {{.Status}}']);
    assert.equal(ps.exitCode, 0, ps.stderr);
    assert.match(ps.stdout, /hc-berth Up .* \(healthy\)/);
    const conflict = await daemon.berth(['run', '--rm', '--no-healthcheck', '--health-interval', '1s', 'busybox', 'true']);
    assert.equal(conflict.exitCode, 125);
    assert.match(conflict.stderr, /--no-healthcheck conflicts with --health-\* options/);
  });

  it('the health survives a berthd restart, and the probes go on', async () => {
    await docker(['run', '-d', '--name', 'hc-keep', '--health-cmd', 'true', '--health-interval', '1s', 'busybox', 'sleep', '300']);
    await healthIs('hc-keep', 'healthy');
    // berthd killed outright: the container runs on under conmon, its health is what was written.
    await daemon.kill9();
    await daemon.restart();
    const kept = await health('hc-keep');
    assert.equal(kept?.Status, 'healthy');
    const after = kept!.Log.at(-1)?.End ?? '';
    await eventually(async () => ((await health('hc-keep'))?.Log.at(-1)?.End ?? '') > after, 'a probe after the restart');
  });
});
