/**
 * Container file endpoints: cp (`HEAD`/`GET`/`PUT /containers/{id}/archive`), diff
 * (`GET /containers/{id}/changes`), export (`GET /containers/{id}/export`) and
 * `POST /commit`. The stat of a path travels base64-encoded in X-Docker-Container-Path-Stat.
 */
import type { ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../../common/index.js';
import {
  archiveContainerPath, commitContainer, containerChanges, exportContainer, extractToContainer, statContainerPath,
  type Engine, type PathStat,
} from '../../engine/index.js';
import type { ApiRequest } from '../request.js';
import type { Router } from '../router.js';
import { commitConfigSchema, PATH_STAT_HEADER, type CommitResponse, type ContainerPathStat, type FilesystemChangeItem } from '../wire/index.js';

// Go's os.FileMode type bits, which the docker CLI decodes from the stat header.
const GO_MODE = { dir: 2 ** 31, symlink: 2 ** 27, device: 2 ** 26, namedPipe: 2 ** 25, socket: 2 ** 24, setuid: 2 ** 23, setgid: 2 ** 22, charDevice: 2 ** 21, sticky: 2 ** 20 };

/** st_mode as Go's os.FileMode (what moby's stat JSON carries). */
export function toGoFileMode(mode: number): number {
  let out = mode & 0o777;
  switch (mode & 0o170000) {
    case 0o040000: out += GO_MODE.dir; break;
    case 0o120000: out += GO_MODE.symlink; break;
    case 0o020000: out += GO_MODE.device + GO_MODE.charDevice; break;
    case 0o060000: out += GO_MODE.device; break;
    case 0o010000: out += GO_MODE.namedPipe; break;
    case 0o140000: out += GO_MODE.socket; break;
  }
  if (mode & 0o4000) out += GO_MODE.setuid;
  if (mode & 0o2000) out += GO_MODE.setgid;
  if (mode & 0o1000) out += GO_MODE.sticky;
  return out;
}

/** The header value for a stat: base64 of docker's JSON. */
export function encodePathStat(stat: PathStat): string {
  const wire: ContainerPathStat = { name: stat.name, size: stat.sizeBytes, mode: toGoFileMode(stat.mode), mtime: stat.mtime.toISOString(), linkTarget: stat.linkTarget };
  return Buffer.from(JSON.stringify(wire)).toString('base64');
}

function requiredPath(req: ApiRequest): string {
  const path = req.string('path');
  if (path === undefined || path === '') throw new InvalidArgumentError('path is required');
  return path;
}

/** Copy an archive to the response, respecting backpressure; a client gone stops the copy. */
async function sendTar(res: ServerResponse, tar: AsyncIterable<Buffer>, signal: AbortSignal): Promise<void> {
  for await (const chunk of tar) {
    if (signal.aborted || res.destroyed) return;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
}

/**
 * Answer with a tar that `produce` streams through `send`. A failure before `send` is the
 * request's error answer; after it the headers are gone, so the archive is cut short, which
 * the client notices.
 */
async function answerWithTar(
  res: ServerResponse,
  signal: AbortSignal,
  produce: (send: (headers: Record<string, string>, tar: AsyncIterable<Buffer>) => Promise<void>) => Promise<void>,
): Promise<undefined> {
  let started = false;
  try {
    await produce(async (headers, tar) => {
      res.writeHead(200, { ...headers, 'Content-Type': 'application/x-tar' });
      started = true;
      await sendTar(res, tar, signal);
    });
  } catch (err) {
    if (!started) throw err;
    res.destroy();
    return undefined;
  }
  res.end();
  return undefined;
}

export function addArchiveRoutes(router: Router, engine: Engine): void {
  const deps = { containers: engine.containers, images: engine.images };

  // HEAD reaches this route too (the router maps HEAD onto GET).
  router.add('GET', '/containers/{id}/archive', async (req, res) => {
    const id = req.param('id');
    const path = requiredPath(req);
    if (req.raw.method === 'HEAD') {
      const stat = await statContainerPath(deps, id, path);
      res.writeHead(200, { [PATH_STAT_HEADER]: encodePathStat(stat), 'Content-Type': 'application/json' }).end();
      return undefined;
    }
    return answerWithTar(res, req.signal, (send) =>
      archiveContainerPath(deps, id, path, (stat, tar) => send({ [PATH_STAT_HEADER]: encodePathStat(stat) }, tar)),
    );
  });

  router.add('PUT', '/containers/{id}/archive', async (req) => {
    await extractToContainer(deps, req.param('id'), requiredPath(req), req.raw, {
      noOverwriteDirNonDir: req.bool('noOverwriteDirNonDir'),
      copyUidGid: req.bool('copyUIDGID'),
    });
    return { status: 200 };
  });

  router.add('GET', '/containers/{id}/changes', async (req) => {
    const changes = await containerChanges(deps, req.param('id'));
    const body: FilesystemChangeItem[] = changes.map((change) => ({ Path: change.path, Kind: change.kind }));
    return { body };
  });

  router.add('GET', '/containers/{id}/export', async (req, res) =>
    answerWithTar(res, req.signal, (send) => exportContainer(deps, req.param('id'), (tar) => send({}, tar))),
  );

  router.add('POST', '/commit', async (req) => {
    const container = req.string('container') ?? '';
    if (container === '') throw new InvalidArgumentError('container is required');
    const body = await req.json(commitConfigSchema);
    const config = body === null || Object.keys(body).length === 0 ? undefined : {
      ...(body.User !== undefined ? { User: body.User } : {}),
      ...(body.Env ? { Env: body.Env } : {}),
      ...(body.Cmd ? { Cmd: typeof body.Cmd === 'string' ? [body.Cmd] : body.Cmd } : {}),
      ...(body.Entrypoint ? { Entrypoint: typeof body.Entrypoint === 'string' ? [body.Entrypoint] : body.Entrypoint } : {}),
      ...(body.WorkingDir !== undefined ? { WorkingDir: body.WorkingDir } : {}),
      ...(body.Labels ? { Labels: body.Labels } : {}),
      ...(body.ExposedPorts ? { ExposedPorts: body.ExposedPorts as Record<string, Record<string, never>> } : {}),
      ...(body.Volumes ? { Volumes: body.Volumes as Record<string, Record<string, never>> } : {}),
      ...(body.StopSignal !== undefined ? { StopSignal: body.StopSignal } : {}),
    };
    const result = await commitContainer(deps, container, {
      repo: req.string('repo') ?? '',
      tag: req.string('tag') ?? '',
      comment: req.string('comment') ?? '',
      author: req.string('author') ?? '',
      // docker pauses unless told not to (the query is absent from old clients).
      pause: req.bool('pause', true),
      changes: req.query.getAll('changes'),
      config,
    });
    const response: CommitResponse = { Id: result.id };
    return { status: 201, body: response };
  });
}
