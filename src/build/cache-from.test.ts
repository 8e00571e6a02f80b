import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../common/index.js';
import type { Engine } from '../engine/index.js';
import type { ImageConfig } from '../oci/index.js';
import { CacheFromSources } from './cache-from.js';

const base: ImageConfig = {
  architecture: 'amd64', os: 'linux',
  rootfs: { type: 'layers', diff_ids: ['sha256:l1'] },
  history: [{ created: 't0', created_by: 'ADD busybox' }],
};
const source: ImageConfig = {
  ...base,
  parent: 'sha256:step1',
  rootfs: { type: 'layers', diff_ids: ['sha256:l1', 'sha256:l2'] },
  history: [...base.history!, { created: 't1', created_by: 'ENV A=1', empty_layer: true }, { created: 't2', created_by: 'COPY file:abc in /x' }],
};

/** An engine with images by ref and their stored layers, and the parent chain step1 -> base. */
function fakeEngine(): Engine {
  const images: Record<string, { id: string; config: ImageConfig }> = {
    'app:1': { id: 'sha256:app', config: source },
    'sha256:step1': { id: 'sha256:step1', config: { ...base, parent: 'sha256:base' } },
    'sha256:base': { id: 'sha256:base', config: base },
  };
  return {
    images: {
      get: async (ref: string) => {
        const image = images[ref];
        if (image === undefined) throw new BerthError('not-found', 'BERTH_NO_SUCH_IMAGE', `No such image: ${ref}`);
        return image;
      },
      recordOf: () => ({ layers: [{ diffId: 'sha256:l1', blobDigest: 'sha256:b1' }, { diffId: 'sha256:l2', blobDigest: 'sha256:b2', mediaType: 'm' }] }),
    },
  } as unknown as Engine;
}

describe('CacheFromSources', () => {
  it('matches a step whose history entry follows the stage\'s image in a source', async () => {
    const sources = await CacheFromSources.resolve(fakeEngine(), ['nosuch:1', 'app:1']);
    assert.equal(sources.isActive, true);
    const env = sources.match(base, 'ENV A=1');
    assert.deepEqual(env, { wholeImageId: undefined, entry: source.history![1], layer: undefined });
    const afterEnv: ImageConfig = { ...base, history: source.history!.slice(0, 2) };
    const copy = sources.match(afterEnv, 'COPY file:abc in /x');
    assert.deepEqual(copy, { wholeImageId: 'sha256:app', entry: source.history![2], layer: { diffId: 'sha256:l2', ref: { blobDigest: 'sha256:b2', mediaType: 'm' } } });
  });

  it('matches nothing for another step, another prefix, or no sources', async () => {
    const sources = await CacheFromSources.resolve(fakeEngine(), ['app:1']);
    assert.equal(sources.match(base, 'ENV A=2'), undefined);
    assert.equal(sources.match({ ...base, history: [{ created: 'other', created_by: 'ADD busybox' }] }, 'ENV A=1'), undefined);
    assert.equal(sources.match(source, 'anything'), undefined, 'the source itself is no strict prefix');
    const none = await CacheFromSources.resolve(fakeEngine(), ['nosuch:1']);
    assert.equal(none.isActive, false);
  });

  it('knows the sources\' ancestors by their parent links', async () => {
    const sources = await CacheFromSources.resolve(fakeEngine(), ['app:1']);
    assert.equal(sources.isAncestor('sha256:step1'), true);
    assert.equal(sources.isAncestor('sha256:base'), true);
    assert.equal(sources.isAncestor('sha256:app'), false);
  });
});
