/**
 * The Engine API at the HTTP level: ping headers, version prefixes and moby's range errors,
 * docker's error body, malformed bodies, and the socket's permissions.
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
    assert.equal(ping.headers['api-version'], '1.51');
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
    assert.match(JSON.parse(young.body).message, /client version 1.99 is too new. Maximum supported API version is 1.51/);
  });

  it('uses docker error bodies and status codes', async () => {
    const missing = await daemon.api('GET', '/containers/nosuch/json');
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), { message: 'No such container: nosuch' });
    const malformed = await daemon.api('POST', '/containers/create', '{"Image": ');
    assert.equal(malformed.status, 400);
    assert.ok(JSON.parse(malformed.body).message);
    const wrongType = await daemon.api('POST', '/containers/create', '{"Image": "busybox", "Tty": "yes"}');
    assert.equal(wrongType.status, 400);
    const badWait = await daemon.api('POST', '/containers/nosuch/wait?condition=bogus');
    assert.ok(badWait.status === 400 || badWait.status === 404);
    assert.equal((await daemon.api('GET', '/containers/json')).body.trim(), '[]');
  });

  it('keeps the socket to root', async () => {
    const info = await stat(daemon.socket);
    assert.equal(info.mode & 0o777, 0o660);
    assert.equal(info.uid, 0);
  });
});
