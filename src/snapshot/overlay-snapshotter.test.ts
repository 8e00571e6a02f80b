import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { HostMounter } from '../sys/index.js';
import { chainIds, sha256Digest } from '../oci/index.js';
import { LayerDigestMismatchError, OverlaySnapshotter } from './overlay-snapshotter.js';
import { UnsafeLayerError } from './layer-extractor.js';
import { makeTar } from './test-tar.js';

const isRoot = process.getuid?.() === 0;

async function withSnapshotter(fn: (s: OverlaySnapshotter, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'berth-overlay-test-'));
  try {
    await fn(await OverlaySnapshotter.open({ root, mounter: new HostMounter() }), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const from = (bytes: Buffer) => async () => Readable.from([bytes]);

test('unpack makes the layer dir, its record and a short link, once', () =>
  withSnapshotter(async (s, root) => {
    const archive = await makeTar([{ name: 'hello', data: 'world' }]);
    const diffId = sha256Digest(archive);
    const [chainId] = chainIds([diffId]);
    assert.equal(await s.hasLayer(chainId!), false);
    const [a, b] = await Promise.all([s.unpack(chainId!, from(archive), diffId), s.unpack(chainId!, from(archive), diffId)]);
    assert.deepEqual(a, b);
    assert.equal(a.sizeBytes, 5);
    assert.equal(a.diffId, diffId);
    assert.ok(await s.hasLayer(chainId!));
    assert.equal(await readFile(join(s.diffDir(chainId!), 'hello'), 'utf8'), 'world');
    const link = s.lowerDir(chainId!);
    assert.match(link, /\/overlay\/l\/[A-Z2-7]{26}$/);
    assert.equal(await readlink(link), `../${chainId!.slice(7)}/diff`);
    assert.equal(await readFile(join(link, 'hello'), 'utf8'), 'world');
    assert.deepEqual(await s.listLayers(), [chainId]);
    // Already unpacked: the source is not even opened.
    await s.unpack(chainId!, async () => assert.fail('source opened again'));
    await s.removeLayer(chainId!);
    assert.equal(await s.hasLayer(chainId!), false);
    assert.deepEqual((await readdir(join(root, 'overlay'))).sort(), ['empty', 'l']);
    assert.deepEqual(await readdir(join(root, 'overlay/l')), []);
  }));

test('a hostile or mismatched layer leaves nothing behind', () =>
  withSnapshotter(async (s, root) => {
    const hostile = await makeTar([{ name: 'ok', data: '1' }, { name: '../escape', data: '2' }]);
    const chainId = sha256Digest(hostile);
    await assert.rejects(s.unpack(chainId, from(hostile)), UnsafeLayerError);
    const good = await makeTar([{ name: 'ok', data: '1' }]);
    await assert.rejects(s.unpack(sha256Digest(good), from(good), sha256Digest('other')), LayerDigestMismatchError);
    assert.deepEqual((await readdir(join(root, 'overlay'))).sort(), ['empty', 'l']);
    assert.deepEqual(await readdir(join(root, 'overlay/l')), []);
  }));

test('open removes half-unpacked layers', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-overlay-test-'));
  try {
    await mkdir(join(root, 'overlay/.tmp-abc-123/diff'), { recursive: true });
    await OverlaySnapshotter.open({ root, mounter: new HostMounter() });
    assert.deepEqual((await readdir(join(root, 'overlay'))).sort(), ['empty', 'l']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('mounts layers with whiteouts and opaque dirs, top layer first', { skip: !isRoot && 'needs root' }, () =>
  withSnapshotter(async (s, root) => {
    const bottom = await makeTar([
      { name: 'etc/', type: 'directory' }, { name: 'etc/keep', data: 'k' }, { name: 'etc/gone', data: 'g' },
      { name: 'cache/', type: 'directory' }, { name: 'cache/old', data: 'o' },
    ]);
    const top = await makeTar([{ name: 'etc/.wh.gone', data: '' }, { name: 'cache/.wh..wh..opq', data: '' }, { name: 'cache/new', data: 'n' }]);
    const [c1, c2] = chainIds([sha256Digest(bottom), sha256Digest(top)]);
    await s.unpack(c1!, from(bottom));
    await s.unpack(c2!, from(top));
    const ctr = join(root, 'ctr');
    const spec = { lowerDirs: [s.lowerDir(c2!), s.lowerDir(c1!)], upperDir: join(ctr, 'upper'), workDir: join(ctr, 'work'), mergedDir: join(ctr, 'merged') };
    for (const dir of [spec.upperDir, spec.workDir, spec.mergedDir]) await mkdir(dir, { recursive: true });
    try {
      await s.mount(spec);
      assert.ok(await s.isMounted(spec.mergedDir));
      assert.deepEqual((await readdir(join(spec.mergedDir, 'etc'))).sort(), ['keep']);
      assert.deepEqual(await readdir(join(spec.mergedDir, 'cache')), ['new']);
      await writeFile(join(spec.mergedDir, 'etc/added'), 'a');
      assert.equal(await readFile(join(spec.upperDir, 'etc/added'), 'utf8'), 'a');
      await s.unmount(spec.mergedDir);
      assert.equal(await s.isMounted(spec.mergedDir), false);
      await s.unmount(spec.mergedDir);
      // Read-only: one lower is a bind mount, none uses the empty dir.
      await s.mount({ lowerDirs: [s.lowerDir(c1!)], mergedDir: spec.mergedDir });
      assert.deepEqual((await readdir(join(spec.mergedDir, 'etc'))).sort(), ['gone', 'keep']);
      await assert.rejects(writeFile(join(spec.mergedDir, 'x'), 'x'), /EROFS/);
      await s.unmount(spec.mergedDir);
    } finally {
      await s.unmount(spec.mergedDir).catch(() => {});
    }
  }));
