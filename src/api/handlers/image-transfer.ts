/**
 * Image transfer endpoints: pull and import (`POST /images/create`), push, save
 * (`GET /images/get`, `/images/{name}/get`), load, `POST /auth` (docker login) and
 * `GET /system/df`. Long operations answer with docker's JSON progress stream.
 */
import type { ServerResponse } from 'node:http';
import { InvalidArgumentError, NotImplementedError } from '../../common/index.js';
import type { Engine } from '../../engine/index.js';
import type { ApiRequest } from '../request.js';
import type { Router } from '../router.js';
import { toDockerImageSummary, toDockerSummary } from '../translate/index.js';
import { authConfigSchema } from '../wire/index.js';
import { ProgressStream, type ProgressStep } from './progress-stream.js';
import { decodeRegistryAuth, fromAuthConfig } from './registry-auth-header.js';

type Progress = (step: ProgressStep) => void;

/** Run a long operation under a progress stream: errors before any output are plain errors. */
async function streamed(res: ServerResponse, run: (progress: Progress) => Promise<void>): Promise<undefined> {
  const stream = new ProgressStream(res);
  try {
    await run(stream.send);
  } catch (err) {
    if (!stream.isStarted) throw err;
    stream.fail(err);
    return undefined;
  }
  stream.end();
  return undefined;
}

export function addImageTransferRoutes(router: Router, engine: Engine): void {
  router.add('POST', '/images/create', async (req, res) => {
    const fromImage = req.string('fromImage') ?? '';
    const fromSrc = req.string('fromSrc') ?? '';
    if (fromImage !== '') return pull(engine, req, res, fromImage);
    if (fromSrc !== '') return importImage(engine, req, res, fromSrc);
    throw new InvalidArgumentError('fromImage or fromSrc is required');
  });

  router.add('POST', '/images/{name*}/push', async (req, res) => {
    const credentials = decodeRegistryAuth(req.raw.headers['x-registry-auth']);
    const name = req.param('name');
    const tag = req.string('tag') || undefined;
    return streamed(res, async (progress) => {
      await engine.images.push(name, tag, { credentials, progress });
      engine.events.publish('image', 'push', tag !== undefined ? `${name}:${tag}` : name, { name: tag !== undefined ? `${name}:${tag}` : name });
    });
  });

  router.add('GET', '/images/get', async (req, res) => save(engine, req, res, req.query.getAll('names')));
  router.add('GET', '/images/{name*}/get', async (req, res) => save(engine, req, res, [req.param('name')]));

  router.add('POST', '/images/load', async (req, res) => {
    const quiet = req.bool('quiet');
    return streamed(res, async (progress) => {
      const loaded = await engine.images.load(req.raw, { signal: req.signal, progress: quiet ? (step) => (step.stream !== undefined ? progress(step) : undefined) : progress });
      for (const image of loaded) engine.events.publish('image', 'load', image.id, { name: image.tags[0] ?? image.id });
    });
  });

  router.add('POST', '/auth', async (req) => {
    const body: Record<string, unknown> = await req.json(authConfigSchema);
    const server = typeof body['serveraddress'] === 'string' ? body['serveraddress'] : '';
    const result = await engine.images.login(server, fromAuthConfig(body));
    return { body: { Status: 'Login Succeeded', IdentityToken: result.identityToken ?? '' } };
  });

  router.add('GET', '/system/df', async () => {
    const images = await engine.images.list();
    const { layersSizeBytes } = await engine.images.diskUsage();
    return {
      body: {
        LayersSize: layersSizeBytes,
        Images: images.map((image) => ({ ...toDockerImageSummary(image, engine.containersUsing(image.id).length), SharedSize: 0 })),
        Containers: engine.containers.all().map((record) => ({ ...toDockerSummary(record), SizeRw: 0, SizeRootFs: 0 })),
        Volumes: [],
        BuildCache: [],
      },
    };
  });
}

async function pull(engine: Engine, req: ApiRequest, res: ServerResponse, fromImage: string): Promise<undefined> {
  const tag = req.string('tag') ?? '';
  let ref = fromImage;
  if (tag !== '') ref = tag.startsWith('sha256:') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`;
  const credentials = decodeRegistryAuth(req.raw.headers['x-registry-auth']);
  const platform = req.string('platform') || undefined;
  return streamed(res, async (progress) => {
    await engine.images.pull(ref, { credentials, progress, ...(platform !== undefined ? { platform } : {}) });
    engine.events.publish('image', 'pull', ref, { name: ref });
  });
}

async function importImage(engine: Engine, req: ApiRequest, res: ServerResponse, fromSrc: string): Promise<undefined> {
  if (fromSrc !== '-') throw new NotImplementedError(`importing from a URL is not supported: ${fromSrc}; pipe the file to "docker import -"`);
  const repo = req.string('repo') ?? '';
  const tag = req.string('tag') ?? '';
  const ref = repo === '' ? undefined : tag !== '' ? `${repo}:${tag}` : repo;
  const message = req.string('message');
  const changes = req.query.getAll('changes').filter((c) => c !== '');
  return streamed(res, async (progress) => {
    const image = await engine.images.importImage(req.raw, {
      progress,
      signal: req.signal,
      ...(ref !== undefined ? { ref } : {}),
      ...(message !== undefined ? { message } : {}),
      ...(changes.length > 0 ? { changes } : {}),
    });
    progress({ status: image.id });
    engine.events.publish('image', 'import', image.id, { name: ref ?? image.id });
  });
}

async function save(engine: Engine, req: ApiRequest, res: ServerResponse, names: string[]): Promise<undefined> {
  if (names.length === 0) throw new InvalidArgumentError('no images named');
  // Resolve every name first, so a typo is a 404 rather than a broken tar.
  for (const name of names) await engine.images.get(name);
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await engine.images.save(names, res).catch((err: unknown) => {
    // Headers are out: all we can do is cut the stream so the client sees a broken archive.
    res.destroy(err instanceof Error ? err : undefined);
  });
  if (!res.writableEnded && !res.destroyed) res.end();
  for (const name of names) engine.events.publish('image', 'save', name, { name });
  void req;
  return undefined;
}
