/**
 * One connection to the Engine API over berthd's unix socket, always speaking /v1.51/: raw
 * requests, JSON calls that reject with ApiError, and the hijack the attach calls use. The
 * calls of each resource (client/*-calls.ts) are layered on it to make EngineClient.
 */
import type { Duplex, Readable } from 'node:stream';
import { errnoOf } from '../common/index.js';
import { DaemonUnreachableError, apiErrorFromBody } from './api-error.js';
import { UnixTransport } from './unix-transport.js';

/** The API version Berth's client speaks. */
export const CLIENT_API_VERSION = '1.51';

/** docker's filter arguments: key to accepted values (OR within a key, AND across keys). */
export type Filters = Record<string, string[]>;

/** Query values; undefined entries are left out, booleans are sent as 1/0. */
export type Query = Record<string, string | number | boolean | undefined>;

/** Options of one raw request. */
export interface RequestOptions {
  query?: Query;
  /** Serialised as JSON unless a Buffer or stream. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A successful raw answer. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

/** Construction options. */
export interface EngineClientOptions {
  socketPath: string;
  /** How the user wrote the host, for error messages; defaults to unix://<socketPath>. */
  hostUrl?: string;
  apiVersion?: string;
}

/** A hijacked attach connection. */
export interface AttachConnection {
  socket: Duplex;
  /** True when the daemon frames output (no tty): demux it with demuxStream. */
  isMultiplexed: boolean;
}

/** Encode filters as the docker CLI does (`{"key":{"value":true}}`). */
export function encodeFilters(filters: Filters): string {
  const out: Record<string, Record<string, boolean>> = {};
  for (const [key, values] of Object.entries(filters)) {
    out[key] = Object.fromEntries(values.map((v) => [v, true]));
  }
  return JSON.stringify(out);
}

/** Build `?a=1&b=x` from a query, skipping undefined values. */
export function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    params.append(key, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** Filters as a query value: undefined when there are none. */
export function filtersQuery(filters: Filters | undefined): string | undefined {
  return filters && Object.keys(filters).length > 0 ? encodeFilters(filters) : undefined;
}

/** The connection the resource calls share. Call close() when done so the process can exit. */
export class ApiConnection {
  protected readonly transport: UnixTransport;
  protected readonly hostUrl: string;
  /** `/v1.51`: every versioned path starts with it. */
  protected readonly prefix: string;

  constructor(options: EngineClientOptions) {
    this.transport = new UnixTransport(options.socketPath);
    this.hostUrl = options.hostUrl ?? `unix://${options.socketPath}`;
    this.prefix = `/v${options.apiVersion ?? CLIENT_API_VERSION}`;
  }
  /** Release the connections. */
  async close(): Promise<void> {
    this.transport.close();
  }

  /** Send a request; rejects with ApiError for status >= 400 (after reading the error body). */
  async request(method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD', path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | Buffer | Readable | undefined;
    if (options.body !== undefined) {
      if (Buffer.isBuffer(options.body) || isReadable(options.body)) {
        body = options.body;
      } else {
        body = JSON.stringify(options.body);
        headers['content-type'] = 'application/json';
      }
    }
    let response;
    try {
      response = await this.transport.request({ method, path: this.prefix + path + encodeQuery(options.query), headers, body: body ?? null });
    } catch (err) {
      throw this.connectionError(err);
    }
    if (response.statusCode >= 400) {
      const text = await readAll(response.body);
      throw apiErrorFromBody(response.statusCode, text);
    }
    return { status: response.statusCode, headers: response.headers, body: response.body };
  }

  /** A request whose answer is JSON (or empty: then undefined). */
  async json<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(method, path, options);
    const text = await readAll(response.body);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** A request whose answer body is not needed. */
  async call(method: 'POST' | 'PUT' | 'DELETE', path: string, options: RequestOptions = {}): Promise<void> {
    const response = await this.request(method, path, options);
    await readAll(response.body);
  }

  /** A failure to reach the daemon as the user should see it; other errors pass through. */
  protected connectionError(err: unknown): Error {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES') return new DaemonUnreachableError(this.hostUrl, { cause: err });
    return err instanceof Error ? err : new Error(String(err));
  }

  /** `GET /_ping`: true when the daemon answers OK. */
  async ping(): Promise<boolean> {
    try {
      const response = await this.transport.request({ method: 'GET', path: '/_ping' });
      await readAll(response.body);
      return response.statusCode === 200;
    } catch (err) {
      throw this.connectionError(err);
    }
  }
}

/** The constructor a resource's calls are layered on (TypeScript's mixin pattern needs `any[]` here). */
export type ConnectionClass = new (...args: any[]) => ApiConnection;

/** Whether a request body is a stream (sent as is) rather than a value (sent as JSON). */
export function isReadable(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function';
}

/** The whole body as text. */
export async function readAll(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
