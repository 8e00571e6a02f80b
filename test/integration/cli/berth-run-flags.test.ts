/**
 * `berth run`'s flags that docker's run has, each seen in the container or refused by the
 * daemon with its name (exit 125, nothing left behind), and docker's boolean forms
 * (`--rm=true`, `--sig-proxy` before the image).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from '../harness.js';

const isV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

describe('berth run flags docker has', () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  const run = async (args: string[]): Promise<string> => {
    const result = await daemon.berth(['run', '--rm', ...args]);
    assert.equal(result.exitCode, 0, result.stderr);
    return result.stdout.trim();
  };

  it('--group-add, --oom-score-adj, --cpu-period/--cpu-quota, --dns-search/--dns-option take effect', async () => {
    const groups = await run(['busybox', 'id', '-G']);
    assert.equal(await run(['--group-add', '1000', '--group-add', '1001', 'busybox', 'id', '-G']), `${groups} 1000 1001`);
    assert.equal(await run(['--oom-score-adj', '200', 'busybox', 'cat', '/proc/self/oom_score_adj']), '200');
    const quota = await run(['--cpu-period', '100000', '--cpu-quota', '50000', 'busybox', 'cat', isV2 ? '/sys/fs/cgroup/cpu.max' : '/sys/fs/cgroup/cpu/cpu.cfs_quota_us']);
    assert.equal(quota, isV2 ? '50000 100000' : '50000');
    const resolv = await run(['--dns-search', 'example.test', '--dns-option', 'ndots:2', 'busybox', 'cat', '/etc/resolv.conf']);
    assert.match(resolv, /^search example\.test$/m);
    assert.match(resolv, /^options ndots:2$/m);
  });

  it('--label-file with -l over it, --cidfile written once and refused when present', async () => {
    const labels = join(daemon.dir, 'labels');
    const cidfile = join(daemon.dir, 'cid');
    await writeFile(labels, '# team labels\nteam=core\ntier=web\n');
    const created = await daemon.berth(['create', '--label-file', labels, '-l', 'tier=db', '--cidfile', cidfile, 'busybox', 'true']);
    assert.equal(created.exitCode, 0, created.stderr);
    const id = created.stdout.trim();
    assert.equal(await readFile(cidfile, 'utf8'), id);
    assert.equal((await daemon.berth(['inspect', '-f', '{{index .Config.Labels "team"}} {{index .Config.Labels "tier"}}', id])).stdout.trim(), 'core db');
    const again = await daemon.berth(['create', '--cidfile', cidfile, 'busybox', 'true']);
    assert.equal(again.exitCode, 125);
    assert.match(again.stderr, /container ID file found, make sure the other container isn't running or delete /);
    assert.equal((await daemon.berth(['ps', '-aq', '--no-trunc'])).stdout.trim(), id);
    await daemon.berth(['rm', id]);
    await rm(cidfile);
  });

  it('--ip and --network-alias on a user network; on the default bridge the daemon refuses them', async () => {
    assert.equal((await daemon.berth(['network', 'create', '--subnet', '10.231.0.0/24', 'flagnet'])).exitCode, 0);
    try {
      const id = (await daemon.berth(['run', '-d', '--network', 'flagnet', '--ip', '10.231.0.77', '--network-alias', 'db', 'busybox', 'sleep', '60'])).stdout.trim();
      const seen = await daemon.berth(['inspect', '-f', '{{.NetworkSettings.Networks.flagnet.IPAddress}} {{json .NetworkSettings.Networks.flagnet.Aliases}}', id]);
      assert.match(seen.stdout, /^10\.231\.0\.77 \[.*"db".*\]$/m);
      assert.equal(await run(['--network', 'flagnet', 'busybox', 'sh', '-c', 'ping -c1 -W2 db >/dev/null && echo reached']), 'reached');
      await daemon.berth(['rm', '-f', id]);
    } finally {
      await daemon.berth(['network', 'rm', 'flagnet']);
    }
    const refused = await daemon.berth(['run', '--rm', '--ip', '10.231.0.78', 'busybox', 'true']);
    assert.equal(refused.exitCode, 125);
    assert.match(refused.stderr, /user specified IP address is supported on user defined networks only/);
  });

  it('settings berth cannot honour are refused by name, before anything is created', async () => {
    for (const [args, name] of [[['--storage-opt', 'size=1G'], '--storage-opt'], [['--gpus', 'all'], '--gpus'], [['--cpuset-mems', '0'], '--cpuset-mems']] as const) {
      const result = await daemon.berth(['run', '--rm', ...args, 'busybox', 'true']);
      assert.equal(result.exitCode, 125, `${name}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(name));
    }
    const kernelMemory = await daemon.berth(['run', '--rm', '--kernel-memory', '64m', 'busybox', 'true']);
    assert.equal(kernelMemory.exitCode, 0, kernelMemory.stderr);
    assert.match(kernelMemory.stderr, /^WARNING: --kernel-memory: .*discarded$/m);
    assert.equal((await daemon.berth(['ps', '-aq'])).stdout.trim(), '');
  });

  it('docker\'s boolean forms: --rm=true, --sig-proxy before the image, a bad value refused', async () => {
    assert.equal(await run(['--sig-proxy', 'busybox', 'echo', 'proxied']), 'proxied');
    const explicit = await daemon.berth(['run', '--rm=true', '--sig-proxy=false', 'busybox', 'echo', 'ok']);
    assert.equal(explicit.stdout.trim(), 'ok', explicit.stderr);
    assert.equal((await daemon.berth(['ps', '-aq'])).stdout.trim(), '');
    const bad = await daemon.berth(['run', '--rm=yes', 'busybox', 'true']);
    assert.equal(bad.exitCode, 125);
    assert.match(bad.stderr, /invalid argument "yes" for "--rm" flag: strconv\.ParseBool/);
  });
});
