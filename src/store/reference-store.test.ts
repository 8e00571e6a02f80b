import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseImageReference, referenceString, withDefaultTag } from './image-reference.js';
import { ReferenceStore } from './reference-store.js';

const ID_A = `sha256:${'a'.repeat(64)}`;
const ID_B = `sha256:${'b'.repeat(64)}`;
const ref = (s: string) => withDefaultTag(parseImageReference(s));

test('references survive a reopen and map to their images', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-refs-test-'));
  try {
    const store = await ReferenceStore.open(root);
    await Promise.all([store.set(ref('busybox'), ID_A), store.set(ref('me/app:1'), ID_A), store.set(ref('other'), ID_B)]);
    await store.set(ref(`busybox@sha256:${'c'.repeat(64)}`), ID_A);
    assert.equal(store.get(ref('busybox:latest')), ID_A);
    assert.equal(await store.delete(ref('me/app:1')), true);
    assert.equal(await store.delete(ref('me/app:1')), false);

    const reopened = await ReferenceStore.open(root);
    assert.deepEqual(reopened.referencesTo(ID_A).map(referenceString), [
      `docker.io/library/busybox:latest`,
      `docker.io/library/busybox@sha256:${'c'.repeat(64)}`,
    ]);
    assert.equal(reopened.get(ref('other')), ID_B);
    assert.equal(reopened.entries().length, 3);
    const file = JSON.parse(await readFile(join(root, 'image/repositories.json'), 'utf8')) as { references: Record<string, string> };
    assert.equal(file.references['docker.io/library/other:latest'], ID_B);
    assert.throws(() => store.get(parseImageReference('busybox')), /needs a tag or a digest/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
