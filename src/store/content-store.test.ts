import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sha256Digest } from '../oci/index.js';
import { ContentStore, DigestMismatchError, NoSuchBlobError } from './content-store.js';

async function withStore(fn: (store: ContentStore, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'berth-content-test-'));
  try {
    await fn(await ContentStore.open(root), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('put stores bytes under their digest and get/has/info/list see them', () =>
  withStore(async (store, root) => {
    const info = await store.put(Buffer.from('hello'));
    assert.deepEqual(info, { digest: sha256Digest('hello'), sizeBytes: 5 });
    assert.equal(store.path(info.digest), join(root, 'image/blobs/sha256', info.digest.slice(7)));
    assert.equal((await store.get(info.digest)).toString(), 'hello');
    assert.ok(await store.has(info.digest));
    assert.deepEqual(await store.info(info.digest), info);
    assert.deepEqual(await store.list(), [info.digest]);
    const chunks: Buffer[] = [];
    for await (const chunk of await store.getStream(info.digest)) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
  }));

test('put from a stream with the right expected digest, twice, keeps one blob', () =>
  withStore(async (store) => {
    const expectedDigest = sha256Digest('abcdef');
    const first = await store.put(Readable.from([Buffer.from('abc'), Buffer.from('def')]), { expectedDigest });
    const second = await store.put(Readable.from([Buffer.from('abcdef')]), { expectedDigest });
    assert.deepEqual(first, { digest: expectedDigest, sizeBytes: 6 });
    assert.deepEqual(second, first);
    assert.equal((await store.list()).length, 1);
  }));

test('a digest mismatch stores nothing and leaves no temp file', () =>
  withStore(async (store, root) => {
    await assert.rejects(store.put(Buffer.from('evil'), { expectedDigest: sha256Digest('good') }), DigestMismatchError);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await readdir(join(root, 'image/tmp')), []);
    assert.equal(await store.has(sha256Digest('good')), false);
  }));

test('a failing stream stores nothing', () =>
  withStore(async (store, root) => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('part');
      throw new Error('connection reset');
    }
    await assert.rejects(store.put(broken()), /connection reset/);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await readdir(join(root, 'image/tmp')), []);
  }));

test('missing blobs are not-found errors; delete is idempotent', () =>
  withStore(async (store) => {
    const digest = sha256Digest('x');
    await assert.rejects(store.get(digest), NoSuchBlobError);
    await assert.rejects(store.getStream(digest), (err: unknown) => err instanceof NoSuchBlobError && err.kind === 'not-found');
    await store.put(Buffer.from('x'));
    assert.equal(await store.delete(digest), true);
    assert.equal(await store.delete(digest), false);
    await assert.rejects(readFile(store.path(digest)));
  }));

test('open discards temp files left by a crash', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-content-test-'));
  try {
    await ContentStore.open(root);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(root, 'image/tmp/blob-left'), 'partial');
    await ContentStore.open(root);
    assert.deepEqual(await readdir(join(root, 'image/tmp')), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
