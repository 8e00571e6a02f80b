/**
 * Resource limits, OOM, stats, events, pause/unpause, rename, update and restart policies,
 * through the real docker CLI, berth and the raw API against a private berthd.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { NO_DOCKER, cannotRun, eventually, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

/** Poll `check` until it returns a value (not undefined) or give up after `limitMs`. */

/**
 * An `--until` a moment ahead: the docker CLI sends whole seconds, so `--until 0s` would miss
 * the events of the current second. A future until ends the stream by itself.
 */
function untilSoon(): string {
  return String(Math.floor(Date.now() / 1000) + 2);
}

async function cgroupFile(controller: string, id: string, file: string): Promise<string> {
  return (await readFile(`/sys/fs/cgroup/${controller}/berth/${id}/${file}`, 'utf8')).trim();
}

describe('resources, stats, events and restart policies', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  const inspect = async (name: string, format: string): Promise<string> => (await daemon.docker(['inspect', '-f', format, name])).stdout.trim();

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('applies limits: visible in inspect and in the container cgroup files', async () => {
    const run = await daemon.docker([
      'run', '-d', '--name', 'lim', '-m', '64m', '--memory-reservation', '32m', '--cpus', '0.5', '--cpu-shares', '512',
      '--cpuset-cpus', '0', '--pids-limit', '50', '--ulimit', 'nofile=1024:2048', '--shm-size', '16m', 'busybox', 'sleep', '1000',
    ]);
    assert.equal(run.exitCode, 0, run.stderr);
    const id = run.stdout.trim();
    const host = JSON.parse(await inspect('lim', '{{json .HostConfig}}')) as Record<string, unknown>;
    assert.equal(host['Memory'], 64 * 1024 * 1024);
    assert.equal(host['MemorySwap'], 128 * 1024 * 1024, 'docker defaults memory+swap to twice the memory');
    assert.equal(host['MemoryReservation'], 32 * 1024 * 1024);
    assert.equal(host['NanoCpus'], 500_000_000);
    assert.equal(host['CpuShares'], 512);
    assert.equal(host['CpusetCpus'], '0');
    assert.equal(host['PidsLimit'], 50);
    assert.equal(host['ShmSize'], 16 * 1024 * 1024);
    assert.deepEqual(host['Ulimits'], [{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
    if ((await daemon.docker(['info', '-f', '{{.CgroupVersion}}'])).stdout.trim() === '1') {
      assert.equal(await cgroupFile('memory', id, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
      assert.equal(await cgroupFile('memory', id, 'memory.soft_limit_in_bytes'), String(32 * 1024 * 1024));
      assert.equal(await cgroupFile('cpu', id, 'cpu.cfs_quota_us'), '50000');
      assert.equal(await cgroupFile('cpu', id, 'cpu.cfs_period_us'), '100000');
      assert.equal(await cgroupFile('cpu', id, 'cpu.shares'), '512');
      assert.equal(await cgroupFile('cpuset', id, 'cpuset.cpus'), '0');
      assert.equal(await cgroupFile('pids', id, 'pids.max'), '50');
    }
    const inside = await daemon.docker(['exec', 'lim', 'sh', '-c', 'ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1']);
    const [soft, hard, shm] = inside.stdout.trim().split('\n');
    assert.equal(soft, '1024');
    assert.equal(hard, '2048');
    assert.match(shm ?? '', /16384/);
  });

  it('refuses bad limits with docker’s words and creates nothing', async () => {
    const small = await daemon.docker(['create', '-m', '1m', 'busybox', 'true']);
    assert.notEqual(small.exitCode, 0);
    assert.match(small.stderr, /Minimum memory limit allowed is 6MB/);
    const swap = await daemon.docker(['create', '-m', '64m', '--memory-swap', '32m', 'busybox', 'true']);
    assert.match(swap.stderr, /Minimum memoryswap limit should be larger than memory limit/);
    const cpus = await daemon.docker(['create', '--cpus', '64', 'busybox', 'true']);
    assert.match(cpus.stderr, /Range of CPUs is from 0.01 to/);
    const ulimit = await daemon.docker(['create', '--ulimit', 'nofile=10:1', 'busybox', 'true']);
    assert.notEqual(ulimit.exitCode, 0);
    const hostHard = Number(/Max open files\s+\d+\s+(\d+)/.exec(await readFile('/proc/self/limits', 'utf8'))?.[1]);
    const status = await readFile('/proc/self/status', 'utf8');
    const hasSysResource = ((BigInt('0x' + (/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0')) >> 24n) & 1n) === 1n;
    if (!hasSysResource && Number.isFinite(hostHard)) {
      const above = await daemon.docker(['run', '--rm', '--ulimit', `nofile=${hostHard + 1}:${hostHard + 1}`, 'busybox', 'true']);
      assert.equal(above.exitCode, 125);
      assert.match(above.stderr, /hard limit/);
    }
    const ps = await daemon.docker(['ps', '-aq', '--filter', 'status=created']);
    assert.equal(ps.stdout.trim(), '');
  });

  it('reports an OOM kill as OOMKilled with exit code 137', async () => {
    const run = await daemon.docker(['run', '--name', 'oom', '-m', '8m', '--memory-swap', '8m', 'busybox', 'sh', '-c', 'x=a; while true; do x="$x$x"; done']);
    assert.equal(run.exitCode, 137);
    assert.equal(await inspect('oom', '{{.State.OOMKilled}} {{.State.ExitCode}}'), 'true 137');
    const events = await daemon.docker(['events', '--since', '5m', '--until', untilSoon(), '--filter', 'container=oom', '--format', '{{.Action}}']);
    assert.match(events.stdout, /^oom\ndie\n/m);
    await daemon.docker(['rm', 'oom']);
  });

  it('streams stats in docker’s shape, one-shot and through docker stats', async () => {
    const json = await daemon.docker(['stats', '--no-stream', '--format', 'json', 'lim']);
    assert.equal(json.exitCode, 0, json.stderr);
    const row = JSON.parse(json.stdout) as Record<string, string>;
    assert.equal(row['Name'], 'lim');
    assert.match(row['MemUsage'] ?? '', /\/ 64MiB$/);
    assert.match(row['CPUPerc'] ?? '', /^\d+\.\d\d%$/);
    assert.equal(row['PIDs'], '1');
    const raw = await daemon.api('GET', '/containers/lim/stats?stream=false');
    assert.equal(raw.status, 200);
    const stats = JSON.parse(raw.body) as Record<string, Record<string, unknown>>;
    for (const key of ['cpu_stats', 'precpu_stats', 'memory_stats', 'pids_stats', 'blkio_stats']) assert.ok(stats[key], key);
    const cpu = stats['cpu_stats'] as { cpu_usage: { total_usage: number; percpu_usage?: number[] }; online_cpus: number; system_cpu_usage: number };
    const pre = stats['precpu_stats'] as { cpu_usage: { total_usage: number }; system_cpu_usage: number };
    assert.ok(cpu.online_cpus >= 1);
    assert.ok(cpu.system_cpu_usage > pre.system_cpu_usage, 'precpu_stats is the earlier sample');
    assert.ok(cpu.cpu_usage.total_usage >= pre.cpu_usage.total_usage);
    assert.equal((stats['memory_stats'] as { limit: number }).limit, 64 * 1024 * 1024);
    assert.equal((stats['pids_stats'] as { current: number }).current, 1);
    const oneShot = JSON.parse((await daemon.api('GET', '/containers/lim/stats?stream=false&one-shot=true')).body) as { preread: string };
    assert.equal(oneShot.preread, '0001-01-01T00:00:00Z');
    const berth = await daemon.berth(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'lim']);
    assert.equal(berth.stdout.trim(), 'lim 1');
  });

  it('pauses, unpauses, refuses exec into a paused container, renames and updates', async () => {
    assert.equal((await daemon.docker(['pause', 'lim'])).exitCode, 0);
    assert.equal(await inspect('lim', '{{.State.Status}} {{.State.Paused}}'), 'paused true');
    assert.match((await daemon.docker(['pause', 'lim'])).stderr, /is already paused/);
    const exec = await daemon.docker(['exec', 'lim', 'true']);
    assert.notEqual(exec.exitCode, 0);
    assert.match(exec.stderr, /paused/);
    assert.equal((await daemon.berth(['unpause', 'lim'])).exitCode, 0);
    assert.equal(await inspect('lim', '{{.State.Status}}'), 'running');
    assert.match((await daemon.docker(['unpause', 'lim'])).stderr, /is not paused/);

    assert.equal((await daemon.docker(['rename', 'lim', 'lim2'])).exitCode, 0);
    assert.equal(await inspect('lim2', '{{.Name}}'), '/lim2');
    assert.notEqual((await daemon.docker(['inspect', 'lim'])).exitCode, 0);
    assert.match((await daemon.docker(['rename', 'lim2', 'lim2'])).stderr, /same name/);

    const update = await daemon.docker(['update', '-m', '100m', '--memory-swap', '200m', '--cpus', '1', '--pids-limit', '80', '--restart', 'on-failure:3', 'lim2']);
    assert.equal(update.exitCode, 0, update.stderr);
    assert.equal(await inspect('lim2', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}'), '104857600 1000000000 80 on-failure:3');
    const id = await inspect('lim2', '{{.Id}}');
    if ((await daemon.docker(['info', '-f', '{{.CgroupVersion}}'])).stdout.trim() === '1') {
      assert.equal(await cgroupFile('memory', id, 'memory.limit_in_bytes'), String(100 * 1024 * 1024));
      assert.equal(await cgroupFile('cpu', id, 'cpu.cfs_quota_us'), '100000');
      assert.equal(await cgroupFile('pids', id, 'pids.max'), '80');
    }
    const conflict = await daemon.docker(['update', '-m', '300m', 'lim2']);
    assert.match(conflict.stderr, /Memory limit should be smaller than already set memoryswap limit/);
    assert.equal(await inspect('lim2', '{{.HostConfig.Memory}}'), '104857600', 'a refused update changes nothing');
  });

  it('streams events with since/until and filters, in docker’s JSON with the legacy fields', async () => {
    const all = await daemon.docker(['events', '--since', '10m', '--until', untilSoon(), '--format', '{{json .}}', '--filter', 'event=rename']);
    assert.equal(all.exitCode, 0, all.stderr);
    const rename = JSON.parse(all.stdout.trim().split('\n')[0] ?? '{}') as Record<string, unknown>;
    assert.equal(rename['Type'], 'container');
    assert.equal(rename['Action'], 'rename');
    assert.equal(rename['status'], 'rename');
    assert.equal(rename['from'], 'busybox');
    assert.equal(typeof rename['time'], 'number');
    assert.equal(typeof rename['timeNano'], 'number');
    assert.deepEqual((rename['Actor'] as { Attributes: Record<string, string> }).Attributes, { image: 'busybox', name: 'lim2', oldName: '/lim' });
    const pauses = await daemon.docker(['events', '--since', '10m', '--until', untilSoon(), '--format', '{{.Action}}', '--filter', 'type=container', '--filter', 'event=pause', '--filter', 'event=unpause']);
    assert.equal(pauses.stdout, 'pause\nunpause\n');
    const labelled = await daemon.docker(['events', '--since', '10m', '--until', untilSoon(), '--filter', 'label=nosuch=1']);
    assert.equal(labelled.stdout, '');
    const image = await daemon.docker(['events', '--since', '10m', '--until', untilSoon(), '--filter', 'image=busybox', '--filter', 'event=create', '--format', '{{.Actor.Attributes.name}}']);
    assert.match(image.stdout, /^lim$/m);
    const bad = await daemon.api('GET', '/events?until=1&filters=' + encodeURIComponent('{"nosuch":["x"]}'));
    assert.equal(bad.status, 400);
    // A live stream sees an event published after it opened, then ends at until.
    const until = (Date.now() / 1000 + 3).toFixed(3);
    const live = daemon.docker(['events', '--until', until, '--filter', 'event=update', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await daemon.docker(['update', '--cpu-shares', '256', 'lim2']);
    assert.equal((await live).stdout, 'update lim2\n');
  });

  it('restarts on-failure up to N times, always until stopped', async () => {
    await daemon.docker(['run', '-d', '--name', 'of', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3']);
    await eventually(async () => (await inspect('of', '{{.State.Status}} {{.RestartCount}}')) === 'exited 2', 'on-failure:2 gives up after two restarts');
    assert.equal(await inspect('of', '{{.State.ExitCode}}'), '3');
    await daemon.docker(['run', '-d', '--name', 'ok', '--restart', 'on-failure', 'busybox', 'true']);
    await eventually(async () => (await inspect('ok', '{{.State.Status}}')) === 'exited', 'a clean exit is not restarted');
    assert.equal(await inspect('ok', '{{.RestartCount}}'), '0');
    await daemon.docker(['run', '-d', '--name', 'al', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.2']);
    await eventually(async () => Number(await inspect('al', '{{.RestartCount}}')) >= 2, 'always restarts');
    assert.equal((await daemon.docker(['stop', 'al'])).exitCode, 0);
    const stopped = await inspect('al', '{{.State.Status}} {{.RestartCount}}');
    assert.match(stopped, /^exited /);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await inspect('al', '{{.State.Status}} {{.RestartCount}}'), stopped, 'a stopped container stays down');
    for (const name of ['of', 'ok', 'al']) await daemon.docker(['rm', '-f', name]);
  });

  it('keeps restart policies across kill -9 of berthd', async () => {
    await daemon.docker(['run', '-d', '--name', 'us', '--restart', 'unless-stopped', 'busybox', 'sleep', '1000']);
    await daemon.docker(['run', '-d', '--name', 'us-stopped', '--restart', 'unless-stopped', 'busybox', 'sleep', '1000']);
    await daemon.docker(['stop', '-t', '0', 'us-stopped']);
    const pid = Number(await inspect('us', '{{.State.Pid}}'));
    assert.ok(pid > 0);
    await daemon.kill9();
    // The container dies while berthd is down; its policy brings it back when berthd returns.
    process.kill(pid, 'SIGKILL');
    await daemon.restart();
    await eventually(async () => (await inspect('us', '{{.State.Status}}')) === 'running', 'unless-stopped comes back');
    assert.ok(Number(await inspect('us', '{{.RestartCount}}')) >= 1);
    assert.notEqual(Number(await inspect('us', '{{.State.Pid}}')), pid);
    assert.equal(await inspect('us-stopped', '{{.State.Status}}'), 'exited', 'unless-stopped stays down after a manual stop');
    for (const name of ['us', 'us-stopped', 'lim2']) await daemon.docker(['rm', '-f', name]);
  });
});
