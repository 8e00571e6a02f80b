/**
 * Errors the Engine API client raises: the daemon's `{"message"}` answers with their HTTP
 * status, and a daemon that cannot be reached at all.
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

/** An error answer from the daemon. `message` is docker's `message` field verbatim. */
export class ApiError extends BerthError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(kindForStatus(status), `BERTH_API_${status}`, message);
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
 * Build the ApiError for a failed answer from its raw body: docker's JSON `{"message"}`,
 * or the text itself when the body is not that shape.
 */
export function apiErrorFromBody(status: number, body: string): ApiError {
  let message = body.trim();
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { message?: unknown }).message === 'string') {
      message = (parsed as { message: string }).message;
    }
  } catch {
    // Not JSON: keep the text.
  }
  if (message === '') message = `request failed with status ${status}`;
  return new ApiError(status, message);
}
