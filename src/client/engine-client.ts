/**
 * A typed Docker Engine API client over berthd's unix socket, always speaking /v1.51/.
 * JSON calls resolve with docker's shapes or reject with ApiError; streaming calls hand back
 * the body; attach returns the hijacked socket.
 */
import type { Duplex, Readable } from 'node:stream';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspectResponse,
  ContainerPruneResponse,
  ContainerSummary,
  ContainerTopResponse,
  ContainerWaitResponse,
  HistoryResponseItem,
  ImageDeleteResponseItem,
  ImageInspect,
  ImagePruneResponse,
  ImageSummary,
  JsonMessage,
  SystemInfo,
  SystemVersion,
  WaitCondition,
  Volume,
  VolumeCreateOptions,
  VolumeListResponse,
  VolumePruneResponse,
} from '../api/wire/index.js';
import type { CommitResponse, ContainerPathStat, FilesystemChangeItem } from '../api/wire/index.js';
import type { ContainerStatsResponse, ContainerUpdateRequest, ContainerUpdateResponse, EventMessage } from '../api/wire/index.js';
import type { Network, NetworkCreateResponse, NetworkPruneResponse } from '../api/wire/index.js';
import { errnoOf } from '../common/index.js';
import { ApiError, DaemonUnreachableError, apiErrorFromBody } from './api-error.js';
import { readJsonLines } from './json-stream.js';
import { UnixTransport, UpgradeRefusedError } from './unix-transport.js';

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

/** A wait registered with the daemon; `result` settles when the condition is met. */
export interface PendingWait {
  result: Promise<ContainerWaitResponse>;
}

/**
 * `POST /auth`'s answer. TODO(issue 7): these two docker shapes belong in api/wire/ (the lead
 * moves them); they are here because the client may only be added to in this change.
 */
export interface RegistryLoginResponse {
  Status: string;
  IdentityToken?: string;
}

/** `GET /system/df`'s answer, the fields `berth system df` reads. */
export interface SystemDataUsageResponse {
  LayersSize: number;
  Images: ImageSummary[] | null;
  Containers: Array<ContainerSummary & { SizeRw?: number; SizeRootFs?: number }> | null;
  Volumes: Array<Volume & { UsageData?: { Size: number; RefCount: number } | null }> | null;
  BuildCache: Array<{ Size: number; InUse: boolean; Shared: boolean }> | null;
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

/** The Engine API client. Call close() when done so the process can exit. */
export class EngineClient {
  private readonly transport: UnixTransport;
  private readonly hostUrl: string;
  private readonly prefix: string;

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

  private connectionError(err: unknown): Error {
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

  version(): Promise<SystemVersion> {
    return this.json('GET', '/version');
  }

  info(): Promise<SystemInfo> {
    return this.json('GET', '/info');
  }

  /** `POST /containers/create`. */
  containerCreate(body: ContainerCreateRequest, options: { name?: string; platform?: string } = {}): Promise<ContainerCreateResponse> {
    return this.json('POST', '/containers/create', { body, query: { name: options.name || undefined, platform: options.platform || undefined } });
  }

  containerInspect(id: string, options: { size?: boolean } = {}): Promise<ContainerInspectResponse> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/json`, { query: { size: options.size || undefined } });
  }

  containerList(options: { all?: boolean; limit?: number; size?: boolean; filters?: Filters } = {}): Promise<ContainerSummary[]> {
    return this.json('GET', '/containers/json', {
      query: {
        all: options.all || undefined,
        limit: options.limit !== undefined && options.limit >= 0 ? options.limit : undefined,
        size: options.size || undefined,
        filters: options.filters && Object.keys(options.filters).length > 0 ? encodeFilters(options.filters) : undefined,
      },
    });
  }

  containerStart(id: string): Promise<void> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/start`);
  }

  /** `POST /containers/{id}/stop`; `timeoutS` undefined leaves the container's own StopTimeout. */
  containerStop(id: string, options: { timeoutS?: number; signal?: string } = {}): Promise<void> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { t: options.timeoutS, signal: options.signal } });
  }

  containerRestart(id: string, options: { timeoutS?: number; signal?: string } = {}): Promise<void> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/restart`, { query: { t: options.timeoutS, signal: options.signal } });
  }

  containerKill(id: string, signal?: string): Promise<void> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal } });
  }

  containerRemove(id: string, options: { force?: boolean; volumes?: boolean; link?: boolean } = {}): Promise<void> {
    return this.call('DELETE', `/containers/${encodeURIComponent(id)}`, {
      query: { force: options.force || undefined, v: options.volumes || undefined, link: options.link || undefined },
    });
  }

  containerRename(id: string, name: string): Promise<void> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/rename`, { query: { name } });
  }

  containerTop(id: string, psArgs?: string): Promise<ContainerTopResponse> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/top`, { query: { ps_args: psArgs || undefined } });
  }

  containerPrune(filters: Filters = {}): Promise<ContainerPruneResponse> {
    return this.json('POST', '/containers/prune', { query: { filters: Object.keys(filters).length > 0 ? encodeFilters(filters) : undefined } });
  }

  /**
   * `POST /containers/{id}/wait`. Resolves once the daemon has answered the headers, which
   * it does after registering the waiter, so a start issued afterwards cannot be missed
   * (docker run waits before it starts). `result` settles with the exit status.
   */
  async containerWaitBegin(id: string, condition: WaitCondition = 'not-running'): Promise<PendingWait> {
    const response = await this.request('POST', `/containers/${encodeURIComponent(id)}/wait`, { query: { condition } });
    const result = readAll(response.body).then((text) => {
      const parsed = JSON.parse(text) as ContainerWaitResponse;
      return parsed;
    });
    // Avoid an unhandled rejection if the caller gives up before awaiting it.
    result.catch(() => {});
    return { result };
  }

  /** `POST /containers/{id}/wait` to completion. */
  async containerWait(id: string, condition: WaitCondition = 'not-running'): Promise<ContainerWaitResponse> {
    return (await this.containerWaitBegin(id, condition)).result;
  }

  /** `GET /containers/{id}/logs`: the raw body (multiplexed unless the container has a tty). */
  async containerLogs(
    id: string,
    options: { stdout?: boolean; stderr?: boolean; follow?: boolean; timestamps?: boolean; since?: string; until?: string; tail?: string; details?: boolean } = {},
  ): Promise<Readable> {
    const response = await this.request('GET', `/containers/${encodeURIComponent(id)}/logs`, {
      query: {
        stdout: options.stdout ?? true,
        stderr: options.stderr ?? true,
        follow: options.follow || undefined,
        timestamps: options.timestamps || undefined,
        since: options.since || undefined,
        until: options.until || undefined,
        tail: options.tail || undefined,
        details: options.details || undefined,
      },
    });
    return response.body;
  }

  /**
   * `POST /containers/{id}/attach` hijacked (`Upgrade: tcp`, the daemon answers 101).
   * Without a tty the output is multiplexed; write stdin to the socket and end() it for EOF.
   */
  async containerAttach(
    id: string,
    options: { stdin?: boolean; stdout?: boolean; stderr?: boolean; logs?: boolean; detachKeys?: string } = {},
  ): Promise<AttachConnection> {
    const path =
      `${this.prefix}/containers/${encodeURIComponent(id)}/attach` +
      encodeQuery({
        stream: true,
        stdin: options.stdin || undefined,
        stdout: options.stdout ?? true,
        stderr: options.stderr ?? true,
        logs: options.logs || undefined,
        detachKeys: options.detachKeys || undefined,
      });
    try {
      const { headers, socket } = await this.transport.upgrade({ method: 'POST', path, headers: { 'content-type': 'text/plain' } });
      const contentType = String(headers['content-type'] ?? '');
      // Before API 1.42 no content type was sent; the caller then decides from the container's Tty.
      return { socket, isMultiplexed: contentType !== 'application/vnd.docker.raw-stream' };
    } catch (err) {
      if (err instanceof UpgradeRefusedError) throw apiErrorFromBody(err.statusCode, err.body);
      if (errnoOf(err) !== undefined) throw this.connectionError(err);
      throw new ApiError(500, err instanceof Error ? err.message : String(err));
    }
  }

  /** `POST /containers/{id}/exec`: a new exec session's id. */
  async execCreate(
    id: string,
    body: { Cmd: string[]; Env?: string[]; WorkingDir?: string; User?: string; Tty?: boolean; AttachStdin?: boolean; AttachStdout?: boolean; AttachStderr?: boolean; Privileged?: boolean; DetachKeys?: string; ConsoleSize?: [number, number] },
  ): Promise<string> {
    const created = await this.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(id)}/exec`, { body });
    return created.Id;
  }

  /** `POST /exec/{id}/start` detached: the process runs on its own. */
  execStartDetached(execId: string, tty: boolean): Promise<void> {
    return this.call('POST', `/exec/${encodeURIComponent(execId)}/start`, { body: { Detach: true, Tty: tty } });
  }

  /** `POST /exec/{id}/start` hijacked: the process's stdio on the returned socket. */
  async execStartAttached(execId: string, options: { tty: boolean; consoleSize?: [number, number] }): Promise<AttachConnection> {
    const body = JSON.stringify({ Detach: false, Tty: options.tty, ...(options.consoleSize ? { ConsoleSize: options.consoleSize } : {}) });
    try {
      const { headers, socket } = await this.transport.upgrade({
        method: 'POST',
        path: `${this.prefix}/exec/${encodeURIComponent(execId)}/start`,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        body,
      });
      return { socket, isMultiplexed: String(headers['content-type'] ?? '') !== 'application/vnd.docker.raw-stream' && !options.tty };
    } catch (err) {
      if (err instanceof UpgradeRefusedError) throw apiErrorFromBody(err.statusCode, err.body);
      if (errnoOf(err) !== undefined) throw this.connectionError(err);
      throw err;
    }
  }

  /** `GET /exec/{id}/json`. */
  execInspect(execId: string): Promise<{ ID: string; Running: boolean; ExitCode: number | null; Pid: number; ContainerID: string }> {
    return this.json('GET', `/exec/${encodeURIComponent(execId)}/json`);
  }

  /** `POST /exec/{id}/resize`. */
  execResize(execId: string, height: number, width: number): Promise<void> {
    return this.call('POST', `/exec/${encodeURIComponent(execId)}/resize`, { query: { h: height, w: width } });
  }

  /** `POST /containers/{id}/resize`. */
  containerResize(id: string, height: number, width: number): Promise<void> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/resize`, { query: { h: height, w: width } });
  }

  imageList(options: { all?: boolean; filters?: Filters; digests?: boolean } = {}): Promise<ImageSummary[]> {
    return this.json('GET', '/images/json', {
      query: {
        all: options.all || undefined,
        digests: options.digests || undefined,
        filters: options.filters && Object.keys(options.filters).length > 0 ? encodeFilters(options.filters) : undefined,
      },
    });
  }

  imageInspect(name: string): Promise<ImageInspect> {
    return this.json('GET', `/images/${encodeURIComponent(name)}/json`);
  }

  imageHistory(name: string): Promise<HistoryResponseItem[]> {
    return this.json('GET', `/images/${encodeURIComponent(name)}/history`);
  }

  imageRemove(name: string, options: { force?: boolean; noPrune?: boolean } = {}): Promise<ImageDeleteResponseItem[]> {
    return this.json('DELETE', `/images/${encodeURIComponent(name)}`, { query: { force: options.force || undefined, noprune: options.noPrune || undefined } });
  }

  imageTag(name: string, repo: string, tag?: string): Promise<void> {
    return this.call('POST', `/images/${encodeURIComponent(name)}/tag`, { query: { repo, tag: tag || undefined } });
  }

  imagePrune(filters: Filters = {}): Promise<ImagePruneResponse> {
    return this.json('POST', '/images/prune', { query: { filters: Object.keys(filters).length > 0 ? encodeFilters(filters) : undefined } });
  }

  /** `POST /volumes/create`: the new volume, or the existing one of that name. */
  volumeCreate(body: VolumeCreateOptions): Promise<Volume> {
    return this.json('POST', '/volumes/create', { body });
  }

  /** `GET /volumes`. */
  volumeList(filters: Filters = {}): Promise<VolumeListResponse> {
    return this.json('GET', '/volumes', { query: { filters: Object.keys(filters).length > 0 ? encodeFilters(filters) : undefined } });
  }

  /** `GET /volumes/{name}`. */
  volumeInspect(name: string): Promise<Volume> {
    return this.json('GET', `/volumes/${encodeURIComponent(name)}`);
  }

  /** `DELETE /volumes/{name}?force=`. */
  volumeRemove(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.call('DELETE', `/volumes/${encodeURIComponent(name)}`, { query: { force: options.force || undefined } });
  }

  /** `POST /volumes/prune?filters=`. */
  volumePrune(filters: Filters = {}): Promise<VolumePruneResponse> {
    return this.json('POST', '/volumes/prune', { query: { filters: Object.keys(filters).length > 0 ? encodeFilters(filters) : undefined } });
  }

  /** `POST /networks/create` (body as docker's CLI sends it). */
  networkCreate(body: Record<string, unknown>): Promise<NetworkCreateResponse> {
    return this.json('POST', '/networks/create', { body });
  }

  /** `GET /networks?filters=`. */
  networkList(filters: Filters = {}): Promise<Network[]> {
    return this.json('GET', '/networks', { query: { filters: Object.keys(filters).length > 0 ? encodeFilters(filters) : undefined } });
  }

  /** `GET /networks/{id}`. */
  networkInspect(ref: string): Promise<Network> {
    return this.json('GET', `/networks/${encodeURIComponent(ref)}`);
  }

  /** `DELETE /networks/{id}`. */
  networkRemove(ref: string): Promise<void> {
    return this.call('DELETE', `/networks/${encodeURIComponent(ref)}`);
  }

  /** `POST /networks/prune?filters=`. */
  networkPrune(filters: Filters = {}): Promise<NetworkPruneResponse> {
    return this.json('POST', '/networks/prune', { query: { filters: Object.keys(filters).length > 0 ? encodeFilters(filters) : undefined } });
  }

  /** `POST /networks/{id}/connect`. */
  networkConnect(ref: string, body: { Container: string; EndpointConfig?: Record<string, unknown> }): Promise<void> {
    return this.call('POST', `/networks/${encodeURIComponent(ref)}/connect`, { body });
  }

  /** `POST /networks/{id}/disconnect`. */
  networkDisconnect(ref: string, body: { Container: string; Force?: boolean }): Promise<void> {
    return this.call('POST', `/networks/${encodeURIComponent(ref)}/disconnect`, { body });
  }

  /**
   * `POST /images/create?fromImage=&tag=`: yields the progress messages. A message with
   * errorDetail is the pull's failure; callers must check (docker reports it in-band, with 200).
   */
  async *imagePull(fromImage: string, tag: string, options: { platform?: string; registryAuth?: string } = {}): AsyncGenerator<JsonMessage> {
    const response = await this.request('POST', '/images/create', {
      query: { fromImage, tag, platform: options.platform || undefined },
      headers: options.registryAuth ? { 'x-registry-auth': options.registryAuth } : {},
    });
    yield* readJsonLines<JsonMessage>(response.body);
  }

  /**
   * `POST /images/{name}/push?tag=`: yields the progress messages; an errorDetail message is
   * the push's failure (in-band, as for pull). `registryAuth` is the X-Registry-Auth value.
   */
  async *imagePush(name: string, options: { tag?: string; registryAuth?: string } = {}): AsyncGenerator<JsonMessage> {
    const response = await this.request('POST', `/images/${encodeURIComponent(name)}/push`, {
      query: { tag: options.tag || undefined },
      // dockerd answers 400 without the header, so an anonymous push sends an empty AuthConfig as the docker CLI does.
      headers: { 'x-registry-auth': options.registryAuth || Buffer.from('{}').toString('base64url') },
    });
    yield* readJsonLines<JsonMessage>(response.body);
  }

  /** `GET /images/get?names=…`: one docker archive (a tar) of every named image. */
  async imageSave(names: readonly string[]): Promise<Readable> {
    // `names` repeats, one per image, as the docker CLI sends it.
    const query = names.map((n) => `names=${encodeURIComponent(n)}`).join('&');
    return (await this.request('GET', `/images/get?${query}`)).body;
  }

  /** `POST /images/load?quiet=`: send a docker archive or OCI layout tar; yields the progress messages. */
  async *imageLoad(archive: Readable, options: { quiet?: boolean } = {}): AsyncGenerator<JsonMessage> {
    const response = await this.request('POST', '/images/load', {
      query: { quiet: options.quiet || undefined },
      body: archive,
      headers: { 'content-type': 'application/x-tar' },
    });
    yield* readJsonLines<JsonMessage>(response.body);
  }

  /**
   * `POST /images/create?fromSrc=-`: import a root filesystem tar (plain or gzip) sent as the
   * body; yields the progress messages, the last status being the new image id.
   */
  async *imageImport(source: Readable, options: { repo?: string; tag?: string; message?: string; changes?: readonly string[]; platform?: string } = {}): AsyncGenerator<JsonMessage> {
    const query = encodeQuery({ fromSrc: '-', repo: options.repo || undefined, tag: options.tag || undefined, message: options.message || undefined, platform: options.platform || undefined });
    // `changes` repeats, one per --change, as the docker CLI sends it.
    const changes = (options.changes ?? []).map((c) => `&changes=${encodeURIComponent(c)}`).join('');
    const response = await this.request('POST', `/images/create${query}${changes}`, { body: source, headers: { 'content-type': 'application/x-tar' } });
    yield* readJsonLines<JsonMessage>(response.body);
  }

  /** `POST /auth`: check credentials against a registry; rejects with the daemon's 401 message when refused. */
  registryLogin(auth: { username: string; password: string; serverAddress: string }): Promise<RegistryLoginResponse> {
    return this.json('POST', '/auth', { body: { username: auth.username, password: auth.password, serveraddress: auth.serverAddress } });
  }

  /** `GET /system/df`. */
  systemDataUsage(): Promise<SystemDataUsageResponse> {
    return this.json('GET', '/system/df');
  }

  containerPause(id: string): Promise<void> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/pause`);
  }

  containerUnpause(id: string): Promise<void> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/unpause`);
  }

  /** `POST /containers/{id}/update`: new limits and/or restart policy. */
  containerUpdate(id: string, body: ContainerUpdateRequest): Promise<ContainerUpdateResponse> {
    return this.json('POST', `/containers/${encodeURIComponent(id)}/update`, { body });
  }

  /**
   * `GET /containers/{id}/stats`: yields one stats object a second while `stream`, else
   * exactly one. Stop iterating (or abort through `signal`) to end the stream.
   */
  async *containerStats(id: string, options: { stream: boolean; oneShot?: boolean; signal?: AbortSignal }): AsyncGenerator<ContainerStatsResponse> {
    const response = await this.request('GET', `/containers/${encodeURIComponent(id)}/stats`, {
      query: { stream: options.stream, 'one-shot': options.oneShot || undefined },
    });
    options.signal?.addEventListener('abort', () => response.body.destroy(), { once: true });
    try {
      yield* readJsonLines<ContainerStatsResponse>(response.body);
    } catch (err) {
      if (!options.signal?.aborted) throw err;
    } finally {
      response.body.destroy();
    }
  }

  /** `GET /events`: yields events until `until` passes, the daemon ends the stream, or iteration stops. */
  async *events(options: { since?: string; until?: string; filters?: Filters; signal?: AbortSignal } = {}): AsyncGenerator<EventMessage> {
    const response = await this.request('GET', '/events', {
      query: {
        since: options.since || undefined,
        until: options.until || undefined,
        filters: options.filters && Object.keys(options.filters).length > 0 ? encodeFilters(options.filters) : undefined,
      },
    });
    options.signal?.addEventListener('abort', () => response.body.destroy(), { once: true });
    try {
      yield* readJsonLines<EventMessage>(response.body);
    } catch (err) {
      if (!options.signal?.aborted) throw err;
    } finally {
      response.body.destroy();
    }
  }

  /** `HEAD /containers/{id}/archive?path=`: the stat docker's cp uses (a last symlink not followed). */
  async containerStatPath(id: string, path: string): Promise<ContainerPathStat> {
    const response = await this.request('HEAD', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } });
    response.body.resume();
    return decodePathStat(response.headers['x-docker-container-path-stat']);
  }

  /** `GET /containers/{id}/archive?path=`: the path as a tar, and its stat. */
  async containerArchiveGet(id: string, path: string): Promise<{ stat: ContainerPathStat; body: Readable }> {
    const response = await this.request('GET', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } });
    return { stat: decodePathStat(response.headers['x-docker-container-path-stat']), body: response.body };
  }

  /** `PUT /containers/{id}/archive?path=`: extract a tar into the directory `path`. */
  containerArchivePut(id: string, path: string, tar: Readable | Buffer, options: { noOverwriteDirNonDir?: boolean; copyUidGid?: boolean } = {}): Promise<void> {
    return this.call('PUT', `/containers/${encodeURIComponent(id)}/archive`, {
      query: { path, noOverwriteDirNonDir: options.noOverwriteDirNonDir ?? true, copyUIDGID: options.copyUidGid || undefined },
      body: tar,
      headers: { 'content-type': 'application/x-tar' },
    });
  }

  /** `GET /containers/{id}/changes`. */
  async containerChanges(id: string): Promise<FilesystemChangeItem[]> {
    return (await this.json<FilesystemChangeItem[] | null>('GET', `/containers/${encodeURIComponent(id)}/changes`)) ?? [];
  }

  /** `GET /containers/{id}/export`: the rootfs as a tar. */
  async containerExport(id: string): Promise<Readable> {
    return (await this.request('GET', `/containers/${encodeURIComponent(id)}/export`)).body;
  }

  /** `POST /commit`. */
  containerCommit(id: string, options: { repo?: string; tag?: string; comment?: string; author?: string; pause?: boolean; changes?: string[] } = {}): Promise<CommitResponse> {
    const query = encodeQuery({ container: id, repo: options.repo || undefined, tag: options.tag || undefined, comment: options.comment || undefined, author: options.author || undefined, pause: options.pause ?? true });
    // `changes` repeats, one per --change, as the docker CLI sends it.
    const changes = (options.changes ?? []).map((c) => `&changes=${encodeURIComponent(c)}`).join('');
    return this.json('POST', `/commit${query}${changes}`);
  }
}

function isReadable(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function';
}

async function readAll(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Decode the base64 JSON of X-Docker-Container-Path-Stat. */
export function decodePathStat(value: string | string[] | undefined): ContainerPathStat {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === '') throw new ApiError(500, 'the daemon sent no path stat');
  return JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as ContainerPathStat;
}
