import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isValidMountMode, resolveMounts, type ContainerMountRecord, type MountInput } from './mounts.js';
import { resolveInRoot } from './mounts-at-start.js';
import type { EngineVolume, VolumePort } from './ports.js';

class FakeVolumes implements VolumePort {
  readonly volumes = new Map<string, EngineVolume>();
  #next = 0;
  async create(request: { name?: string; driver?: string; labels?: Record<string, string> }): Promise<{ volume: EngineVolume; isNew: boolean }> {
    const name = request.name || `anon${this.#next++}`;
    if (name === 'broken') throw new Error('cannot create');
    const existing = this.volumes.get(name);
    if (existing) return { volume: existing, isNew: false };
    const volume = { name, driver: 'local', mountpoint: `/vol/${name}/_data`, createdAt: '', labels: request.labels ?? {}, options: {} };
    this.volumes.set(name, volume);
    return { volume, isNew: true };
  }
  get(name: string): EngineVolume {
    const volume = this.volumes.get(name);
    if (!volume) throw new Error(`get ${name}: no such volume`);
    return volume;
  }
  has(name: string): boolean {
    return this.volumes.has(name);
  }
  list(): EngineVolume[] {
    return [...this.volumes.values()];
  }
  async mount(name: string): Promise<string> {
    return this.get(name).mountpoint;
  }
  async remove(name: string): Promise<void> {
    this.volumes.delete(name);
  }
  async sizeBytes(): Promise<number> {
    return 0;
  }
}

function input(overrides: Partial<MountInput>): MountInput {
  return { binds: [], mountRequests: [], tmpfs: {}, volumesFrom: [], volumeDriver: '', anonymousPaths: [], ...overrides };
}

const noContainers = { mountsOf: (ref: string): ContainerMountRecord[] => { throw new Error(`No such container: ${ref}`); } };

describe('mount modes', () => {
  it('accepts docker\'s modes, one of each kind', () => {
    for (const mode of ['', 'ro', 'rw', 'z', 'Z', 'ro,z', 'rshared', 'nocopy', 'ro,rslave,Z,nocopy,cached']) assert.equal(isValidMountMode(mode), true, mode);
    for (const mode of ['xyz', 'ro,rw', 'z,Z', 'shared,slave', 'ro,']) assert.equal(isValidMountMode(mode), false, mode);
  });
});

describe('resolveMounts', () => {
  it('turns -v entries into binds and named or anonymous volumes, with docker\'s modes', async () => {
    const volumes = new FakeVolumes();
    const { mounts, createdVolumes } = await resolveMounts(
      input({ binds: ['/host/a:/a:ro', 'data:/data', '/host/b/:/b/:rshared'], anonymousPaths: ['/anon', '/data'] }),
      { volumes, ...noContainers },
    );
    assert.deepEqual(createdVolumes, ['data', 'anon0']);
    assert.deepEqual(mounts.map((m) => [m.type, m.destination, m.source, m.mode, m.isReadOnly, m.propagation]), [
      ['bind', '/a', '/host/a', 'ro', true, 'rprivate'],
      ['volume', '/data', '/vol/data/_data', 'z', false, ''],
      ['bind', '/b', '/host/b', 'rshared', false, 'rshared'],
      ['volume', '/anon', '/vol/anon0/_data', '', false, ''],
    ]);
    assert.deepEqual(volumes.get('anon0').labels, { 'com.docker.volume.anonymous': '' });
  });

  it('refuses bad specs with docker\'s words before creating any volume', async () => {
    const cases: Array<[Partial<MountInput>, RegExp]> = [
      [{ binds: ['data:rel'] }, /invalid volume specification: 'data:rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute$/],
      [{ binds: ['/a:/x', 'v:/x'] }, /Duplicate mount point: \/x$/],
      [{ binds: ['/a:/x:bogus'] }, /invalid mode: bogus$/],
      [{ binds: ['/a:/'] }, /destination can't be '\/'/],
      [{ binds: ['/x:rw'] }, /invalid volume specification: '\/x:rw'$/],
      [{ mountRequests: [{ type: 'bind', source: '/definitely/missing/path', target: '/x', readOnly: false }] }, /invalid mount config for type "bind": bind source path does not exist: \/definitely\/missing\/path$/],
      [{ mountRequests: [{ type: 'tmpfs', source: 'x', target: '/x', readOnly: false }] }, /field Source must not be specified/],
      [{ mountRequests: [{ type: 'volume', source: '', target: '/x', readOnly: true }] }, /must not set ReadOnly mode when using anonymous volumes/],
      [{ binds: ['first:/one'], mountRequests: [{ type: 'volume', source: 'v', target: '/x', readOnly: false, volumeOptions: { driverName: 'nfs' } }] }, /create v: error looking up volume plugin nfs/],
      [{ tmpfs: { run: '' } }, /invalid mount path: 'run' mount path must be absolute$/],
    ];
    for (const [spec, expected] of cases) {
      const volumes = new FakeVolumes();
      await assert.rejects(resolveMounts(input(spec), { volumes, ...noContainers }), expected);
      assert.equal(volumes.volumes.size, 0, String(expected));
    }
  });

  it('removes the volumes it created when a later one fails', async () => {
    const volumes = new FakeVolumes();
    await assert.rejects(resolveMounts(input({ binds: ['fresh:/a', 'broken:/b'] }), { volumes, ...noContainers }), /cannot create/);
    assert.equal(volumes.volumes.size, 0);
  });

  it('copies --volumes-from mounts (read-only with :ro), lets -v override them, and keeps tmpfs out of image volumes', async () => {
    const volumes = new FakeVolumes();
    const source: ContainerMountRecord[] = [
      { type: 'volume', destination: '/shared', source: '/vol/s/_data', name: 's', driver: 'local', mode: 'z', isReadOnly: false, propagation: '', copyUp: true },
      { type: 'bind', destination: '/over', source: '/h', mode: '', isReadOnly: false, propagation: 'rprivate' },
      { type: 'tmpfs', destination: '/t', source: '', mode: '', isReadOnly: false, propagation: '' },
    ];
    const { mounts } = await resolveMounts(
      input({ volumesFrom: ['other:ro'], binds: ['/mine:/over'], tmpfs: { '/run': 'size=1m' }, anonymousPaths: ['/run'] }),
      { volumes, mountsOf: () => source },
    );
    assert.deepEqual(mounts.map((m) => [m.destination, m.type, m.isReadOnly, m.copyUp ?? false]), [
      ['/shared', 'volume', true, false],
      ['/over', 'bind', false, false],
      ['/run', 'tmpfs', false, false],
    ]);
    assert.equal(volumes.volumes.size, 0);
  });
});

describe('resolveInRoot', () => {
  it('follows links inside the root and never leaves it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-mounts-test-'));
    try {
      await mkdir(join(root, 'real', 'dir'), { recursive: true });
      await symlink('/real', join(root, 'abs'));
      await symlink('../../../../real', join(root, 'up'));
      await symlink('/etc', join(root, 'hostetc'));
      assert.equal(await resolveInRoot(root, '/abs/dir'), join(root, 'real', 'dir'));
      assert.equal(await resolveInRoot(root, '/up/dir'), join(root, 'real', 'dir'));
      assert.equal(await resolveInRoot(root, '/hostetc'), undefined);
      assert.equal(await resolveInRoot(root, '/missing'), undefined);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
