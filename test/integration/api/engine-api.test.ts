/**
 * The Engine API at the HTTP level: ping headers, version prefixes and moby's range errors,
 * docker's error body, malformed bodies, shapes gated by API version, swarm and plugin
 * endpoints as a dockerd outside a swarm answers them, and the socket's permissions.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { startTestDaemon, type TestDaemon } from '../harness.js';

describe('Engine API', () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('answers /_ping with the API version headers', async () => {
    const ping = await daemon.api('GET', '/_ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.body, 'OK');
    assert.equal(ping.headers['api-version'], '1.52');
    assert.equal(ping.headers['ostype'], 'linux');
    const head = await daemon.api('HEAD', '/_ping');
    assert.equal(head.status, 200);
  });

  it('serves versioned and unversioned paths and refuses versions outside the range', async () => {
    assert.equal((await daemon.api('GET', '/v1.24/version')).status, 200);
    assert.equal((await daemon.api('GET', '/v1.44/containers/json')).status, 200);
    assert.equal((await daemon.api('GET', '/containers/json')).status, 200);
    const old = await daemon.api('GET', '/v1.12/version');
    assert.equal(old.status, 400);
    assert.match(JSON.parse(old.body).message, /client version 1.12 is too old. Minimum supported API version is 1.24/);
    const young = await daemon.api('GET', '/v1.99/version');
    assert.equal(young.status, 400);
    assert.match(JSON.parse(young.body).message, /client version 1.99 is too new. Maximum supported API version is 1.52/);
  });

  it('uses docker error bodies and status codes', async () => {
    const missing = await daemon.api('GET', '/containers/nosuch/json');
    assert.equal(missing.status, 404);
    // docker's body with Berth's stable code beside it (docker clients ignore the extra field).
    assert.deepEqual(JSON.parse(missing.body), { message: 'No such container: nosuch', code: 'BERTH_NO_SUCH_CONTAINER' });
    const malformed = await daemon.api('POST', '/containers/create', '{"Image": ');
    assert.equal(malformed.status, 400);
    assert.ok(JSON.parse(malformed.body).message);
    const wrongType = await daemon.api('POST', '/containers/create', '{"Image": "busybox", "Tty": "yes"}');
    assert.equal(wrongType.status, 400);
    const badWait = await daemon.api('POST', '/containers/nosuch/wait?condition=bogus');
    assert.ok(badWait.status === 400 || badWait.status === 404);
    assert.equal((await daemon.api('GET', '/containers/json')).body.trim(), '[]');
  });

  it('answers the swarm endpoints as a node outside a swarm, and lists no plugins', async () => {
    for (const [method, path] of [['GET', '/swarm'], ['POST', '/swarm/leave?force=1'], ['GET', '/v1.41/swarm']]) {
      const answer = await daemon.api(method!, path!);
      assert.equal(answer.status, 503, path);
      assert.equal(JSON.parse(answer.body).message, 'This node is not part of a swarm');
    }
    for (const object of ['nodes', 'services', 'tasks', 'secrets', 'configs']) {
      const answer = await daemon.api('GET', `/${object}`);
      assert.equal(answer.status, 503, object);
      assert.match(JSON.parse(answer.body).message, /^This node is not a swarm manager\. Use "docker swarm init"/);
    }
    const plugins = await daemon.api('GET', '/plugins');
    assert.equal(plugins.status, 200);
    assert.deepEqual(JSON.parse(plugins.body), []);
    assert.equal((await daemon.api('GET', '/plugins/nosuch/json')).status, 404);
  });

  it('gives each API version its own inspect and event shapes', async () => {
    const created = await daemon.api('POST', '/containers/create?name=shapes', JSON.stringify({ Image: 'busybox', Cmd: ['true'] }));
    assert.equal(created.status, 201, created.body);
    type Inspect = { HostConfig: Record<string, unknown>; NetworkSettings: Record<string, unknown>; Config: Record<string, unknown> };
    const inspectAt = async (prefix: string): Promise<Inspect> => JSON.parse((await daemon.api('GET', `${prefix}/containers/shapes/json`)).body) as Inspect;
    const old = await inspectAt('/v1.41');
    assert.equal(old.HostConfig['KernelMemory'], 0);
    assert.equal(old.NetworkSettings['IPAddress'], '');
    for (const key of ['MemorySwappiness', 'CpuRealtimePeriod', 'BlkioWeightDevice', 'DeviceRequests']) assert.ok(key in old.HostConfig, key);
    const v151 = await inspectAt('/v1.51');
    assert.ok(!('KernelMemory' in v151.HostConfig));
    assert.ok('IPAddress' in v151.NetworkSettings);
    const newest = await inspectAt('');
    assert.ok(!('IPAddress' in newest.NetworkSettings) && !('Bridge' in newest.NetworkSettings));
    assert.ok('Networks' in newest.NetworkSettings && 'Ports' in newest.NetworkSettings);
    assert.ok(!('OnBuild' in newest.Config));
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const filters = encodeURIComponent('{"container":["shapes"]}');
    const eventsAt = async (prefix: string): Promise<Array<Record<string, unknown>>> =>
      (await daemon.api('GET', `${prefix}/events?since=0&until=${until}&filters=${filters}`)).body.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const legacy = (await eventsAt('/v1.41'))[0]!;
    assert.equal(legacy['status'], 'create');
    assert.equal(legacy['from'], 'busybox');
    // Kept at 1.52 too, unlike dockerd: compose 1.29 negotiates 1.52 and reads them (compatibility.md).
    const current = (await eventsAt('/v1.52'))[0]!;
    assert.equal(current['Action'], 'create');
    assert.equal(current['status'], 'create');
    assert.equal(current['id'], current['Actor'] && (current['Actor'] as { ID: string }).ID);
    assert.equal((await daemon.api('DELETE', '/containers/shapes')).status, 204);
  });

  it('keeps the socket to root', async () => {
    const info = await stat(daemon.socket);
    assert.equal(info.mode & 0o777, 0o660);
    assert.equal(info.uid, 0);
  });
});
