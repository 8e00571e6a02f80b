/**
 * `docker push`: upload an image's layers (skipping those the repository has, mounting those
 * another repository of the same registry has), its config, then its manifest under a tag;
 * record `name@digest` locally as docker does. The manifest pushed is the one the image came
 * with when its blobs still match it (so digests stay stable), else a Docker v2 schema 2
 * manifest made from the stored blobs.
 */
import { Readable } from 'node:stream';
import { type Digest, type ImageManifest, sha256Digest } from '../../oci/index.js';
import { type ImageRecord, type ImageReference, referenceName } from '../../store/index.js';
import type { LocalImages } from '../local-images.js';
import { manifestOf } from '../image-manifest.js';
import { type ProgressSink, withProgress } from '../progress.js';
import type { RegistryCredentials } from './registry-auth.js';
import { type RegistryOptions, RegistryClient, registryErrorMessage } from './registry-client.js';
import { RegistryResponseError } from './registry-errors.js';

/** Options of one push. */
export interface PushOptions {
  credentials: RegistryCredentials;
  registry: RegistryOptions;
  progress: ProgressSink;
}

/** One blob to make present in the repository. */
interface PushBlob {
  digest: Digest;
  sizeBytes: number;
  mediaType: string;
  /** Short id shown in progress; absent for the config (docker shows no line for it). */
  id?: string;
}

/**
 * Push the image `ref` (a tag reference, already resolved locally by the caller to `record`) to
 * its registry. Returns the manifest digest.
 */
export async function pushImage(service: LocalImages, ref: ImageReference, record: ImageRecord, options: PushOptions): Promise<{ digest: Digest; sizeBytes: number }> {
  const { progress } = options;
  const client = new RegistryClient(ref.domain, ref.path, options.credentials, options.registry);
  const { bytes: manifestBytes, mediaType } = await manifestOf(service.content, record);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  const layerBlobs: PushBlob[] = manifest.layers.map((layer, index) => ({
    digest: layer.digest as Digest,
    sizeBytes: layer.size,
    mediaType: layer.mediaType,
    id: record.layers[index]!.diffId.slice('sha256:'.length, 'sha256:'.length + 12),
  }));
  // docker lists layers top first.
  for (const blob of [...layerBlobs].reverse()) progress({ id: blob.id!, status: 'Preparing' });
  const mountFrom = mountSources(service, ref);
  for (const blob of [...layerBlobs].reverse()) await pushBlob(service, client, blob, mountFrom, progress);
  await pushBlob(service, client, { digest: manifest.config.digest as Digest, sizeBytes: manifest.config.size, mediaType: manifest.config.mediaType }, mountFrom, progress);
  const tag = ref.tag ?? 'latest';
  const response = await client.send({ method: 'PUT', url: `/v2/${ref.path}/manifests/${tag}`, headers: { 'Content-Type': mediaType, 'Content-Length': manifestBytes.length }, body: manifestBytes, actions: 'pull,push' });
  if (response.status >= 400) throw new RegistryResponseError(`error pushing the manifest: ${await registryErrorMessage(response)}`, response.status);
  response.body.resume();
  const digest = sha256Digest(manifestBytes);
  await service.setDigestReference(`${referenceName(ref)}@${digest}`, record.id);
  progress({ status: `${tag}: digest: ${digest} size: ${manifestBytes.length}` });
  progress({ status: '', pushResult: { tag, digest, sizeBytes: manifestBytes.length } });
  return { digest, sizeBytes: manifestBytes.length };
}

// Other repositories of the same registry that hold images of ours: blobs can be mounted from them.
function mountSources(service: LocalImages, ref: ImageReference): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const entry of service.referenceEntries()) {
    if (entry.reference.domain !== ref.domain || entry.reference.path === ref.path || entry.reference.digest === undefined) continue;
    for (const blob of service.blobsOf(entry.imageId)) {
      const list = out.get(blob) ?? [];
      if (!list.includes(entry.reference.path)) list.push(entry.reference.path);
      out.set(blob, list);
    }
  }
  return out;
}

async function pushBlob(service: LocalImages, client: RegistryClient, blob: PushBlob, mountFrom: Map<string, string[]>, progress: ProgressSink): Promise<void> {
  const show = (status: string, currentBytes?: number): void => {
    if (blob.id !== undefined) progress({ id: blob.id, status, ...(currentBytes !== undefined ? { currentBytes, totalBytes: blob.sizeBytes } : {}) });
  };
  const head = await client.send({ method: 'HEAD', url: `/v2/${client.path}/blobs/${blob.digest}`, actions: 'pull,push' });
  head.body.resume();
  if (head.status === 200) {
    show('Layer already exists');
    return;
  }
  let location: string | undefined;
  for (const from of mountFrom.get(blob.digest) ?? []) {
    const mount = await client.send({ method: 'POST', url: `/v2/${client.path}/blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(from)}`, headers: { 'Content-Length': 0 }, actions: 'pull,push' });
    mount.body.resume();
    if (mount.status === 201) {
      show(`Mounted from ${from}`);
      return;
    }
    // 202: the registry started an ordinary upload instead; use it.
    if (mount.status === 202 && typeof mount.headers.location === 'string') {
      location = mount.headers.location;
      break;
    }
  }
  if (location === undefined) {
    const start = await client.send({ method: 'POST', url: `/v2/${client.path}/blobs/uploads/`, headers: { 'Content-Length': 0 }, actions: 'pull,push' });
    if (start.status !== 202 || typeof start.headers.location !== 'string') throw new RegistryResponseError(`error starting an upload: ${await registryErrorMessage(start)}`, start.status);
    start.body.resume();
    location = start.headers.location;
  }
  const url = new URL(location, client.baseUrl);
  url.searchParams.set('digest', blob.digest);
  const body = async (): Promise<Readable> => {
    const stream = await service.content.getStream(blob.digest);
    return Readable.from(withProgress(stream, (done) => show('Pushing', done)));
  };
  const put = await client.send({ method: 'PUT', url: url.toString(), headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': blob.sizeBytes }, body, actions: 'pull,push' });
  if (put.status !== 201) throw new RegistryResponseError(`error uploading blob ${blob.digest}: ${await registryErrorMessage(put)}`, put.status);
  put.body.resume();
  show('Pushed');
}
