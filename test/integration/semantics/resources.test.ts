/**
 * The resource settings a host may or may not be able to apply, through the real docker CLI,
 * Berth's CLI and the raw API: --memory-swappiness, --cpu-rt-period/--cpu-rt-runtime (with
 * berthd's --cpu-rt-runtime budget, as dockerd's), --blkio-weight, --blkio-weight-device and the
 * --device-{read,write}-{bps,iops} throttles. Each is either seen in the container's own cgroup
 * files or refused at create with its name (nothing created); never accepted and dropped.
 * --kernel-memory follows dockerd 25+: ignored from API 1.42, a warning and no limit below.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { DOCKER, cannotRun, hasDocker, NO_DOCKER, startTestDaemon, type TestDaemon } from '../harness.js';
import { runCommand } from '../../../src/sys/index.js';

const isV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
const RT_BUDGET_US = 20_000;
/** The shared cgroup berthd gives its budget to (every test daemon's containers sit below it). */
const SHARED_RT_RUNTIME = '/sys/fs/cgroup/cpu/berth/cpu.rt_runtime_us';

/** A whole disk of this host (not a loop, ram or zram device), else loop0: throttles need a block device. */
function blockDevice(): { path: string; numbers: string } {
  const names = readdirSync('/sys/block').filter((name) => !/^(loop|ram|zram)/.test(name));
  for (const name of [...names, 'loop0']) {
    const path = `/dev/${name}`;
    if (!existsSync(path) || !statSync(path).isBlockDevice()) continue;
    const rdev = statSync(path).rdev;
    return { path, numbers: `${Math.floor(rdev / 256) & 0xfff}:${(rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00)}` };
  }
  throw new Error('no block device on this host');
}

describe('host-dependent resource settings', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let sharedRtRuntimeBefore = '0';
  before(async () => {
    if (existsSync(SHARED_RT_RUNTIME)) sharedRtRuntimeBefore = readFileSync(SHARED_RT_RUNTIME, 'utf8').trim();
    daemon = await startTestDaemon({ daemonArgs: ['--cpu-rt-runtime', String(RT_BUDGET_US)] });
  });
  after(async () => {
    await daemon?.cleanup();
    // berthd keeps the budget it gave (as dockerd does); the test gives the host back what it had.
    if (existsSync(SHARED_RT_RUNTIME)) writeFileSync(SHARED_RT_RUNTIME, sharedRtRuntimeBefore);
  });

  const run = async (args: string[]): Promise<string> => {
    const result = await daemon.docker(['run', '--rm', ...args]);
    assert.equal(result.exitCode, 0, result.stderr);
    return result.stdout.trim();
  };

  /** A refused create: exit 125, the message, and no container left behind. */
  const refused = async (args: string[], message: RegExp): Promise<void> => {
    const before = (await daemon.docker(['ps', '-aq'])).stdout;
    const result = await daemon.docker(['run', '--rm', ...args, 'busybox', 'true']);
    assert.equal(result.exitCode, 125, result.stderr);
    assert.match(result.stderr, message);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout, before);
  };

  it('--memory-swappiness sets the memory cgroup\'s swappiness (cgroup v1), refused where the host has none', async () => {
    if (isV2) {
      await refused(['--memory-swappiness', '30'], /--memory-swappiness is not supported on this host/);
      return;
    }
    assert.equal(await run(['--memory-swappiness', '30', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.swappiness']), '30');
    const berth = await daemon.berth(['run', '--rm', '--memory-swappiness', '40', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.swappiness']);
    assert.equal(berth.stdout.trim(), '40', berth.stderr);
    const id = (await daemon.docker(['create', '--memory-swappiness', '30', 'busybox', 'true'])).stdout.trim();
    assert.equal((await daemon.docker(['inspect', '-f', '{{json .HostConfig.MemorySwappiness}}', id])).stdout.trim(), '30');
    const unset = (await daemon.docker(['create', 'busybox', 'true'])).stdout.trim();
    assert.equal((await daemon.docker(['inspect', '-f', '{{json .HostConfig.MemorySwappiness}}', unset])).stdout.trim(), 'null');
    const update = await daemon.api('POST', `/containers/${id}/update`, JSON.stringify({ MemorySwappiness: 10 }));
    assert.equal(update.status, 400);
    assert.match(update.body, /MemorySwappiness \(--memory-swappiness\) is not supported by berth: berth sets it when the container is created/);
    assert.equal((await daemon.docker(['rm', id, unset])).exitCode, 0);
    const outOfRange = await daemon.api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { MemorySwappiness: 101 } }));
    assert.equal(outOfRange.status, 400);
    assert.match(outOfRange.body, /Invalid value: 101, valid memory swappiness range is 0-100/);
  });

  it('--cpu-rt-period and --cpu-rt-runtime set the real-time group scheduling within berthd\'s budget', async () => {
    const hasRealtime = !isV2 && existsSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us');
    if (!hasRealtime) {
      await refused(['--cpu-rt-runtime', '1000'], /--cpu-rt-runtime is not supported on this host/);
      return;
    }
    const out = await run(['--cpu-rt-period', '100000', '--cpu-rt-runtime', '1000', 'busybox', 'sh', '-c', 'cat /sys/fs/cgroup/cpu/cpu.rt_period_us /sys/fs/cgroup/cpu/cpu.rt_runtime_us']);
    assert.deepEqual(out.split('\n'), ['100000', '1000']);
    const id = (await daemon.docker(['create', '--cpu-rt-period', '100000', '--cpu-rt-runtime', '1000', 'busybox', 'true'])).stdout.trim();
    assert.equal((await daemon.docker(['inspect', '-f', '{{.HostConfig.CpuRealtimePeriod}} {{.HostConfig.CpuRealtimeRuntime}}', id])).stdout.trim(), '100000 1000');
    assert.equal((await daemon.docker(['rm', id])).exitCode, 0);
    await refused(['--cpu-rt-runtime', String(RT_BUDGET_US + 1)], new RegExp(`--cpu-rt-runtime is not supported on this host: ${RT_BUDGET_US + 1} is more than the real-time runtime berthd gives its containers`));
    await refused(['--cpu-rt-period', '1000', '--cpu-rt-runtime', '2000'], /cpu-rt-runtime cannot be higher than cpu-rt-period/);
  });

  it('docker update changes --cpu-period/--cpu-quota, the real-time settings and --blkio-weight of a running container, or refuses them by name', async () => {
    const id = (await daemon.docker(['run', '-d', 'busybox', 'sleep', '1000'])).stdout.trim();
    const cat = async (file: string): Promise<string> => (await daemon.docker(['exec', id, 'cat', file])).stdout.trim();
    try {
      const cfs = await daemon.docker(['update', '--cpu-period', '100000', '--cpu-quota', '30000', id]);
      assert.equal(cfs.exitCode, 0, cfs.stderr);
      if (isV2) assert.equal(await cat('/sys/fs/cgroup/cpu.max'), '30000 100000');
      else assert.equal(await cat('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), '30000');
      assert.equal((await daemon.docker(['inspect', '-f', '{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}}', id])).stdout.trim(), '100000 30000');
      const berth = await daemon.berth(['update', '--cpu-quota', '40000', id]);
      assert.equal(berth.exitCode, 0, berth.stderr);
      if (isV2) assert.equal(await cat('/sys/fs/cgroup/cpu.max'), '40000 100000');
      else assert.equal(await cat('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), '40000');
      // dockerd: --cpus and the CFS quota set the same thing, so one blocks the other.
      const cpus = await daemon.docker(['update', '--cpus', '1', id]);
      assert.notEqual(cpus.exitCode, 0);
      assert.match(cpus.stderr, /Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set|Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set/);
      const tooSmall = await daemon.docker(['update', '--cpu-quota', '10', id]);
      assert.match(tooSmall.stderr, /CPU cfs quota can not be less than 1ms/);

      const hasRealtime = !isV2 && existsSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us');
      const rt = await daemon.docker(['update', '--cpu-rt-period', '100000', '--cpu-rt-runtime', '2000', id]);
      if (hasRealtime) {
        assert.equal(rt.exitCode, 0, rt.stderr);
        assert.equal(await cat('/sys/fs/cgroup/cpu/cpu.rt_runtime_us'), '2000');
        const over = await daemon.docker(['update', '--cpu-rt-runtime', String(RT_BUDGET_US + 1), id]);
        assert.match(over.stderr, /--cpu-rt-runtime is not supported on this host: \d+ is more than the real-time runtime berthd gives/);
      } else {
        assert.match(rt.stderr, /--cpu-rt-period is not supported on this host/);
      }

      const weightFile = isV2 ? '/sys/fs/cgroup/io.weight' : ['/sys/fs/cgroup/blkio/blkio.weight', '/sys/fs/cgroup/blkio/blkio.bfq.weight'].find((f) => existsSync(f));
      const weight = await daemon.docker(['update', '--blkio-weight', '300', id]);
      if (weightFile !== undefined && weight.exitCode === 0) assert.match(await cat(weightFile), /\b300\b/);
      else assert.match(weight.stderr, /--blkio-weight is not supported on this host/);
    } finally {
      await daemon.docker(['rm', '-f', id]);
    }
    // A VM container's CPUs are the guest's: refused by name, as at create.
    const vm = (await daemon.docker(['create', '--isolation=vm', 'busybox', 'true'])).stdout.trim();
    const refusedVm = await daemon.docker(['update', '--cpu-quota', '50000', vm]);
    assert.match(refusedVm.stderr, /--cpu-quota is not supported with --isolation=vm/);
    assert.equal((await daemon.docker(['rm', vm])).exitCode, 0);
  });

  it('--device-read-bps, --device-write-bps, --device-read-iops and --device-write-iops throttle the device', async () => {
    const device = blockDevice();
    const flags = ['--device-read-bps', `${device.path}:1mb`, '--device-write-bps', `${device.path}:2mb`, '--device-read-iops', `${device.path}:300`, '--device-write-iops', `${device.path}:100`];
    if (isV2) {
      const line = await run([...flags, 'busybox', 'grep', `^${device.numbers} `, '/sys/fs/cgroup/io.max']);
      assert.equal(line, `${device.numbers} rbps=1048576 wbps=2097152 riops=300 wiops=100`);
    } else {
      const files = ['read_bps_device', 'write_bps_device', 'read_iops_device', 'write_iops_device'].map((f) => `/sys/fs/cgroup/blkio/blkio.throttle.${f}`);
      const out = await run([...flags, 'busybox', 'cat', ...files]);
      assert.deepEqual(out.split('\n'), [`${device.numbers} 1048576`, `${device.numbers} 2097152`, `${device.numbers} 300`, `${device.numbers} 100`]);
    }
    const berth = await daemon.berth(['run', '--rm', '--device-write-iops', `${device.path}:77`, 'busybox', 'cat', isV2 ? '/sys/fs/cgroup/io.max' : '/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device']);
    assert.match(berth.stdout, new RegExp(`^${device.numbers} .*77`, 'm'), berth.stderr);
    const id = (await daemon.docker(['create', '--device-read-bps', `${device.path}:1mb`, 'busybox', 'true'])).stdout.trim();
    assert.equal((await daemon.docker(['inspect', '-f', '{{json .HostConfig.BlkioDeviceReadBps}}', id])).stdout.trim(), JSON.stringify([{ Path: device.path, Rate: 1048576 }]));
    assert.equal((await daemon.docker(['rm', id])).exitCode, 0);
    await refused(['--device-read-bps', '/dev/nosuchdisk:1mb'], /--device-read-bps: the device \/dev\/nosuchdisk does not exist/);
    await refused(['--device-write-iops', '/dev/null:10'], /--device-write-iops: \/dev\/null is not a block device/);
  });

  it('--blkio-weight and --blkio-weight-device set the weight where the I/O scheduler has one, and are refused by name where not', async () => {
    const device = blockDevice();
    const weightFile = isV2 ? '/sys/fs/cgroup/io.weight' : ['/sys/fs/cgroup/blkio/blkio.weight', '/sys/fs/cgroup/blkio/blkio.bfq.weight'].find((f) => existsSync(f));
    const hasWeight = isV2 ? (await runCommand('cat', ['/sys/fs/cgroup/cgroup.controllers'])).stdout.split(/\s+/).includes('io') : weightFile !== undefined;
    if (!hasWeight) {
      await refused(['--blkio-weight', '300'], /--blkio-weight is not supported on this host: Your kernel does not support Block I\/O weight/);
      await refused(['--blkio-weight-device', `${device.path}:300`], /--blkio-weight-device is not supported on this host/);
      return;
    }
    const out = await run(['--blkio-weight', '300', 'busybox', 'cat', weightFile!]);
    assert.match(out, /\b300\b/);
    await refused(['--blkio-weight', '5'], /Range of blkio weight is from 10 to 1000/);
  });

  it('refuses every one of them for --isolation=vm by name, before any VM boots', async () => {
    const device = blockDevice();
    await refused(['--isolation=vm', '--memory-swappiness', '10'], /--memory-swappiness is not supported with --isolation=vm/);
    await refused(['--isolation=vm', '--cpu-rt-runtime', '1000'], /--cpu-rt-period\/--cpu-rt-runtime is not supported with --isolation=vm/);
    await refused(['--isolation=vm', '--blkio-weight', '300'], /--blkio-weight is not supported with --isolation=vm/);
    await refused(['--isolation=vm', '--device-read-bps', `${device.path}:1mb`], /--device-read-bps is not supported with --isolation=vm/);
  });

  it('--kernel-memory: ignored from API 1.42 (the CLI does not send it), dockerd\'s warning and no limit below', async () => {
    const old = await runCommand(DOCKER, ['run', '--name', 'kmem-old', '--kernel-memory', '64m', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.kmem.limit_in_bytes'], {
      env: { ...daemon.env, DOCKER_API_VERSION: '1.41' },
      timeoutMs: 60_000,
    });
    assert.equal(old.exitCode, 0, old.stderr);
    assert.match(old.stderr, /WARNING: Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted\. Limitation discarded\./);
    if (!isV2) assert.notEqual(old.stdout.trim(), String(64 * 1024 * 1024));
    const inspect = await runCommand(DOCKER, ['inspect', '-f', '{{.HostConfig.KernelMemory}}', 'kmem-old'], { env: { ...daemon.env, DOCKER_API_VERSION: '1.41' }, timeoutMs: 60_000 });
    assert.equal(inspect.stdout.trim(), '0');
    const current = await daemon.docker(['run', '--rm', '--kernel-memory', '64m', 'busybox', 'true']);
    assert.equal(current.exitCode, 0, current.stderr);
    assert.doesNotMatch(current.stderr, /WARNING/);
    assert.equal((await daemon.docker(['rm', 'kmem-old'])).exitCode, 0);
  });
});
