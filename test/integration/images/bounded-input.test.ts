/**
 * Input that expands without bound: a gzip bomb sent to `import` and `load` on a daemon whose root
 * is a small filesystem. The write stops before the disk is full with a clear error, nothing is
 * stored, and the daemon keeps working; a layer that fills the disk as it is unpacked says so; a
 * load whose client goes away stops and leaves nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import tar from 'tar-stream';
import { eventually, startTestDaemon, type TestDaemon } from '../harness.js';

const ROOT_BYTES = 256 * 1024 * 1024;
/** What the bomb expands to: four times the whole filesystem. */
const BOMB_EXPANDED_BYTES = 4 * ROOT_BYTES;

/** A gzip stream of a tar holding one file of `bytes` zeros (about a thousandth of that on the wire). */
async function gzipBomb(bytes: number): Promise<Buffer> {
  return (await gzipBombWithDiffId(bytes)).gzipped;
}

/** gzipBomb, with the digest of the uncompressed tar (a layer's diff id). */
async function gzipBombWithDiffId(bytes: number): Promise<{ gzipped: Buffer; diffId: string }> {
  const pack = tar.pack();
  const tarHash = createHash('sha256');
  pack.on('data', (data: unknown) => void tarHash.update(data as Buffer));
  const chunk = Buffer.alloc(1024 * 1024);
  const entry = pack.entry({ name: 'layer.tar', size: bytes });
  const gzipped = pack.pipe(createGzip({ level: 1 }));
  const parts: Buffer[] = [];
  const collected = (async () => {
    for await (const part of gzipped) parts.push(part as Buffer);
  })();
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!entry.write(chunk)) await new Promise<void>((resolve) => entry.once('drain', () => resolve()));
  }
  entry.end(Buffer.alloc(0));
  pack.finalize();
  await collected;
  return { gzipped: Buffer.concat(parts), diffId: `sha256:${tarHash.digest('hex')}` };
}

/** A `docker save` archive of one image whose single (gzipped) layer holds `bytes` zeros. */
async function fatImageArchive(bytes: number, tag: string): Promise<Buffer> {
  const { gzipped, diffId } = await gzipBombWithDiffId(bytes);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['true'] }, rootfs: { type: 'layers', diff_ids: [diffId] } }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  const pack = tar.pack();
  pack.entry({ name: 'fat/layer.tar' }, gzipped);
  pack.entry({ name: configName }, config);
  pack.entry({ name: 'manifest.json' }, JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: ['fat/layer.tar'] }]));
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const part of pack) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** POST `body` and read the whole answer. */
function post(socket: string, path: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method: 'POST', path, headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('bounded input: gzip bombs and clients that go away', () => {
  let daemon: TestDaemon;
  let bomb: Buffer;
  before(async () => {
    daemon = await startTestDaemon({ rootSizeBytes: ROOT_BYTES });
    bomb = await gzipBomb(BOMB_EXPANDED_BYTES);
  });
  after(async () => {
    await daemon?.cleanup();
  });

  async function leftovers(): Promise<string[]> {
    return readdir(join(daemon.root, 'image', 'tmp')).catch(() => []);
  }

  async function imageIds(): Promise<string[]> {
    return (JSON.parse((await daemon.api('GET', '/images/json')).body) as { Id: string }[]).map((image) => image.Id).sort();
  }

  it('stops an import of a gzip bomb before the disk is full, stores nothing, and keeps working', async () => {
    const before = await imageIds();
    const answer = await post(daemon.socket, '/images/create?fromSrc=-&repo=bomb', bomb);
    assert.match(answer.text, /does not fit: more than \d+ MiB would leave .* without free space/);
    assert.deepEqual(await leftovers(), []);
    assert.deepEqual(await imageIds(), before);
    const fs = await statfs(daemon.root);
    assert.ok(fs.bavail * fs.bsize > ROOT_BYTES / 2, 'the space is given back');
    const run = await daemon.berth(['run', '--rm', 'busybox', 'echo', 'still working']);
    assert.equal(run.stdout, 'still working\n', run.stderr);
  });

  it('refuses the same bomb through docker load, the same way', async () => {
    const before = await imageIds();
    const answer = await post(daemon.socket, '/images/load', bomb);
    assert.match(answer.text, /does not fit/);
    assert.deepEqual(await leftovers(), []);
    assert.deepEqual(await imageIds(), before);
  });

  it('says the disk is full when a loaded layer does not fit unpacked, and keeps nothing of it', async () => {
    const before = await imageIds();
    const archive = await fatImageArchive(ROOT_BYTES + 64 * 1024 * 1024, 'fat:1');
    const answer = await post(daemon.socket, '/images/load', archive);
    assert.match(answer.text, /no space left on device while unpacking a layer/);
    assert.deepEqual(await imageIds(), before);
    const check = await daemon.berth(['system', 'check']);
    assert.equal(check.exitCode, 0, check.stdout);
    const fs = await statfs(daemon.root);
    assert.ok(fs.bavail * fs.bsize > ROOT_BYTES / 2, 'the space is given back');
    const run = await daemon.berth(['run', '--rm', 'busybox', 'echo', 'still working']);
    assert.equal(run.stdout, 'still working\n', run.stderr);
  });

  it('stops a load whose client goes away, and leaves nothing', async () => {
    const before = await imageIds();
    await new Promise<void>((resolve) => {
      const req = request({ socketPath: daemon.socket, method: 'POST', path: '/images/load', headers: { 'Content-Type': 'application/x-tar' } });
      req.on('error', () => {});
      // Part of the bomb, then the client is gone without ending the body (whether or not
      // berthd has read it all: one that stopped reading must not hold the client).
      req.write(bomb.subarray(0, Math.floor(bomb.length / 2)));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 500);
    });
    await eventually(async () => (await leftovers()).length === 0, 'the load to stop and discard what it wrote', 30_000);
    assert.deepEqual(await imageIds(), before);
    assert.equal((await daemon.api('GET', '/_ping')).status, 200);
  });
});
