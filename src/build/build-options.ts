/**
 * What one build asks for (the query of `POST /build`, in Berth's names) and where its
 * output goes.
 */
import { BerthError } from '../common/index.js';

/** The options of one build. */
export interface BuildOptions {
  /** `t`: references to tag the result with. */
  tags: string[];
  /** `dockerfile`: path inside the context ('' for `Dockerfile`). */
  dockerfile: string;
  /** `q`: only the final image id (the CLI prints it from the aux message). */
  quiet: boolean;
  noCache: boolean;
  /** `rm`: remove a RUN step's container after the step succeeds (docker's default). */
  remove: boolean;
  /** `forcerm`: remove it whatever happens. */
  forceRemove: boolean;
  pull: boolean;
  /** `buildargs`: null values take the daemon's environment in docker; here they are unset. */
  buildArgs: Record<string, string | null>;
  /** `labels`: added to the final stage as LABEL steps. */
  labels: Record<string, string>;
  target: string;
  /** `networkmode` for RUN steps ('' or `default`: the default bridge). */
  networkMode: string;
  shmSizeBytes: number;
  /** `extrahosts`: `name:ip` entries for RUN steps' /etc/hosts. */
  extraHosts: string[];
  /** `isolation`: '' (the daemon's default), `process`, `vm` or `hyperv`. */
  isolation: string;
  cacheFrom: string[];
  platform: string;
  memoryBytes: number;
  memorySwapBytes: number;
  cpuShares: number;
  cpusetCpus: string;
}

/** Defaults as docker's API has them when a query value is absent. */
export function defaultBuildOptions(): BuildOptions {
  return {
    tags: [], dockerfile: '', quiet: false, noCache: false, remove: true, forceRemove: false, pull: false,
    buildArgs: {}, labels: {}, target: '', networkMode: '', shmSizeBytes: 0, extraHosts: [], isolation: '',
    cacheFrom: [], platform: '', memoryBytes: 0, memorySwapBytes: 0, cpuShares: 0, cpusetCpus: '',
  };
}

/** Where a build's progress goes: JSON-stream lines, as docker's classic builder writes them. */
export interface BuildOutput {
  /** A piece of the build's text output (`Step 1/3 : FROM busybox\n`, a RUN step's output). */
  stream(text: string): void;
  /** An aux message (`{"ID": "sha256:..."}` at the end of each stage). */
  aux(value: Record<string, unknown>): void;
  /** A pull's progress line (FROM of an image that is not here). */
  status(step: { id?: string; status: string; currentBytes?: number; totalBytes?: number }): void;
}

/** A build that failed after it started: docker's errorDetail, with a RUN step's exit code. */
export class BuildStepError extends BerthError {
  readonly exitCode: number | undefined;
  constructor(message: string, exitCode?: number) {
    super('invalid-argument', 'BERTH_BUILD_STEP_FAILED', message);
    this.exitCode = exitCode;
  }
}
