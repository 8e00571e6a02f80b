/**
 * save, load, import, prune and system df with the real docker CLI: several images per archive
 * with their tags, OCI layouts, hostile archives refused with nothing left, kill -9 mid-load.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../../src/sys/index.js';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

async function blobCount(daemon: TestDaemon): Promise<number> {
  return (await readdir(join(daemon.root, 'image', 'blobs', 'sha256'))).length;
}

describe('save, load, import', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let work: string;
  before(async () => {
    daemon = await startTestDaemon();
    work = join(daemon.dir, 'work');
    await mkdir(work);
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('saves several images and loads them back with their tags', async () => {
    await daemon.docker(['tag', 'busybox', 'one:1']);
    await daemon.docker(['tag', 'busybox', 'two:2']);
    const archive = join(work, 'b.tar');
    const save = await daemon.docker(['save', '-o', archive, 'one:1', 'two:2']);
    assert.equal(save.exitCode, 0, save.stderr);
    const listing = (await runCommand('tar', ['-tf', archive])).stdout.split('\n');
    for (const name of ['manifest.json', 'index.json', 'oci-layout']) assert.ok(listing.includes(name), listing.join(' '));
    const manifest = JSON.parse(await runCommand('tar', ['-xOf', archive, 'manifest.json']).then((r) => r.stdout)) as Array<{ RepoTags: string[] }>;
    assert.deepEqual(manifest[0]!.RepoTags.sort(), ['one:1', 'two:2']);
    await daemon.docker(['rmi', 'one:1', 'two:2']);
    const load = await daemon.docker(['load', '-i', archive]);
    assert.equal(load.exitCode, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: one:1/);
    assert.match(load.stdout, /Loaded image: two:2/);
    const run = await daemon.docker(['run', '--rm', 'two:2', 'echo', 'loaded']);
    assert.equal(run.stdout, 'loaded\n');
    await daemon.docker(['rmi', 'one:1', 'two:2']);
  });

  it('loads an OCI image layout (index.json, no manifest.json)', async () => {
    await daemon.docker(['tag', 'busybox', 'oci:1']);
    const dir = join(work, 'oci');
    await mkdir(dir);
    const archive = join(work, 'oci.tar');
    await daemon.docker(['save', '-o', archive, 'oci:1']);
    await runCommand('tar', ['-xf', archive, '-C', dir]);
    await rm(join(dir, 'manifest.json'));
    await rm(join(dir, 'repositories'), { force: true });
    const layout = join(work, 'layout.tar');
    assert.equal((await runCommand('tar', ['-cf', layout, '-C', dir, '.'])).exitCode, 0);
    await daemon.docker(['rmi', 'oci:1']);
    const load = await daemon.docker(['load', '-i', layout]);
    assert.equal(load.exitCode, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: oci:1/);
    await daemon.docker(['rmi', 'oci:1']);
  });

  it('loads docker 1.9\'s legacy archive (repositories and <id>/json per layer)', async () => {
    // The busybox layer from a save, then a second layer on it, in the old layout.
    const saved = join(work, 'for-legacy');
    await mkdir(saved);
    await daemon.docker(['save', '-o', join(saved, 'b.tar'), 'busybox']);
    await runCommand('tar', ['-xf', join(saved, 'b.tar'), '-C', saved]);
    const manifest = JSON.parse(await readFile(join(saved, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
    const dir = join(work, 'legacy');
    const baseId = 'a'.repeat(64);
    const topId = 'b'.repeat(64);
    await mkdir(join(dir, baseId), { recursive: true });
    await mkdir(join(dir, topId), { recursive: true });
    await writeFile(join(dir, baseId, 'layer.tar'), await readFile(join(saved, manifest[0]!.Layers[0]!)));
    await mkdir(join(work, 'top-layer'));
    await writeFile(join(work, 'top-layer', 'hello'), 'from a legacy layer\n');
    await runCommand('tar', ['-cf', join(dir, topId, 'layer.tar'), '-C', join(work, 'top-layer'), 'hello']);
    const created = '2015-11-03T00:00:00Z';
    await writeFile(join(dir, baseId, 'json'), JSON.stringify({ id: baseId, created, os: 'linux', architecture: 'amd64', container_config: { Cmd: ['/bin/sh', '-c', '#(nop) ADD file:busybox in /'] } }));
    await writeFile(join(dir, topId, 'json'), JSON.stringify({
      id: topId, parent: baseId, created, os: 'linux', architecture: 'amd64',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['cat', '/hello'] },
      container_config: { Cmd: ['/bin/sh', '-c', '#(nop) ADD file:hello in /'] },
    }));
    for (const id of [baseId, topId]) await writeFile(join(dir, id, 'VERSION'), '1.0');
    await writeFile(join(dir, 'repositories'), JSON.stringify({ legacy: { '1': topId } }));
    const archive = join(work, 'legacy.tar');
    assert.equal((await runCommand('tar', ['-cf', archive, '-C', dir, 'repositories', baseId, topId])).exitCode, 0);
    const load = await daemon.docker(['load', '-i', archive]);
    assert.equal(load.exitCode, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: legacy:1/);
    assert.equal((await daemon.docker(['run', '--rm', 'legacy:1'])).stdout, 'from a legacy layer\n');
    const history = await daemon.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'legacy:1']);
    assert.deepEqual(history.stdout.trim().split('\n'), ['/bin/sh -c #(nop) ADD file:hello in /', '/bin/sh -c #(nop) ADD file:busybox in /']);
    assert.equal((await daemon.docker(['rmi', 'legacy:1'])).exitCode, 0);

    // A repositories file naming a layer the archive lacks: refused, nothing kept.
    const blobsBefore = await blobCount(daemon);
    await writeFile(join(dir, 'repositories'), JSON.stringify({ broken: { '1': 'c'.repeat(64) } }));
    assert.equal((await runCommand('tar', ['-cf', archive, '-C', dir, 'repositories', baseId, topId])).exitCode, 0);
    const broken = await daemon.docker(['load', '-i', archive]);
    assert.notEqual(broken.exitCode, 0);
    assert.match(broken.stderr, /invalid archive: "c{64}\/json" is missing/);
    assert.equal(await blobCount(daemon), blobsBefore);
    assert.equal((await daemon.docker(['images', '-q', 'broken'])).stdout, '');
  });

  it('refuses a hostile archive and a damaged one, leaving no blob or tag', async () => {
    const before = await blobCount(daemon);
    // A layer that writes through `..`: the extractor refuses it, the load undoes its blobs.
    const root = join(work, 'hostile');
    await mkdir(join(root, 'layer'), { recursive: true });
    await writeFile(join(work, 'evil.txt'), 'x');
    const layerTar = join(root, 'layer.tar');
    await runCommand('tar', ['-cf', layerTar, '-C', join(root, 'layer'), '--transform', 's,^,../../,', '-P', join(work, 'evil.txt')]);
    const { createHash } = await import('node:crypto');
    const layerBytes = await readFile(layerTar);
    const diffId = `sha256:${createHash('sha256').update(layerBytes).digest('hex')}`;
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } });
    const configHex = createHash('sha256').update(config).digest('hex');
    await writeFile(join(root, `${configHex}.json`), config);
    await writeFile(join(root, 'manifest.json'), JSON.stringify([{ Config: `${configHex}.json`, RepoTags: ['evil:1'], Layers: ['layer.tar'] }]));
    await rm(join(root, 'layer'), { recursive: true });
    const archive = join(work, 'hostile.tar');
    await runCommand('tar', ['-cf', archive, '-C', root, '.']);
    const load = await daemon.docker(['load', '-i', archive]);
    assert.notEqual(load.exitCode, 0);
    assert.match(load.stderr + load.stdout, /unsafe layer/);
    assert.equal((await daemon.docker(['image', 'ls', '-q', 'evil'])).stdout.trim(), '');
    assert.equal(await blobCount(daemon), before);

    const junk = await daemon.docker(['load'], { input: 'this is not a tar archive at all, not even close'.repeat(20) });
    assert.notEqual(junk.exitCode, 0);
    assert.match(junk.stderr + junk.stdout, /invalid archive/);
    assert.equal(await blobCount(daemon), before);
  });

  it('imports a root filesystem tar from stdin with --change', async () => {
    const rootfs = join(work, 'rootfs');
    await mkdir(rootfs);
    await writeFile(join(rootfs, 'hello.txt'), 'imported\n');
    await runCommand('cp', ['/bin/busybox', join(rootfs, 'busybox')]);
    const tarPath = join(work, 'rootfs.tar');
    await runCommand('tar', ['-cf', tarPath, '-C', rootfs, '.']);
    const result = await runCommand('sh', ['-c', `cat ${tarPath} | ${'/usr/local/bin/docker'} import --change 'CMD ["/busybox","cat","/hello.txt"]' -m 'made here' - imported:1`], { env: daemon.env });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /^sha256:[0-9a-f]{64}$/m);
    const run = await daemon.docker(['run', '--rm', 'imported:1']);
    assert.equal(run.stdout, 'imported\n', run.stderr);
    const history = await daemon.docker(['history', '--format', '{{.Comment}}', 'imported:1']);
    assert.equal(history.stdout.trim(), 'made here');
    await daemon.docker(['rmi', 'imported:1']);
  });

  it('prunes unused images with -a and reports sizes in system df', async () => {
    const before = await blobCount(daemon);
    const rootfs = join(work, 'prunable');
    await mkdir(rootfs);
    await writeFile(join(rootfs, 'file'), 'prune me\n');
    const tarPath = join(work, 'prunable.tar');
    await runCommand('tar', ['-cf', tarPath, '-C', rootfs, '.']);
    assert.equal((await daemon.docker(['import', tarPath, 'prunable:1'])).exitCode, 0);
    const df = await daemon.docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    assert.equal(df.exitCode, 0, df.stderr);
    assert.match(df.stdout, /Images 2/);
    // busybox is in use by a container, so prune -a keeps it and removes only prunable:1.
    const id = (await daemon.docker(['create', 'busybox', 'true'])).stdout.trim();
    const prune = await daemon.docker(['image', 'prune', '-a', '-f']);
    assert.equal(prune.exitCode, 0, prune.stderr);
    assert.match(prune.stdout, /untagged: prunable:1/);
    assert.equal((await daemon.docker(['image', 'ls', '-q', 'prunable'])).stdout.trim(), '');
    assert.notEqual((await daemon.docker(['image', 'ls', '-q', 'busybox'])).stdout.trim(), '');
    assert.equal(await blobCount(daemon), before);
    await daemon.docker(['rm', id]);
  });

  it('recovers from kill -9 during a load', async () => {
    const before = await blobCount(daemon);
    // Stream a tar that never ends: the daemon holds a half-written blob when it dies.
    const { spawn } = await import('node:child_process');
    const child = spawn('/usr/local/bin/docker', ['load'], { env: daemon.env, stdio: ['pipe', 'ignore', 'ignore'] });
    // docker exits when its daemon dies; writes after that fail and do not matter.
    child.stdin.on('error', () => {});
    // A 16 MiB blob of which only 1 MiB ever arrives.
    const tar = (await import('tar-stream')).default;
    const pack = tar.pack();
    pack.on('error', () => {});
    pack.pipe(child.stdin);
    const entry = pack.entry({ name: `blobs/sha256/${'0'.repeat(64)}`, size: 1 << 24 });
    entry.on('error', () => {});
    entry.write(Buffer.alloc(1 << 20));
    let sawTemp = false;
    for (let i = 0; i < 400 && !sawTemp; i++) {
      sawTemp = (await readdir(join(daemon.root, 'image', 'tmp'))).length > 0;
      if (!sawTemp) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(sawTemp, 'the daemon never started writing the blob');
    await daemon.kill9();
    child.kill('SIGKILL');
    pack.destroy();
    await daemon.restart();
    assert.deepEqual(await readdir(join(daemon.root, 'image', 'tmp')), []);
    assert.equal(await blobCount(daemon), before);
    assert.equal((await daemon.docker(['run', '--rm', 'busybox', 'true'])).exitCode, 0);
  });
});
