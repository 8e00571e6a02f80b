import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../common/index.js';
import type { Mounter, MountSpec } from '../sys/index.js';
import { VolumeService } from './volume-service.js';

/** Records mounts instead of making them. */
class FakeMounter implements Mounter {
  readonly mounted = new Map<string, MountSpec>();
  async mount(spec: MountSpec): Promise<void> {
    this.mounted.set(spec.target, spec);
  }
  async unmount(target: string): Promise<void> {
    this.mounted.delete(target);
  }
  async isMounted(path: string): Promise<boolean> {
    return this.mounted.has(path);
  }
}

async function withRoot(test: (root: string, mounter: FakeMounter) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'berth-volume-test-'));
  try {
    await test(root, new FakeMounter());
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('VolumeService', () => {
  it('creates a volume with its record, returns the existing one on a second create, and reloads it', () =>
    withRoot(async (root, mounter) => {
      const service = await VolumeService.open({ root, mounter, logger: silentLogger });
      const first = await service.create({ name: 'data', labels: { a: 'b' } });
      assert.equal(first.isNew, true);
      assert.equal(first.volume.mountpoint, join(root, 'volumes', 'data', '_data'));
      assert.match(first.volume.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const record = JSON.parse(await readFile(join(root, 'volumes', 'data', 'volume.json'), 'utf8')) as { labels: Record<string, string> };
      assert.deepEqual(record.labels, { a: 'b' });
      assert.equal((await service.create({ name: 'data' })).isNew, false);
      const reopened = await VolumeService.open({ root, mounter, logger: silentLogger });
      assert.deepEqual(reopened.list().map((v) => v.name), ['data']);
    }));

  it('names anonymous volumes with 64 hex', () =>
    withRoot(async (root, mounter) => {
      const service = await VolumeService.open({ root, mounter, logger: silentLogger });
      assert.match((await service.create({})).volume.name, /^[0-9a-f]{64}$/);
    }));

  it('refuses bad names, drivers and options before making anything', () =>
    withRoot(async (root, mounter) => {
      const service = await VolumeService.open({ root, mounter, logger: silentLogger });
      await assert.rejects(service.create({ name: 'foo/bar' }), /create foo\/bar: "foo\/bar" includes invalid characters/);
      await assert.rejects(service.create({ name: 'x' }), /volume name is too short/);
      await assert.rejects(service.create({ name: 'v1', driver: 'nfs' }), { code: 'BERTH_UNKNOWN_VOLUME_DRIVER' });
      await assert.rejects(service.create({ name: 'v1', driverOpts: { size: '1' } }), /create v1: invalid option: "size"/);
      await assert.rejects(service.create({ name: 'v1', driverOpts: { type: 'tmpfs' } }), /missing required option: "device"/);
      assert.equal(existsSync(join(root, 'volumes', 'v1')), false);
      assert.deepEqual(service.list(), []);
    }));

  it('mounts an option-backed volume once and unmounts it on remove', () =>
    withRoot(async (root, mounter) => {
      const service = await VolumeService.open({ root, mounter, logger: silentLogger });
      await service.create({ name: 'tv', driverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=5m,uid=1' } });
      const data = await service.mount('tv');
      assert.deepEqual(mounter.mounted.get(data), { source: 'tmpfs', target: data, type: 'tmpfs', options: ['size=5m', 'uid=1'] });
      await service.remove('tv');
      assert.equal(mounter.mounted.size, 0);
      assert.equal(existsSync(join(root, 'volumes', 'tv')), false);
      assert.throws(() => service.get('tv'), /get tv: no such volume/);
    }));

  it('clears a volume whose create did not finish (no record) at open', () =>
    withRoot(async (root, mounter) => {
      await mkdir(join(root, 'volumes', 'half', '_data'), { recursive: true });
      await writeFile(join(root, 'volumes', 'half', '_data', 'f'), 'x');
      const service = await VolumeService.open({ root, mounter, logger: silentLogger });
      assert.deepEqual(service.list(), []);
      assert.equal(existsSync(join(root, 'volumes', 'half')), false);
    }));

  it('counts file bytes only', () =>
    withRoot(async (root, mounter) => {
      const service = await VolumeService.open({ root, mounter, logger: silentLogger });
      const { volume } = await service.create({ name: 'sized' });
      assert.equal(await service.sizeBytes('sized'), 0);
      await mkdir(join(volume.mountpoint, 'sub'));
      await writeFile(join(volume.mountpoint, 'sub', 'f'), '12345');
      assert.equal(await service.sizeBytes('sized'), 5);
    }));
});
