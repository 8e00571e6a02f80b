/**
 * `docker rmi -f` of an image a stopped container uses, with the real docker CLI: the container
 * still starts afterwards, as with dockerd. By name the image is untagged and stays as <none>
 * with its layers until the container goes; by id it is deleted for everyone but that container,
 * whose removal then takes its layers and blobs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, eventually, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';
import { storeContents } from './layered-image.js';

const skip = cannotRun(!hasDocker && NO_DOCKER);

describe('rmi -f of an image a stopped container uses', { skip }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  async function docker(args: string[]): Promise<string> {
    const result = await daemon.docker(args);
    assert.equal(result.exitCode, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  }

  /** An image of its own (busybox plus one layer holding /made), tagged `tag`; returns its id. */
  async function imageOfItsOwn(tag: string): Promise<string> {
    await docker(['run', '--name', `${tag.replace(/[^a-z0-9]/g, '-')}-base`, 'busybox', 'sh', '-c', `echo ${tag} > /made`]);
    const id = await docker(['commit', `${tag.replace(/[^a-z0-9]/g, '-')}-base`, tag]);
    await docker(['rm', `${tag.replace(/[^a-z0-9]/g, '-')}-base`]);
    return id;
  }

  it('by name: untags, the container starts, the image stays as <none> until the container goes', async () => {
    const before = await storeContents(daemon.root);
    const id = await imageOfItsOwn('rmi-force:name');
    await docker(['create', '--name', 'uses-name', 'rmi-force:name', 'cat', '/made']);

    const refused = await daemon.docker(['rmi', 'rmi-force:name']);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /conflict: unable to remove repository reference "rmi-force:name" \(must force\) - container [0-9a-f]{12} is using its referenced image [0-9a-f]{12}/);

    assert.equal(await docker(['rmi', '-f', 'rmi-force:name']), 'Untagged: rmi-force:name');
    assert.equal(await docker(['start', '-a', 'uses-name']), 'rmi-force:name');
    const listed = await docker(['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    assert.ok(listed.split('\n').includes(`<none>:<none> ${id}`), listed);
    assert.ok((await docker(['images', '-q', '--no-trunc', '--filter', 'dangling=true'])).split('\n').includes(id), 'untagged: dangling to docker');

    // Its id is still refused while the container exists, then removes it with its layers.
    const stillUsed = await daemon.docker(['rmi', id]);
    assert.equal(stillUsed.exitCode, 1);
    assert.match(stillUsed.stderr, /conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is being used by stopped container [0-9a-f]{12}/);
    await docker(['rm', 'uses-name']);
    assert.match(await docker(['rmi', id]), new RegExp(`^Deleted: ${id}`));
    assert.deepEqual(await storeContents(daemon.root), before, 'no blob or layer of the image is left');
  });

  it('by id: deleted for everyone else, the container still starts, its removal takes the layers', async () => {
    const before = await storeContents(daemon.root);
    const id = await imageOfItsOwn('rmi-force:id');
    await docker(['create', '--name', 'uses-id', 'rmi-force:id', 'cat', '/made']);

    const removed = await docker(['rmi', '-f', id]);
    assert.deepEqual(removed.split('\n'), ['Untagged: rmi-force:id', `Deleted: ${id}`]);
    assert.equal((await daemon.docker(['image', 'inspect', id])).exitCode, 1);
    assert.ok(!(await docker(['images', '-q', '--no-trunc'])).split('\n').includes(id));
    assert.equal(await docker(['start', '-a', 'uses-id']), 'rmi-force:id');
    assert.equal(await docker(['start', '-a', 'uses-id']), 'rmi-force:id');

    await docker(['rm', 'uses-id']);
    await eventually(async () => JSON.stringify(await storeContents(daemon.root)) === JSON.stringify(before), 'the held image to go with its container');
    const check = await daemon.berth(['system', 'check']);
    assert.equal(check.exitCode, 0, check.stdout);
  });
});
