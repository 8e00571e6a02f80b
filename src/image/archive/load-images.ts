/**
 * `docker load`: read a tar in docker's archive format (`manifest.json`, with layers either as
 * `blobs/sha256/<hex>` or the older `<id>/layer.tar`, symlinks between those included), docker
 * 1.9's legacy format (`repositories` and `<id>/json` per layer), or an OCI image layout
 * (`index.json`), and store every image in it with its tags. Blobs stream into
 * the content store as the tar is read: those named by digest are verified against it, the rest
 * hashed; nothing from the archive is ever written by its own path name, so hostile names
 * cannot escape. A failure leaves no blob this load added that no image uses.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { BerthError, InvalidArgumentError, crashPoint } from '../../common/index.js';
import { type Descriptor, type Digest, type ImageIndex, type ImageManifest, MediaType, isDigest, isIndexMediaType, parseDigest } from '../../oci/index.js';
import { familiarString, parseImageReference, withDefaultTag } from '../../store/index.js';
import { decompressed } from '../../snapshot/index.js';
import type { LocalImages } from '../local-images.js';
import type { ProgressSink } from '../progress.js';

/** The archive is not one docker or an OCI tool wrote, or is damaged. */
export class InvalidArchiveError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_INVALID_ARCHIVE', `invalid archive: ${message}`);
  }
}

/** What a load stored: one entry per image. */
export interface LoadedImage {
  id: string;
  tags: string[];
}

/** JSON files kept in memory while reading (manifest.json, index.json, legacy configs). */
const MAX_SMALL_FILE_BYTES = 8 << 20;
const MAX_SMALL_FILES_BYTES = 64 << 20;
const BLOB_PATH = /^blobs\/sha256\/([0-9a-f]{64})$/;

interface ArchiveFiles {
  /** Small files by normalised path. */
  small: Map<string, Buffer>;
  /** Every regular file stored as a blob, by normalised path. */
  blobs: Map<string, Digest>;
  /** Symlinks: normalised path to normalised target. */
  links: Map<string, string>;
}

/** Load every image of the archive `source` (plain or gzip tar); see the file comment. */
export async function loadImages(service: LocalImages, source: Readable, progress: ProgressSink, signal?: AbortSignal): Promise<LoadedImage[]> {
  const added = new Set<Digest>();
  try {
    const files = await readArchive(service, source, added, signal);
    crashPoint('load.blobs-stored');
    const releaseClaims = service.claimBlobs([...added]);
    try {
      const loaded = files.small.has('manifest.json')
        ? await loadDockerArchive(service, files, progress)
        : files.small.has('index.json') || !files.small.has('repositories')
          ? await loadOciLayout(service, files, progress)
          : await loadLegacyArchive(service, files, progress);
      if (loaded.length === 0) throw new InvalidArchiveError('it holds no image');
      releaseClaims();
      // Indexes and anything else no image uses need not stay.
      await service.discardBlobs([...added]);
      return loaded;
    } finally {
      releaseClaims();
    }
  } catch (err) {
    await service.discardBlobs([...added]);
    throw err;
  }
}

function normalise(name: string): string {
  return posix.normalize(name.replace(/^\.?\/+/, '')).replace(/\/+$/, '');
}

async function readArchive(service: LocalImages, source: Readable, added: Set<Digest>, signal: AbortSignal | undefined): Promise<ArchiveFiles> {
  const files: ArchiveFiles = { small: new Map(), blobs: new Map(), links: new Map() };
  let smallTotal = 0;
  const extract = tar.extract();
  const { stream: input } = await decompressed(source);
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  try {
    for await (const entry of extract) {
      const header = entry.header;
      const name = normalise(header.name);
      if (header.type === 'symlink' || header.type === 'link') {
        const target = header.type === 'symlink' ? posix.join(posix.dirname(name), header.linkname ?? '') : normalise(header.linkname ?? '');
        files.links.set(name, target);
        entry.resume();
        continue;
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const blobMatch = BLOB_PATH.exec(name);
      const isSmall = !blobMatch && !name.endsWith('layer.tar') && (header.size ?? 0) <= MAX_SMALL_FILE_BYTES;
      if (isSmall) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        const bytes = Buffer.concat(chunks);
        smallTotal += bytes.length;
        if (smallTotal > MAX_SMALL_FILES_BYTES) throw new InvalidArchiveError('too much metadata');
        files.small.set(name, bytes);
        continue;
      }
      const expected = blobMatch ? (`sha256:${blobMatch[1]}` as Digest) : undefined;
      const info = await service.content.put(entry as AsyncIterable<Uint8Array>, { ...(expected !== undefined ? { expectedDigest: expected } : {}), ...(signal !== undefined ? { signal } : {}) });
      // A failed load discards these unless an image uses them (then they were there before).
      added.add(info.digest);
      files.blobs.set(name, info.digest);
    }
  } catch (err) {
    extract.destroy();
    if (err instanceof BerthError) throw err;
    throw new InvalidArchiveError(`cannot read the tar: ${(err as Error).message}`);
  }
  return files;
}


function resolvePath(files: ArchiveFiles, path: string): string {
  let current = normalise(path);
  for (let hops = 0; hops < 16 && files.links.has(current); hops++) current = normalise(files.links.get(current)!);
  return current;
}

async function fileBytes(service: LocalImages, files: ArchiveFiles, path: string): Promise<Buffer> {
  const resolved = resolvePath(files, path);
  const small = files.small.get(resolved);
  if (small !== undefined) return small;
  const digest = files.blobs.get(resolved);
  if (digest !== undefined) return service.content.get(digest);
  throw new InvalidArchiveError(`${JSON.stringify(path)} is missing`);
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new InvalidArchiveError(`${what} is not JSON`);
  }
}

async function layerMediaType(service: LocalImages, digest: Digest): Promise<string> {
  const stream = await service.content.getStream(digest);
  let head = Buffer.alloc(0);
  for await (const chunk of stream) {
    head = Buffer.from(chunk as Buffer);
    break;
  }
  stream.destroy();
  if (head[0] === 0x1f && head[1] === 0x8b) return MediaType.dockerLayerGzip;
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) throw new InvalidArchiveError('zstd-compressed layers are not supported');
  return MediaType.dockerLayer;
}

async function loadDockerArchive(service: LocalImages, files: ArchiveFiles, progress: ProgressSink): Promise<LoadedImage[]> {
  const entries = parseJson<Array<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }>>(files.small.get('manifest.json')!, 'manifest.json');
  if (!Array.isArray(entries)) throw new InvalidArchiveError('manifest.json is not a list');
  const loaded: LoadedImage[] = [];
  for (const entry of entries) {
    if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) throw new InvalidArchiveError('a manifest.json entry lacks Config or Layers');
    const configBytes = await fileBytes(service, files, entry.Config);
    const layers = [];
    for (const path of entry.Layers) {
      const resolved = resolvePath(files, path);
      const digest = files.blobs.get(resolved);
      if (digest === undefined) throw new InvalidArchiveError(`layer ${JSON.stringify(path)} is missing`);
      layers.push({ blobDigest: digest, mediaType: await layerMediaType(service, digest) });
    }
    const tags = (entry.RepoTags ?? []).filter((t) => typeof t === 'string');
    loaded.push(await store(service, configBytes, layers, tags, progress));
  }
  return loaded;
}

/** One layer's `<id>/json` in docker's pre-1.10 archives (what `docker save` wrote before manifest.json). */
interface LegacyLayerJson {
  id?: string;
  parent?: string;
  created?: string;
  author?: string;
  comment?: string;
  architecture?: string;
  os?: string;
  config?: Record<string, unknown>;
  container_config?: { Cmd?: string[] | null };
  docker_version?: string;
}

const LEGACY_ID = /^[0-9a-f]{64}$/;

/**
 * docker 1.9's archive: `repositories` (`{"name": {"tag": "<top layer id>"}}`) and one folder
 * per layer with `json` (its v1 image, naming its parent), `VERSION` and `layer.tar`. Each named
 * top layer becomes an image: its parent chain gives the layers bottom first, its json the
 * config, and each layer a history entry, as moby's legacy loader builds them.
 */
async function loadLegacyArchive(service: LocalImages, files: ArchiveFiles, progress: ProgressSink): Promise<LoadedImage[]> {
  const repositories = parseJson<Record<string, Record<string, string>>>(files.small.get('repositories')!, 'repositories');
  if (repositories === null || typeof repositories !== 'object') throw new InvalidArchiveError('repositories is not an object');
  const tagsByTop = new Map<string, string[]>();
  for (const [name, tags] of Object.entries(repositories)) {
    if (tags === null || typeof tags !== 'object') throw new InvalidArchiveError(`repositories: ${JSON.stringify(name)} is not an object`);
    for (const [tag, id] of Object.entries(tags)) {
      if (typeof id !== 'string' || !LEGACY_ID.test(id)) throw new InvalidArchiveError(`repositories: ${name}:${tag} names no layer id`);
      tagsByTop.set(id, [...(tagsByTop.get(id) ?? []), `${name}:${tag}`]);
    }
  }
  const loaded: LoadedImage[] = [];
  for (const [topId, tags] of tagsByTop) {
    // Bottom layer first.
    const chain: Array<{ id: string; json: LegacyLayerJson }> = [];
    for (let id: string | undefined = topId; id !== undefined && id !== ''; ) {
      if (!LEGACY_ID.test(id)) throw new InvalidArchiveError(`layer id ${JSON.stringify(id)} is not 64 hex digits`);
      if (chain.length >= 256) throw new InvalidArchiveError('the layer chain is longer than 256 or loops');
      const json: LegacyLayerJson = parseJson<LegacyLayerJson>(await fileBytes(service, files, `${id}/json`), `${id}/json`);
      chain.unshift({ id, json });
      id = json.parent;
    }
    const layers = [];
    const diffIds: Digest[] = [];
    for (const { id } of chain) {
      const digest = files.blobs.get(resolvePath(files, `${id}/layer.tar`));
      if (digest === undefined) throw new InvalidArchiveError(`layer ${id}/layer.tar is missing`);
      // These archives hold plain tars, so the blob's digest is the layer's diff id.
      if ((await layerMediaType(service, digest)) !== MediaType.dockerLayer) throw new InvalidArchiveError(`layer ${id}/layer.tar is compressed; legacy archives hold plain tars`);
      layers.push({ blobDigest: digest, mediaType: MediaType.dockerLayer });
      diffIds.push(digest);
    }
    const top = chain[chain.length - 1]!.json;
    const config = {
      architecture: top.architecture ?? 'amd64',
      os: top.os ?? 'linux',
      ...(top.created !== undefined ? { created: top.created } : {}),
      ...(top.author !== undefined ? { author: top.author } : {}),
      config: top.config ?? {},
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: chain.map(({ json: layer }) => ({
        ...(layer.created !== undefined ? { created: layer.created } : {}),
        ...(layer.author ? { author: layer.author } : {}),
        created_by: (layer.container_config?.Cmd ?? []).join(' '),
        ...(layer.comment ? { comment: layer.comment } : {}),
      })),
    };
    loaded.push(await store(service, Buffer.from(JSON.stringify(config)), layers, tags, progress));
  }
  return loaded;
}

async function loadOciLayout(service: LocalImages, files: ArchiveFiles, progress: ProgressSink): Promise<LoadedImage[]> {
  const indexBytes = files.small.get('index.json');
  if (indexBytes === undefined) throw new InvalidArchiveError('it has neither manifest.json nor index.json');
  const index = parseJson<ImageIndex>(indexBytes, 'index.json');
  if (!Array.isArray(index.manifests)) throw new InvalidArchiveError('index.json has no manifests');
  const loaded: LoadedImage[] = [];
  for (const descriptor of index.manifests) {
    const manifestDescriptor = await platformManifest(service, files, descriptor);
    const manifestBytes = await blobBytes(service, files, manifestDescriptor.digest);
    const manifest = parseJson<ImageManifest>(manifestBytes, `manifest ${manifestDescriptor.digest}`);
    if (manifest.config === undefined || !Array.isArray(manifest.layers)) throw new InvalidArchiveError(`manifest ${manifestDescriptor.digest} lacks config or layers`);
    const configBytes = await blobBytes(service, files, manifest.config.digest);
    const layers = manifest.layers.map((layer) => {
      const digest = files.blobs.get(`blobs/sha256/${parseDigest(layer.digest).slice(7)}`);
      if (digest === undefined) throw new InvalidArchiveError(`layer ${layer.digest} is missing`);
      return { blobDigest: digest, mediaType: layer.mediaType };
    });
    const annotations = descriptor.annotations ?? {};
    const name = annotations['io.containerd.image.name'] ?? annotations['org.opencontainers.image.ref.name'];
    // A bare ref.name is only a tag, with no repository to put it in.
    const tags = name !== undefined && (name.includes('/') || name.includes(':')) ? [name] : [];
    loaded.push(await store(service, configBytes, layers, tags, progress, { bytes: manifestBytes, mediaType: manifest.mediaType ?? manifestDescriptor.mediaType }));
  }
  return loaded;
}

async function blobBytes(service: LocalImages, files: ArchiveFiles, digest: string): Promise<Buffer> {
  if (!isDigest(digest)) throw new InvalidArchiveError(`bad digest ${JSON.stringify(digest)}`);
  return fileBytes(service, files, `blobs/sha256/${digest.slice(7)}`);
}

async function platformManifest(service: LocalImages, files: ArchiveFiles, descriptor: Descriptor): Promise<Descriptor> {
  if (!isIndexMediaType(descriptor.mediaType)) return descriptor;
  const nested = parseJson<ImageIndex>(await blobBytes(service, files, descriptor.digest), `index ${descriptor.digest}`);
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const chosen = nested.manifests.find((d) => d.platform?.os === 'linux' && d.platform.architecture === arch) ?? nested.manifests.find((d) => d.platform === undefined);
  if (chosen === undefined) throw new InvalidArchiveError(`no manifest for linux/${arch} in index ${descriptor.digest}`);
  return platformManifest(service, files, chosen);
}

async function store(service: LocalImages, configBytes: Buffer, layers: Array<{ blobDigest: Digest; mediaType: string }>, tags: string[], progress: ProgressSink, manifest?: { bytes: Buffer; mediaType: string }): Promise<LoadedImage> {
  let image;
  try {
    image = await service.addImage({
      configBytes,
      layers,
      ...(manifest !== undefined ? { manifestBytes: manifest.bytes, manifestMediaType: manifest.mediaType } : {}),
    }, tags);
  } catch (err) {
    if (err instanceof SyntaxError) throw new InvalidArchiveError('an image config is not JSON');
    if (err instanceof BerthError) throw err;
    throw new InvalidArgumentError(`cannot load the image: ${(err as Error).message}`);
  }
  if (tags.length === 0) progress({ status: '', stream: `Loaded image ID: ${image.id}\n` });
  for (const tag of tags) progress({ status: '', stream: `Loaded image: ${familiarString(withDefaultTag(parseImageReference(tag)))}\n` });
  return { id: image.id, tags: image.repoTags };
}
