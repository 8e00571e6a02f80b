import { InvalidArgumentError } from '../common/index.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from './router.js';

describe('Router', () => {
  const noop = async (): Promise<undefined> => undefined;
  const router = new Router()
    .add('GET', '/images/json', noop)
    .add('GET', '/images/{name*}/json', noop)
    .add('DELETE', '/images/{name*}', noop)
    .add('POST', '/containers/{id}/start', noop);

  it('matches parameters, including names with slashes and ports', () => {
    const match = router.match('GET', '/images/127.0.0.1:5000/tools/busybox:1/json');
    assert.ok(match && 'params' in match);
    assert.equal(match.params['name'], '127.0.0.1:5000/tools/busybox:1');
    const del = router.match('DELETE', '/images/busybox%3Alatest');
    assert.ok(del && 'params' in del);
    assert.equal(del.params['name'], 'busybox:latest');
  });

  it('prefers the exact list route and reports a wrong method', () => {
    const list = router.match('GET', '/images/json');
    assert.ok(list && 'params' in list);
    assert.deepEqual(list.params, {});
    assert.deepEqual(router.match('GET', '/containers/abc/start'), { methodNotAllowed: true });
    assert.equal(router.match('GET', '/nothing/here'), undefined);
  });

  it('serves HEAD through GET routes', () => {
    assert.ok(router.match('HEAD', '/images/json'));
  });

  it('refuses bad percent-encoding in a parameter as the client\'s error', () => {
    assert.throws(() => router.match('POST', '/containers/%ZZ/start'), (err: unknown) => err instanceof InvalidArgumentError);
  });

  it('lists its routes as added', () => {
    assert.ok(router.list().some((route) => route.method === 'DELETE' && route.path === '/images/{name*}'));
  });
});
