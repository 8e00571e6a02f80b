/**
 * One error hierarchy for all of Berth. Each error carries a kind (which decides the
 * HTTP status in api/errors.ts and the CLI exit code in cli/exit.ts), a stable code and
 * a one-line message. Domains declare small subclasses beside the code that throws them.
 */

/** The kinds follow moby's mapping from error class to HTTP status. */
export type ErrorKind =
  | 'not-found'
  | 'invalid-argument'
  | 'conflict'
  | 'already-exists'
  | 'not-modified'
  | 'forbidden'
  | 'unavailable'
  | 'not-implemented'
  | 'internal';

export interface BerthErrorOptions {
  cause?: unknown;
}

/** The base of every expected failure. A plain Error reaching the API is a bug. */
export class BerthError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;

  constructor(kind: ErrorKind, code: string, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.code = code;
  }
}

export class NotFoundError extends BerthError {
  constructor(code: string, message: string, options?: BerthErrorOptions) {
    super('not-found', code, message, options);
  }
}

export class InvalidArgumentError extends BerthError {
  constructor(message: string, options?: BerthErrorOptions & { code?: string }) {
    super('invalid-argument', options?.code ?? 'BERTH_INVALID_ARGUMENT', message, options);
  }
}

export class ConflictError extends BerthError {
  constructor(code: string, message: string, options?: BerthErrorOptions) {
    super('conflict', code, message, options);
  }
}

export class NotImplementedError extends BerthError {
  constructor(message: string, options?: BerthErrorOptions) {
    super('not-implemented', 'BERTH_NOT_IMPLEMENTED', message, options);
  }
}

export class InternalError extends BerthError {
  constructor(message: string, options?: BerthErrorOptions) {
    super('internal', 'BERTH_INTERNAL', message, options);
  }
}

/** True when `err` is a Berth error of the given kind. */
export function isErrorKind(err: unknown, kind: ErrorKind): err is BerthError {
  return err instanceof BerthError && err.kind === kind;
}

/** The message of any thrown value, for logs and for wrapping foreign errors. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The errno code (`ENOENT`, ...) of a Node system error, if it is one. */
export function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Content that does not fit on the disk Berth stores it on (a blob, an unpacked layer). A client
 * can cause it (a gzip bomb), so it is the request's error, and nothing partial is kept.
 */
export class NoSpaceError extends BerthError {
  constructor(message: string, options?: BerthErrorOptions) {
    super('invalid-argument', 'BERTH_NO_SPACE', message, options);
  }
}
