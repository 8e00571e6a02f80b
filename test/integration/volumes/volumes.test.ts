/**
 * Volumes and mounts through the real docker CLI: named volumes and their data across
 * containers and a kill -9 of berthd, copy-up, anonymous volumes and `rm -v`, binds (`:ro`,
 * a missing source made for -v and refused for --mount), tmpfs, --volumes-from, --read-only,
 * inspect's Mounts, `docker volume` ls/inspect/rm/prune with filters, and the one-line errors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

interface MountPoint {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

describe('volumes and mounts', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  const volumeNames = async (): Promise<string[]> => (await daemon.docker(['volume', 'ls', '-q'])).stdout.split('\n').filter((l) => l !== '');
  const mountsOf = async (name: string): Promise<MountPoint[]> => JSON.parse((await daemon.docker(['inspect', '-f', '{{json .Mounts}}', name])).stdout) as MountPoint[];

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('keeps a named volume\'s data across containers and a kill -9 of berthd', async () => {
    assert.equal((await daemon.docker(['volume', 'create', 'data'])).stdout, 'data\n');
    assert.equal((await daemon.docker(['run', '--rm', '-v', 'data:/data', 'busybox', 'sh', '-c', 'echo 1 > /data/f'])).exitCode, 0);
    assert.equal((await daemon.docker(['run', '--rm', '-v', 'data:/data', 'busybox', 'cat', '/data/f'])).stdout, '1\n');
    const inspect = JSON.parse((await daemon.docker(['volume', 'inspect', 'data'])).stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(Object.keys(inspect[0]!).sort(), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    assert.equal(inspect[0]!['Mountpoint'], join(daemon.root, 'volumes', 'data', '_data'));
    assert.equal(inspect[0]!['Driver'], 'local');

    await daemon.kill9();
    await daemon.restart();
    assert.deepEqual(await volumeNames(), ['data']);
    assert.equal((await daemon.docker(['run', '--rm', '-v', 'data:/data', 'busybox', 'cat', '/data/f'])).stdout, '1\n');
    assert.equal((await daemon.docker(['volume', 'rm', 'data'])).exitCode, 0);
  });

  it('copies the image\'s content into a new volume on first use, and only then', async () => {
    const first = await daemon.docker(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'cat', '/etc/passwd']);
    assert.equal(first.exitCode, 0, first.stderr);
    assert.match(first.stdout, /^root:/);
    await daemon.docker(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'rm', '/etc/passwd']);
    // The volume is no longer empty, so nothing is copied again.
    assert.notEqual((await daemon.docker(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'test', '-e', '/etc/passwd'])).exitCode, 0);
    // nocopy leaves a new volume empty: only the mount points of the container's own
    // hosts, hostname and resolv.conf appear in it, as with dockerd.
    assert.equal((await daemon.docker(['run', '--rm', '-v', 'empty:/etc:nocopy', 'busybox', 'ls', '/etc'])).stdout, 'hostname\nhosts\nresolv.conf\n');
    await daemon.docker(['volume', 'rm', 'etcvol', 'empty']);
  });

  it('refuses to remove a volume a container uses (409, docker\'s wording), then removes it', async () => {
    await daemon.docker(['create', '--name', 'user1', '-v', 'busy:/data', 'busybox', 'true']);
    const id = (await daemon.docker(['inspect', '-f', '{{.Id}}', 'user1'])).stdout.trim();
    const refused = await daemon.docker(['volume', 'rm', 'busy']);
    assert.equal(refused.exitCode, 1);
    assert.equal(refused.stderr.trim(), `Error response from daemon: remove busy: volume is in use - [${id}]`);
    const api = await daemon.api('DELETE', '/volumes/busy');
    assert.equal(api.status, 409);
    assert.deepEqual(await volumeNames(), ['busy']);
    assert.equal((await daemon.docker(['volume', 'prune', '-a', '-f'])).stdout, 'Total reclaimed space: 0B\n');
    await daemon.docker(['rm', 'user1']);
    assert.equal((await daemon.docker(['volume', 'rm', 'busy'])).stdout, 'busy\n');
    const missing = await daemon.docker(['volume', 'rm', 'busy']);
    assert.equal(missing.stderr.trim(), 'Error response from daemon: get busy: no such volume');
    assert.equal((await daemon.docker(['volume', 'rm', '-f', 'busy'])).exitCode, 0);
  });

  it('makes anonymous volumes for -v /path, removed by rm -v and --rm, kept by plain rm', async () => {
    await daemon.docker(['run', '-d', '--name', 'anon1', '-v', '/scratch', 'busybox', 'sleep', '100']);
    const [mount] = await mountsOf('anon1');
    assert.equal(mount?.Type, 'volume');
    assert.match(mount?.Name ?? '', /^[0-9a-f]{64}$/);
    assert.equal(mount?.Mode, '');
    assert.deepEqual(await volumeNames(), [mount!.Name]);
    const labels = (await daemon.docker(['volume', 'inspect', '-f', '{{json .Labels}}', mount!.Name!])).stdout.trim();
    assert.equal(labels, '{"com.docker.volume.anonymous":""}');
    // --volumes-from shares it; the second container's rm -v must not take it from the first.
    assert.equal((await daemon.docker(['run', '--rm', '--volumes-from', 'anon1', 'busybox', 'sh', '-c', 'echo shared > /scratch/s'])).exitCode, 0);
    assert.deepEqual(await volumeNames(), [mount!.Name]);
    assert.equal((await daemon.docker(['exec', 'anon1', 'cat', '/scratch/s'])).stdout, 'shared\n');
    assert.equal((await daemon.docker(['rm', '-f', '-v', 'anon1'])).exitCode, 0);
    assert.deepEqual(await volumeNames(), []);

    assert.equal((await daemon.docker(['run', '--rm', '-v', '/gone', 'busybox', 'true'])).exitCode, 0);
    assert.deepEqual(await volumeNames(), []);

    await daemon.docker(['run', '--name', 'anon2', '-v', '/kept', 'busybox', 'true']);
    await daemon.docker(['rm', 'anon2']);
    assert.equal((await volumeNames()).length, 1);
    const pruned = await daemon.docker(['volume', 'prune', '-f']);
    assert.match(pruned.stdout, /^Deleted Volumes:\n[0-9a-f]{64}\n\nTotal reclaimed space: 0B\n$/);
    assert.deepEqual(await volumeNames(), []);
  });

  it('binds host paths read-only or read-write, making a missing -v source and refusing a missing --mount one', async () => {
    const src = join(daemon.dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a'), 'hi\n');
    const ro = await daemon.docker(['run', '--rm', '-v', `${src}:/src:ro`, 'busybox', 'sh', '-c', 'cat /src/a; echo x > /src/b']);
    assert.equal(ro.stdout, 'hi\n');
    assert.match(ro.stderr, /Read-only file system/);
    assert.equal(existsSync(join(src, 'b')), false);
    assert.equal((await daemon.docker(['run', '--rm', '--mount', `type=bind,source=${src},target=/x`, 'busybox', 'sh', '-c', 'echo w > /x/w'])).exitCode, 0);
    assert.equal(existsSync(join(src, 'w')), true);

    const made = join(daemon.dir, 'made', 'deep');
    assert.equal((await daemon.docker(['run', '--rm', '-v', `${made}:/m`, 'busybox', 'true'])).exitCode, 0);
    assert.equal(existsSync(made), true);

    const missing = join(daemon.dir, 'missing');
    const refused = await daemon.docker(['run', '--rm', '--mount', `type=bind,source=${missing},target=/x`, 'busybox', 'true']);
    assert.equal(refused.exitCode, 125);
    assert.match(refused.stderr, new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${missing}`));
    assert.equal(existsSync(missing), false);

    await daemon.docker(['create', '--name', 'binder', '-v', `${src}:/src:ro`, '--mount', `type=bind,src=${src},dst=/rw`, 'busybox', 'true']);
    assert.deepEqual(await mountsOf('binder'), [
      { Type: 'bind', Source: src, Destination: '/rw', Mode: '', RW: true, Propagation: 'rprivate' },
      { Type: 'bind', Source: src, Destination: '/src', Mode: 'ro', RW: false, Propagation: 'rprivate' },
    ]);
    await daemon.docker(['rm', 'binder']);
  });

  it('mounts tmpfs with a size, tmpfs- and bind-backed local volumes, and volumes writable under --read-only', async () => {
    assert.match((await daemon.docker(['run', '--rm', '--tmpfs', '/run:size=64m', 'busybox', 'df', '-k', '/run'])).stdout, /tmpfs\s+65536\s/);
    assert.match((await daemon.docker(['run', '--rm', '--mount', 'type=tmpfs,target=/t,tmpfs-size=10m', 'busybox', 'df', '-k', '/t'])).stdout, /tmpfs\s+10240\s/);

    assert.equal((await daemon.docker(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=5m', 'tv'])).exitCode, 0);
    assert.match((await daemon.docker(['run', '--rm', '-v', 'tv:/v', 'busybox', 'df', '-k', '/v'])).stdout, /tmpfs\s+5120\s/);
    assert.equal((await daemon.docker(['volume', 'inspect', '-f', '{{json .Options}}', 'tv'])).stdout.trim(), '{"device":"tmpfs","o":"size=5m","type":"tmpfs"}');
    assert.equal((await daemon.docker(['volume', 'rm', 'tv'])).exitCode, 0);

    const backing = join(daemon.dir, 'backing');
    await mkdir(backing);
    await daemon.docker(['volume', 'create', '--opt', 'type=none', '--opt', 'o=bind', '--opt', `device=${backing}`, 'bv']);
    assert.equal((await daemon.docker(['run', '--rm', '--mount', 'source=bv,target=/b', 'busybox', 'sh', '-c', 'echo via-volume > /b/f'])).exitCode, 0);
    assert.equal(existsSync(join(backing, 'f')), true);
    assert.equal((await daemon.docker(['volume', 'rm', 'bv'])).exitCode, 0);
    // Removing a bind-backed volume unmounts it and leaves the backing directory alone.
    assert.deepEqual(await readdir(backing), ['f']);

    const readOnly = await daemon.docker(['run', '--rm', '--read-only', '-v', 'rov:/data', 'busybox', 'sh', '-c', 'touch /data/ok && echo vol-ok; touch /x 2>/dev/null || echo root-ro']);
    assert.equal(readOnly.stdout, 'vol-ok\nroot-ro\n');
    await daemon.docker(['volume', 'rm', 'rov']);
  });

  it('shows volumes in inspect\'s Mounts and lists them with filters', async () => {
    await daemon.docker(['volume', 'create', '--label', 'team=a', 'va']);
    await daemon.docker(['volume', 'create', 'vb']);
    await daemon.docker(['create', '--name', 'holder', '-v', 'va:/a', '--mount', 'type=volume,src=vc,dst=/c,readonly', 'busybox', 'true']);
    const mounts = await mountsOf('holder');
    assert.deepEqual(mounts[0], { Type: 'volume', Name: 'va', Source: join(daemon.root, 'volumes', 'va', '_data'), Destination: '/a', Driver: 'local', Mode: 'z', RW: true, Propagation: '' });
    assert.equal(mounts[1]?.Name, 'vc');
    assert.equal(mounts[1]?.RW, false);
    assert.equal((await daemon.docker(['volume', 'ls', '-q', '-f', 'label=team=a'])).stdout, 'va\n');
    assert.equal((await daemon.docker(['volume', 'ls', '-q', '-f', 'dangling=true'])).stdout, 'vb\n');
    assert.equal((await daemon.docker(['volume', 'ls', '-q', '-f', 'name=v', '-f', 'dangling=false'])).stdout, 'va\nvc\n');
    assert.equal((await daemon.docker(['volume', 'ls'])).stdout.split('\n')[0], 'DRIVER    VOLUME NAME');
    const prune = await daemon.docker(['volume', 'prune', '-a', '-f']);
    assert.equal(prune.stdout, 'Deleted Volumes:\nvb\n\nTotal reclaimed space: 0B\n');
    await daemon.docker(['rm', 'holder']);
    await daemon.docker(['volume', 'rm', 'va', 'vc']);
  });

  it('berth volume create/ls/inspect/rm/prune print what docker prints', async () => {
    assert.equal((await daemon.berth(['volume', 'create', '--label', 'k=v', 'bv1'])).stdout, 'bv1\n');
    assert.equal((await daemon.berth(['volume', 'ls'])).stdout, 'DRIVER    VOLUME NAME\nlocal     bv1\n');
    assert.equal((await daemon.berth(['volume', 'ls', '--format', '{{.Name}} {{.Labels}}', '-f', 'label=k'])).stdout, 'bv1 k=v\n');
    assert.equal((await daemon.berth(['volume', 'inspect', '-f', '{{.Driver}} {{.Mountpoint}}', 'bv1'])).stdout, `local ${join(daemon.root, 'volumes', 'bv1', '_data')}\n`);
    assert.equal((await daemon.berth(['volume', 'prune', '-a', '-f'])).stdout, 'Deleted Volumes:\nbv1\n\nTotal reclaimed space: 0B\n');
    const missing = await daemon.berth(['volume', 'rm', 'bv1']);
    assert.equal(missing.exitCode, 1);
    assert.equal(missing.stderr, 'Error response from daemon: get bv1: no such volume\n');
  });

  it('answers bad mounts with one-line errors and changes nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-v', 'foo/bar:/x'], /create foo\/bar: "foo\/bar" includes invalid characters for a local volume name/],
      [['-v', 'okname:relative'], /invalid volume specification: 'okname:relative': invalid mount config for type "volume": invalid mount path: 'relative' mount path must be absolute/],
      [['--mount', 'type=bind,src=/tmp,dst=rel'], /invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute/],
      [['--mount', 'type=volume,src=newvol,dst=/x,volume-driver=nosuch'], /create newvol: error looking up volume plugin nosuch: plugin "nosuch" not found/],
      [['-v', 'newvol:/x', '-v', 'other:/x'], /Duplicate mount point: \/x/],
      [['-v', 'newvol:/x:bogus'], /invalid mode: bogus/],
    ];
    for (const [flags, expected] of cases) {
      const result = await daemon.docker(['run', '--rm', ...flags, 'busybox', 'true']);
      assert.equal(result.exitCode, 125, flags.join(' '));
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.split('\n')[0]!.startsWith('docker: Error response from daemon: '), true);
    }
    const driver = await daemon.docker(['volume', 'create', '-d', 'nosuch', 'v1']);
    assert.equal(driver.stderr.trim(), 'Error response from daemon: create v1: error looking up volume plugin nosuch: plugin "nosuch" not found');
    assert.equal((await daemon.api('POST', '/volumes/create', JSON.stringify({ Name: 'v1', Driver: 'nosuch' }))).status, 404);
    assert.match((await daemon.docker(['volume', 'create', '-o', 'bogus=1', 'v1'])).stderr, /create v1: invalid option: "bogus"/);
    assert.deepEqual(await volumeNames(), []);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout, '');
  });
});
