/** The image calls of the Engine API client: list, inspect, history, tag, remove, prune, pull, push, save, load, import, build, and registry login. */
import type { Readable } from 'node:stream';
import type { HistoryResponseItem, ImageDeleteResponseItem, ImageInspect, ImagePruneResponse, ImageSummary, JsonMessage } from '../api/wire/index.js';
import { encodeQuery, filtersQuery, type ConnectionClass, type Filters } from './api-connection.js';
import { readJsonLines } from './json-stream.js';

/**
 * `POST /auth`'s answer. TODO(issue 7): these two docker shapes belong in api/wire/ (the lead
 * moves them); they are here because the client may only be added to in this change.
 */
export interface RegistryLoginResponse {
  Status: string;
  IdentityToken?: string;
}

/** ImageCalls layered on a connection: EngineClient is made of these. */
export function withImageCalls<Base extends ConnectionClass>(Base: Base) {
  return class ImageCalls extends Base {
    imageList(options: { all?: boolean; filters?: Filters; digests?: boolean } = {}): Promise<ImageSummary[]> {
      return this.json('GET', '/images/json', {
        query: {
          all: options.all || undefined,
          digests: options.digests || undefined,
          filters: filtersQuery(options.filters),
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
      return this.json('POST', '/images/prune', { query: { filters: filtersQuery(filters) } });
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

    /**
     * `POST /build` (the classic builder): send the context tar; yields the progress messages.
     * `query` holds docker's parameters; arrays repeat the parameter (`t`, `extrahosts`).
     */
    async *imageBuild(context: Readable, query: Record<string, string | string[] | undefined>): AsyncGenerator<JsonMessage> {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value === undefined) continue;
        for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
      }
      const response = await this.request('POST', `/build?${params.toString()}`, { body: context, headers: { 'content-type': 'application/x-tar' } });
      yield* readJsonLines<JsonMessage>(response.body);
    }

    /** `POST /auth`: check credentials against a registry; rejects with the daemon's 401 message when refused. */
    registryLogin(auth: { username: string; password: string; serverAddress: string }): Promise<RegistryLoginResponse> {
      return this.json('POST', '/auth', { body: { username: auth.username, password: auth.password, serveraddress: auth.serverAddress } });
    }
  };
}
