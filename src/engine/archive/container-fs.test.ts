import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mountFor } from './container-fs.js';
import type { ContainerMountRecord } from '../mounts.js';

const mount = (type: ContainerMountRecord['type'], destination: string, source: string): ContainerMountRecord => ({
  type, destination, source, mode: '', isReadOnly: false, propagation: '',
});

describe('mountFor', () => {
  const mounts = [mount('volume', '/data', '/v/a/_data'), mount('bind', '/data/deep', '/host/deep'), mount('tmpfs', '/tmp', '')];

  it('maps a path at or under a destination to the deepest mount, keeping the rest', () => {
    assert.deepEqual(mountFor(mounts, '/data'), { mount: mounts[0], rest: '' });
    assert.deepEqual(mountFor(mounts, '/data/'), { mount: mounts[0], rest: '/' });
    assert.deepEqual(mountFor(mounts, '/data/.'), { mount: mounts[0], rest: '/.' });
    assert.deepEqual(mountFor(mounts, '/data/x/y'), { mount: mounts[0], rest: '/x/y' });
    assert.deepEqual(mountFor(mounts, '/data/deep/f'), { mount: mounts[1], rest: '/f' });
  });

  it('leaves the rootfs its own paths, look-alike prefixes and tmpfs mounts', () => {
    assert.equal(mountFor(mounts, '/database'), undefined);
    assert.equal(mountFor(mounts, '/'), undefined);
    assert.equal(mountFor(mounts, '/tmp/x'), undefined);
  });
});
