import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { silentLogger } from '../common/index.js';
import { MediaType, sha256Digest } from '../oci/index.js';
import { OverlaySnapshotter } from '../snapshot/index.js';
import { InvalidReferenceError } from '../store/index.js';
import { HostMounter } from '../sys/index.js';
import { ImageConflictError, ImageService, NoSuchImageError } from './image-service.js';

const isRoot = process.getuid?.() === 0;
const none = () => [];

/** The service as daemon/builtins.ts builds it: the snapshotter is given to it. */
async function openImages(options: { root: string; busyboxPath?: string }): Promise<ImageService> {
  const snapshotter = await OverlaySnapshotter.open({ root: options.root, mounter: new HostMounter(), logger: silentLogger });
  return ImageService.open({ ...options, logger: silentLogger, snapshotter });
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const [name, data] of Object.entries(files)) pack.entry({ name, mtime: new Date(0) }, data);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function withService(fn: (images: ImageService, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'berth-images-test-'));
  try {
    await fn(await openImages({ root }), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** A one-layer image on top of nothing, with the given labels and creation time. */
async function addSmall(images: ImageService, content: string, tags: string[], extra: { labels?: Record<string, string>; created?: string; parent?: string } = {}) {
  const layer = await tarOf({ [`file-${content}`]: content });
  const { digest } = await images.content.put(layer);
  const config = {
    architecture: 'amd64', os: 'linux', created: extra.created ?? '2025-01-01T00:00:00Z', ...(extra.parent ? { parent: extra.parent } : {}),
    config: { Cmd: ['true'], Labels: extra.labels ?? {} },
    rootfs: { type: 'layers', diff_ids: [digest] },
    history: [{ created: '2025-01-01T00:00:00Z', created_by: 'ADD x' }, { created_by: 'CMD', empty_layer: true }],
  };
  return images.addImage({ configBytes: Buffer.from(JSON.stringify(config)), layers: [{ blobDigest: digest, mediaType: MediaType.dockerLayer }] }, tags);
}

test('the built-in busybox is a deterministic, idempotent image', { skip: !isRoot && 'needs root' }, async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'berth-busybox-test-'));
  try {
    const busyboxPath = join(scratch, 'busybox');
    await copyFile('/bin/busybox', busyboxPath);
    const first = await openImages({ root: join(scratch, 'a'), busyboxPath });
    const image = await first.ensureBuiltinBusybox();
    assert.deepEqual(image.repoTags, ['busybox:latest']);
    assert.deepEqual(image.config.config?.Cmd, ['sh']);
    assert.deepEqual(image.config.config?.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    assert.equal(image.architecture, 'amd64');
    assert.equal(image.os, 'linux');
    assert.ok(image.sizeBytes >= (await stat(busyboxPath)).size);
    assert.equal(image.layerChainIds.length, 1);
    assert.ok(image.manifestDigest);

    const recordPath = join(scratch, 'a/image/images', `${image.id.slice(7)}.json`);
    const before = (await stat(recordPath)).mtimeMs;
    assert.deepEqual(await first.ensureBuiltinBusybox(), image);
    assert.equal((await stat(recordPath)).mtimeMs, before, 'nothing rewritten when up to date');

    const other = await openImages({ root: join(scratch, 'b'), busyboxPath });
    assert.equal((await other.ensureBuiltinBusybox()).id, image.id, 'same binary, same id');
    // A touched binary is re-read, and still gives the same image.
    await utimes(busyboxPath, new Date(), new Date(2_000_000_000_000));
    assert.equal((await first.ensureBuiltinBusybox()).id, image.id);

    const [lower] = await first.lowerDirs(image.id);
    const sh = await stat(join(lower!, 'bin/sh'));
    assert.ok(sh.isFile());
    assert.equal((await stat(join(lower!, 'tmp'))).mode & 0o7777, 0o1777);
    const passwd = await import('node:fs/promises').then((fs) => fs.readFile(join(lower!, 'etc/passwd'), 'utf8'));
    assert.match(passwd, /^root:x:0:0:root:\/root:\/bin\/sh$/m);
    assert.match(passwd, /^nobody:x:65534:65534:/m);
    const reopened = await openImages({ root: join(scratch, 'a'), busyboxPath });
    assert.deepEqual(await reopened.get('busybox'), await first.get('busybox'));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});

test('get resolves names, ids, prefixes and digests', () =>
  withService(async (images) => {
    const image = await addSmall(images, 'a', ['app:1', 'docker.io/library/app:2']);
    const hex = image.id.slice(7);
    for (const ref of ['app:1', 'app:2', 'docker.io/library/app:1', image.id, hex, hex.slice(0, 12), `sha256:${hex.slice(0, 5)}`]) {
      assert.equal((await images.get(ref)).id, image.id, ref);
    }
    assert.deepEqual(image.repoTags, ['app:1', 'app:2']);
    assert.equal(image.created, '2025-01-01T00:00:00Z');
    await assert.rejects(images.get('app'), { message: 'No such image: app' });
    await assert.rejects(images.get('nothere:1'), (err: unknown) => err instanceof NoSuchImageError && err.kind === 'not-found');
    await assert.rejects(images.get('Bad!'), InvalidReferenceError);
    assert.deepEqual((await images.list()).map((i) => i.id), [image.id]);
  }));

test('tag validates and rmi untags before it deletes', () =>
  withService(async (images, root) => {
    const image = await addSmall(images, 'a', ['app:1']);
    assert.equal(await images.tag('app:1', 'me/app', 'v2'), 'me/app:v2');
    assert.equal(await images.tag(image.id, 'localhost:5000/app'), 'localhost:5000/app:latest');
    await assert.rejects(images.tag('app:1', `x@sha256:${'a'.repeat(64)}`), /digest reference/);
    await assert.rejects(images.tag('app:1', 'x', '.bad'), /invalid tag format/);
    await assert.rejects(images.tag('nope', 'x'), NoSuchImageError);

    assert.deepEqual(await images.remove('me/app:v2', {}, none), [{ untagged: 'me/app:v2' }]);
    await assert.rejects(images.remove(image.id, {}, none), {
      message: `conflict: unable to delete ${image.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`,
    });
    const removed = await images.remove(image.id, { force: true }, none);
    assert.deepEqual(removed.filter((i) => i.untagged).map((i) => i.untagged).sort(), ['app:1', 'localhost:5000/app:latest']);
    assert.ok(removed.some((i) => i.deleted === image.id));
    assert.ok(removed.some((i) => i.deleted === image.layerChainIds[0]));
    assert.deepEqual(await images.list(), []);
    assert.deepEqual(await readdir(join(root, 'image/blobs/sha256')), []);
    assert.deepEqual((await readdir(join(root, 'overlay'))).sort(), ['empty', 'l']);
  }));

test('rmi refuses images that containers use, with docker wording', () =>
  withService(async (images) => {
    const image = await addSmall(images, 'a', ['app:1']);
    const short = image.id.slice(7, 19);
    const stopped = () => [{ id: 'c'.repeat(64), isRunning: false }];
    const running = () => [{ id: 'd'.repeat(64), isRunning: true }];
    await assert.rejects(images.remove('app:1', {}, stopped), {
      message: `conflict: unable to remove repository reference "app:1" (must force) - container cccccccccccc is using its referenced image ${short}`,
    });
    await assert.rejects(images.remove(image.id, {}, stopped), (err: unknown) =>
      err instanceof ImageConflictError && err.kind === 'conflict' && err.message === `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container cccccccccccc`);
    await assert.rejects(images.remove(image.id, { force: true }, running), {
      message: `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container dddddddddddd`,
    });
    // Forcing a name away from a running container's image only untags it.
    assert.deepEqual(await images.remove('app:1', { force: true }, running), [{ untagged: 'app:1' }]);
    assert.deepEqual((await images.get(image.id)).repoTags, []);
    // Forcing the id with a stopped user deletes the image for everyone but that container:
    // hidden, its layers kept for the container's next start, gone once the container is.
    const removed = await images.remove(image.id, { force: true }, stopped);
    assert.deepEqual(removed, [{ deleted: image.id }]);
    await assert.rejects(images.get(image.id), NoSuchImageError);
    assert.deepEqual(await images.list(), []);
    assert.equal((await images.lowerDirs(image.id)).length, 1);
    assert.deepEqual(await images.releaseHeldImages(stopped), []);
    assert.deepEqual(await images.releaseHeldImages(none), [image.id]);
    assert.ok(!(await images.snapshotter.hasLayer(image.layerChainIds[0]!)));
    assert.deepEqual(await images.unusedContent(), { blobs: [], layers: [] });
  }));

test('rmi -f of the last name of an image a stopped container uses leaves it dangling, startable', () =>
  withService(async (images) => {
    const image = await addSmall(images, 'a', ['app:1']);
    const stopped = () => [{ id: 'c'.repeat(64), isRunning: false }];
    assert.deepEqual(await images.remove('app:1', { force: true }, stopped), [{ untagged: 'app:1' }]);
    assert.deepEqual((await images.list()).map((i) => [i.id, i.repoTags]), [[image.id, []]]);
    assert.ok(await images.snapshotter.hasLayer(image.layerChainIds[0]!));
    // Once the container is gone, its id removes it as any dangling image.
    assert.deepEqual(await images.remove(image.id, {}, none), [{ deleted: image.id }, { deleted: image.layerChainIds[0] }]);
  }));

test('opening the store sweeps layers and blobs no image uses (a pull cut short)', () =>
  withService(async (images, root) => {
    const image = await addSmall(images, 'a', ['app:1']);
    const stray = `sha256:${'e'.repeat(64)}`;
    await images.snapshotter.unpack(stray, async () => Readable.from([await tarOf({ 'stray-file': 'x' })]));
    const blob = await images.content.put(Buffer.from('a stray blob'));
    assert.deepEqual(await images.unusedContent(), { blobs: [blob.digest], layers: [stray] });
    const reopened = await ImageService.open({ root, snapshotter: images.snapshotter });
    assert.deepEqual(await reopened.unusedContent(), { blobs: [], layers: [] });
    assert.ok(await reopened.snapshotter.hasLayer(image.layerChainIds[0]!));
    assert.equal((await reopened.get('app:1')).id, image.id);
  }));

test('shared layers survive until their last image goes', () =>
  withService(async (images) => {
    const a = await addSmall(images, 'same', ['a:1']);
    const layerBlob = sha256Digest(await tarOf({ 'file-same': 'same' }));
    const config = { ...a.config, config: { Cmd: ['other'] } };
    const b = await images.addImage({ configBytes: Buffer.from(JSON.stringify(config)), layers: [{ blobDigest: layerBlob, mediaType: MediaType.dockerLayer }] }, ['b:1']);
    assert.notEqual(a.id, b.id);
    assert.deepEqual(b.layerChainIds, a.layerChainIds);
    const removed = await images.remove('a:1', {}, none);
    assert.deepEqual(removed, [{ untagged: 'a:1' }, { deleted: a.id }]);
    assert.ok(await images.content.has(layerBlob));
    assert.ok(await images.snapshotter.hasLayer(a.layerChainIds[0]!));
  }));

test('prune removes dangling images, or unused ones with all, honouring filters', () =>
  withService(async (images) => {
    const dangling = await addSmall(images, 'd', []);
    const old = await addSmall(images, 'o', ['old:1'], { created: '2020-01-01T00:00:00Z', labels: { keep: 'no' } });
    const used = await addSmall(images, 'u', ['used:1']);
    const kept = await addSmall(images, 'k', ['kept:1'], { labels: { keep: 'yes' } });
    const usedBy = (id: string) => (id === used.id ? [{ id: 'e'.repeat(64), isRunning: false }] : []);

    const first = await images.prune({ all: false }, usedBy);
    assert.deepEqual(first.deleted.map((i) => i.deleted), [dangling.id, dangling.layerChainIds[0]]);
    assert.equal(first.spaceReclaimedBytes, 1);

    const second = await images.prune({ all: true, untilMs: Date.parse('2024-01-01T00:00:00Z'), excludeLabels: ['keep=yes'] }, usedBy);
    assert.ok(second.deleted.some((i) => i.untagged === 'old:1'));
    assert.ok(second.deleted.some((i) => i.deleted === old.id));
    const third = await images.prune({ all: true, labels: ['keep=yes'] }, usedBy);
    assert.ok(third.deleted.some((i) => i.deleted === kept.id));
    assert.deepEqual((await images.list()).map((i) => i.id), [used.id]);
  }));

test('a build\'s untagged parents go with the image built on them, unless noprune; children block deletion', () =>
  withService(async (images) => {
    const base = await addSmall(images, 'b', ['base:1']);
    const mid = await addSmall(images, 'm', [], { parent: base.id });
    const top = await addSmall(images, 't', ['top:1'], { parent: mid.id });
    await assert.rejects(images.remove(mid.id, { force: true }, none), {
      message: `conflict: unable to delete ${mid.id.slice(7, 19)} (cannot be forced) - image has dependent child images`,
    });
    // Dangling-only prune starts from the heads: the intermediate image stays while its child does.
    assert.deepEqual((await images.prune({ all: false }, none)).deleted, []);
    const removed = await images.remove('top:1', {}, none);
    assert.deepEqual(removed.filter((i) => i.deleted?.startsWith('sha256:') && [top.id, mid.id, base.id].includes(i.deleted as never)).map((i) => i.deleted), [top.id, mid.id]);
    assert.deepEqual((await images.list()).map((i) => i.id), [base.id]);

    const mid2 = await addSmall(images, 'm2', [], { parent: base.id });
    const top2 = await addSmall(images, 't2', ['top:2'], { parent: mid2.id });
    const kept = await images.remove('top:2', { noPrune: true }, none);
    assert.ok(kept.some((i) => i.deleted === top2.id) && !kept.some((i) => i.deleted === mid2.id));
    // Now a head and dangling, prune takes it.
    assert.ok((await images.prune({ all: false }, none)).deleted.some((i) => i.deleted === mid2.id));
  }));

test('history lists steps newest first; lowerDirs re-unpacks a missing layer', () =>
  withService(async (images) => {
    const image = await addSmall(images, 'h', ['h:1']);
    const history = await images.history('h:1');
    assert.deepEqual(history.map((h) => [h.id, h.createdBy, h.sizeBytes]), [[image.id, 'CMD', 0], ['<missing>', 'ADD x', 1]]);
    assert.deepEqual(history[0]!.tags, ['h:1']);
    assert.equal(history[1]!.createdSec, Date.parse('2025-01-01T00:00:00Z') / 1000);

    const [lower] = await images.lowerDirs(image.id);
    assert.equal(lower, images.snapshotter.lowerDir(image.layerChainIds[0]!));
    await images.snapshotter.removeLayer(image.layerChainIds[0]!);
    assert.deepEqual(await images.lowerDirs(image.id), [lower]);
    assert.ok(await images.snapshotter.hasLayer(image.layerChainIds[0]!));
  }));

test('a layer that does not match its diff id is refused and nothing is recorded', () =>
  withService(async (images) => {
    const layer = await tarOf({ f: 'x' });
    const { digest } = await images.content.put(layer);
    const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest('not the layer')] } };
    await assert.rejects(images.addImage({ configBytes: Buffer.from(JSON.stringify(config)), layers: [{ blobDigest: digest, mediaType: MediaType.dockerLayer }] }, ['bad:1']), /layer digest mismatch/);
    assert.deepEqual(await images.list(), []);
    await assert.rejects(images.get('bad:1'), NoSuchImageError);
    assert.deepEqual(await images.content.list(), [digest]);
  }));
