/**
 * Errors the Engine API client raises: the daemon's `{"message", "code"}` answers with their
 * HTTP status and the daemon's own code, and a daemon that cannot be reached at all.
 */
import { BerthError, type ErrorKind } from '../common/index.js';

/** The error kind docker's status codes stand for (moby's errdefs mapping, reversed). */
export function kindForStatus(status: number): ErrorKind {
  switch (status) {
    case 304: return 'not-modified';
    case 400: return 'invalid-argument';
    case 403: return 'forbidden';
    case 404: return 'not-found';
    case 409: return 'conflict';
    case 501: return 'not-implemented';
    case 503: return 'unavailable';
    default: return 'internal';
  }
}

/** The code of an answer that carried none (a daemon other than berthd, or a body that is not JSON). */
export const NO_DAEMON_CODE = 'BERTH_DAEMON_ERROR';

/**
 * An error answer from the daemon. `message` is docker's `message` field verbatim; `code` is
 * the daemon's own (`BERTH_NO_SUCH_CONTAINER`...), or NO_DAEMON_CODE when it sent none.
 */
export class ApiError extends BerthError {
  readonly status: number;
  constructor(status: number, message: string, code: string = NO_DAEMON_CODE) {
    super(kindForStatus(status), code, message);
    this.status = status;
  }
}

/** The daemon's socket is missing or refuses connections; the message is docker's wording adapted to Berth. */
export class DaemonUnreachableError extends BerthError {
  constructor(host: string, options?: { cause?: unknown }) {
    super('unavailable', 'BERTH_DAEMON_UNREACHABLE', `Cannot connect to the Berth daemon at ${host}. Is the berth daemon running?`, options);
  }
}

/**
 * Build the ApiError for a failed answer from its raw body: docker's JSON `{"message"}` with
 * berthd's `"code"` when present, or the text itself when the body is not that shape.
 */
export function apiErrorFromBody(status: number, body: string): ApiError {
  let message = body.trim();
  let code: string | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) {
      const fields = parsed as { message?: unknown; code?: unknown };
      if (typeof fields.message === 'string') message = fields.message;
      if (typeof fields.code === 'string' && /^BERTH_[A-Z0-9_]+$/.test(fields.code)) code = fields.code;
    }
  } catch {
    // Not JSON: keep the text.
  }
  if (message === '') message = `request failed with status ${status}`;
  return new ApiError(status, message, code);
}
