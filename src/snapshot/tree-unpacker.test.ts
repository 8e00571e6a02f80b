import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RootedDir } from './rooted-dir.js';
import { makeTar, type TestEntry } from './test-tar.js';
import { checkArchive, unpackArchive } from './tree-unpacker.js';

describe('unpackArchive', () => {
  let scratch: string;
  const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-unpack-test-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  async function unpackInto(name: string, entries: readonly TestEntry[], existing: Record<string, string> = {}): Promise<string> {
    const dir = join(scratch, name);
    await mkdir(dir);
    for (const [path, body] of Object.entries(existing)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), body);
    }
    const archive = await makeTar(entries);
    const read = (): AsyncIterable<Uint8Array> => (async function* () {
      yield archive;
    })();
    const root = await RootedDir.open(dir);
    try {
      const options = { noOverwriteDirNonDir: false, owner };
      await checkArchive(root, root.top, read, options);
      await unpackArchive(root, root.top, read, options);
    } finally {
      await root.close();
    }
    return dir;
  }

  it('writes many files of one directory, each with its mode and content, and replaces existing ones', async () => {
    const files: TestEntry[] = Array.from({ length: 50 }, (_, n) => ({ name: `d/f${n}`, data: `file ${n}\n`, mode: n % 2 === 0 ? 0o644 : 0o600 }));
    const dir = await unpackInto('many', [{ name: 'd/', type: 'directory', mode: 0o755 }, ...files, { name: 'top', data: 'top\n' }], { 'd/f3': 'old\n' });
    assert.equal((await readdir(join(dir, 'd'))).length, 50);
    for (let n = 0; n < 50; n++) {
      assert.equal(await readFile(join(dir, 'd', `f${n}`), 'utf8'), `file ${n}\n`);
      assert.equal((await lstat(join(dir, 'd', `f${n}`))).mode & 0o777, n % 2 === 0 ? 0o644 : 0o600);
    }
    assert.equal(await readFile(join(dir, 'top'), 'utf8'), 'top\n');
  });

  it('keeps archive order: a later entry of the same name wins, and a directory replaced by a symlink is resolved afresh', async () => {
    const dir = await unpackInto('order', [
      { name: 'a/x', data: 'first\n' },
      { name: 'a/x', data: 'second\n' },
      { name: 'a/h', type: 'link', linkname: 'a/x' },
      { name: 'target/', type: 'directory', mode: 0o755 },
      { name: 'a', type: 'symlink', linkname: 'target' },
      { name: 'a/y', data: 'through the link\n' },
    ]);
    assert.equal(await readlink(join(dir, 'a')), 'target');
    assert.equal(await readFile(join(dir, 'target', 'y'), 'utf8'), 'through the link\n');
    assert.deepEqual(await readdir(join(dir, 'target')), ['y']);
  });

  it('fails as a whole when one file of a batch cannot be written', async () => {
    const dir = join(scratch, 'failing');
    await mkdir(join(dir, 'd', 'f1'), { recursive: true });
    await writeFile(join(dir, 'd', 'f1', 'inside'), 'x');
    const archive = await makeTar([{ name: 'd/f0', data: 'a' }, { name: 'd/f1', data: 'b' }, { name: 'd/f2', data: 'c' }]);
    const root = await RootedDir.open(dir);
    try {
      // With noOverwriteDirNonDir a file over the directory d/f1 is refused while its batch runs.
      await assert.rejects(unpackArchive(root, root.top, () => (async function* () {
        yield archive;
      })(), { noOverwriteDirNonDir: true, owner }), /cannot overwrite directory "\/d\/f1"/);
    } finally {
      await root.close();
    }
  });
});
