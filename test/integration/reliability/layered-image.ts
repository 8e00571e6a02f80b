/**
 * Images made here for the reliability tests: several gzip layers of random bytes (so each call
 * differs and no layer is already stored), in the shape the fake registry serves, and a count of
 * what a daemon's image store holds on disk, to show that nothing leaked.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runCommand } from '../../../src/sys/index.js';

export const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

export interface LayeredImage {
  manifest: Buffer;
  blobs: Map<string, Buffer>;
  /** Layer blob digests, bottom first. */
  layerDigests: string[];
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** An image of `layerCount` layers, each one file of `layerBytes` random bytes. */
export async function makeLayeredImage(layerCount: number, layerBytes = 256 * 1024): Promise<LayeredImage> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-layers-'));
  try {
    const layers: Buffer[] = [];
    const diffIds: string[] = [];
    for (let index = 0; index < layerCount; index++) {
      const root = join(dir, `root${index}`);
      await mkdir(join(root, 'data'), { recursive: true });
      await writeFile(join(root, 'data', `layer${index}.bin`), randomBytes(layerBytes));
      const tarPath = join(dir, `layer${index}.tar`);
      const made = await runCommand('tar', ['-C', root, '--owner=0', '--group=0', '-cf', tarPath, 'data']);
      assert.equal(made.exitCode, 0, made.stderr);
      const tarBytes = await readFile(tarPath);
      diffIds.push(sha256(tarBytes));
      layers.push(gzipSync(tarBytes));
    }
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_V2,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
      layers: layers.map((layer) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha256(layer) })),
    }));
    const blobs = new Map<string, Buffer>([[sha256(config), config], ...layers.map((layer) => [sha256(layer), layer] as const)]);
    return { manifest, blobs, layerDigests: layers.map(sha256) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What an image store holds on disk: blobs, temp files of blob writes, and layer directories (complete or not). */
export interface StoreContents {
  blobs: string[];
  tmp: string[];
  layerDirs: string[];
}

/** The image store under `root` as it is on disk. */
export async function storeContents(root: string): Promise<StoreContents> {
  const blobs = await readdir(join(root, 'image', 'blobs', 'sha256')).catch(() => []);
  const tmp = await readdir(join(root, 'image', 'tmp')).catch(() => []);
  const layerDirs = (await readdir(join(root, 'overlay')).catch(() => [])).filter((name) => name !== 'l' && name !== 'empty');
  return { blobs: blobs.sort(), tmp: tmp.sort(), layerDirs: layerDirs.sort() };
}
