/**
 * `docker pull`: resolve a tag or digest on a registry to one image manifest (choosing our
 * platform from an index), download the config and every layer not already here (each layer
 * once, even for concurrent pulls), verify each against its digest and size while it streams
 * to disk, unpack the layers in order, and only then record the image and its references. A
 * failure leaves no reference, no blob and no unpacked layer this pull added (a crash leaves them
 * for the next start to sweep); unpacked layers are complete or absent.
 */
import type { Readable } from 'node:stream';
import { BerthError, crashPoint, messageOf } from '../../common/index.js';
import { type Descriptor, type Digest, type ImageConfig, type ImageManifest, chainIds, parseDigest } from '../../oci/index.js';
import { type ImageReference, familiarString, referenceName } from '../../store/index.js';
import type { Image } from '../image.js';
import type { LocalImages } from '../local-images.js';
import { type ProgressSink, withProgress } from '../progress.js';
import type { RegistryCredentials } from './registry-auth.js';
import { type RegistryOptions, RegistryClient, registryErrorMessage, readBytes } from './registry-client.js';
import { BlobSizeError, MalformedManifestError, RegistryResponseError, RegistryUnreachableError } from './registry-errors.js';
import { choosePlatform, fetchManifest, isIndex, parseImageIndex, parseImageManifest, wantedPlatform } from './manifests.js';

/** Options of one pull. */
export interface PullOptions {
  credentials: RegistryCredentials;
  registry: RegistryOptions;
  /** `os/arch[/variant]`; the host's platform when absent. */
  platform?: string;
  progress: ProgressSink;
}

/** What a pull did. */
export interface PullResult {
  image: Image;
  /** False when the reference already pointed at this image ("Image is up to date"). */
  isNew: boolean;
  /** Digest of what the tag points at on the registry (the index when there is one). */
  digest: Digest;
}

/** The largest config blob we accept. */
const MAX_CONFIG_BYTES = 16 << 20;
/** Layers downloaded at once, as docker does. */
const DOWNLOAD_CONCURRENCY = 3;

/** Pull `ref` (with a tag or digest) into `service`; see the file comment for the guarantees. */
export async function pullImage(service: LocalImages, ref: ImageReference, options: PullOptions): Promise<PullResult> {
  const { progress } = options;
  const client = new RegistryClient(ref.domain, ref.path, options.credentials, options.registry);
  const wanted = ref.digest ?? ref.tag ?? 'latest';
  const display = familiarString(ref);
  const top = await fetchManifest(client, wanted, display);
  // After the manifest, as docker does: a missing tag is then a plain 404, not an in-band error.
  progress({ id: wanted, status: `Pulling from ${ref.path}` });
  let manifestDoc = top;
  if (isIndex(top)) {
    const chosen = choosePlatform(parseImageIndex(top), wantedPlatform(options.platform));
    manifestDoc = await fetchManifest(client, chosen.digest, display);
  }
  const manifest = parseImageManifest(manifestDoc);
  const added = new Set<Digest>();
  const unpacked = new Set<Digest>();
  const release = service.claimBlobs([manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)]);
  try {
    const configBytes = await fetchConfig(service, client, manifest.config, added);
    const config = parseConfig(configBytes);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new MalformedManifestError(`the manifest lists ${manifest.layers.length} layers but the config ${config.rootfs.diff_ids.length}`);
    }
    await fetchAndUnpackLayers(service, client, manifest, config, { added, unpacked }, progress);
    const previous = await service.imageIdOf(ref);
    const refs = [familiarString(ref)];
    if (ref.digest === undefined) refs.push(`${referenceName(ref)}@${top.digest}`);
    const image = await service.addImage({
      configBytes,
      layers: manifest.layers.map((layer) => ({ blobDigest: parseDigest(layer.digest), mediaType: layer.mediaType })),
      manifestBytes: manifestDoc.bytes,
      manifestMediaType: manifestDoc.mediaType,
    }, refs);
    progress({ status: `Digest: ${top.digest}` });
    const isNew = previous !== image.id;
    progress({ status: isNew ? `Status: Downloaded newer image for ${display}` : `Status: Image is up to date for ${display}` });
    return { image, isNew, digest: top.digest };
  } catch (err) {
    release();
    await service.discardLayers([...unpacked]);
    await service.discardBlobs([...added]);
    throw err;
  } finally {
    release();
  }
}

async function fetchConfig(service: LocalImages, client: RegistryClient, descriptor: Descriptor, added: Set<Digest>): Promise<Buffer> {
  const digest = parseDigest(descriptor.digest);
  if (await service.content.has(digest)) return service.content.get(digest);
  if (descriptor.size > MAX_CONFIG_BYTES) throw new MalformedManifestError(`the config is ${descriptor.size} bytes, more than ${MAX_CONFIG_BYTES}`);
  const body = await openBlob(client, descriptor);
  const bytes = await readBytes(body, descriptor.size + 1);
  if (bytes.length !== descriptor.size) throw new BlobSizeError(digest, descriptor.size, bytes.length);
  await service.content.put(bytes, { expectedDigest: digest });
  added.add(digest);
  return bytes;
}

function parseConfig(bytes: Buffer): ImageConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new MalformedManifestError(`the image config is not JSON (${(err as Error).message})`);
  }
  const config = parsed as Partial<ImageConfig> | null;
  if (config === null || typeof config !== 'object' || config.rootfs === undefined || !Array.isArray(config.rootfs.diff_ids)) {
    throw new MalformedManifestError('the image config has no rootfs.diff_ids');
  }
  for (const diffId of config.rootfs.diff_ids) parseDigest(diffId);
  return config as ImageConfig;
}

/** A GET of a blob whose declared length matches the descriptor; the body is not yet read. */
async function openBlob(client: RegistryClient, descriptor: Descriptor): Promise<Readable> {
  const response = await client.send({ method: 'GET', url: `/v2/${client.path}/blobs/${descriptor.digest}`, actions: 'pull' });
  if (response.status >= 400) throw new RegistryResponseError(`error pulling blob ${descriptor.digest}: ${await registryErrorMessage(response)}`, response.status);
  const length = response.headers['content-length'];
  if (length !== undefined && Number(length) !== descriptor.size) {
    response.body.destroy();
    throw new BlobSizeError(descriptor.digest, descriptor.size, Number(length));
  }
  return response.body;
}

// The response bytes, failing when they run short of or past the descriptor's size, and
// turning a connection that breaks mid-body into a clear error.
async function* sizedBody(body: Readable, descriptor: Descriptor): AsyncGenerator<Uint8Array> {
  let total = 0;
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      total += bytes.length;
      if (total > descriptor.size) throw new BlobSizeError(descriptor.digest, descriptor.size, total);
      yield bytes;
    }
  } catch (err) {
    body.destroy();
    if (err instanceof BerthError) throw err;
    throw new RegistryUnreachableError(`error pulling blob ${descriptor.digest}: the connection broke after ${total} of ${descriptor.size} bytes (${messageOf(err)})`, { cause: err });
  }
  if (total < descriptor.size) throw new BlobSizeError(descriptor.digest, descriptor.size, total);
}

function shortOf(digest: string): string {
  return digest.slice('sha256:'.length, 'sha256:'.length + 12);
}

/** What a pull put in the store so far: blobs it downloaded and layers it unpacked, to undo on failure. */
interface PullWork {
  added: Set<Digest>;
  unpacked: Set<Digest>;
}

async function fetchAndUnpackLayers(service: LocalImages, client: RegistryClient, manifest: ImageManifest, config: ImageConfig, work: PullWork, progress: ProgressSink): Promise<void> {
  const { added, unpacked } = work;
  const diffIds = config.rootfs.diff_ids.map((d) => parseDigest(d));
  const chains = chainIds(diffIds);
  const layers = manifest.layers;
  const ready: boolean[] = [];
  for (const [index, layer] of layers.entries()) {
    const isReady = (await service.content.has(layer.digest)) && (await service.snapshotter.hasLayer(chains[index]!));
    ready.push(isReady);
    progress({ id: shortOf(layer.digest), status: isReady ? 'Already exists' : 'Pulling fs layer' });
  }
  // Downloads run a few at a time, in order; unpacking follows in order as each finishes.
  const limit = limiter(DOWNLOAD_CONCURRENCY);
  const downloads = layers.map((layer, index) => (ready[index] ? Promise.resolve() : limit(() => downloadLayer(service, client, layer, added, progress), () => progress({ id: shortOf(layer.digest), status: 'Waiting' }))));
  // A failure of any download must end the pull even while unpacking waits on an earlier layer.
  const allDownloads = Promise.all(downloads);
  allDownloads.catch(() => {});
  try {
    for (const [index, layer] of layers.entries()) {
      if (ready[index]) continue;
      await Promise.race([downloads[index], allDownloads]);
      const id = shortOf(layer.digest);
      const total = layer.size;
      await service.snapshotter.unpack(chains[index]!, async () => {
        const stream = await service.content.getStream(layer.digest);
        return withProgress(stream, (done) => progress({ id, status: 'Extracting', currentBytes: done, totalBytes: total }));
      }, diffIds[index]);
      unpacked.add(chains[index]!);
      crashPoint('pull.layer-unpacked');
      progress({ id, status: 'Pull complete' });
    }
    await allDownloads;
  } catch (err) {
    // Let running downloads settle so their blobs are in `added` before the caller discards them.
    await Promise.allSettled(downloads);
    throw err;
  }
}

/** Run at most `concurrency` jobs at once, in call order; `onQueued` runs for a job that must wait. */
function limiter(concurrency: number): <T>(job: () => Promise<T>, onQueued: () => void) => Promise<T> {
  let running = 0;
  const queue: Array<() => void> = [];
  const release = (): void => {
    running--;
    queue.shift()?.();
  };
  return <T>(job: () => Promise<T>, onQueued: () => void): Promise<T> => {
    const start = (): Promise<T> => {
      running++;
      return job().finally(release);
    };
    if (running < concurrency) return start();
    onQueued();
    return new Promise<T>((resolve, reject) => queue.push(() => void start().then(resolve, reject)));
  };
}

async function downloadLayer(service: LocalImages, client: RegistryClient, layer: Descriptor, added: Set<Digest>, progress: ProgressSink): Promise<void> {
  const id = shortOf(layer.digest);
  const digest = parseDigest(layer.digest);
  if (await service.content.has(digest)) {
    progress({ id, status: 'Download complete' });
    return;
  }
  const running = service.downloads.get(digest);
  if (running !== undefined) {
    progress({ id, status: 'Waiting' });
    await running;
    progress({ id, status: 'Download complete' });
    return;
  }
  const job = (async () => {
    const body = await openBlob(client, layer);
    const counted = withProgress(sizedBody(body, layer), (done) => progress({ id, status: 'Downloading', currentBytes: done, totalBytes: layer.size }));
    await service.content.put(counted, { expectedDigest: digest });
  })();
  service.downloads.set(digest, job);
  try {
    await job;
    added.add(digest);
  } finally {
    service.downloads.delete(digest);
  }
  progress({ id, status: 'Verifying Checksum' });
  progress({ id, status: 'Download complete' });
}

