/**
 * The classic builder (what `docker build` runs without BuildKit): a parsed Dockerfile executed
 * step by step against the engine. A RUN step runs in a temporary container through the normal
 * runtime (so `--isolation` applies to it as to any container), and its change is the
 * container's overlay upper dir packed as a layer (deletions as whiteouts). COPY and ADD write
 * through a temporary container's mounted rootfs, so directories of lower layers are copied
 * up as overlay does it. Steps that only change the config commit a new image with an
 * `empty_layer` history entry. Each step's image is a real image whose parent is the previous
 * step's, as docker keeps them.
 */
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { BerthError, InvalidArgumentError, crashPoint, messageOf } from '../common/index.js';
import {
  archiveContainerPath, EMPTY_LAYER_DIFF_ID, extractToContainer, isRuntimePlaceholder, statContainerPath,
  newCreateInput, type ArchiveDeps, type CreateContainerInput, type Engine,
} from '../engine/index.js';
import { MediaType, type HistoryEntry, type ImageConfig, type ImageRuntimeConfig } from '../oci/index.js';
import { decompressed, packOverlayDiff, RootedDir, TarWriter } from '../snapshot/index.js';
import { familiarString, parseImageReference, withDefaultTag } from '../store/index.js';
import { resolveChown } from '../runtime/spec/index.js';
import type { BuildContext } from './build-context.js';
import { BuildStepError, type BuildOptions, type BuildOutput } from './build-options.js';
import { CopyFailedError, madeDirStats, matchSources, packSources, sourcesChecksum, type CopySource, type InlineSource } from './copy-sources.js';
import { chompHeredoc, heredocRunCommand, heredocWord } from './heredocs.js';
import { BuildCache, cacheKey, type CacheKeyParts } from './build-cache.js';
import { CacheFromSources, type CacheFromMatch } from './cache-from.js';
import { renameTar } from './rename-tar.js';
import { readImageFile } from './image-files.js';
import { parseDockerfile, type DockerfileInstruction, type DockerfileStage, type ParsedDockerfile } from './dockerfile.js';
import { envMap, expandHeredocBody, processWord, processWords, rawWords, type WordEnv } from './shell-words.js';

/** Build args every Dockerfile may use without declaring them (docker's builtinAllowedBuildArgs). */
const PREDEFINED_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

const DEFAULT_SHELL = ['/bin/sh', '-c'];

interface LayerRef {
  blobDigest: `sha256:${string}`;
  mediaType: string;
}

/** Where one stage is: its current image (undefined for FROM scratch before any step) and config. */
interface StageState {
  name: string | undefined;
  imageId: string | undefined;
  image: ImageConfig;
  layers: LayerRef[];
  run: ImageRuntimeConfig;
  /** ARGs declared in this stage, with their values (undefined: declared without one). */
  args: Map<string, string | undefined>;
  /** Whether this stage set CMD (an ENTRYPOINT then keeps it; else it clears the base's). */
  isCmdSet: boolean;
}

/** A Dockerfile checked before any output: what the API handler parses first (a 400 on failure). */
export interface PreparedBuild {
  dockerfile: ParsedDockerfile;
  stages: DockerfileStage[];
  totalSteps: number;
}

/** Parse and check a build's Dockerfile against its options (target, tags) before anything runs. */
export function prepareBuild(text: string, options: BuildOptions): PreparedBuild {
  for (const tag of options.tags) parseImageReference(tag);
  if (options.platform !== '' && !isAmd64(options.platform)) {
    throw new InvalidArgumentError(`platform ${options.platform} is not supported: this daemon builds linux/amd64 only`);
  }
  const dockerfile = parseDockerfile(text);
  let stages = dockerfile.stages;
  if (options.target !== '') {
    const index = stages.findIndex((s) => s.name === options.target.toLowerCase());
    if (index < 0) throw new InvalidArgumentError(`target stage ${JSON.stringify(options.target)} could not be found`);
    stages = stages.slice(0, index + 1);
  }
  const labels = Object.keys(options.labels).sort();
  if (labels.length > 0 && stages.length > 0) {
    const last = stages.at(-1)!;
    stages = [...stages.slice(0, -1), {
      ...last,
      instructions: [...last.instructions, ...labels.map((key) => labelInstruction(key, options.labels[key]!))],
    }];
  }
  const totalSteps = dockerfile.metaArgs.length + stages.reduce((sum, s) => sum + 1 + s.instructions.length, 0);
  return { dockerfile, stages, totalSteps };
}

function labelInstruction(key: string, value: string): DockerfileInstruction {
  const args = `${JSON.stringify(key)}=${JSON.stringify(value)}`;
  return { keyword: 'LABEL', original: `LABEL ${args}`, line: 0, flags: {}, args, json: undefined, heredocs: [] };
}

function isAmd64(platform: string): boolean {
  return ['linux/amd64', 'linux/x86_64', 'linux', 'amd64'].includes(platform.toLowerCase());
}

const shortId = (id: string | undefined): string => (id ?? '').replace(/^sha256:/, '').slice(0, 12);

/** Go's %q of a string list, as docker writes CMD and ENTRYPOINT into history. */
const goQuoted = (list: readonly string[]): string => `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;

/** Runs builds against one engine. */
export class Builder {
  readonly #engine: Engine;
  readonly #deps: ArchiveDeps;
  readonly #cache: BuildCache;
  readonly #scratchDir: string;

  /** `stateDir`: where the cache index and here-documents' scratch files live (a folder of the daemon's root). */
  constructor(engine: Engine, stateDir: string) {
    this.#engine = engine;
    this.#deps = { containers: engine.containers, images: engine.images };
    this.#cache = new BuildCache(stateDir);
    this.#scratchDir = join(stateDir, 'heredocs');
  }

  /** Run a prepared build; returns the final image id. Throws BuildStepError (or a BerthError) on failure. */
  async build(prepared: PreparedBuild, context: BuildContext, options: BuildOptions, out: BuildOutput, signal: AbortSignal): Promise<string> {
    const run = new BuildRun(this.#engine, this.#deps, this.#cache, this.#scratchDir, prepared, context, options, out, signal);
    return run.execute();
  }
}

/** One build: its step counter, its stages' results and its temporary containers. */
class BuildRun {
  readonly #engine: Engine;
  readonly #deps: ArchiveDeps;
  readonly #cache: BuildCache;
  readonly #scratchDir: string;
  readonly #prepared: PreparedBuild;
  readonly #context: BuildContext;
  readonly #options: BuildOptions;
  readonly #out: BuildOutput;
  readonly #signal: AbortSignal;
  readonly #escape: string;
  /** RUN containers not yet removed (docker's tmpContainers). */
  readonly #temporary = new Set<string>();
  readonly #stageResults = new Map<string, StageState>();
  readonly #metaArgs = new Map<string, string | undefined>();
  readonly #usedArgs = new Set<string>();
  #step = 0;
  #stagesDone = 0;
  #cacheFrom: Promise<CacheFromSources> | undefined;

  constructor(engine: Engine, deps: ArchiveDeps, cache: BuildCache, scratchDir: string, prepared: PreparedBuild, context: BuildContext, options: BuildOptions, out: BuildOutput, signal: AbortSignal) {
    this.#engine = engine;
    this.#deps = deps;
    this.#cache = cache;
    this.#scratchDir = scratchDir;
    this.#prepared = prepared;
    this.#context = context;
    this.#options = options;
    this.#out = out;
    this.#signal = signal;
    this.#escape = prepared.dockerfile.escape;
  }

  #print(text: string): void {
    if (!this.#options.quiet) this.#out.stream(text);
  }

  #stepLine(instruction: DockerfileInstruction): void {
    this.#step++;
    this.#print(`Step ${this.#step}/${this.#prepared.totalSteps} : ${instruction.original}\n`);
  }

  async execute(): Promise<string> {
    try {
      for (const arg of this.#prepared.dockerfile.metaArgs) {
        this.#stepLine(arg);
        for (const [key, value] of this.#parseArg(arg, envMap(this.#metaEnv()))) {
          this.#metaArgs.set(key, this.#options.buildArgs[key] ?? value);
        }
      }
      let last: StageState | undefined;
      for (const stage of this.#prepared.stages) {
        if (this.#signal.aborted) throw new BuildStepError('Build cancelled');
        last = await this.#runStage(stage);
      }
      if (last?.imageId === undefined) throw new BuildStepError('No image was generated. Is your Dockerfile empty?');
      const unused = Object.keys(this.#options.buildArgs).filter((k) => !this.#usedArgs.has(k) && !this.#metaArgs.has(k) && !PREDEFINED_ARGS.has(k)).sort();
      if (unused.length > 0) this.#print(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
      this.#print(`Successfully built ${shortId(last.imageId)}\n`);
      for (const tag of this.#options.tags) {
        const familiar = familiarString(withDefaultTag(parseImageReference(tag)));
        await this.#engine.images.tag(last.imageId, familiar);
        this.#engine.events.publish('image', 'tag', last.imageId, { name: familiar });
        this.#print(`Successfully tagged ${familiar}\n`);
      }
      // docker's quiet mode: the one line of output is the image id (the CLI prints it as it is).
      if (this.#options.quiet) this.#out.stream(`${last.imageId}\n`);
      return last.imageId;
    } finally {
      if (this.#options.forceRemove) await this.#removeTemporary();
    }
  }

  /** `KEY=value` strings of the meta args that have values, for FROM lines. */
  #metaEnv(): string[] {
    return [...this.#metaArgs].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v!}`);
  }

  async #runStage(stage: DockerfileStage): Promise<StageState> {
    if (stage.name !== undefined && this.#stageResults.has(stage.name)) {
      throw new BuildStepError(`duplicate name ${stage.name}`);
    }
    this.#stepLine(stage.from);
    const state = await this.#fromStage(stage);
    this.#print(` ---> ${shortId(state.imageId)}\n`);
    for (const instruction of stage.instructions) {
      if (this.#signal.aborted) throw new BuildStepError('Build cancelled');
      this.#stepLine(instruction);
      await this.#dispatchWithCleanup(state, instruction);
      this.#print(` ---> ${shortId(state.imageId)}\n`);
    }
    if (state.imageId !== undefined) this.#out.aux({ ID: state.imageId });
    if (stage.name !== undefined) this.#stageResults.set(stage.name, state);
    // Stages are also named by their index (`COPY --from=0`).
    this.#stageResults.set(String(this.#stagesDone++), state);
    return state;
  }

  /** docker's evaluator: temporary containers go after a step when --force-rm, or --rm and it succeeded. */
  async #dispatchWithCleanup(state: StageState, instruction: DockerfileInstruction): Promise<void> {
    let ok = false;
    try {
      await this.#dispatch(state, instruction);
      ok = true;
    } finally {
      if (this.#options.forceRemove || (this.#options.remove && ok)) await this.#removeTemporary();
    }
  }

  async #removeTemporary(): Promise<void> {
    for (const id of [...this.#temporary]) {
      try {
        await this.#engine.containers.remove(id, { force: true, removeVolumes: true });
        this.#temporary.delete(id);
        this.#print(` ---> Removed intermediate container ${shortId(id)}\n`);
      } catch (err) {
        this.#print(`Removing intermediate container ${shortId(id)}: ${messageOf(err)}\n`);
      }
    }
  }

  async #fromStage(stage: DockerfileStage): Promise<StageState> {
    const metaEnv = envMap(this.#metaEnv());
    const platform = stage.from.flags['platform'];
    if (platform !== undefined) {
      const expanded = processWord(platform, metaEnv, this.#escape);
      if (expanded !== '' && !isAmd64(expanded)) throw new BuildStepError(`platform ${expanded} is not supported: this daemon builds linux/amd64 only`);
    }
    const base = processWord(stage.baseRef, metaEnv, this.#escape);
    if (base === '') throw new BuildStepError(`base name (${stage.baseRef}) should not be blank`);
    const fromStage = this.#stageResults.get(base.toLowerCase());
    if (fromStage !== undefined) {
      return { ...structuredClone({ ...fromStage, args: undefined }), name: stage.name, args: new Map(), isCmdSet: false };
    }
    if (base === 'scratch') {
      return {
        name: stage.name,
        imageId: undefined,
        image: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: [] },
        layers: [],
        run: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
        args: new Map(),
        isCmdSet: false,
      };
    }
    const imageId = await this.#baseImage(base);
    const state = this.#stateOfImage(stage.name, imageId, (await this.#engine.images.get(imageId)).config as ImageConfig);
    const triggers = state.run.OnBuild ?? [];
    if (triggers.length > 0) {
      this.#print(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}\n`);
      state.run.OnBuild = null;
      for (const trigger of triggers) {
        const parsed = parseDockerfile(`FROM scratch\n${trigger}`).stages[0]!.instructions[0]!;
        await this.#dispatchWithCleanup(state, parsed);
      }
    }
    return state;
  }

  #stateOfImage(name: string | undefined, imageId: string, config: ImageConfig): StageState {
    const layers = this.#engine.images.recordOf(imageId).layers.map((stored) => {
      if (stored.blobDigest === undefined) throw new BerthError('internal', 'BERTH_BUILD_STEP_FAILED', `layer ${stored.diffId} of image ${imageId} has no blob to build on`);
      return { blobDigest: stored.blobDigest, mediaType: stored.mediaType ?? MediaType.dockerLayer };
    });
    const image = structuredClone(config);
    return { name, imageId, image, layers, run: structuredClone(image.config ?? {}), args: new Map(), isCmdSet: false };
  }

  /** The base image's id: pulled when missing (or always with --pull), as the classic builder does. */
  async #baseImage(ref: string): Promise<string> {
    if (!this.#options.pull) {
      try {
        return (await this.#engine.images.get(ref)).id;
      } catch (err) {
        if (!(err instanceof BerthError) || err.kind !== 'not-found') throw err;
      }
    }
    const progress = (step: { id?: string; status: string; currentBytes?: number; totalBytes?: number }): void => {
      if (!this.#options.quiet) this.#out.status(step);
    };
    const { image } = await this.#engine.images.pull(ref, { progress });
    return image.id;
  }

  /** Variables for expansion: ENV, then the declared args' values (ENV wins, as docker's FilterAllowed). */
  #wordEnv(state: StageState): WordEnv {
    const env = envMap(state.run.Env ?? []);
    for (const [key, value] of this.#allowedArgs(state)) if (!env.has(key)) env.set(key, value);
    return env;
  }

  /** Build args that apply in this stage: declared ones with a value, and predefined ones given with --build-arg. */
  #allowedArgs(state: StageState): Map<string, string> {
    const out = new Map<string, string>();
    for (const [key, value] of state.args) if (value !== undefined) out.set(key, value);
    for (const [key, value] of Object.entries(this.#options.buildArgs)) {
      if (PREDEFINED_ARGS.has(key) && value !== null && !out.has(key)) out.set(key, value);
    }
    return out;
  }

  #parseArg(instruction: DockerfileInstruction, env: WordEnv): Array<[string, string | undefined]> {
    return rawWords(instruction.args, this.#escape).map((word) => {
      const at = word.indexOf('=');
      if (at < 0) return [word, undefined] as [string, string | undefined];
      return [word.slice(0, at), processWord(word.slice(at + 1), env, this.#escape)] as [string, string | undefined];
    });
  }

  async #dispatch(state: StageState, i: DockerfileInstruction): Promise<void> {
    const env = this.#wordEnv(state);
    const word = (text: string): string => processWord(text, env, this.#escape);
    switch (i.keyword) {
      case 'ENV': {
        const pairs = keyValues(i, env, this.#escape);
        const list = [...(state.run.Env ?? [])];
        for (const [key, value] of pairs) {
          const at = list.findIndex((e) => e === key || e.startsWith(`${key}=`));
          if (at >= 0) list[at] = `${key}=${value}`;
          else list.push(`${key}=${value}`);
        }
        state.run.Env = list;
        return this.#commitConfig(state, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      }
      case 'LABEL': {
        const pairs = keyValues(i, env, this.#escape);
        state.run.Labels = { ...(state.run.Labels ?? {}) };
        for (const [key, value] of pairs) state.run.Labels[key] = value;
        return this.#commitConfig(state, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      }
      case 'MAINTAINER':
        state.image.author = i.args;
        return this.#commitConfig(state, `MAINTAINER ${i.args}`);
      case 'ARG': {
        const pairs = this.#parseArg(i, env);
        for (const [key, fallback] of pairs) {
          const given = this.#options.buildArgs[key];
          const meta = this.#metaArgs.get(key);
          const value = given !== undefined && given !== null ? given : fallback ?? meta;
          state.args.set(key, value);
          this.#usedArgs.add(key);
        }
        return this.#commitConfig(state, `ARG ${pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join(' ')}`);
      }
      case 'WORKDIR': {
        const dir = posix.resolve('/', state.run.WorkingDir || '/', word(i.args));
        state.run.WorkingDir = dir;
        return this.#workdir(state, dir);
      }
      case 'USER':
        state.run.User = word(i.args);
        return this.#commitConfig(state, `USER ${state.run.User}`);
      case 'EXPOSE': {
        const ports = { ...(state.run.ExposedPorts ?? {}) };
        for (const spec of processWords(i.args, env, this.#escape)) {
          for (const port of exposedPorts(spec)) ports[port] = {};
        }
        state.run.ExposedPorts = ports;
        return this.#commitConfig(state, `EXPOSE ${Object.keys(ports).sort().join(' ')}`);
      }
      case 'VOLUME': {
        const list = i.json ?? processWords(i.args, env, this.#escape);
        if (list.some((v) => v.trim() === '')) throw new BuildStepError('VOLUME specified can not be an empty string');
        state.run.Volumes = { ...(state.run.Volumes ?? {}) };
        for (const volume of list) state.run.Volumes[volume] = {};
        return this.#commitConfig(state, `VOLUME [${list.join(' ')}]`);
      }
      case 'STOPSIGNAL':
        state.run.StopSignal = word(i.args);
        return this.#commitConfig(state, `STOPSIGNAL ${state.run.StopSignal}`);
      case 'CMD': {
        state.run.Cmd = i.json ?? [...this.#shell(state), i.args];
        if (i.json === undefined) state.run.ArgsEscaped = true;
        state.isCmdSet = true;
        return this.#commitConfig(state, `CMD ${goQuoted(state.run.Cmd)}`);
      }
      case 'ENTRYPOINT': {
        state.run.Entrypoint = i.json ?? (i.args === '' ? null : [...this.#shell(state), i.args]);
        // docker: a new ENTRYPOINT resets the CMD inherited from the base (not one set in this stage).
        if (!state.isCmdSet) state.run.Cmd = null;
        return this.#commitConfig(state, `ENTRYPOINT ${goQuoted(state.run.Entrypoint ?? [])}`);
      }
      case 'SHELL':
        state.run.Shell = i.json!;
        return this.#commitConfig(state, `SHELL [${i.json!.join(' ')}]`);
      case 'HEALTHCHECK':
        state.run.Healthcheck = healthcheck(i, this.#escape);
        return this.#commitConfig(state, `HEALTHCHECK ${JSON.stringify(state.run.Healthcheck)}`);
      case 'ONBUILD': {
        // A trigger keeps its here-documents, as BuildKit stores them: each body, then its terminator.
        const trigger = i.args.trim() + i.heredocs.map((doc) => `\n${doc.content}${doc.name}`).join('');
        state.run.OnBuild = [...(state.run.OnBuild ?? []), trigger];
        return this.#commitConfig(state, `ONBUILD ${trigger}`);
      }
      case 'RUN':
        return this.#run(state, i);
      case 'COPY':
      case 'ADD':
        return this.#copy(state, i, env);
      default:
        throw new BuildStepError(`unknown instruction: ${i.keyword}`);
    }
  }

  #shell(state: StageState): string[] {
    return state.run.Shell && state.run.Shell.length > 0 ? [...state.run.Shell] : [...DEFAULT_SHELL];
  }

  /** A step that changes only the config: a new image with the same layers and an empty_layer history entry. */
  async #commitConfig(state: StageState, comment: string): Promise<void> {
    const createdBy = [...this.#shell(state), `#(nop) `, comment].join(' ');
    const parts = { parentId: state.imageId ?? '', createdBy, config: state.run };
    if (await this.#fromCache(state, parts)) return;
    await this.#commit(state, createdBy, undefined, parts);
  }

  /**
   * Take the step's image from the cache when an earlier build made it (docker's probeCache):
   * prints ` ---> Using cache` and moves the stage onto it. Never with --no-cache.
   */
  async #fromCache(state: StageState, parts: CacheKeyParts): Promise<boolean> {
    if (this.#options.noCache) return false;
    const key = cacheKey(parts);
    const cacheFrom = await this.#cacheFromSources();
    const local = await this.#localCacheHit(key);
    if (local !== undefined && (!cacheFrom.isActive || cacheFrom.isAncestor(local.imageId))) {
      this.#moveTo(state, local.imageId, local.config);
      this.#print(' ---> Using cache\n');
      return true;
    }
    // A step whose content is not named in its history (a #! here-document) cannot be matched by history.
    const isNamedInHistory = parts.contentSum === undefined || parts.createdBy.includes(parts.contentSum);
    const match = cacheFrom.isActive && isNamedInHistory ? cacheFrom.match(state.image, parts.createdBy) : undefined;
    if (match === undefined) return false;
    if (match.wholeImageId !== undefined) {
      this.#moveTo(state, match.wholeImageId, (await this.#engine.images.get(match.wholeImageId)).config as ImageConfig);
      await this.#cache.record(key, match.wholeImageId);
    } else {
      await this.#commitEntry(state, match.entry, match.layer, key);
    }
    this.#print(' ---> Using cache\n');
    return true;
  }

  /** The build's --cache-from images, resolved at the first cache lookup. */
  async #cacheFromSources(): Promise<CacheFromSources> {
    this.#cacheFrom ??= CacheFromSources.resolve(this.#engine, this.#options.cacheFrom);
    return this.#cacheFrom;
  }

  /** The image an earlier build on this daemon made for `key`, if it still exists. */
  async #localCacheHit(key: string): Promise<{ imageId: string; config: ImageConfig } | undefined> {
    const imageId = await this.#cache.lookup(key);
    if (imageId === undefined) return undefined;
    try {
      return { imageId, config: (await this.#engine.images.get(imageId)).config as ImageConfig };
    } catch {
      await this.#cache.forget(key);
      return undefined;
    }
  }

  #moveTo(state: StageState, imageId: string, config: ImageConfig): void {
    const cached = this.#stateOfImage(state.name, imageId, config);
    state.imageId = cached.imageId;
    state.image = cached.image;
    state.layers = cached.layers;
    state.run = cached.run;
  }

  /** The stage's next image made of a --cache-from source's history entry and layer (moby's restoreCachedImage). */
  async #commitEntry(state: StageState, entry: HistoryEntry, layer: CacheFromMatch['layer'], key: string): Promise<void> {
    const config: ImageConfig = {
      ...state.image,
      ...(entry.created !== undefined ? { created: entry.created } : {}),
      config: structuredClone(state.run),
      rootfs: { type: 'layers', diff_ids: [...state.image.rootfs.diff_ids, ...(layer ? [layer.diffId] : [])] },
      history: [...(state.image.history ?? []), entry],
    };
    if (state.imageId !== undefined) config.parent = state.imageId;
    else delete config.parent;
    const layers = layer ? [...state.layers, layer.ref] : state.layers;
    const image = await this.#engine.images.addImage({ configBytes: Buffer.from(JSON.stringify(config)), layers });
    state.imageId = image.id;
    state.image = config;
    state.layers = layers;
    await this.#cache.record(key, image.id);
  }

  /** Store the stage's next image: its config, plus `layer` on top when the step made one. */
  async #commit(state: StageState, createdBy: string, layer: { digest: `sha256:${string}` } | undefined, cacheParts: CacheKeyParts): Promise<void> {
    const created = new Date().toISOString();
    const isEmpty = layer === undefined || layer.digest === EMPTY_LAYER_DIFF_ID;
    const history: HistoryEntry = { created, created_by: createdBy, ...(isEmpty ? { empty_layer: true } : {}) };
    const config: ImageConfig = {
      ...state.image,
      created,
      config: structuredClone(state.run),
      rootfs: { type: 'layers', diff_ids: [...state.image.rootfs.diff_ids, ...(isEmpty ? [] : [layer.digest])] },
      history: [...(state.image.history ?? []), history],
    };
    if (state.imageId !== undefined) config.parent = state.imageId;
    else delete config.parent;
    const layers = isEmpty ? state.layers : [...state.layers, { blobDigest: layer.digest, mediaType: MediaType.dockerLayer }];
    if (!isEmpty) crashPoint('build.layer-stored');
    const image = await this.#engine.images.addImage({ configBytes: Buffer.from(JSON.stringify(config)), layers });
    state.imageId = image.id;
    state.image = config;
    state.layers = layers;
    await this.#cache.record(cacheKey(cacheParts), image.id);
  }

  /** A temporary container on the stage's image, running `cmd` when started. */
  async #createContainer(state: StageState, cmd: string[], env: string[], binds: string[] = []): Promise<string> {
    if (state.imageId === undefined) throw new BuildStepError('no image to run a step in: a stage FROM scratch has no files yet');
    const o = this.#options;
    const bare = newCreateInput(state.imageId);
    const input: CreateContainerInput = {
      ...bare,
      cmd,
      entrypoint: [],
      env,
      workingDir: state.run.WorkingDir ?? '',
      user: state.run.User ?? '',
      attachStdout: true,
      attachStderr: true,
      host: {
        ...bare.host,
        isolation: o.isolation,
        networkMode: o.networkMode === '' ? 'default' : o.networkMode,
        memoryBytes: o.memoryBytes,
        memorySwapBytes: o.memorySwapBytes,
        cpuShares: o.cpuShares,
        cpusetCpus: o.cpusetCpus,
        shmSizeBytes: o.shmSizeBytes > 0 ? o.shmSizeBytes : bare.host.shmSizeBytes,
        extraHosts: o.extraHosts,
        binds,
      },
    };
    const { id } = await this.#engine.containers.create(input);
    return id;
  }

  /** The container's changes as a layer blob (the overlay upper dir as a docker layer tar). */
  async #packChanges(id: string): Promise<{ digest: `sha256:${string}` }> {
    const upperDir = this.#engine.containers.pathsOf(id).upper;
    const upper = await RootedDir.open(upperDir);
    try {
      return await this.#engine.images.content.put(packOverlayDiff(upper, upperDir, isRuntimePlaceholder));
    } finally {
      await upper.close();
    }
  }

  async #run(state: StageState, i: DockerfileInstruction): Promise<void> {
    const heredoc = i.json === undefined && i.heredocs.length > 0 ? heredocRunCommand(i.args, i.heredocs) : undefined;
    const cmd = i.json ?? [...this.#shell(state), heredoc?.command ?? i.args];
    const args = this.#allowedArgs(state);
    const argEnv = [...args].filter(([key]) => !envMap(state.run.Env ?? []).has(key)).map(([k, v]) => `${k}=${v}`);
    // docker's history for RUN with build args: `|N K=V ... cmd` (predefined args only when declared).
    const recorded = argEnv.filter((e) => state.args.has(e.slice(0, e.indexOf('='))));
    const createdBy = recorded.length > 0 ? `|${recorded.length} ${recorded.join(' ')} ${cmd.join(' ')}` : cmd.join(' ');
    // A script run from /dev/pipes is named in the command, not shown: its text keys the cache.
    const script = heredoc?.script;
    const parts = { parentId: state.imageId ?? '', createdBy, config: state.run, ...(script ? { contentSum: createHash('sha256').update(script.data).digest('hex') } : {}) };
    if (await this.#fromCache(state, parts)) return;
    const scriptDir = script ? await this.#writeScratchDir() : undefined;
    let id: string;
    try {
      const binds = scriptDir ? [`${await this.#writeScratchFile(scriptDir, script!.name, script!.data, 0o755)}:/dev/pipes/${script!.name}:ro`] : [];
      id = await this.#runContainer(state, cmd, argEnv, binds);
    } finally {
      if (scriptDir) await rm(scriptDir, { recursive: true, force: true });
    }
    await this.#commit(state, createdBy, await this.#packChanges(id), parts);
  }

  /** A new directory under the build's scratch folder, for here-documents' files; the caller removes it. */
  async #writeScratchDir(): Promise<string> {
    await mkdir(this.#scratchDir, { recursive: true, mode: 0o700 });
    return mkdtemp(join(this.#scratchDir, 'doc-'));
  }

  /** Write a here-document's file `dir/name` with exactly `mode`; returns its path. */
  async #writeScratchFile(dir: string, name: string, data: string, mode: number): Promise<string> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, name);
    await writeFile(path, data, { mode });
    await chmod(path, mode);
    return path;
  }

  /**
   * Run `cmd` in a temporary container of the stage and show its output; returns the container
   * (kept for its changes). Throws BuildStepError on a non-zero exit.
   */
  async #runContainer(state: StageState, cmd: string[], argEnv: string[], binds: string[]): Promise<string> {
    const id = await this.#createContainer(state, cmd, [...(state.run.Env ?? []), ...argEnv], binds);
    this.#temporary.add(id);
    this.#print(` ---> Running in ${shortId(id)}\n`);
    const containers = this.#engine.containers;
    const exited = containers.wait(id, 'next-exit');
    const onAbort = (): void => void containers.kill(id, 'SIGKILL').catch(() => {});
    this.#signal.addEventListener('abort', onAbort, { once: true });
    try {
      await containers.start(id);
      const controller = new AbortController();
      const read = { tailLines: undefined, sinceNs: undefined, untilNs: undefined, stdout: true, stderr: true };
      let shown = 0;
      for await (const entry of containers.logs(id, { ...read, follow: true }, controller.signal).entries) {
        this.#print(entry.data.toString('utf8'));
        shown++;
      }
      const { statusCode } = await exited;
      // Following stops shortly after the exit; whatever it had not reached yet is shown now.
      let index = 0;
      for await (const entry of containers.logs(id, { ...read, follow: false }, controller.signal).entries) {
        if (index++ >= shown) this.#print(entry.data.toString('utf8'));
      }
      if (this.#signal.aborted) throw new BuildStepError('Build cancelled');
      if (statusCode !== 0) throw new BuildStepError(`The command '${cmd.join(' ')}' returned a non-zero code: ${statusCode}`, statusCode);
    } finally {
      this.#signal.removeEventListener('abort', onAbort);
    }
    return id;
  }

  /** WORKDIR: the directory is made in a layer when the image lacks it, as docker does. */
  async #workdir(state: StageState, dir: string): Promise<void> {
    const comment = `WORKDIR ${dir}`;
    if (state.imageId === undefined) return this.#commitConfig(state, comment);
    const parts = { parentId: state.imageId, createdBy: [...this.#shell(state), '#(nop) ', comment].join(' '), config: state.run };
    if (await this.#fromCache(state, parts)) return;
    const id = await this.#createContainer(state, [...this.#shell(state), `#(nop) ${comment}`], state.run.Env ?? []);
    try {
      const exists = await statContainerPath(this.#deps, id, dir).then(() => true, () => false);
      if (!exists) await extractToContainer(this.#deps, id, '/', dirTar(dir), { noOverwriteDirNonDir: false, copyUidGid: false });
      const layer = exists ? undefined : await this.#packChanges(id);
      await this.#commit(state, parts.createdBy, layer, parts);
    } finally {
      await this.#engine.containers.remove(id, { force: true, removeVolumes: true }).catch(() => {});
    }
  }

  async #copy(state: StageState, i: DockerfileInstruction, env: WordEnv): Promise<void> {
    const command = i.keyword;
    if (command === 'ADD' && i.flags['from'] !== undefined) throw new BuildStepError('ADD does not support --from');
    const { words, documents } = i.json === undefined && i.heredocs.length > 0
      ? this.#copyWordsWithHeredocs(i, env)
      : { words: (i.json ?? processWords(i.args, env, this.#escape)).map((w) => (i.json ? processWord(w, env, this.#escape) : w)), documents: [] };
    const destWord = words.at(-1)!;
    const sourceWords = words.slice(0, -1);
    for (const source of sourceWords) {
      if (/^https?:\/\//.test(source)) {
        if (command === 'COPY') throw new BuildStepError('COPY failed: source can\'t be a URL for COPY');
        throw new BuildStepError(`ADD failed: ADD of a URL (${source}) is not supported: Berth builds assume no internet access; download the file into the build context and COPY it`);
      }
    }
    const chown = i.flags['chown'] !== undefined ? processWord(i.flags['chown'], env, this.#escape) : '';
    const owner = await this.#owner(chown, state);
    let dest = destWord;
    const endsWithSlash = dest.endsWith('/') || dest.endsWith('/.') || dest === '.';
    if (!dest.startsWith('/')) dest = posix.join('/', state.run.WorkingDir || '/', dest);
    dest = posix.normalize(dest);
    if (dest.length > 1 && dest.endsWith('/')) dest = dest.slice(0, -1);
    if (i.flags['from'] !== undefined) {
      if (documents.length > 0) throw new BuildStepError(`${command} --from with a here-document source is not supported: give the document its own COPY`);
      const from = processWord(i.flags['from'], env, this.#escape);
      return this.#copyFrom(state, from, sourceWords, destWord, dest, endsWithSlash, chown === '' ? undefined : owner);
    }
    let sources: CopySource[];
    try {
      sources = await matchSources(this.#context, sourceWords, command);
    } catch (err) {
      if (err instanceof CopyFailedError) throw new BuildStepError(err.message);
      throw err;
    }
    let scratch: string | undefined;
    try {
      const inline: InlineSource[] = [];
      if (documents.length > 0) {
        scratch = await this.#writeScratchDir();
        for (const [n, doc] of documents.entries()) {
          // BuildKit makes each document a 0644 file named for it.
          const hostPath = await this.#writeScratchFile(join(scratch, String(n)), doc.name, doc.data, 0o644);
          inline.push({ name: doc.name, hostPath, stats: await lstat(hostPath) });
        }
      }
      if (sources.length + inline.length > 1 && !endsWithSlash) {
        throw new BuildStepError(`When using ${command} with more than one source file, the destination must be a directory and end with a /`);
      }
      const archives = command === 'ADD' ? await this.#localArchives(sources) : new Set<CopySource>();
      const plain = sources.filter((s) => !archives.has(s));
      const contentSum = await sourcesChecksum(this.#context, sources, { dest, destIsDir: endsWithSlash, owner }, inline);
      // docker's history names the sources by their checksum (`file:<hex>`, `dir:<hex>`, `multi:<hex>`), so a changed file is another step to --cache-from too.
      const kind = sources.length + inline.length > 1 ? 'multi' : sources[0]?.entry.stats!.isDirectory() ? 'dir' : 'file';
      const createdBy = [...this.#shell(state), `#(nop) ${command} ${i.flags['chown'] !== undefined ? `--chown=${i.flags['chown']} ` : ''}${kind}:${contentSum} in ${destWord} `].join(' ');
      const parts = { parentId: state.imageId ?? '', createdBy, config: state.run, contentSum };
      if (await this.#fromCache(state, parts)) return;
      if (state.imageId === undefined) {
        if (archives.size > 0) throw new BuildStepError(`${command} of an archive into a stage FROM scratch is not supported yet (issue 16)`);
        const destIsDir = endsWithSlash || plain.length + inline.length > 1 || plain.some((s) => s.entry.stats!.isDirectory());
        const layer = await this.#engine.images.content.put(packSources(this.#context, plain, { dest, destIsDir, owner, withParents: true }, inline));
        await this.#commit(state, createdBy, layer, parts);
        return;
      }
      const id = await this.#createContainer(state, [...this.#shell(state), `#(nop) ${command}`], state.run.Env ?? []);
      try {
        let destIsDir = endsWithSlash;
        if (!destIsDir) {
          const stat = await statContainerPath(this.#deps, id, dest).catch(() => undefined);
          destIsDir = stat !== undefined && (stat.mode & 0o170000) === 0o040000;
        }
        if (plain.length + inline.length > 0) {
          await extractToContainer(this.#deps, id, '/', packSources(this.#context, plain, { dest, destIsDir, owner }, inline), { noOverwriteDirNonDir: false, copyUidGid: false });
        }
        for (const archive of archives) {
          await extractToContainer(this.#deps, id, '/', dirTar(dest), { noOverwriteDirNonDir: false, copyUidGid: false }).catch(() => {});
          await extractToContainer(this.#deps, id, dest, await this.#archiveStream(archive), { noOverwriteDirNonDir: false, copyUidGid: false });
        }
        const layer = await this.#packChanges(id);
        await this.#commit(state, createdBy, layer, parts);
      } finally {
        await this.#engine.containers.remove(id, { force: true, removeVolumes: true }).catch(() => {});
      }
    } finally {
      for (const source of sources) await this.#context.root.release(source.entry.dir);
      if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * A COPY/ADD's words when it has here-documents: each `<<name` word becomes a document
   * (its body chomped and expanded as its marker says), the others are processed as usual.
   */
  #copyWordsWithHeredocs(i: DockerfileInstruction, env: WordEnv): { words: string[]; documents: Array<{ name: string; data: string }> } {
    const words: string[] = [];
    const documents: Array<{ name: string; data: string }> = [];
    for (const raw of rawWords(i.args, this.#escape)) {
      const marker = heredocWord(raw);
      if (marker === undefined) {
        words.push(processWord(raw, env, this.#escape));
        continue;
      }
      // BuildKit looks documents up by name; with two of one name the last wins.
      let data = i.heredocs.findLast((doc) => doc.name === marker.name)?.content ?? '';
      if (marker.chomp) data = chompHeredoc(data);
      if (marker.expand) data = expandHeredocBody(data, env);
      documents.push({ name: marker.name, data });
    }
    return { words, documents };
  }

  /**
   * COPY --from=<stage|image>: each source read from a temporary container of that image (as
   * `docker cp` reads it, ownership kept unless --chown) and written where the destination says.
   */
  async #copyFrom(state: StageState, from: string, sourceWords: readonly string[], destWord: string, dest: string, endsWithSlash: boolean, owner: { uid: number; gid: number } | undefined): Promise<void> {
    if (sourceWords.length > 1 && !endsWithSlash) {
      throw new BuildStepError('When using COPY with more than one source file, the destination must be a directory and end with a /');
    }
    if (sourceWords.some((w) => /[*?[]/.test(w))) throw new BuildStepError('COPY --from with wildcards is not supported by Berth\'s builder yet');
    const stage = this.#stageResults.get(from.toLowerCase());
    const sourceImage = stage !== undefined ? stage.imageId : await this.#baseImage(from).catch((err: unknown) => {
      throw new BuildStepError(`invalid from flag value ${from}: ${messageOf(err)}`);
    });
    if (sourceImage === undefined) throw new BuildStepError(`invalid from flag value ${from}: the stage has no files`);
    // The source image's id is in the history, so --cache-from matches the step only for the same source.
    const createdBy = [...this.#shell(state), `#(nop) COPY --from=${from}@${sourceImage} ${owner ? `--chown=${owner.uid}:${owner.gid} ` : ''}${sourceWords.join(' ')} in ${destWord} `].join(' ');
    const parts = { parentId: state.imageId ?? '', createdBy, config: state.run, contentSum: sourceImage };
    if (await this.#fromCache(state, parts)) return;
    const containers = this.#engine.containers;
    const sourceId = await this.#createContainer({ ...state, imageId: sourceImage }, ['/bin/sh', '-c', '#(nop) COPY --from'], []);
    let targetId: string | undefined;
    try {
      let destIsDir = endsWithSlash;
      if (state.imageId !== undefined) {
        targetId = await this.#createContainer(state, [...this.#shell(state), '#(nop) COPY'], state.run.Env ?? []);
        if (!destIsDir) {
          const stat = await statContainerPath(this.#deps, targetId, dest).catch(() => undefined);
          destIsDir = stat !== undefined && (stat.mode & 0o170000) === 0o040000;
        }
      }
      const layerParts: Array<AsyncIterable<Uint8Array>> = [];
      for (const source of sourceWords) {
        const path = posix.resolve('/', source);
        await archiveContainerPath(this.#deps, sourceId, path, async (stat, tar) => {
          const isDir = (stat.mode & 0o170000) === 0o040000;
          const target = isDir || !destIsDir ? dest : posix.join(dest, posix.basename(path));
          const to = target.replace(/^\/+/, '');
          const base = path === '/' ? '.' : posix.basename(path);
          if (targetId !== undefined) {
            await extractToContainer(this.#deps, targetId, '/', renameTar(tar, { from: base, to: to === '' ? '.' : to, ...(owner ? { owner } : {}) }), { noOverwriteDirNonDir: false, copyUidGid: false });
          } else {
            const segments = to.split('/').filter((p) => p !== '');
            const parents = segments.slice(0, -1).map((_, n) => segments.slice(0, n + 1).join('/'));
            const chunks: Buffer[] = [];
            for await (const chunk of renameTar(tar, { from: base, to, parents, ...(owner ? { owner } : {}) })) chunks.push(chunk);
            layerParts.push((async function* () {
              yield Buffer.concat(chunks);
            })());
          }
        }).catch((err: unknown) => {
          if (err instanceof BerthError && err.kind === 'not-found') throw new BuildStepError(`COPY failed: stat ${path}: file does not exist`);
          throw err;
        });
      }
      let layer: { digest: `sha256:${string}` };
      if (targetId !== undefined) {
        layer = await this.#packChanges(targetId);
      } else {
        if (layerParts.length !== 1) throw new BuildStepError('COPY --from into a stage FROM scratch takes one source at a time in Berth\'s builder');
        // One renamed tar is a whole layer; its end-of-archive blocks are already there.
        layer = await this.#engine.images.content.put(layerParts[0]!);
      }
      await this.#commit(state, createdBy, layer, parts);
    } finally {
      if (targetId !== undefined) await containers.remove(targetId, { force: true, removeVolumes: true }).catch(() => {});
      await containers.remove(sourceId, { force: true, removeVolumes: true }).catch(() => {});
    }
  }

  /** ADD's local archives: regular files that are a tar, plain or gzip'd (unpacked at the destination). */
  async #localArchives(sources: readonly CopySource[]): Promise<Set<CopySource>> {
    const out = new Set<CopySource>();
    for (const source of sources) {
      if (!source.entry.stats!.isFile()) continue;
      const bytes = await this.#context.readFile(source.path);
      if (bytes === undefined || bytes.length < 2) continue;
      let head = bytes;
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
        const { stream } = await decompressed(Readable.from([bytes]));
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of stream) {
          chunks.push(chunk as Buffer);
          size += (chunk as Buffer).length;
          if (size >= 512) break;
        }
        stream.destroy();
        head = Buffer.concat(chunks);
      }
      if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') out.add(source);
    }
    return out;
  }

  async #archiveStream(source: CopySource): Promise<AsyncIterable<Uint8Array>> {
    const bytes = (await this.#context.readFile(source.path))!;
    return (await decompressed(Readable.from([bytes]))).stream;
  }

  /** `--chown=user[:group]`: ids as they are, names from the passwd and group files of the stage's image so far. */
  async #owner(spec: string, state: StageState): Promise<{ uid: number; gid: number }> {
    if (spec === '') return { uid: 0, gid: 0 };
    const isNumeric = spec.split(':').every((part) => /^\d+$/.test(part) || part === 'root');
    const lowerDirs = isNumeric || state.imageId === undefined ? [] : await this.#engine.images.lowerDirs(state.imageId);
    try {
      return resolveChown(spec, await readImageFile(lowerDirs, '/etc/passwd'), await readImageFile(lowerDirs, '/etc/group'));
    } catch (err) {
      throw new BuildStepError(messageOf(err));
    }
  }
}

/** A tar holding only directory `dir` (and its parents), root-owned 0755: WORKDIR and ADD destinations. */
function dirTar(dir: string): AsyncIterable<Uint8Array> {
  const parts = dir.split('/').filter((p) => p !== '');
  return TarWriter.run(async (writer) => {
    for (let n = 1; n <= parts.length; n++) await writer.add(parts.slice(0, n).join('/'), madeDirStats(), { hostPath: '/' });
  });
}

/** ENV and LABEL arguments as pairs: `k=v k2="v 2"`, or the old `k v w` form (value: the rest). */
function keyValues(i: DockerfileInstruction, env: WordEnv, escape: string): Array<[string, string]> {
  const words = rawWords(i.args, escape);
  if (words.length > 0 && !words[0]!.includes('=')) {
    const key = words[0]!;
    const rest = i.args.trim().slice(key.length).trim();
    if (rest === '' && i.keyword === 'ENV') throw new BuildStepError(`ENV must have two arguments`);
    return [[processWord(key, env, escape), processWord(rest, env, escape)]];
  }
  return words.map((word) => {
    const at = word.indexOf('=');
    if (at < 0) throw new BuildStepError(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
    const key = processWord(word.slice(0, at), env, escape);
    if (key === '') throw new BuildStepError(`${i.keyword} names can not be blank`);
    return [key, processWord(word.slice(at + 1), env, escape)];
  });
}

/** EXPOSE specs to `port/proto` keys (`80`, `80/udp`, `8000-8002`). */
function exposedPorts(spec: string): string[] {
  const [range = '', proto = 'tcp'] = spec.split('/');
  const match = /^(\d+)(?:-(\d+))?$/.exec(range);
  if (!match) throw new BuildStepError(`invalid containerPort: ${range}`);
  const start = Number(match[1]);
  const end = match[2] !== undefined ? Number(match[2]) : start;
  if (!['tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) throw new BuildStepError(`invalid proto: ${proto}`);
  const out: string[] = [];
  for (let port = start; port <= end; port++) out.push(`${port}/${proto.toLowerCase()}`);
  return out;
}

const DURATION_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

function durationNs(text: string, flag: string): number {
  if (text === '') return 0;
  let total = 0;
  let rest = text;
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!match) throw new BuildStepError(`invalid argument "${text}" for "--${flag}" flag: time: invalid duration "${text}"`);
    total += Number(match[1]) * DURATION_NS[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return Math.round(total);
}

function healthcheck(i: DockerfileInstruction, escape: string): NonNullable<ImageRuntimeConfig['Healthcheck']> {
  const words = rawWords(i.args, escape);
  if (words[0]!.toUpperCase() === 'NONE') return { Test: ['NONE'] };
  const rest = i.args.trim().slice(words[0]!.length).trim();
  const json = rest.startsWith('[') ? (() => {
    try {
      const parsed: unknown = JSON.parse(rest);
      return Array.isArray(parsed) && parsed.every((s) => typeof s === 'string') ? parsed as string[] : undefined;
    } catch {
      return undefined;
    }
  })() : undefined;
  const check: NonNullable<ImageRuntimeConfig['Healthcheck']> = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', rest] };
  const interval = durationNs(i.flags['interval'] ?? '', 'interval');
  const timeout = durationNs(i.flags['timeout'] ?? '', 'timeout');
  const startPeriod = durationNs(i.flags['start-period'] ?? '', 'start-period');
  const startInterval = durationNs(i.flags['start-interval'] ?? '', 'start-interval');
  if (interval > 0) check.Interval = interval;
  if (timeout > 0) check.Timeout = timeout;
  if (startPeriod > 0) check.StartPeriod = startPeriod;
  if (startInterval > 0) check.StartInterval = startInterval;
  if (i.flags['retries'] !== undefined) {
    const retries = Number(i.flags['retries']);
    if (!Number.isInteger(retries)) throw new BuildStepError(`invalid argument "${i.flags['retries']}" for "--retries" flag`);
    if (retries < 0) throw new BuildStepError(`--retries cannot be negative (${retries})`);
    if (retries > 0) check.Retries = retries;
  }
  return check;
}
