import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveHost } from './host.js';

test('host precedence: flag, BERTH_HOST, DOCKER_HOST, default', () => {
  assert.equal(resolveHost('unix:///a.sock', { BERTH_HOST: 'unix:///b.sock' }).socketPath, '/a.sock');
  assert.equal(resolveHost(undefined, { BERTH_HOST: 'unix:///b.sock', DOCKER_HOST: 'unix:///c.sock' }).socketPath, '/b.sock');
  assert.equal(resolveHost(undefined, { DOCKER_HOST: 'unix:///c.sock' }).socketPath, '/c.sock');
  assert.equal(resolveHost(undefined, {}).socketPath, '/run/berth/berth.sock');
  assert.throws(() => resolveHost('tcp://1.2.3.4:2375', {}), /only unix/);
});
