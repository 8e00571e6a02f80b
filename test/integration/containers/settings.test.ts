/**
 * Container settings honoured with their effect seen inside the container (a /proc or /sys
 * file, `id`, a cgroup value), not inspect's echo of the request: --group-add, --sysctl,
 * --oom-score-adj, --cpu-quota/--cpu-period, --pid/--ipc/--uts/--cgroupns host, --ipc
 * shareable and container:<id>, --domainname;
 * and the values no container could start with refused at create (400, nothing created)
 * instead of failing the start with a 500. Fields Berth cannot honour yet are refused with
 * their name (the full list is walked by src/api/translate/unsupported-settings.test.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

describe('container settings', { skip: hasDocker ? false : 'no docker CLI at /usr/local/bin/docker' }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  const run = async (args: string[]): Promise<string> => {
    const result = await daemon.docker(['run', '--rm', ...args]);
    assert.equal(result.exitCode, 0, result.stderr);
    return result.stdout.trim();
  };

  const create = (body: Record<string, unknown>): Promise<{ status: number; body: string }> =>
    daemon.api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['true'], ...body }));

  it('--group-add adds supplementary groups (id -G)', async () => {
    const groups = (await run(['--group-add', '1000', '--group-add', '1001', 'busybox', 'id', '-G'])).split(' ');
    assert.equal(groups[0], '0');
    assert.ok(groups.includes('1000') && groups.includes('1001'), groups.join(' '));
    const missing = await daemon.docker(['run', '--rm', '--group-add', 'nosuchgroup', 'busybox', 'true']);
    assert.notEqual(missing.exitCode, 0);
    assert.match(missing.stderr, /Unable to find group nosuchgroup/);
  });

  it('--sysctl sets namespaced kernel parameters and refuses the others', async () => {
    assert.equal(await run(['--sysctl', 'kernel.shmmax=123456789', 'busybox', 'cat', '/proc/sys/kernel/shmmax']), '123456789');
    assert.equal(await run(['--sysctl', 'net.ipv4.ip_unprivileged_port_start=99', 'busybox', 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']), '99');
    const before = (await daemon.docker(['ps', '-aq'])).stdout;
    const notNamespaced = await create({ HostConfig: { Sysctls: { 'vm.swappiness': '1' } } });
    assert.equal(notNamespaced.status, 400);
    assert.match(notNamespaced.body, /sysctl \\"vm.swappiness\\" is not in a separate kernel namespace/);
    const hostNet = await create({ HostConfig: { NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } } });
    assert.equal(hostNet.status, 400);
    assert.match(hostNet.body, /not allowed in host network namespace/);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout, before);
  });

  it('--oom-score-adj sets the process\'s score', async () => {
    assert.equal(await run(['--oom-score-adj', '500', 'busybox', 'cat', '/proc/self/oom_score_adj']), '500');
  });

  it('--cpu-quota and --cpu-period set the CFS bandwidth (cgroup v1 or v2)', async () => {
    const out = await run(['--cpu-quota', '50000', '--cpu-period', '200000', 'busybox', 'sh', '-c',
      'if [ -f /sys/fs/cgroup/cpu.max ]; then cat /sys/fs/cgroup/cpu.max; else echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"; fi']);
    assert.equal(out, '50000 200000');
    const conflict = await daemon.docker(['run', '--rm', '--cpus', '1', '--cpu-period', '100000', 'busybox', 'true']);
    assert.equal(conflict.exitCode, 125);
    assert.match(conflict.stderr, /Nano CPUs and CPU Period cannot both be set/);
  });

  it('--pid, --ipc, --uts and --cgroupns host share the host\'s namespaces', async () => {
    const ours = async (ns: string): Promise<string> => readlink(`/proc/self/ns/${ns}`);
    assert.equal(await run(['--pid', 'host', 'busybox', 'readlink', '/proc/self/ns/pid']), await ours('pid'));
    assert.equal(await run(['--ipc', 'host', 'busybox', 'readlink', '/proc/self/ns/ipc']), await ours('ipc'));
    assert.equal(await run(['--uts', 'host', 'busybox', 'readlink', '/proc/self/ns/uts']), await ours('uts'));
    assert.equal(await run(['--uts', 'host', 'busybox', 'hostname']), hostname());
    assert.equal(await run(['--cgroupns', 'host', 'busybox', 'readlink', '/proc/self/ns/cgroup']), await ours('cgroup'));
    // Without them, the container has its own.
    assert.notEqual(await run(['busybox', 'readlink', '/proc/self/ns/pid']), await ours('pid'));
    const bad = await create({ HostConfig: { PidMode: 'bogus' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /invalid --pid mode: bogus/);
  });

  it('--ipc shareable is joined by --ipc container:<id>: one IPC namespace and one /dev/shm; --ipc none has none', async () => {
    const donor = (await daemon.docker(['run', '-d', '--name', 'ipc-donor', '--ipc', 'shareable', '--shm-size', '8m', 'busybox', 'sh', '-c', 'echo from-donor > /dev/shm/a; sleep 300'])).stdout.trim();
    assert.match(donor, /^[0-9a-f]{64}$/);
    const donorNs = (await daemon.docker(['exec', donor, 'readlink', '/proc/self/ns/ipc'])).stdout.trim();
    const joined = await run(['--ipc', 'container:ipc-donor', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/ipc; cat /dev/shm/a; echo from-joiner > /dev/shm/b; df -k /dev/shm | tail -1']);
    const [joinedNs, seen, df] = joined.split('\n');
    assert.equal(joinedNs, donorNs);
    assert.equal(seen, 'from-donor');
    assert.match(df ?? '', /^shm\s+8192\s/, 'the donor\'s --shm-size');
    assert.equal((await daemon.docker(['exec', donor, 'cat', '/dev/shm/b'])).stdout.trim(), 'from-joiner');
    assert.equal((await daemon.docker(['inspect', '-f', '{{.HostConfig.IpcMode}}', donor])).stdout.trim(), 'shareable');
    // The tmpfs is the host's while the donor runs, and goes with its stop.
    const shmDir = `${daemon.root}/containers/${donor}/shm`;
    const mounted = async (): Promise<boolean> => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((line) => line.split(' ')[4] === shmDir);
    assert.equal(await mounted(), true);

    // dockerd's refusals: a private donor, one that does not exist, one that is not running.
    const priv = (await daemon.docker(['run', '-d', '--name', 'ipc-private', 'busybox', 'sleep', '300'])).stdout.trim();
    const notShareable = await daemon.docker(['run', '--rm', '--ipc', 'container:ipc-private', 'busybox', 'true']);
    assert.equal(notShareable.exitCode, 125);
    assert.match(notShareable.stderr, new RegExp(`container ${priv}: non-shareable IPC \\(hint: use IpcMode:shareable for the donor container\\)`));
    const missing = await daemon.docker(['run', '--rm', '--ipc', 'container:no-such-donor', 'busybox', 'true']);
    assert.equal(missing.exitCode, 125);
    assert.match(missing.stderr, /No such container: no-such-donor/);
    assert.equal((await daemon.docker(['stop', '-t', '0', donor])).exitCode, 0);
    assert.equal(await mounted(), false);
    const stopped = await daemon.docker(['run', '--rm', '--ipc', 'container:ipc-donor', 'busybox', 'true']);
    assert.equal(stopped.exitCode, 125);
    assert.match(stopped.stderr, /is not running/);
    assert.equal((await daemon.docker(['rm', '-f', donor, priv])).exitCode, 0);
    // --ipc none: an IPC namespace of its own and no /dev/shm at all, as dockerd's.
    const none = await run(['--ipc', 'none', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/ipc; test -e /dev/shm && echo has-shm || echo no-shm']);
    assert.notEqual(none.split('\n')[0], await readlink('/proc/self/ns/ipc'));
    assert.equal(none.split('\n')[1], 'no-shm');
    // A VM container's IPC is its guest kernel's: neither shared nor joined.
    for (const IpcMode of ['shareable', `container:${priv}`, 'none']) {
      const vm = await create({ HostConfig: { Isolation: 'vm', IpcMode } });
      assert.equal(vm.status, 400, vm.body);
      assert.match(vm.body, /--ipc (shareable|container:<id>|none) is not supported with --isolation=vm: the container runs on its own kernel/);
    }
  });

  it('--domainname sets the UTS domain name', async () => {
    assert.equal(await run(['--domainname', 'example.test', 'busybox', 'cat', '/proc/sys/kernel/domainname']), 'example.test');
  });

  it('--stop-signal is what stop sends, and --stop-timeout 0 kills at once', async () => {
    const trapping = (signal: string): string[] => ['sh', '-c', `trap "echo got-${signal}; exit 3" ${signal}; echo ready; while true; do sleep 0.1; done`];
    const waitReady = async (id: string): Promise<void> => {
      for (let i = 0; i < 200 && !(await daemon.docker(['logs', id])).stdout.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
    };
    const usr1 = (await daemon.docker(['run', '-d', '--stop-signal', 'SIGUSR1', 'busybox', ...trapping('USR1')])).stdout.trim();
    await waitReady(usr1);
    assert.equal((await daemon.docker(['stop', usr1])).exitCode, 0);
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.ExitCode}}', usr1])).stdout.trim(), '3');
    assert.match((await daemon.docker(['logs', usr1])).stdout, /got-USR1/);
    const noGrace = (await daemon.docker(['run', '-d', '--stop-timeout', '0', 'busybox', ...trapping('TERM')])).stdout.trim();
    await waitReady(noGrace);
    assert.equal((await daemon.docker(['stop', noGrace])).exitCode, 0);
    assert.equal((await daemon.docker(['inspect', '-f', '{{.State.ExitCode}}', noGrace])).stdout.trim(), '137');
    assert.doesNotMatch((await daemon.docker(['logs', noGrace])).stdout, /got-TERM/);
    assert.equal((await daemon.docker(['rm', usr1, noGrace])).exitCode, 0);
  });

  it('--oom-kill-disable turns the cgroup\'s OOM killer off', async () => {
    const out = await run(['-m', '64m', '--oom-kill-disable', 'busybox', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null || echo "no cgroup v1 memory controller"']);
    assert.match(out, /^oom_kill_disable 1$/m);
  });

  it('refuses at create what could never start (400, nothing created) instead of a 500 at start', async () => {
    const before = (await daemon.docker(['ps', '-aq'])).stdout;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ HostConfig: { ShmSize: -1 } }, /SHM size can not be less than 0/],
      [{ HostConfig: { Memory: 64 * 1024 * 1024, MemorySwap: -5 } }, /invalid memory swap -5/],
      [{ Hostname: 'h'.repeat(1000) }, /longer than 64 characters/],
      [{ HostConfig: { Tmpfs: { '/scratch': 'bogus=1' } } }, /invalid tmpfs option \\"bogus=1\\" for \/scratch/],
      [{ HostConfig: { Mounts: [{ Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: -5 } }] } }, /invalid tmpfs size -5/],
      [{ HostConfig: { OomScoreAdj: 5000 } }, /range for oom score adj is \[-1000, 1000\]/],
    ];
    for (const [body, message] of cases) {
      const result = await create(body);
      assert.equal(result.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${result.body}`);
      assert.match(result.body, message);
    }
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout, before);
  });

  it('takes update PidsLimit -5 as unlimited, as dockerd does (any value <= 0)', async () => {
    const id = (await daemon.docker(['run', '-d', '--pids-limit', '50', 'busybox', 'sleep', '1000'])).stdout.trim();
    const pidsMax = async (): Promise<string> => (await daemon.docker(['exec', id, 'sh', '-c', 'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max'])).stdout.trim();
    assert.equal(await pidsMax(), '50');
    const update = await daemon.api('POST', `/containers/${id}/update`, JSON.stringify({ PidsLimit: -5 }));
    assert.equal(update.status, 200, update.body);
    assert.equal(await pidsMax(), 'max');
    assert.equal((await daemon.docker(['rm', '-f', id])).exitCode, 0);
  });

  it('refuses fields it cannot honour, naming them, at create and update', async () => {
    const mems = await daemon.docker(['run', '--rm', '--cpuset-mems', '0', 'busybox', 'true']);
    assert.equal(mems.exitCode, 125);
    assert.match(mems.stderr, /HostConfig.CpusetMems \(--cpuset-mems\) is not supported by berth/);
    const gpus = await create({ HostConfig: { DeviceRequests: [{ Driver: '', Count: -1, Capabilities: [['gpu']] }] } });
    assert.equal(gpus.status, 400);
    assert.match(gpus.body, /HostConfig.DeviceRequests \(--gpus\) is not supported/);
    const id = (await daemon.docker(['create', 'busybox', 'true'])).stdout.trim();
    const update = await daemon.api('POST', `/containers/${id}/update`, JSON.stringify({ CpusetMems: '0' }));
    assert.equal(update.status, 400);
    assert.match(update.body, /CpusetMems \(--cpuset-mems\) is not supported/);
    assert.equal((await daemon.docker(['rm', id])).exitCode, 0);
  });

  it('refuses for --isolation=vm what a VM container cannot have, before any VM boots', async () => {
    const result = await daemon.docker(['run', '--rm', '--isolation=vm', '--group-add', '1000', 'busybox', 'true']);
    assert.equal(result.exitCode, 125);
    assert.match(result.stderr, /--group-add is not supported with --isolation=vm/);
    const pidHost = await create({ HostConfig: { Isolation: 'vm', PidMode: 'host' } });
    assert.equal(pidHost.status, 400);
    assert.match(pidHost.body, /--pid host is not supported with --isolation=vm/);
  });
});
