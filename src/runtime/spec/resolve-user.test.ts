import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { resolveChown, resolveUser, NoSuchUserError } from './resolve-user.js';

let rootfs: string;
before(async () => {
  rootfs = await mkdtemp(join(tmpdir(), 'berth-user-'));
  await mkdir(join(rootfs, 'etc'));
  await writeFile(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001:App:/home/app:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n');
  await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\nwheel:x:10:root\napp:x:1001:\nstaff:x:50:app,other\n');
});
after(() => rm(rootfs, { recursive: true, force: true }));

test('empty user is root with root supplementary groups', async () => {
  assert.deepEqual(await resolveUser(rootfs, ''), { uid: 0, gid: 0, additionalGids: [10], home: '/root' });
});

test('name resolves uid, primary gid, home and member groups', async () => {
  assert.deepEqual(await resolveUser(rootfs, 'app'), { uid: 1000, gid: 1001, additionalGids: [50], home: '/home/app' });
});

test('numeric uid not in passwd is allowed with gid 0', async () => {
  assert.deepEqual(await resolveUser(rootfs, '4242'), { uid: 4242, gid: 0, additionalGids: [], home: '/' });
});

test('uid:gid and name:group forms', async () => {
  assert.deepEqual(await resolveUser(rootfs, '1000:50'), { uid: 1000, gid: 50, additionalGids: [], home: '/home/app' });
  assert.deepEqual(await resolveUser(rootfs, 'app:staff'), { uid: 1000, gid: 50, additionalGids: [], home: '/home/app' });
});

test('unknown user or group fails with docker wording', async () => {
  await assert.rejects(resolveUser(rootfs, 'nobody2'), (err: unknown) => err instanceof NoSuchUserError && err.message === 'unable to find user nobody2: no matching entries in passwd file');
  await assert.rejects(resolveUser(rootfs, 'app:nogroup'), /unable to find group nogroup: no matching entries in group file/);
});

test('a rootfs without /etc/passwd still accepts numeric ids but not names', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'berth-user-empty-'));
  try {
    assert.deepEqual(await resolveUser(empty, '1:2'), { uid: 1, gid: 2, additionalGids: [], home: '/' });
    await assert.rejects(resolveUser(empty, 'app'), NoSuchUserError);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});

test('resolveChown: ids as they are, names from passwd and group, the user part naming the group too', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:App:/home/app:/bin/sh\n';
  const group = 'root:x:0:\napp:x:1002:\nstaff:x:50:app\n';
  assert.deepEqual(resolveChown('7:8', undefined, undefined), { uid: 7, gid: 8 });
  assert.deepEqual(resolveChown('7', undefined, undefined), { uid: 7, gid: 7 });
  assert.deepEqual(resolveChown('root', undefined, undefined), { uid: 0, gid: 0 });
  // moby looks the group up by the same name, not the user's primary gid.
  assert.deepEqual(resolveChown('app', passwd, group), { uid: 1000, gid: 1002 });
  assert.deepEqual(resolveChown('app:staff', passwd, group), { uid: 1000, gid: 50 });
  assert.deepEqual(resolveChown('app:9', passwd, group), { uid: 1000, gid: 9 });
  assert.throws(() => resolveChown('nobody:staff', passwd, group), { message: "unable to convert uid/gid chown string to host mapping: can't find uid for user nobody: no such user: nobody" });
  assert.throws(() => resolveChown('app:wheel', passwd, group), { message: "unable to convert uid/gid chown string to host mapping: can't find gid for group wheel: no such group: wheel" });
  assert.throws(() => resolveChown('a:b:c', passwd, group), /invalid chown string format: a:b:c/);
});
