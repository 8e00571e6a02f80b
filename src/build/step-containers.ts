/**
 * The temporary containers of a build's steps: made on the stage's image with the build's
 * runtime options (so `--isolation` applies to RUN as to any container), run with their output
 * shown, their changes packed as a layer from the overlay upper dir (deletions as whiteouts),
 * and removed as `--rm`/`--force-rm` say. Also the scratch files here-documents need.
 */
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../common/index.js';
import { isRuntimePlaceholder, newCreateInput, type CreateContainerInput, type Engine } from '../engine/index.js';
import { packOverlayDiff, RootedDir } from '../snapshot/index.js';
import { BuildStepError, type BuildOptions } from './build-options.js';
import { shortId, type StageState } from './stage-state.js';

/** The step containers of one build. */
export class StepContainers {
  readonly #engine: Engine;
  readonly #options: BuildOptions;
  readonly #signal: AbortSignal;
  readonly #scratchDir: string;
  readonly #print: (text: string) => void;
  /** RUN containers not yet removed (docker's tmpContainers). */
  readonly #temporary = new Set<string>();

  /** `scratchDir`: where here-documents' files are written (each in a directory of its own); `print` shows build output. */
  constructor(engine: Engine, options: BuildOptions, signal: AbortSignal, scratchDir: string, print: (text: string) => void) {
    this.#engine = engine;
    this.#options = options;
    this.#signal = signal;
    this.#scratchDir = scratchDir;
    this.#print = print;
  }

  async removeTemporary(): Promise<void> {
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

  /** A temporary container on the stage's image, running `cmd` when started. */
  async create(state: StageState, cmd: string[], env: string[], binds: string[] = []): Promise<string> {
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

  /**
   * Run `cmd` in a temporary container of the stage and show its output; returns the container
   * (kept for its changes). Throws BuildStepError on a non-zero exit.
   */
  async run(state: StageState, cmd: string[], argEnv: string[], binds: string[]): Promise<string> {
    const id = await this.create(state, cmd, [...(state.run.Env ?? []), ...argEnv], binds);
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

  /** A new directory under the build's scratch folder, for here-documents' files; the caller removes it. */
  async makeScratchDir(): Promise<string> {
    await mkdir(this.#scratchDir, { recursive: true, mode: 0o700 });
    return mkdtemp(join(this.#scratchDir, 'doc-'));
  }

  /** Write a here-document's file `dir/name` with exactly `mode`; returns its path. */
  async writeScratchFile(dir: string, name: string, data: string, mode: number): Promise<string> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, name);
    await writeFile(path, data, { mode });
    await chmod(path, mode);
    return path;
  }

  /** The container's changes as a layer blob (the overlay upper dir as a docker layer tar). */
  async packChanges(id: string): Promise<{ digest: `sha256:${string}` }> {
    const upperDir = this.#engine.containers.pathsOf(id).upper;
    const upper = await RootedDir.open(upperDir);
    try {
      return await this.#engine.images.content.put(packOverlayDiff(upper, upperDir, isRuntimePlaceholder));
    } finally {
      await upper.close();
    }
  }

  /** Remove a container made for a step that keeps none (COPY, WORKDIR); failures are left to `docker ps -a`. */
  async discard(id: string): Promise<void> {
    await this.#engine.containers.remove(id, { force: true, removeVolumes: true }).catch(() => {});
  }
}
