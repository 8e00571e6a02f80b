import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { BuildContext } from './build-context.js';
import { matchSources, packSources, sourcesChecksum } from './copy-sources.js';

type Entry = Partial<tar.Header> & { name: string; body?: string | Buffer };

async function* tarOf(entries: readonly Entry[]): AsyncGenerator<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) {
    const full = { mtime: new Date(1_700_000_000_000), mode: 0o644, ...header };
    if (body === undefined) pack.entry(full);
    else pack.entry(full, Buffer.from(body));
  }
  pack.finalize();
  for await (const chunk of pack) yield chunk as Buffer;
}

async function entriesOf(source: AsyncIterable<Uint8Array>): Promise<Array<{ name: string; type: string; linkname?: string; uid: number; body: string }>> {
  const extract = tar.extract();
  const feeding = (async () => {
    for await (const chunk of source) extract.write(chunk);
    extract.end(null);
  })();
  const out: Array<{ name: string; type: string; linkname?: string; uid: number; body: string }> = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const { name, type, linkname, uid } = entry.header;
    out.push({ name, type: type ?? 'file', ...(linkname ? { linkname } : {}), uid: uid ?? -1, body: Buffer.concat(chunks).toString() });
  }
  await feeding;
  return out;
}

describe('BuildContext', () => {
  let parent: string;
  before(async () => {
    parent = await mkdtemp(join(tmpdir(), 'berth-context-test-'));
  });
  after(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it('reads files, follows symlinks inside the context only, and copies hardlinks as links', async () => {
    const context = await BuildContext.receive(tarOf([
      { name: 'Dockerfile', body: 'FROM busybox\n' },
      { name: 'app/', type: 'directory', mode: 0o755 },
      { name: 'app/b.txt', body: 'bee' },
      { name: 'app/a.txt', body: 'ay' },
      { name: 'app/hard', type: 'link', linkname: 'app/a.txt' },
      { name: 'app/self', type: 'symlink', linkname: '../abs' },
      { name: 'abs', type: 'symlink', linkname: '/app/b.txt' },
      { name: 'deep/er/file', body: 'made parents' },
    ]), parent);
    try {
      assert.equal(await context.takeDockerfile(''), 'FROM busybox\n');
      assert.equal((await context.readFile('abs'))?.toString(), 'bee', 'an absolute target is taken from the context top');
      assert.equal((await context.readFile('app/self'))?.toString(), 'bee', 'a chain of symlinks is followed');
      assert.equal((await context.readFile('deep/er/file'))?.toString(), 'made parents');
      assert.equal(await context.readFile('app'), undefined, 'a directory is no file');
      const [source] = matchSources(context, ['app'], 'COPY');
      const packed = await entriesOf(packSources(context, [source!], { dest: '/srv', destIsDir: true, owner: { uid: 7, gid: 7 } }));
      assert.deepEqual(packed, [
        { name: 'srv/a.txt', type: 'file', uid: 7, body: 'ay' },
        { name: 'srv/b.txt', type: 'file', uid: 7, body: 'bee' },
        { name: 'srv/hard', type: 'link', linkname: 'srv/a.txt', uid: 7, body: '' },
        { name: 'srv/self', type: 'symlink', linkname: '../abs', uid: 7, body: '' },
      ]);
      const globbed = matchSources(context, ['app/*.txt'], 'COPY').map((s) => s.path);
      assert.deepEqual(globbed, ['app/a.txt', 'app/b.txt']);
    } finally {
      await context.close();
    }
  });

  it('keeps the checksum for the same content and changes it for another byte, mode or owner', async () => {
    const sumOf = async (entries: Entry[], owner = { uid: 0, gid: 0 }): Promise<string> => {
      const context = await BuildContext.receive(tarOf(entries), parent);
      try {
        return sourcesChecksum(context, matchSources(context, ['.'], 'COPY'), { dest: '/x', destIsDir: true, owner });
      } finally {
        await context.close();
      }
    };
    const base = await sumOf([{ name: 'f', body: 'one' }]);
    assert.equal(await sumOf([{ name: 'f', body: 'one', mtime: new Date(0) }]), base, 'times are left out');
    assert.notEqual(await sumOf([{ name: 'f', body: 'onE' }]), base);
    assert.notEqual(await sumOf([{ name: 'f', body: 'one', mode: 0o755 }]), base);
    assert.notEqual(await sumOf([{ name: 'f', body: 'one' }], { uid: 1, gid: 1 }), base);
  });

  it('spills a large file to disk and removes it at close', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 7);
    const context = await BuildContext.receive(tarOf([{ name: 'big', body: big }]), parent);
    assert.equal((await readdir(parent)).length, 1);
    assert.ok((await context.readFile('big'))?.equals(big));
    await context.close();
    assert.deepEqual(await readdir(parent), []);
  });

  it('refuses names, symlinks and hardlinks leaving the context, leaving nothing behind', async () => {
    const refused = async (entries: Entry[], message: RegExp): Promise<void> => {
      await assert.rejects(BuildContext.receive(tarOf(entries), parent), message);
      assert.deepEqual(await readdir(parent), []);
    };
    await refused([{ name: '../../etc/passwd', body: 'x' }], /"..\/..\/etc\/passwd" is outside of "\/"/);
    await refused([{ name: 'a/link', type: 'symlink', linkname: '../../out' }], /invalid symlink "\/a\/link" -> "..\/..\/out"/);
    await refused([{ name: 'h', type: 'link', linkname: '../etc/shadow' }], /invalid hardlink "\/h" -> "..\/etc\/shadow"/);
    await refused([{ name: 'f', body: 'x' }, { name: 'f/under', body: 'y' }], /"f" is not a directory/);
    // Refused early in an archive larger than the parser's buffer: reading stops instead of waiting on it.
    await refused([{ name: '../early', body: 'x' }, { name: 'big', body: Buffer.alloc(4 << 20) }], /outside of/);
    await assert.rejects(BuildContext.receive((async function* () {
      yield Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]);
    })(), parent), (err: Error & { kind?: string }) => err.kind === 'invalid-argument');
    assert.deepEqual(await readdir(parent), []);
  });
});
