/**
 * The classic builder (what `docker build` runs without BuildKit), one per daemon: it keeps the
 * build cache and runs each build as a BuildRun (build-run.ts). A RUN step runs in a temporary
 * container through the normal runtime (so `--isolation` applies to it as to any container)
 * and its change is the container's overlay upper dir packed as a layer; each step's image is a
 * real image whose parent is the previous step's, as docker keeps them.
 */
import { join } from 'node:path';
import type { Engine } from '../engine/index.js';
import { BuildCache } from './build-cache.js';
import type { BuildContext } from './build-context.js';
import type { BuildOptions, BuildOutput } from './build-options.js';
import { BuildRun } from './build-run.js';
import type { PreparedBuild } from './prepare-build.js';

/** Runs builds against one engine. */
export class Builder {
  readonly #engine: Engine;
  readonly #cache: BuildCache;
  readonly #scratchDir: string;

  /** `stateDir`: where the cache index and here-documents' scratch files live (a folder of the daemon's root). */
  constructor(engine: Engine, stateDir: string) {
    this.#engine = engine;
    this.#cache = new BuildCache(stateDir);
    this.#scratchDir = join(stateDir, 'heredocs');
  }

  /** Run a prepared build; returns the final image id. Throws BuildStepError (or a BerthError) on failure. */
  async build(prepared: PreparedBuild, context: BuildContext, options: BuildOptions, out: BuildOutput, signal: AbortSignal): Promise<string> {
    const run = new BuildRun(this.#engine, this.#cache, this.#scratchDir, prepared, context, options, out, signal);
    return run.execute();
  }
}
