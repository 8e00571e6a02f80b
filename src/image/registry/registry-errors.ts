/**
 * Errors of talking to a registry, with docker's wording where docker has one.
 */
import { BerthError, NotFoundError } from '../../common/index.js';

/** The registry could not be reached, or the connection broke (a registry that died mid-pull). */
export class RegistryUnreachableError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', 'BERTH_REGISTRY_UNREACHABLE', message, options);
  }
}

/** The registry refused our credentials, or wants some we do not have. */
export class RegistryUnauthorizedError extends BerthError {
  constructor(message: string) {
    super('forbidden', 'BERTH_REGISTRY_UNAUTHORIZED', message);
  }
}

/** The registry answered with an error status we do not map more precisely. */
export class RegistryResponseError extends BerthError {
  readonly statusCode: number;
  constructor(message: string, statusCode: number) {
    super('internal', 'BERTH_REGISTRY_ERROR', message);
    this.statusCode = statusCode;
  }
}

/** The tag or digest is not in the repository (docker's "manifest for X not found"). */
export class ManifestUnknownError extends NotFoundError {
  constructor(ref: string) {
    super('BERTH_MANIFEST_UNKNOWN', `manifest for ${ref} not found: manifest unknown: manifest unknown`);
  }
}

/** The registry sent a manifest, index or config that is not valid JSON of the expected shape. */
export class MalformedManifestError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_MALFORMED_MANIFEST', `malformed manifest: ${message}`);
  }
}

/** A download ended before (or ran past) the size its descriptor declared. */
export class BlobSizeError extends BerthError {
  constructor(digest: string, expectedBytes: number, actualBytes: number) {
    super('invalid-argument', 'BERTH_BLOB_SIZE_MISMATCH',
      actualBytes < expectedBytes
        ? `unexpected EOF: blob ${digest} ended after ${actualBytes} of ${expectedBytes} bytes`
        : `blob ${digest} is larger than the ${expectedBytes} bytes its descriptor declares`);
  }
}

/** Pulling from docker.io (or any short name) while the daemon runs with --no-default-registry. */
export class DefaultRegistryDisabledError extends BerthError {
  constructor(ref: string) {
    super('forbidden', 'BERTH_DEFAULT_REGISTRY_DISABLED', `the default registry (docker.io) is switched off on this daemon (--no-default-registry): cannot reach ${ref}`);
  }
}

/** No manifest of the index matches the platform we run on (or was asked for). */
export class NoMatchingPlatformError extends NotFoundError {
  constructor(platform: string) {
    super('BERTH_NO_MATCHING_PLATFORM', `no matching manifest for ${platform} in the manifest list entries`);
  }
}
