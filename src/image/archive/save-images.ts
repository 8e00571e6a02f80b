/**
 * `docker save`: several images in one tar, in the layout docker 25+ writes, which both docker
 * and OCI tools read: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`)
 * plus docker's `manifest.json` (config, tags and layer paths per image) and `repositories`.
 * Blobs are streamed from the store, each written once however many images share it.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { InternalError } from '../../common/index.js';
import { type Digest, MediaType, digestHex, sha256Digest } from '../../oci/index.js';
import { type ImageRecord, familiarString, parseImageReference, referenceName, referenceString } from '../../store/index.js';
import type { LocalImages } from '../local-images.js';
import { manifestOf } from '../image-manifest.js';

interface SavedImage {
  record: ImageRecord;
  /** Familiar `name:tag` references to keep. */
  tags: string[];
}

/** Write the archive of `refs` (names, `name:tag`, ids) to `out`, which is ended. */
export async function saveImages(service: LocalImages, refs: readonly string[], out: Writable): Promise<void> {
  const images = collect(service, refs);
  const pack = tar.pack();
  const done = pipeline(pack, out);
  const written = new Set<string>();
  const mtime = new Date(0);
  const addBytes = async (name: string, bytes: Buffer): Promise<void> => {
    await new Promise<void>((resolve, reject) => pack.entry({ name, size: bytes.length, mtime, mode: 0o644 }, bytes, (err) => (err ? reject(err) : resolve())));
  };
  const addBlob = async (digest: string): Promise<void> => {
    if (written.has(digest)) return;
    written.add(digest);
    const info = await service.content.info(digest);
    const source = await service.content.getStream(digest);
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name: `blobs/sha256/${digestHex(digest)}`, size: info.sizeBytes, mtime, mode: 0o644 }, (err) => (err ? reject(err) : resolve()));
      void (async () => {
        for await (const chunk of source) if (!entry.write(chunk as Buffer)) await once(entry, 'drain');
        entry.end(null);
      })().catch(reject);
    });
  };
  try {
    await addBytes('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    const indexEntries: Array<Record<string, unknown>> = [];
    const manifestEntries: Array<Record<string, unknown>> = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const { record, tags } of images) {
      const manifest = await manifestOf(service.content, record);
      const manifestDigest: Digest = sha256Digest(manifest.bytes);
      await addBlob(record.id);
      for (const layer of record.layers) await addBlob(layer.blobDigest!);
      if (!written.has(manifestDigest)) {
        written.add(manifestDigest);
        await addBytes(`blobs/sha256/${digestHex(manifestDigest)}`, manifest.bytes);
      }
      const descriptor = { mediaType: manifest.mediaType, digest: manifestDigest, size: manifest.bytes.length };
      if (tags.length === 0) indexEntries.push(descriptor);
      for (const tag of tags) {
        const parsed = parseImageReference(tag);
        indexEntries.push({ ...descriptor, annotations: { 'io.containerd.image.name': referenceString(parsed), 'org.opencontainers.image.ref.name': parsed.tag ?? 'latest' } });
        const top = record.layers[record.layers.length - 1];
        if (top !== undefined) (repositories[familiarString({ domain: parsed.domain, path: parsed.path })] ??= {})[parsed.tag ?? 'latest'] = digestHex(top.chainId);
      }
      manifestEntries.push({
        Config: `blobs/sha256/${digestHex(record.id)}`,
        RepoTags: tags.length > 0 ? tags : null,
        Layers: record.layers.map((layer) => `blobs/sha256/${digestHex(layer.blobDigest!)}`),
      });
    }
    await addBytes('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: indexEntries })));
    await addBytes('manifest.json', Buffer.from(JSON.stringify(manifestEntries)));
    if (Object.keys(repositories).length > 0) await addBytes('repositories', Buffer.from(JSON.stringify(repositories)));
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    await done.catch(() => {});
    throw err;
  }
  await done;
}

// Each ref's image and the tags it brings: `name:tag` that tag, a bare name every tag of that
// repository, an id none.
function collect(service: LocalImages, refs: readonly string[]): SavedImage[] {
  const byId = new Map<string, SavedImage>();
  const entries = service.referenceEntries();
  for (const ref of refs) {
    const record = service.recordOf(ref);
    const saved = byId.get(record.id) ?? { record, tags: [] };
    byId.set(record.id, saved);
    let parsed;
    try {
      parsed = parseImageReference(ref);
    } catch {
      continue;
    }
    if (record.id.endsWith(ref) || record.id.slice('sha256:'.length).startsWith(ref)) continue;
    const tags = parsed.tag !== undefined
      ? [familiarString(parsed)]
      : parsed.digest !== undefined
        ? []
        : entries.filter((e) => e.reference.digest === undefined && referenceName(e.reference) === referenceName(parsed)).map((e) => familiarString(e.reference));
    for (const tag of tags) if (!saved.tags.includes(tag)) saved.tags.push(tag);
  }
  for (const saved of byId.values()) {
    if (saved.record.layers.some((layer) => layer.blobDigest === undefined)) {
      throw new InternalError(`image ${saved.record.id} has a layer without a stored blob`);
    }
  }
  return [...byId.values()];
}
