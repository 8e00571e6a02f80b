/**
 * `POST /build`: docker's classic builder. The body is the context tar; the query carries the
 * options (docker's names). Everything that can be refused (an option Berth does not honour,
 * the Dockerfile's syntax, a bad tag) is refused before any output, with docker's status;
 * afterwards progress and failures travel in the JSON stream, a failing RUN's exit code in
 * `errorDetail.code` (the CLI exits with it).
 */
import { join } from 'node:path';
import { InvalidArgumentError, NotImplementedError } from '../../common/index.js';
import { BuildContext, Builder, BuildStepError, defaultBuildOptions, prepareBuild, type BuildOptions } from '../../build/index.js';
import type { Engine } from '../../engine/index.js';
import type { ApiRequest } from '../request.js';
import type { Router } from '../router.js';
import { ProgressStream } from './progress-stream.js';

function jsonParam<T>(req: ApiRequest, name: string, check: (value: unknown) => value is T): T | undefined {
  const text = req.string(name);
  if (text === undefined || text === '' || text === 'null') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`invalid ${name}: ${text}`);
  }
  if (!check(value)) throw new InvalidArgumentError(`invalid ${name}: ${text}`);
  return value;
}

const isStringMap = (v: unknown): v is Record<string, string | null> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => x === null || typeof x === 'string');
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The query as BuildOptions; options Berth does not honour are refused by name. */
export function buildOptionsOf(req: ApiRequest): BuildOptions {
  const options = defaultBuildOptions();
  const remote = req.string('remote') ?? '';
  if (remote !== '') throw new NotImplementedError(`remote build contexts are not supported (remote=${remote}): send the context as the request body`);
  const version = req.string('version') ?? '';
  if (version !== '' && version !== '1') throw new NotImplementedError(`builder version ${version} (BuildKit) is not supported: use the classic builder (DOCKER_BUILDKIT=0)`);
  if (req.bool('squash')) throw new NotImplementedError('squash is not supported');
  for (const name of ['cpuperiod', 'cpuquota']) {
    if ((req.int(name) ?? 0) !== 0) throw new NotImplementedError(`${name} is not supported for builds`);
  }
  for (const name of ['cgroupparent', 'cpusetmems', 'session', 'outputs']) {
    const value = req.string(name) ?? '';
    if (value !== '' && value !== 'null' && value !== '[]') throw new NotImplementedError(`${name} is not supported for builds`);
  }
  const ulimits = jsonParam(req, 'ulimits', (v): v is unknown[] => Array.isArray(v));
  if (ulimits !== undefined && ulimits.length > 0) throw new NotImplementedError('ulimits are not supported for builds');
  if (req.bool('nocache')) options.noCache = true;
  options.tags = req.query.getAll('t').filter((t) => t !== '');
  options.dockerfile = req.string('dockerfile') ?? '';
  options.quiet = req.bool('q');
  options.remove = req.bool('rm', true);
  options.forceRemove = req.bool('forcerm');
  options.pull = req.bool('pull');
  options.buildArgs = jsonParam(req, 'buildargs', isStringMap) ?? {};
  const labels = jsonParam(req, 'labels', isStringMap) ?? {};
  options.labels = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, v ?? '']));
  options.target = req.string('target') ?? '';
  options.networkMode = req.string('networkmode') ?? '';
  options.shmSizeBytes = req.int('shmsize') ?? 0;
  if (options.shmSizeBytes < 0) throw new InvalidArgumentError('shmsize: SHM size can not be less than 0');
  options.extraHosts = req.query.getAll('extrahosts').flatMap((h) => h.split(',')).filter((h) => h !== '');
  options.isolation = req.string('isolation') ?? '';
  options.platform = req.string('platform') ?? '';
  options.memoryBytes = req.int('memory') ?? 0;
  options.memorySwapBytes = req.int('memswap') ?? 0;
  options.cpuShares = req.int('cpushares') ?? 0;
  options.cpusetCpus = req.string('cpusetcpus') ?? '';
  options.cacheFrom = jsonParam(req, 'cachefrom', isStringList) ?? [];
  return options;
}

export function addBuildRoutes(router: Router, engine: Engine): void {
  // Made at the first build: routes are also listed with no engine behind them.
  let builder: Builder | undefined;

  router.add('POST', '/build', async (req, res) => {
    const options = buildOptionsOf(req);
    builder ??= new Builder(engine, join(engine.facts.root, 'build'));
    const context = await BuildContext.receive(req.raw, join(engine.facts.root, 'build', 'contexts'));
    try {
      const text = await context.takeDockerfile(options.dockerfile);
      const prepared = prepareBuild(text, options);
      const stream = new ProgressStream(res);
      try {
        await builder.build(prepared, context, options, {
          stream: (text) => stream.send({ status: '', stream: text }),
          aux: (value) => stream.sendAux(value),
          status: (step) => stream.send(step),
        }, req.signal);
      } catch (err) {
        if (!stream.isStarted) throw err;
        stream.fail(err, err instanceof BuildStepError ? err.exitCode : undefined);
        return undefined;
      }
      stream.end();
      return undefined;
    } finally {
      await context.close();
    }
  });

  router.add('POST', '/build/prune', async () => {
    throw new NotImplementedError('the classic builder keeps no build cache apart from images: use `docker image prune`');
  });
}
