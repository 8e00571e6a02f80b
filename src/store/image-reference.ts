/**
 * Docker image references (`busybox`, `busybox:1.36`, `127.0.0.1:5000/a/b:1`, `name@sha256:...`):
 * parsing with the grammar of the distribution project's reference package, normalisation to the
 * full form (`docker.io/library/busybox:latest`) that Berth stores, and the familiar form
 * (`busybox:latest`) that users see.
 */
import { InvalidArgumentError } from '../common/index.js';
import { type Digest, isDigest } from '../oci/index.js';

/** The registry short names resolve to. */
export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
/** The tag a reference without tag or digest means. */
export const DEFAULT_TAG = 'latest';
const NAME_MAX_LENGTH = 255;

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const REMAINDER_RE = new RegExp(`^(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const HEX_ID_RE = /^[a-f0-9]{64}$/;

/** A reference docker would refuse, with docker's wording. */
export class InvalidReferenceError extends InvalidArgumentError {
  constructor(message: string) {
    super(message, { code: 'BERTH_INVALID_REFERENCE' });
  }
}

/** A parsed, normalised reference. `tag` and `digest` are both optional; see withDefaultTag. */
export interface ImageReference {
  /** Registry host with optional port, `docker.io` for short names. */
  domain: string;
  /** Repository path inside the registry, `library/busybox` for official images. */
  path: string;
  tag?: string;
  digest?: Digest;
}

/**
 * Parse user input into a normalised reference, as docker's ParseNormalizedNamed does.
 * Throws InvalidReferenceError (`invalid reference format`...) for anything docker rejects.
 * Digests must be sha256, the only algorithm Berth stores.
 */
export function parseImageReference(input: string): ImageReference {
  if (HEX_ID_RE.test(input)) {
    throw new InvalidReferenceError(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDomain(input);
  const tagSep = remainder.indexOf(':');
  const remoteName = tagSep >= 0 ? remainder.slice(0, tagSep) : remainder;
  if (remoteName.toLowerCase() !== remoteName) {
    throw new InvalidReferenceError(`invalid reference format: repository name (${remoteName}) must be lowercase`);
  }
  if (input === '') throw new InvalidReferenceError('invalid reference format');
  const match = REMAINDER_RE.exec(remainder);
  if (!DOMAIN_RE.test(domain) || match === null) throw new InvalidReferenceError('invalid reference format');
  const path = match[1]!;
  if (domain.length + 1 + path.length > NAME_MAX_LENGTH) {
    throw new InvalidReferenceError(`invalid reference format: repository name must not be more than ${NAME_MAX_LENGTH} characters`);
  }
  const reference: ImageReference = { domain, path };
  if (match[2] !== undefined) reference.tag = match[2];
  if (match[3] !== undefined) {
    if (!isDigest(match[3])) throw new InvalidReferenceError(`invalid reference format: unsupported digest ${match[3]}`);
    reference.digest = match[3];
  }
  return reference;
}

// docker's splitDockerDomain: the first component is a registry only if it looks like a host.
function splitDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/** True when `tag` is a valid tag (`[\w][\w.-]{0,127}`). */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** The reference with `latest` added when it has neither tag nor digest (docker's TagNameOnly). */
export function withDefaultTag(reference: ImageReference): ImageReference {
  if (reference.tag !== undefined || reference.digest !== undefined) return reference;
  return { ...reference, tag: DEFAULT_TAG };
}

/** The full repository name: `docker.io/library/busybox`. */
export function referenceName(reference: ImageReference): string {
  return `${reference.domain}/${reference.path}`;
}

/** The full reference string: `docker.io/library/busybox:latest`, `host/a@sha256:...`. */
export function referenceString(reference: ImageReference): string {
  return `${referenceName(reference)}${suffix(reference)}`;
}

/** The repository name as users write it: `busybox`, `me/app`, `127.0.0.1:5000/a/b`. */
export function familiarName(reference: ImageReference): string {
  if (reference.domain !== DEFAULT_DOMAIN) return referenceName(reference);
  return reference.path.startsWith(OFFICIAL_REPO_PREFIX) ? reference.path.slice(OFFICIAL_REPO_PREFIX.length) : reference.path;
}

/** The reference as users write it: `busybox:latest`, `me/app@sha256:...`. */
export function familiarString(reference: ImageReference): string {
  return `${familiarName(reference)}${suffix(reference)}`;
}

function suffix(reference: ImageReference): string {
  return `${reference.tag === undefined ? '' : `:${reference.tag}`}${reference.digest === undefined ? '' : `@${reference.digest}`}`;
}
