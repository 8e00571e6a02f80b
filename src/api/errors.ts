/**
 * The one place that turns errors into HTTP statuses and docker's `{"message": ...}` body,
 * with Berth's stable `"code"` beside it (docker clients ignore the extra field; Berth's client
 * keeps it, and its CLI picks exit codes from it). Handlers throw; they never pick status codes.
 */
import type { ServerResponse } from 'node:http';
import { BerthError, messageOf, type ErrorKind, type Logger } from '../common/index.js';

const STATUS_OF_KIND: Record<ErrorKind, number> = {
  'not-found': 404,
  'invalid-argument': 400,
  conflict: 409,
  'already-exists': 409,
  'not-modified': 304,
  forbidden: 403,
  unavailable: 503,
  'not-implemented': 501,
  internal: 500,
};

/** The HTTP status for an error; anything that is not a BerthError is a bug and a 500. */
export function statusOf(err: unknown): number {
  return err instanceof BerthError ? STATUS_OF_KIND[err.kind] : 500;
}

/** The body of an error answer: docker's message and Berth's code (BERTH_INTERNAL for a bug). */
export function errorBodyOf(err: unknown): { message: string; code: string } {
  return { message: messageOf(err), code: err instanceof BerthError ? err.code : 'BERTH_INTERNAL' };
}

/** Send an error as docker does. A 304 has no body. */
export function sendError(res: ServerResponse, err: unknown, logger: Logger): void {
  const status = statusOf(err);
  if (!(err instanceof BerthError)) logger.error('unexpected error', { error: messageOf(err), stack: err instanceof Error ? err.stack : undefined });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (status === 304) {
    res.writeHead(304).end();
    return;
  }
  const body = JSON.stringify(errorBodyOf(err)) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
}
