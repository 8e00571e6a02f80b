/**
 * API versions: which `/v1.NN` prefixes Berth serves, and moby's wording when a client asks
 * for one outside that range.
 */
import { BerthError } from '../common/index.js';

export const MIN_API_VERSION = '1.24';
export const MAX_API_VERSION = '1.52';

/** Compare two `1.NN` versions. */
export function compareApiVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

export class ApiVersionError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_API_VERSION', message);
  }
}

/** Split `/v1.44/containers/json` into its version and the path after it; no prefix means the newest version. */
export function splitVersion(path: string): { version: string; path: string } {
  const match = /^\/v(\d+\.\d+)(\/.*)?$/.exec(path);
  if (!match) return { version: MAX_API_VERSION, path };
  const version = match[1]!;
  if (compareApiVersions(version, MIN_API_VERSION) < 0) {
    throw new ApiVersionError(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  if (compareApiVersions(version, MAX_API_VERSION) > 0) {
    throw new ApiVersionError(`client version ${version} is too new. Maximum supported API version is ${MAX_API_VERSION}`);
  }
  return { version, path: match[2] ?? '/' };
}
