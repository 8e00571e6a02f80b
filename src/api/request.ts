/**
 * The parsed request a handler sees: path parameters, docker-style query helpers and the body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { z } from 'zod';
import { InvalidArgumentError, parseFilters, type Filters } from '../common/index.js';
import { describeIssue } from './wire/index.js';

/** A hijacked connection: set when the client asked to upgrade (attach, exec start). */
export interface Hijack {
  socket: Duplex;
  /** Bytes that arrived with the request head; the body (if any) starts here. */
  head: Buffer;
}

/** The largest JSON request body the API reads (a create with every field set is a few KiB). */
export const MAX_JSON_BODY_BYTES = 8 * 1024 * 1024;

/** A JSON body over MAX_JSON_BODY_BYTES. */
export class BodyTooLargeError extends InvalidArgumentError {
  constructor(maxBytes: number) {
    super(`request body is larger than ${maxBytes / (1024 * 1024)} MiB`, { code: 'BERTH_BODY_TOO_LARGE' });
  }
}

export class ApiRequest {
  readonly raw: IncomingMessage;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly version: string;
  readonly hijack: Hijack | undefined;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;

  constructor(options: { raw: IncomingMessage; params: Record<string, string>; query: URLSearchParams; version: string; hijack: Hijack | undefined; signal: AbortSignal }) {
    this.raw = options.raw;
    this.params = options.params;
    this.query = options.query;
    this.version = options.version;
    this.hijack = options.hijack;
    this.signal = options.signal;
  }

  param(name: string): string {
    const value = this.params[name];
    if (value === undefined) throw new InvalidArgumentError(`missing path parameter ${name}`);
    return value;
  }

  /** docker's boolean query values: 1/true/True are true; absent or 0/false are false. */
  bool(name: string, fallback = false): boolean {
    const value = this.query.get(name);
    if (value === null || value === '') return fallback;
    return !['0', 'false', 'False', 'FALSE', 'no'].includes(value);
  }

  string(name: string): string | undefined {
    return this.query.get(name) ?? undefined;
  }

  int(name: string): number | undefined {
    const value = this.query.get(name);
    if (value === null || value === '') return undefined;
    const number = Number(value);
    if (!Number.isInteger(number)) throw new InvalidArgumentError(`invalid value for ${name}: ${value}`);
    return number;
  }

  /** docker's `filters` query in either JSON encoding (common/filters.ts). */
  filters(): Filters {
    return parseFilters(this.query.get('filters'));
  }

  /**
   * Read the body as JSON and validate it; an empty body is `{}`. A malformed body is a 400, and
   * so is one over MAX_JSON_BODY_BYTES: every JSON body the API takes is small, and an unbounded
   * one would be held in memory and stored.
   */
  async json<T extends z.ZodType>(schema: T): Promise<z.infer<T>> {
    const text = (await this.body(MAX_JSON_BODY_BYTES)).toString('utf8');
    let parsed: unknown = {};
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new InvalidArgumentError(`invalid JSON: ${(err as Error).message}`);
      }
    }
    const result = schema.safeParse(parsed);
    if (!result.success) throw new InvalidArgumentError(describeIssue(result.error));
    return result.data;
  }

  /** The whole body; over `maxBytes` (when given) the request is refused before more is read. */
  async body(maxBytes?: number): Promise<Buffer> {
    const declared = Number(this.raw.headers['content-length'] ?? 0);
    if (maxBytes !== undefined && declared > maxBytes) throw new BodyTooLargeError(maxBytes);
    if (this.hijack) return readHijackedBody(this.hijack, declared);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of this.raw) {
      total += (chunk as Buffer).length;
      if (maxBytes !== undefined && total > maxBytes) throw new BodyTooLargeError(maxBytes);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }
}

/**
 * On an upgraded connection Node hands the body over as raw bytes: the ones that came with
 * the head, then the socket's. Read exactly `length` bytes; what follows (stdin for exec)
 * goes back to the socket.
 */
async function readHijackedBody(hijack: Hijack, length: number): Promise<Buffer> {
  let buffer = hijack.head;
  hijack.head = Buffer.alloc(0);
  if (buffer.length < length) {
    const socket = hijack.socket;
    buffer = await new Promise<Buffer>((resolve, reject) => {
      const chunks = [buffer];
      let size = buffer.length;
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= length) {
          done();
          resolve(Buffer.concat(chunks));
        }
      };
      const onEnd = (): void => {
        done();
        reject(new InvalidArgumentError('request body ended early'));
      };
      const done = (): void => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.pause();
      };
      socket.on('data', onData);
      socket.on('end', onEnd);
    });
  }
  if (buffer.length > length) hijack.socket.unshift(buffer.subarray(length));
  return buffer.subarray(0, length);
}

/** What a handler returns: a JSON value, or nothing when it answered itself (streams, hijacks). */
export type HandlerResult = { status?: number; body: unknown } | { status: number } | undefined;

export type Handler = (req: ApiRequest, res: ServerResponse) => Promise<HandlerResult>;
