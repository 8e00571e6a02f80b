import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageInspect } from './wire/index.js';
import { imageInspectFor } from './version-shapes.js';

const image: ImageInspect = {
  Id: 'sha256:1', RepoTags: [], RepoDigests: [], Parent: '', Comment: '', Created: '2024-01-01T00:00:00Z', DockerVersion: '', Author: '',
  Config: { User: '', Env: ['PATH=/bin'], Cmd: ['sh'], WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null },
  Architecture: 'amd64', Os: 'linux', Size: 1, GraphDriver: { Name: 'overlay', Data: null }, RootFS: { Type: 'layers', Layers: [] }, Metadata: {},
};

describe('version-gated shapes', () => {
  it('image inspect: empty fields go from 1.52, container fields come back before 1.50', () => {
    const newest = imageInspectFor('1.52', image) as unknown as Record<string, unknown>;
    assert.deepEqual(newest['Config'], { Env: ['PATH=/bin'], Cmd: ['sh'] });
    for (const key of ['Parent', 'Comment', 'DockerVersion', 'Author']) assert.ok(!(key in newest), key);
    const v151 = imageInspectFor('1.51', image);
    assert.equal(v151.Parent, '');
    assert.ok(!('Hostname' in v151.Config));
    const v141 = imageInspectFor('1.41', image).Config as Record<string, unknown>;
    assert.equal(v141['Hostname'], '');
    assert.equal(v141['Tty'], false);
    // The input is not changed.
    assert.equal(image.Parent, '');
    assert.equal(image.Config.User, '');
  });

});
