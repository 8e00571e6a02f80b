/**
 * How a failure reaches a CRI client: a gRPC status code chosen from the error's kind (as
 * api/errors.ts chooses docker's HTTP status), and the one-line message with Berth's code.
 */
import { BerthError, messageOf, type ErrorKind } from '../common/index.js';

/** gRPC's status codes (fixed by the gRPC protocol), the ones Berth answers with. */
export const GrpcStatus = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

const STATUS_OF_KIND: Record<ErrorKind, number> = {
  'not-found': GrpcStatus.NOT_FOUND,
  'invalid-argument': GrpcStatus.INVALID_ARGUMENT,
  conflict: GrpcStatus.FAILED_PRECONDITION,
  'already-exists': GrpcStatus.ALREADY_EXISTS,
  'not-modified': GrpcStatus.FAILED_PRECONDITION,
  forbidden: GrpcStatus.PERMISSION_DENIED,
  unavailable: GrpcStatus.UNAVAILABLE,
  'not-implemented': GrpcStatus.UNIMPLEMENTED,
  internal: GrpcStatus.INTERNAL,
};

/** A CRI field Berth does not support: UNIMPLEMENTED, naming the field. */
export class CriUnsupportedError extends BerthError {
  constructor(field: string, why: string) {
    super('not-implemented', 'BERTH_CRI_UNSUPPORTED', `${field}: ${why}`);
  }
}

/** A CRI request that cannot be served as given: INVALID_ARGUMENT, naming the field. */
export class CriInvalidError extends BerthError {
  constructor(field: string, why: string) {
    super('invalid-argument', 'BERTH_CRI_INVALID', `${field}: ${why}`);
  }
}

/** No pod sandbox by that id. */
export class NoSuchSandboxError extends BerthError {
  constructor(id: string) {
    super('not-found', 'BERTH_CRI_NO_SUCH_SANDBOX', `pod sandbox ${JSON.stringify(id)} not found`);
  }
}

/** An ExecSync whose command outlived its timeout (it was killed): DEADLINE_EXCEEDED. */
export class CriTimeoutError extends BerthError {
  constructor(message: string) {
    super('unavailable', 'BERTH_CRI_TIMEOUT', message);
  }
}

/** The gRPC status a thrown value becomes; errors that are not Berth's are INTERNAL. */
export function grpcStatusOf(err: unknown): number {
  if (err instanceof CriTimeoutError) return GrpcStatus.DEADLINE_EXCEEDED;
  return err instanceof BerthError ? STATUS_OF_KIND[err.kind] : GrpcStatus.INTERNAL;
}

/** What a failed call answers: the status, the message, and Berth's code (sent as the `berth-code` trailer). */
export function failureOf(err: unknown): { code: number; details: string; berthCode: string | undefined } {
  return { code: grpcStatusOf(err), details: messageOf(err), berthCode: err instanceof BerthError ? err.code : undefined };
}
