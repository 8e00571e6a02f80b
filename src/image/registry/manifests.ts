/**
 * Fetching and validating manifests and indexes from a registry: content negotiation, digest
 * checks, the shape checks that turn a malformed document into one clear error, and choosing
 * the manifest of our platform from an index.
 */
import { createHash } from 'node:crypto';
import { type Descriptor, type ImageIndex, type ImageManifest, type Platform, MediaType, isDigest, isIndexMediaType, isManifestMediaType } from '../../oci/index.js';
import { DigestMismatchError } from '../../store/index.js';
import type { RegistryClient } from './registry-client.js';
import { registryErrorMessage, readBytes } from './registry-client.js';
import { MalformedManifestError, ManifestUnknownError, NoMatchingPlatformError, RegistryResponseError } from './registry-errors.js';

/** The largest manifest or index we accept (docker's limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 << 20;

/** The media types we ask for, most preferred first. */
export const MANIFEST_ACCEPT = [MediaType.dockerManifestList, MediaType.ociIndex, MediaType.dockerManifest, MediaType.ociManifest].join(', ');

/** A manifest or index as the registry sent it. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: `sha256:${string}`;
}

/**
 * GET a manifest by tag or digest. With a digest, the bytes must hash to it; with a tag, the
 * digest is computed from the bytes (a `Docker-Content-Digest` header that disagrees fails).
 */
export async function fetchManifest(client: RegistryClient, reference: string, display: string): Promise<FetchedManifest> {
  const response = await client.send({ method: 'GET', url: `/v2/${client.path}/manifests/${reference}`, headers: { Accept: MANIFEST_ACCEPT }, actions: 'pull' });
  if (response.status === 404) {
    response.body.resume();
    throw new ManifestUnknownError(display);
  }
  if (response.status >= 400) throw new RegistryResponseError(`error from registry: ${await registryErrorMessage(response)}`, response.status);
  const bytes = await readBytes(response.body, MAX_MANIFEST_BYTES);
  const digest: `sha256:${string}` = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (isDigest(reference) && digest !== reference) throw new DigestMismatchError(reference, digest);
  const header = response.headers['docker-content-digest'];
  if (typeof header === 'string' && header.startsWith('sha256:') && header !== digest) throw new DigestMismatchError(header, digest);
  const contentType = (response.headers['content-type'] ?? '').split(';')[0]!.trim();
  return { bytes, mediaType: mediaTypeOf(bytes, contentType), digest };
}

// The document's own mediaType wins; the Content-Type header is the fallback.
function mediaTypeOf(bytes: Buffer, contentType: string): string {
  const parsed = parseJson(bytes, 'manifest');
  const own = typeof parsed['mediaType'] === 'string' ? parsed['mediaType'] : undefined;
  if (own !== undefined) return own;
  if (Array.isArray(parsed['manifests'])) return MediaType.ociIndex;
  if (parsed['config'] !== undefined) return contentType === MediaType.dockerManifest ? contentType : MediaType.ociManifest;
  if (parsed['schemaVersion'] === 1) return 'application/vnd.docker.distribution.manifest.v1+json';
  return contentType;
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new MalformedManifestError(`the ${what} is not JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new MalformedManifestError(`the ${what} is not a JSON object`);
  return parsed as Record<string, unknown>;
}

function checkDescriptor(value: unknown, what: string): Descriptor {
  if (typeof value !== 'object' || value === null) throw new MalformedManifestError(`${what} is not a descriptor`);
  const d = value as Record<string, unknown>;
  if (typeof d['digest'] !== 'string' || !isDigest(d['digest'])) throw new MalformedManifestError(`${what} has no valid sha256 digest`);
  if (typeof d['size'] !== 'number' || !Number.isSafeInteger(d['size']) || d['size'] < 0) throw new MalformedManifestError(`${what} has no valid size`);
  if (typeof d['mediaType'] !== 'string') throw new MalformedManifestError(`${what} has no media type`);
  return value as Descriptor;
}

/** True when the document is an index (manifest list). */
export function isIndex(manifest: FetchedManifest): boolean {
  return isIndexMediaType(manifest.mediaType);
}

/** Parse and check an image manifest; MalformedManifestError for anything we cannot pull. */
export function parseImageManifest(manifest: FetchedManifest): ImageManifest {
  if (!isManifestMediaType(manifest.mediaType)) {
    throw new MalformedManifestError(`unsupported manifest media type ${JSON.stringify(manifest.mediaType)}`);
  }
  const parsed = parseJson(manifest.bytes, 'manifest');
  if (parsed['schemaVersion'] !== 2) throw new MalformedManifestError('schemaVersion is not 2');
  checkDescriptor(parsed['config'], 'the config');
  if (!Array.isArray(parsed['layers'])) throw new MalformedManifestError('the manifest has no layers list');
  parsed['layers'].forEach((layer, index) => checkDescriptor(layer, `layer ${index}`));
  return parsed as unknown as ImageManifest;
}

/** Parse and check an index. */
export function parseImageIndex(manifest: FetchedManifest): ImageIndex {
  const parsed = parseJson(manifest.bytes, 'index');
  if (parsed['schemaVersion'] !== 2) throw new MalformedManifestError('schemaVersion is not 2');
  if (!Array.isArray(parsed['manifests'])) throw new MalformedManifestError('the index has no manifests list');
  parsed['manifests'].forEach((entry, index) => checkDescriptor(entry, `manifest ${index} of the index`));
  return parsed as unknown as ImageIndex;
}

/** The platform this daemon runs (`linux/amd64`), or the one asked for (`linux/arm64/v8`). */
export function wantedPlatform(requested: string | undefined): Platform {
  if (requested !== undefined && requested !== '') {
    const [os = 'linux', architecture = hostArchitecture(), variant] = requested.split('/');
    return variant === undefined ? { os, architecture } : { os, architecture, variant };
  }
  return { os: 'linux', architecture: hostArchitecture() };
}

/** Go's GOARCH name for the host (Node's `x64` is `amd64`). */
export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

/** The descriptor of `platform`'s manifest in `index`; NoMatchingPlatformError when none fits. */
export function choosePlatform(index: ImageIndex, platform: Platform): Descriptor {
  const candidates = index.manifests.filter((d) => d.platform !== undefined && d.platform.os === platform.os && d.platform.architecture === platform.architecture);
  const exact = candidates.find((d) => platform.variant === undefined || d.platform?.variant === platform.variant);
  const chosen = exact ?? (platform.variant === undefined ? candidates[0] : undefined);
  if (chosen === undefined) throw new NoMatchingPlatformError(`${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`);
  return chosen;
}
