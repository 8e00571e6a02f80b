/** The container calls of the Engine API client: lifecycle, wait, logs, attach, stats, update, archive (cp), commit. */
import type { Readable } from 'node:stream';
import type { CommitResponse, ContainerCreateRequest, ContainerCreateResponse, ContainerInspectResponse, ContainerPathStat, ContainerPruneResponse, ContainerStatsResponse, ContainerSummary, ContainerTopResponse, ContainerUpdateRequest, ContainerUpdateResponse, ContainerWaitResponse, FilesystemChangeItem, WaitCondition } from '../api/wire/index.js';
import { errnoOf } from '../common/index.js';
import { ApiError, apiErrorFromBody } from './api-error.js';
import { UpgradeRefusedError } from './unix-transport.js';
import { readAll, encodeQuery, filtersQuery, type ConnectionClass, type Filters, type AttachConnection } from './api-connection.js';
import { readJsonLines } from './json-stream.js';

/** A wait registered with the daemon; `result` settles when the condition is met. */
export interface PendingWait {
  result: Promise<ContainerWaitResponse>;
}

/** ContainerCalls layered on a connection: EngineClient is made of these. */
export function withContainerCalls<Base extends ConnectionClass>(Base: Base) {
  return class ContainerCalls extends Base {
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
          filters: filtersQuery(options.filters),
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
      return this.json('POST', '/containers/prune', { query: { filters: filtersQuery(filters) } });
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

    /** `POST /containers/{id}/resize`. */
    containerResize(id: string, height: number, width: number): Promise<void> {
      return this.call('POST', `/containers/${encodeURIComponent(id)}/resize`, { query: { h: height, w: width } });
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
  };
}

/** Decode the base64 JSON of X-Docker-Container-Path-Stat. */
export function decodePathStat(value: string | string[] | undefined): ContainerPathStat {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === '') throw new ApiError(500, 'the daemon sent no path stat');
  return JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as ContainerPathStat;
}
