/**
 * One run of the classic builder (what `docker build` runs without BuildKit): a prepared
 * Dockerfile executed step by step against the engine. FROM finds or pulls the base (and runs
 * its ONBUILD triggers), ARG/ENV feed word expansion, config-only instructions commit a new
 * image with an `empty_layer` history entry, RUN runs in a temporary container (step-containers.ts),
 * COPY/ADD go through copy-step.ts, and every step first asks the cache (step-images.ts).
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { BerthError, messageOf } from '../common/index.js';
import { extractToContainer, statContainerPath, type ArchiveDeps, type Engine } from '../engine/index.js';
import type { ImageConfig } from '../oci/index.js';
import { familiarString, parseImageReference, withDefaultTag } from '../store/index.js';
import type { BuildCache } from './build-cache.js';
import type { BuildContext } from './build-context.js';
import { BuildStepError, type BuildOptions, type BuildOutput } from './build-options.js';
import { CopyStep } from './copy-step.js';
import { dirTar } from './copy-sources.js';
import { parseDockerfile, type DockerfileInstruction, type DockerfileStage } from './dockerfile.js';
import { heredocRunCommand } from './heredocs.js';
import { exposedPorts, goQuoted, healthcheck, keyValues } from './instruction-values.js';
import { isAmd64, type PreparedBuild } from './prepare-build.js';
import { envMap, processWord, processWords, rawWords, type WordEnv } from './shell-words.js';
import { shellOf, shortId, stateOfImage, type StageState } from './stage-state.js';
import { StepContainers } from './step-containers.js';
import { StepImages } from './step-images.js';

/** Build args every Dockerfile may use without declaring them (docker's builtinAllowedBuildArgs). */
const PREDEFINED_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

/** One build: its step counter, its stages' results, and the steps it dispatches. */
export class BuildRun {
  readonly #engine: Engine;
  readonly #deps: ArchiveDeps;
  readonly #prepared: PreparedBuild;
  readonly #options: BuildOptions;
  readonly #out: BuildOutput;
  readonly #signal: AbortSignal;
  readonly #escape: string;
  readonly #images: StepImages;
  readonly #containers: StepContainers;
  readonly #copy: CopyStep;
  readonly #stageResults = new Map<string, StageState>();
  readonly #metaArgs = new Map<string, string | undefined>();
  readonly #usedArgs = new Set<string>();
  #step = 0;
  #stagesDone = 0;

  /** `scratchDir`: where here-documents' files go for the length of a step. */
  constructor(engine: Engine, cache: BuildCache, scratchDir: string, prepared: PreparedBuild, context: BuildContext, options: BuildOptions, out: BuildOutput, signal: AbortSignal) {
    this.#engine = engine;
    this.#deps = { containers: engine.containers, images: engine.images };
    this.#prepared = prepared;
    this.#options = options;
    this.#out = out;
    this.#signal = signal;
    this.#escape = prepared.dockerfile.escape;
    const print = (text: string): void => this.#print(text);
    this.#images = new StepImages(engine, cache, options, print);
    this.#containers = new StepContainers(engine, options, signal, scratchDir, print);
    this.#copy = new CopyStep({
      engine, context, escape: this.#escape, images: this.#images, containers: this.#containers,
      imageOfFrom: (from) => this.#imageOfFrom(from),
    });
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
      if (this.#options.forceRemove) await this.#containers.removeTemporary();
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
      if (this.#options.forceRemove || (this.#options.remove && ok)) await this.#containers.removeTemporary();
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
    const state = stateOfImage(this.#engine, stage.name, imageId, (await this.#engine.images.get(imageId)).config as ImageConfig);
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

  /** `COPY --from=<name>`: a stage built before (undefined when it has no files yet), else an image, pulled when missing. */
  async #imageOfFrom(from: string): Promise<string | undefined> {
    const stage = this.#stageResults.get(from.toLowerCase());
    if (stage !== undefined) return stage.imageId;
    return this.#baseImage(from).catch((err: unknown) => {
      throw new BuildStepError(`invalid from flag value ${from}: ${messageOf(err)}`);
    });
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
        return this.#images.commitConfig(state, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      }
      case 'LABEL': {
        const pairs = keyValues(i, env, this.#escape);
        state.run.Labels = { ...(state.run.Labels ?? {}) };
        for (const [key, value] of pairs) state.run.Labels[key] = value;
        return this.#images.commitConfig(state, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      }
      case 'MAINTAINER':
        state.image.author = i.args;
        return this.#images.commitConfig(state, `MAINTAINER ${i.args}`);
      case 'ARG': {
        const pairs = this.#parseArg(i, env);
        for (const [key, fallback] of pairs) {
          const given = this.#options.buildArgs[key];
          const meta = this.#metaArgs.get(key);
          const value = given !== undefined && given !== null ? given : fallback ?? meta;
          state.args.set(key, value);
          this.#usedArgs.add(key);
        }
        return this.#images.commitConfig(state, `ARG ${pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join(' ')}`);
      }
      case 'WORKDIR': {
        const dir = posix.resolve('/', state.run.WorkingDir || '/', word(i.args));
        state.run.WorkingDir = dir;
        return this.#workdir(state, dir);
      }
      case 'USER':
        state.run.User = word(i.args);
        return this.#images.commitConfig(state, `USER ${state.run.User}`);
      case 'EXPOSE': {
        const ports = { ...(state.run.ExposedPorts ?? {}) };
        for (const spec of processWords(i.args, env, this.#escape)) {
          for (const port of exposedPorts(spec)) ports[port] = {};
        }
        state.run.ExposedPorts = ports;
        return this.#images.commitConfig(state, `EXPOSE ${Object.keys(ports).sort().join(' ')}`);
      }
      case 'VOLUME': {
        const list = i.json ?? processWords(i.args, env, this.#escape);
        if (list.some((v) => v.trim() === '')) throw new BuildStepError('VOLUME specified can not be an empty string');
        state.run.Volumes = { ...(state.run.Volumes ?? {}) };
        for (const volume of list) state.run.Volumes[volume] = {};
        return this.#images.commitConfig(state, `VOLUME [${list.join(' ')}]`);
      }
      case 'STOPSIGNAL':
        state.run.StopSignal = word(i.args);
        return this.#images.commitConfig(state, `STOPSIGNAL ${state.run.StopSignal}`);
      case 'CMD': {
        state.run.Cmd = i.json ?? [...shellOf(state), i.args];
        if (i.json === undefined) state.run.ArgsEscaped = true;
        state.isCmdSet = true;
        return this.#images.commitConfig(state, `CMD ${goQuoted(state.run.Cmd)}`);
      }
      case 'ENTRYPOINT': {
        state.run.Entrypoint = i.json ?? (i.args === '' ? null : [...shellOf(state), i.args]);
        // docker: a new ENTRYPOINT resets the CMD inherited from the base (not one set in this stage).
        if (!state.isCmdSet) state.run.Cmd = null;
        return this.#images.commitConfig(state, `ENTRYPOINT ${goQuoted(state.run.Entrypoint ?? [])}`);
      }
      case 'SHELL':
        state.run.Shell = i.json!;
        return this.#images.commitConfig(state, `SHELL [${i.json!.join(' ')}]`);
      case 'HEALTHCHECK':
        state.run.Healthcheck = healthcheck(i, this.#escape);
        return this.#images.commitConfig(state, `HEALTHCHECK ${JSON.stringify(state.run.Healthcheck)}`);
      case 'ONBUILD': {
        // A trigger keeps its here-documents, as BuildKit stores them: each body, then its terminator.
        const trigger = i.args.trim() + i.heredocs.map((doc) => `\n${doc.content}${doc.name}`).join('');
        state.run.OnBuild = [...(state.run.OnBuild ?? []), trigger];
        return this.#images.commitConfig(state, `ONBUILD ${trigger}`);
      }
      case 'RUN':
        return this.#run(state, i);
      case 'COPY':
      case 'ADD':
        return this.#copy.run(state, i, env);
      default:
        throw new BuildStepError(`unknown instruction: ${i.keyword}`);
    }
  }

  async #run(state: StageState, i: DockerfileInstruction): Promise<void> {
    const heredoc = i.json === undefined && i.heredocs.length > 0 ? heredocRunCommand(i.args, i.heredocs) : undefined;
    const cmd = i.json ?? [...shellOf(state), heredoc?.command ?? i.args];
    const args = this.#allowedArgs(state);
    const argEnv = [...args].filter(([key]) => !envMap(state.run.Env ?? []).has(key)).map(([k, v]) => `${k}=${v}`);
    // docker's history for RUN with build args: `|N K=V ... cmd` (predefined args only when declared).
    const recorded = argEnv.filter((e) => state.args.has(e.slice(0, e.indexOf('='))));
    const createdBy = recorded.length > 0 ? `|${recorded.length} ${recorded.join(' ')} ${cmd.join(' ')}` : cmd.join(' ');
    // A script run from /dev/pipes is named in the command, not shown: its text keys the cache.
    const script = heredoc?.script;
    const parts = { parentId: state.imageId ?? '', createdBy, config: state.run, ...(script ? { contentSum: createHash('sha256').update(script.data).digest('hex') } : {}) };
    if (await this.#images.fromCache(state, parts)) return;
    const scriptDir = script ? await this.#containers.makeScratchDir() : undefined;
    let id: string;
    try {
      const binds = scriptDir ? [`${await this.#containers.writeScratchFile(scriptDir, script!.name, script!.data, 0o755)}:/dev/pipes/${script!.name}:ro`] : [];
      id = await this.#containers.run(state, cmd, argEnv, binds);
    } finally {
      if (scriptDir) await rm(scriptDir, { recursive: true, force: true });
    }
    await this.#images.commit(state, createdBy, await this.#containers.packChanges(id), parts);
  }

  /** WORKDIR: the directory is made in a layer when the image lacks it, as docker does. */
  async #workdir(state: StageState, dir: string): Promise<void> {
    const comment = `WORKDIR ${dir}`;
    if (state.imageId === undefined) return this.#images.commitConfig(state, comment);
    const parts = { parentId: state.imageId, createdBy: [...shellOf(state), '#(nop) ', comment].join(' '), config: state.run };
    if (await this.#images.fromCache(state, parts)) return;
    const id = await this.#containers.create(state, [...shellOf(state), `#(nop) ${comment}`], state.run.Env ?? []);
    try {
      const exists = await statContainerPath(this.#deps, id, dir).then(() => true, () => false);
      if (!exists) await extractToContainer(this.#deps, id, '/', dirTar(dir), { noOverwriteDirNonDir: false, copyUidGid: false });
      const layer = exists ? undefined : await this.#containers.packChanges(id);
      await this.#images.commit(state, parts.createdBy, layer, parts);
    } finally {
      await this.#engine.containers.remove(id, { force: true, removeVolumes: true }).catch(() => {});
    }
  }
}
