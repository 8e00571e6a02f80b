import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { runCommand } from '../sys/index.js';
import { sha256Digest } from '../oci/index.js';
import { extractLayer, UnsafeLayerError } from './layer-extractor.js';
import { makeTar, type TestEntry } from './test-tar.js';

const isRoot = process.getuid?.() === 0;

async function withDirs(fn: (target: string, outside: string) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'berth-extract-test-'));
  const target = join(base, 'layer', 'diff');
  const outside = join(base, 'outside');
  await mkdir(target, { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, 'passwd'), 'sentinel');
  try {
    await fn(target, outside);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

const hostile: Array<[string, (outside: string) => TestEntry[]]> = [
  ['dot-dot path', () => [{ name: '../evil', data: 'x' }]],
  ['absolute path', (o) => [{ name: `${o}/evil`, data: 'x' }]],
  ['dot-dot inside a path', () => [{ name: 'a/../../evil', data: 'x' }]],
  ['write through an absolute symlinked parent', (o) => [{ name: 'link', type: 'symlink', linkname: o }, { name: 'link/passwd', data: 'pwned' }]],
  ['write through a relative symlinked parent', () => [{ name: 'up', type: 'symlink', linkname: '../..' }, { name: 'up/outside/passwd', data: 'pwned' }]],
  ['directory through a symlinked parent', (o) => [{ name: 'link', type: 'symlink', linkname: o }, { name: 'link/sub/', type: 'directory' }]],
  ['hardlink with dot-dot', () => [{ name: 'h', type: 'link', linkname: '../../outside/passwd' }]],
  ['hardlink to an absolute path', (o) => [{ name: 'h', type: 'link', linkname: `${o}/passwd` }]],
  ['hardlink through a symlink', (o) => [{ name: 'l', type: 'symlink', linkname: o }, { name: 'h', type: 'link', linkname: 'l/passwd' }]],
  ['hardlink to a file not in the layer', () => [{ name: 'h', type: 'link', linkname: 'etc/shadow' }]],
  ['hardlink to a directory', () => [{ name: 'd/', type: 'directory' }, { name: 'h', type: 'link', linkname: 'd' }]],
  ['entry under a regular file', () => [{ name: 'f', data: 'x' }, { name: 'f/child', data: 'y' }]],
  ['whiteout of dot-dot', () => [{ name: 'a/.wh...', data: '' }]],
  ['layer root as a file', () => [{ name: './', data: 'x' }]],
  ['whiteout through a symlinked parent', (o) => [{ name: 'l', type: 'symlink', linkname: o }, { name: 'l/.wh.passwd', data: '' }]],
];

for (const [label, entries] of hostile) {
  test(`rejects a hostile layer: ${label}`, () =>
    withDirs(async (target, outside) => {
      const archive = await makeTar(entries(outside));
      await assert.rejects(extractLayer(Readable.from([archive]), target), (err: unknown) => {
        assert.ok(err instanceof UnsafeLayerError, String(err));
        assert.equal(err.code, 'BERTH_UNSAFE_LAYER');
        assert.equal(err.kind, 'invalid-argument');
        assert.ok(!err.message.includes('\n'));
        return true;
      });
      assert.deepEqual(await readdir(outside), ['passwd']);
      assert.equal(await readFile(join(outside, 'passwd'), 'utf8'), 'sentinel');
    }));
}

test('a truncated or garbage layer fails cleanly', () =>
  withDirs(async (target) => {
    const archive = await makeTar([{ name: 'big', data: 'x'.repeat(5000) }]);
    await assert.rejects(extractLayer(Readable.from([archive.subarray(0, 1024)]), target), UnsafeLayerError);
    await assert.rejects(extractLayer(Readable.from([gzipSync(archive).subarray(0, 40)]), join(target)), UnsafeLayerError);
  }));

test('extracts files, dirs, links, modes, owners and mtimes; diff id is the tar digest', () =>
  withDirs(async (target) => {
    const mtime = new Date(1_600_000_000_000);
    const archive = await makeTar([
      { name: './', type: 'directory', mode: 0o755 },
      { name: 'bin/', type: 'directory', mode: 0o755, mtime },
      { name: 'bin/tool', data: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 1001, mtime },
      { name: 'bin/alias', type: 'symlink', linkname: 'tool', mtime },
      { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
      { name: 'ro/', type: 'directory', mode: 0o555, mtime },
      { name: 'ro/inside', data: 'data', mode: 0o600 },
      { name: 'implicit/parent/file', data: 'deep' },
      { name: 'replaced', data: 'first' },
      { name: 'replaced/', type: 'directory', mode: 0o750 },
      { name: 'fifo', type: 'fifo', mode: 0o644 },
    ]);
    const result = await extractLayer(Readable.from([gzipSync(archive)]), target);
    assert.equal(result.diffId, sha256Digest(archive));
    assert.equal(result.sizeBytes, '#!/bin/sh\n'.length + 'data'.length + 'deep'.length + 'first'.length);
    const tool = await stat(join(target, 'bin/tool'));
    assert.equal(tool.mode & 0o7777, isRoot ? 0o4755 : 0o755 & tool.mode);
    if (isRoot) assert.deepEqual([tool.uid, tool.gid], [1000, 1001]);
    assert.equal(tool.mtimeMs, mtime.getTime());
    assert.equal(await readlink(join(target, 'bin/alias')), 'tool');
    assert.equal((await stat(join(target, 'bin/hard'))).ino, tool.ino);
    const ro = await stat(join(target, 'ro'));
    assert.equal(ro.mode & 0o7777, 0o555);
    assert.equal(ro.mtimeMs, mtime.getTime());
    assert.equal((await stat(join(target, 'bin'))).mtimeMs, mtime.getTime());
    assert.equal(await readFile(join(target, 'implicit/parent/file'), 'utf8'), 'deep');
    assert.ok((await lstat(join(target, 'replaced'))).isDirectory());
    assert.ok((await lstat(join(target, 'fifo'))).isFIFO());
  }));

test('whiteouts become overlay whiteouts and opaque markers', { skip: !isRoot && 'needs root' }, () =>
  withDirs(async (target) => {
    const archive = await makeTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.motd', data: '' },
      { name: 'var/cache/', type: 'directory' },
      { name: 'var/cache/.wh..wh..opq', data: '' },
      { name: 'var/cache/new', data: 'n' },
      { name: 'a b/.wh..wh..opq', data: '' },
      { name: '.wh..wh.plnk/', type: 'directory' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    ]);
    await extractLayer(Readable.from([archive]), target);
    const whiteout = await lstat(join(target, 'etc/motd'));
    assert.ok(whiteout.isCharacterDevice());
    assert.equal(whiteout.rdev, 0);
    const opaque = await runCommand('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(target, 'var/cache')]);
    assert.equal(opaque.stdout, 'y');
    const spaced = await runCommand('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(target, 'a b')]);
    assert.equal(spaced.stdout, 'y');
    assert.equal(await readFile(join(target, 'var/cache/new'), 'utf8'), 'n');
    assert.deepEqual((await readdir(target)).sort(), ['a b', 'dev', 'etc', 'var']);
    const devNull = await lstat(join(target, 'dev/null'));
    assert.ok(devNull.isCharacterDevice());
    assert.equal(devNull.rdev, (1 << 8) | 3);
  }));

test('device nodes are skipped and whiteouts refused when unprivileged', () =>
  withDirs(async (target) => {
    const devices = await makeTar([{ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }, { name: 'ok', data: '1' }]);
    await extractLayer(Readable.from([devices]), target, { isPrivileged: false });
    assert.deepEqual((await readdir(join(target, 'dev'))), []);
    assert.equal(await readFile(join(target, 'ok'), 'utf8'), '1');
  }));
