import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaType, isIndexMediaType, isManifestMediaType, layerCompression } from './image.js';

test('media type helpers classify both formats', () => {
  assert.ok(isIndexMediaType(MediaType.ociIndex));
  assert.ok(isIndexMediaType(MediaType.dockerManifestList));
  assert.ok(!isIndexMediaType(MediaType.ociManifest));
  assert.ok(isManifestMediaType(MediaType.dockerManifest));
  assert.ok(isManifestMediaType(MediaType.ociManifest));
  assert.ok(!isManifestMediaType(undefined));
  assert.equal(layerCompression(MediaType.dockerLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.ociLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.ociLayer), 'none');
  assert.equal(layerCompression(MediaType.dockerLayer), 'none');
  assert.equal(layerCompression(MediaType.ociLayerZstd), 'zstd');
  assert.equal(layerCompression('text/plain'), 'unknown');
});
