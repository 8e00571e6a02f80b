/**
 * A build checked before anything runs: the Dockerfile parsed, the target stage found, the
 * tags and platform checked, `--label`s added as LABEL steps of the last stage, the steps
 * counted for `Step N/M`. What fails here is the API's 400 before any output.
 */
import { InvalidArgumentError } from '../common/index.js';
import { parseImageReference } from '../store/index.js';
import type { BuildOptions } from './build-options.js';
import { parseDockerfile, type DockerfileInstruction, type DockerfileStage, type ParsedDockerfile } from './dockerfile.js';

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

/** Whether a `--platform` value names linux/amd64, the one platform this daemon builds. */
export function isAmd64(platform: string): boolean {
  return ['linux/amd64', 'linux/x86_64', 'linux', 'amd64'].includes(platform.toLowerCase());
}
