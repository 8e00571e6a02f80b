/**
 * A client of one repository on a registry speaking the distribution spec v2: manifests by tag
 * or digest, blobs (download as a stream, existence checks, cross-repository mounts, monolithic
 * uploads), and login checks. It answers auth challenges itself: Basic with the user's
 * credentials, Bearer by fetching a token from the challenge's realm (with the credentials, if
 * any) for the scope it needs, cached per scope. `localhost` and 127.0.0.0/8 registries, and
 * those the daemon lists as insecure, speak plain HTTP; the rest HTTPS.
 */
import { request as httpRequest, type IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { errnoOf, messageOf } from '../../common/index.js';
import { DEFAULT_DOMAIN } from '../../store/index.js';
import { type AuthChallenge, type RegistryCredentials, parseAuthChallenges } from './registry-auth.js';
import { DefaultRegistryDisabledError, RegistryResponseError, RegistryUnauthorizedError, RegistryUnreachableError } from './registry-errors.js';

/** How the daemon lets registries be reached. */
export interface RegistryOptions {
  /** Hosts (`host:port` or `host`) or CIDRs spoken to over plain HTTP besides localhost and 127.0.0.0/8. */
  insecureRegistries?: readonly string[];
  /** Refuse docker.io at once, without a DNS lookup (tests, air-gapped hosts). */
  isDefaultRegistryDisabled?: boolean;
  /** Per-request inactivity timeout; a registry that stops sending fails the transfer. */
  idleTimeoutMs?: number;
}

/** What one request returns: status, headers and the body not yet read. */
export interface RegistryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/** Options of one request. */
interface RequestSpec {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path under the registry (`/v2/...`) or an absolute URL (upload locations). */
  url: string;
  headers?: Record<string, string | number>;
  /** Bytes, or a function making a fresh stream (a retry after an auth challenge needs a new one). */
  body?: Uint8Array | (() => Promise<Readable>);
  /** The token scope actions this request needs: `pull` or `pull,push`. */
  actions: string;
}

const DOCKER_HUB_HOST = 'registry-1.docker.io';
const MAX_REDIRECTS = 5;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** The registry host a reference's domain is served from (docker.io is registry-1.docker.io). */
export function registryHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? DOCKER_HUB_HOST : domain;
}

/** True when `domain` is spoken to over plain HTTP: localhost, 127.0.0.0/8, ::1, or listed insecure. */
export function isInsecureRegistry(domain: string, insecure: readonly string[] = []): boolean {
  const host = hostOf(domain);
  if (host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1') return true;
  return insecure.some((entry) => entry === domain || entry === host || (entry.includes('/') && inCidr(host, entry)));
}

function hostOf(domain: string): string {
  if (domain.startsWith('[')) return domain.slice(1, domain.indexOf(']'));
  const colon = domain.lastIndexOf(':');
  return colon >= 0 ? domain.slice(0, colon) : domain;
}

function inCidr(host: string, cidr: string): boolean {
  const [base = '', bitsText = ''] = cidr.split('/');
  const toInt = (ip: string): number | undefined => {
    const parts = ip.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
    return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  };
  const a = toInt(host);
  const b = toInt(base);
  const bits = Number(bitsText);
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (a & mask) === (b & mask);
}

/** A session with one repository (`path`) on one registry (`domain`), holding its tokens. */
export class RegistryClient {
  readonly domain: string;
  readonly path: string;
  readonly #credentials: RegistryCredentials;
  readonly #baseUrl: string;
  readonly #idleTimeoutMs: number;
  /** Authorization header values by scope actions, learnt from challenges. */
  readonly #authorization = new Map<string, string>();
  /** The identity token a bearer login produced, if the token server issued one. */
  identityToken: string | undefined;

  constructor(domain: string, path: string, credentials: RegistryCredentials, options: RegistryOptions = {}) {
    if (domain === DEFAULT_DOMAIN && options.isDefaultRegistryDisabled === true) throw new DefaultRegistryDisabledError(`${domain}/${path}`);
    this.domain = domain;
    this.path = path;
    this.#credentials = credentials;
    const scheme = isInsecureRegistry(domain, options.insecureRegistries) ? 'http' : 'https';
    this.#baseUrl = `${scheme}://${registryHost(domain)}`;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /** The registry's base URL (`http://127.0.0.1:5000`), for messages. */
  get baseUrl(): string {
    return this.#baseUrl;
  }

  /**
   * Send a request, answering one auth challenge and following redirects (dropping our
   * Authorization when a redirect leaves the registry's host, as blob storage redirects do).
   * The caller must consume or destroy the body.
   */
  async send(spec: RequestSpec): Promise<RegistryResponse> {
    let response = await this.#sendOnce(spec, this.#authorization.get(spec.actions));
    if (response.status === 401) {
      const challenges = parseAuthChallenges(response.headers['www-authenticate']);
      response.body.resume();
      const authorization = await this.#answer(challenges, spec.actions);
      if (authorization === undefined) throw this.#unauthorized(response);
      this.#authorization.set(spec.actions, authorization);
      response = await this.#sendOnce(spec, authorization);
      if (response.status === 401) {
        response.body.resume();
        throw this.#unauthorized(response);
      }
    }
    return response;
  }

  /** Check that the registry answers `/v2/` and accepts the credentials (docker login). */
  async checkLogin(): Promise<void> {
    let response = await this.#sendOnce({ method: 'GET', url: '/v2/', actions: '' }, undefined);
    response.body.resume();
    if (response.status === 401) {
      const challenges = parseAuthChallenges(response.headers['www-authenticate']);
      const authorization = await this.#answer(challenges, '');
      if (authorization === undefined) throw new RegistryUnauthorizedError(`login attempt to ${this.#baseUrl}/v2/ failed with status: 401 Unauthorized`);
      response = await this.#sendOnce({ method: 'GET', url: '/v2/', actions: '' }, authorization);
      response.body.resume();
    }
    if (response.status === 401) throw new RegistryUnauthorizedError(`login attempt to ${this.#baseUrl}/v2/ failed with status: 401 Unauthorized`);
    if (response.status >= 400) throw new RegistryResponseError(`login attempt to ${this.#baseUrl}/v2/ failed with status: ${response.status}`, response.status);
  }

  #unauthorized(response: RegistryResponse): RegistryUnauthorizedError {
    void response;
    return new RegistryUnauthorizedError('unauthorized: authentication required');
  }

  // Basic: the user's credentials. Bearer: a token from the realm for this repository's scope.
  async #answer(challenges: AuthChallenge[], actions: string): Promise<string | undefined> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer !== undefined) {
      return `Bearer ${await this.#fetchToken(bearer, actions)}`;
    }
    if (basic !== undefined && this.#credentials.username !== undefined) {
      return `Basic ${Buffer.from(`${this.#credentials.username}:${this.#credentials.password ?? ''}`).toString('base64')}`;
    }
    return undefined;
  }

  async #fetchToken(challenge: AuthChallenge, actions: string): Promise<string> {
    if (this.#credentials.registryToken !== undefined) return this.#credentials.registryToken;
    const realm = challenge.params['realm'];
    if (realm === undefined) throw new RegistryUnauthorizedError('the registry asked for a bearer token without naming a realm');
    const url = new URL(realm);
    if (challenge.params['service'] !== undefined) url.searchParams.set('service', challenge.params['service']);
    if (actions !== '') url.searchParams.set('scope', `repository:${this.path}:${actions}`);
    const headers: Record<string, string> = {};
    if (this.#credentials.username !== undefined) {
      headers['Authorization'] = `Basic ${Buffer.from(`${this.#credentials.username}:${this.#credentials.password ?? ''}`).toString('base64')}`;
      url.searchParams.set('account', this.#credentials.username);
    }
    const response = await rawRequest({ method: 'GET', url: url.toString(), headers, idleTimeoutMs: this.#idleTimeoutMs });
    const text = await readText(response.body, 1 << 20);
    if (response.status === 401 || response.status === 403) throw new RegistryUnauthorizedError(`unauthorized: the token server at ${url.origin} refused the credentials`);
    if (response.status >= 400) throw new RegistryResponseError(`the token server at ${url.origin} answered ${response.status}`, response.status);
    let parsed: { token?: string; access_token?: string; refresh_token?: string };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new RegistryResponseError(`the token server at ${url.origin} sent no JSON`, response.status);
    }
    const token = parsed.token ?? parsed.access_token;
    if (token === undefined || token === '') throw new RegistryResponseError(`the token server at ${url.origin} sent no token`, response.status);
    if (parsed.refresh_token !== undefined) this.identityToken = parsed.refresh_token;
    return token;
  }

  async #sendOnce(spec: RequestSpec, authorization: string | undefined): Promise<RegistryResponse> {
    let url = spec.url.startsWith('/') ? `${this.#baseUrl}${spec.url}` : spec.url;
    const origin = new URL(this.#baseUrl).host;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string | number> = { ...spec.headers };
      if (authorization !== undefined && new URL(url).host === origin) headers['Authorization'] = authorization;
      const body = spec.body === undefined ? undefined : spec.body instanceof Uint8Array ? spec.body : await spec.body();
      const response = await rawRequest({ method: spec.method, url, headers, idleTimeoutMs: this.#idleTimeoutMs, ...(body !== undefined ? { body } : {}) });
      const location = response.headers.location;
      if ((spec.method === 'GET' || spec.method === 'HEAD') && [301, 302, 303, 307, 308].includes(response.status) && location !== undefined && hop < MAX_REDIRECTS) {
        response.body.resume();
        url = new URL(location, url).toString();
        continue;
      }
      return response;
    }
  }
}

/** One HTTP(S) request with an inactivity timeout; connection failures become RegistryUnreachableError. */
function rawRequest(options: { method: string; url: string; headers: Record<string, string | number>; body?: Uint8Array | Readable; idleTimeoutMs: number }): Promise<RegistryResponse> {
  const url = new URL(options.url);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: options.method, headers: { 'User-Agent': 'berth', ...options.headers } }, (res) => {
      res.setTimeout(options.idleTimeoutMs, () => res.destroy(new RegistryUnreachableError(`${options.method} ${url.origin}${url.pathname}: no data for ${options.idleTimeoutMs} ms`)));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    req.setTimeout(options.idleTimeoutMs, () => req.destroy(new Error(`no answer for ${options.idleTimeoutMs} ms`)));
    req.on('error', (err) => reject(err instanceof RegistryUnreachableError ? err : new RegistryUnreachableError(`${goMethod(options.method)} "${url.origin}${url.pathname}": ${describeNetError(err, url)}`, { cause: err })));
    if (options.body === undefined) req.end();
    else if (options.body instanceof Uint8Array) req.end(options.body);
    else {
      options.body.on('error', (err) => req.destroy(err));
      options.body.pipe(req);
    }
  });
}

// Go's spelling, which docker's messages use: `Get "http://...": dial tcp ...: connect: connection refused`.
function goMethod(method: string): string {
  return method.charAt(0) + method.slice(1).toLowerCase();
}

function describeNetError(err: unknown, url: URL): string {
  const code = errnoOf(err);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (code === 'ECONNREFUSED') return `dial tcp ${url.hostname}:${port}: connect: connection refused`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `dial tcp: lookup ${url.hostname}: no such host`;
  return messageOf(err);
}

/** Read a whole (small) body as text, refusing more than `limitBytes`. */
export async function readText(body: Readable, limitBytes: number): Promise<string> {
  return (await readBytes(body, limitBytes)).toString('utf8');
}

/** Read a whole (small) body, refusing more than `limitBytes`. */
export async function readBytes(body: Readable, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    total += bytes.length;
    if (total > limitBytes) {
      body.destroy();
      throw new RegistryResponseError(`response larger than ${limitBytes} bytes`, 0);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

/** The registry's error message from a distribution-spec error body, or the status line. */
export async function registryErrorMessage(response: RegistryResponse): Promise<string> {
  const text = await readText(response.body, 1 << 16).catch(() => '');
  try {
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const first = parsed.errors?.[0];
    if (first !== undefined) return `${(first.code ?? 'error').toLowerCase().replace(/_/g, ' ')}: ${first.message ?? ''}`.trim();
  } catch {
    // Not JSON: fall back to the status.
  }
  return `${response.status} ${response.body.statusMessage ?? ''}`.trim();
}
