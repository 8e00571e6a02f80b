/**
 * Content digests as the OCI image spec defines them (`sha256:<64 hex>`), hashing of bytes and
 * streams, and layer chain ids.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../common/index.js';

/** A `sha256:<64 lowercase hex>` string; the only algorithm Berth stores. */
export type Digest = `sha256:${string}`;

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** A digest string that is not `sha256:<64 lowercase hex>`. */
export class InvalidDigestError extends InvalidArgumentError {
  constructor(value: string) {
    super(`invalid digest: ${JSON.stringify(value)}`, { code: 'BERTH_INVALID_DIGEST' });
  }
}

/** True when `value` is a well-formed sha256 digest. */
export function isDigest(value: string): value is Digest {
  return SHA256_DIGEST.test(value);
}

/** Returns `value` typed as a Digest, or throws InvalidDigestError. */
export function parseDigest(value: string): Digest {
  if (!isDigest(value)) throw new InvalidDigestError(value);
  return value;
}

/** The 64-hex part of a digest; throws InvalidDigestError on a malformed one. */
export function digestHex(digest: string): string {
  return parseDigest(digest).slice('sha256:'.length);
}

/** The sha256 digest of `data`. */
export function sha256Digest(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The sha256 digest and byte count of everything `source` yields; consumes it. */
export async function digestStream(source: AsyncIterable<Uint8Array | string>): Promise<{ digest: Digest; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(bytes);
    sizeBytes += bytes.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, sizeBytes };
}

/**
 * The chain ids of a layer stack given its diff ids, bottom layer first: the first chain id is
 * the first diff id; each next is sha256 of "<previous chain id> <diff id>" (OCI image spec,
 * config.md, "Layer ChainID"). Returns one chain id per layer, in the same order.
 */
export function chainIds(diffIds: readonly string[]): Digest[] {
  const out: Digest[] = [];
  for (const diffId of diffIds) {
    const parsed = parseDigest(diffId);
    const previous = out[out.length - 1];
    out.push(previous === undefined ? parsed : sha256Digest(`${previous} ${parsed}`));
  }
  return out;
}
