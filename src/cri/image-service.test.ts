import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { credentialsOf, imageUser } from './image-service.js';
import { runtimeForHandler } from './runtime-info.js';

const noAuth = { username: '', password: '', auth: '', server_address: '', identity_token: '', registry_token: '' };

describe('CRI image translation', () => {
  it('splits an image user into a uid or a name', () => {
    assert.deepEqual(imageUser('1000'), { uid: { value: '1000' }, username: '' });
    assert.deepEqual(imageUser('1000:50'), { uid: { value: '1000' }, username: '' });
    assert.deepEqual(imageUser('nobody'), { uid: null, username: 'nobody' });
    assert.deepEqual(imageUser(''), { uid: null, username: '' });
  });

  it('turns an AuthConfig into registry credentials', () => {
    assert.equal(credentialsOf(null), undefined);
    assert.equal(credentialsOf(noAuth), undefined);
    assert.deepEqual(credentialsOf({ ...noAuth, username: 'u', password: 'p' }), { username: 'u', password: 'p' });
    assert.deepEqual(credentialsOf({ ...noAuth, auth: Buffer.from('user:pa:ss').toString('base64') }), { username: 'user', password: 'pa:ss' });
    assert.deepEqual(credentialsOf({ ...noAuth, registry_token: 't' }), { registryToken: 't' });
    assert.throws(() => credentialsOf({ ...noAuth, auth: Buffer.from('nocolon').toString('base64') }), /auth\.auth/);
  });

  it('maps runtime handlers to engine runtimes and refuses the rest by name', () => {
    assert.equal(runtimeForHandler('', 'crun'), 'crun');
    assert.equal(runtimeForHandler('runc', 'crun'), 'runc');
    assert.throws(() => runtimeForHandler('berth-vm', 'crun'), (err: Error & { kind?: string }) => err.kind === 'not-implemented' && /runtime_handler: berth-vm/.test(err.message));
    assert.throws(() => runtimeForHandler('kata', 'crun'), /runtime_handler: unknown runtime handler "kata"/);
  });
});
