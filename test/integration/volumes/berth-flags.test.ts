/**
 * The berth CLI's volume flags on run/create: --volumes-from, --volume-driver, and the
 * --mount keys volume-opt, volume-driver, volume-subpath, volume-label, volume-nocopy,
 * bind-create-mountpoint and bind-propagation, with docker's messages for bad ones. And a
 * tmpfs-backed local volume: mounted while a container uses it, unmounted when the last
 * user stops or is removed (as docker's local driver does), mounted again by the next start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

interface MountPoint {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  RW: boolean;
  Propagation: string;
}

/** Whether `path` is a mount point on the host now. */
async function isMounted(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((line) => line.split(' ')[4] === path);
}

describe('berth volume flags and volume release', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  const ok = async (args: string[]): Promise<string> => {
    const result = await daemon.berth(args);
    assert.equal(result.exitCode, 0, `berth ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const mountsOf = async (name: string): Promise<MountPoint[]> => JSON.parse(await ok(['inspect', '-f', '{{json .Mounts}}', name])) as MountPoint[];

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('--mount with volume-opt, volume-label and volume-driver makes a tmpfs-backed volume with labels', async () => {
    const out = await ok([
      'run', '--rm',
      '--mount', 'type=volume,source=optvol,target=/data,volume-driver=local,volume-label=team=blue,volume-opt=type=tmpfs,volume-opt=device=tmpfs,"volume-opt=o=size=2m,mode=0750"',
      'busybox', 'sh', '-c', 'grep " /data " /proc/mounts | cut -d" " -f3; stat -c %a /data',
    ]);
    assert.equal(out, 'tmpfs\n750\n');
    const inspect = JSON.parse(await ok(['volume', 'inspect', 'optvol'])) as Array<{ Labels: Record<string, string>; Options: Record<string, string>; Driver: string }>;
    assert.deepEqual(inspect[0]!.Labels, { team: 'blue' });
    assert.deepEqual(inspect[0]!.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=2m,mode=0750' });
    assert.equal(inspect[0]!.Driver, 'local');
    await ok(['volume', 'rm', 'optvol']);
  });

  it('--mount volume-subpath mounts a directory inside the volume; volume-nocopy leaves it empty', async () => {
    await ok(['run', '--rm', '-v', 'subvol:/v', 'busybox', 'sh', '-c', 'mkdir -p /v/inner && echo sub > /v/inner/f']);
    assert.equal(await ok(['run', '--rm', '--mount', 'type=volume,src=subvol,dst=/s,volume-subpath=inner', 'busybox', 'cat', '/s/f']), 'sub\n');
    // Without nocopy the image's /etc would be copied into the new volume.
    const probe = 'test -e /etc/passwd && echo copied || echo empty';
    assert.equal(await ok(['run', '--rm', '--mount', 'type=volume,src=nocopyvol,dst=/etc,volume-nocopy', 'busybox', 'sh', '-c', probe]), 'empty\n');
    await ok(['volume', 'rm', 'subvol', 'nocopyvol']);
  });

  it('--mount bind-create-mountpoint makes the host directory; bind-propagation shows in inspect', async () => {
    const base = await mkdtemp(join(daemon.dir, 'bind-'));
    const missing = join(base, 'made', 'here');
    await ok(['create', '--name', 'bindflags', '--mount', `type=bind,src=${missing},dst=/b,bind-create-mountpoint`, '--mount', `type=bind,src=${base},dst=/p,bind-propagation=rslave`, 'busybox', 'sh', '-c', 'echo in > /b/f']);
    const mounts = await mountsOf('bindflags');
    assert.equal(mounts.find((m) => m.Destination === '/p')?.Propagation, 'rslave');
    assert.equal((await daemon.berth(['start', '-a', 'bindflags'])).exitCode, 0);
    assert.equal(await readFile(join(missing, 'f'), 'utf8'), 'in\n');
    await ok(['rm', 'bindflags']);
  });

  it('--volumes-from mounts another container\'s volumes (and :ro); --volume-driver local is accepted', async () => {
    await ok(['create', '--name', 'vfsrc', '--volume-driver', 'local', '-v', 'vfvol:/shared', 'busybox', 'true']);
    await ok(['run', '--rm', '--volumes-from', 'vfsrc', 'busybox', 'sh', '-c', 'echo shared > /shared/f']);
    assert.equal(await ok(['run', '--rm', '--volumes-from', 'vfsrc:ro', 'busybox', 'cat', '/shared/f']), 'shared\n');
    const refused = await daemon.berth(['run', '--rm', '--volumes-from', 'vfsrc:ro', 'busybox', 'touch', '/shared/g']);
    assert.notEqual(refused.exitCode, 0);
    await ok(['rm', 'vfsrc']);
    await ok(['volume', 'rm', 'vfvol']);
  });

  it('answers bad --mount keys with docker\'s one-line messages and creates nothing', async () => {
    const before = await ok(['ps', '-aq']);
    const cases: Array<[string, RegExp]> = [
      ['type=bind,src=/tmp,dst=/x,volume-opt=a=b', /cannot mix 'volume-\*' options with mount type 'bind'/],
      ['type=volume,dst=/x,bind-propagation=rslave', /cannot mix 'bind-\*' options with mount type 'volume'/],
      ['type=volume,dst=/x,volume-nocopy=maybe', /invalid value for volume-nocopy: maybe/],
      ['type=volume,dst=/x,bogus=1', /unexpected key 'bogus' in 'bogus=1'/],
      ['type=volume,dst=/x,novalue', /invalid field 'novalue' must be a key=value pair/],
    ];
    for (const [spec, message] of cases) {
      const result = await daemon.berth(['run', '--rm', '--mount', spec, 'busybox', 'true']);
      assert.equal(result.exitCode, 125, spec);
      assert.match(result.stderr, message);
    }
    const badDriver = await daemon.berth(['run', '--rm', '--volume-driver', 'nosuch', '-v', 'drvvol:/d', 'busybox', 'true']);
    assert.equal(badDriver.exitCode, 125);
    assert.match(badDriver.stderr, /plugin "nosuch" not found/);
    assert.equal(await ok(['ps', '-aq']), before);
  });

  it('unmounts a tmpfs-backed volume when its last container stops, and mounts it again on start', async () => {
    await ok(['volume', 'create', '--driver', 'local', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=1m', 'tvol']);
    const mountpoint = (await ok(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'tvol'])).trim();
    assert.equal(await isMounted(mountpoint), false, 'step 1');
    await ok(['run', '-d', '--name', 'tuser1', '-v', 'tvol:/t', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'tuser2', '-v', 'tvol:/t', 'busybox', 'sleep', '1000']);
    assert.equal(await isMounted(mountpoint), true, 'step 2');
    await ok(['exec', 'tuser1', 'sh', '-c', 'echo kept > /t/f']);
    // One user left: still mounted, data still there.
    await ok(['stop', '-t', '0', 'tuser1']);
    assert.equal(await isMounted(mountpoint), true, 'step 3');
    assert.equal(await ok(['exec', 'tuser2', 'cat', '/t/f']), 'kept\n');
    // The last user removed while running: unmounted (a tmpfs's contents go with it, as in docker).
    await ok(['rm', '-f', 'tuser2']);
    assert.equal(await isMounted(mountpoint), false, 'step 4');
    assert.equal(existsSync(join(mountpoint, 'f')), false);
    // The next start mounts it again, empty.
    await ok(['start', 'tuser1']);
    assert.equal(await isMounted(mountpoint), true, 'step 5');
    assert.equal((await daemon.berth(['exec', 'tuser1', 'ls', '/t'])).stdout, '');
    await ok(['stop', '-t', '0', 'tuser1']);
    assert.equal(await isMounted(mountpoint), false, 'step 6');
    await ok(['rm', 'tuser1']);
    await ok(['volume', 'rm', 'tvol']);
  });
});
