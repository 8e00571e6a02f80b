/**
 * `docker import`: a root filesystem tar (plain or gzip) becomes a one-layer image, with the
 * config docker writes (host platform, creation time, "Imported from -" history) and the
 * `--change` instructions docker accepts for import (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER,
 * VOLUME, WORKDIR, STOPSIGNAL). The layer is stored uncompressed: its digest is its diff id.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InvalidArgumentError } from '../../common/index.js';
import { type ImageConfig, type ImageRuntimeConfig, MediaType } from '../../oci/index.js';
import type { ImageService } from '../image-service.js';
import type { Image } from '../image.js';
import { hostArchitecture } from '../registry/manifests.js';

/** Options of one import. */
export interface ImportOptions {
  /** `name[:tag]` to tag the image with. */
  ref?: string;
  /** The history comment; docker's default is "Imported from -". */
  message?: string;
  /** Dockerfile instructions applied to the config (`CMD ["sh"]`, `ENV A=b`). */
  changes?: string[];
}

/** Import `source` as a new image; on failure nothing is left. */
export async function importImage(service: ImageService, source: Readable, options: ImportOptions): Promise<Image> {
  const runtime: ImageRuntimeConfig = {};
  for (const change of options.changes ?? []) applyChange(runtime, change);
  const tarStream = await uncompressed(source);
  const blob = await service.content.put(tarStream);
  const created = new Date().toISOString();
  const comment = options.message || 'Imported from -';
  const config: ImageConfig = {
    architecture: hostArchitecture(),
    os: 'linux',
    created,
    ...(Object.keys(runtime).length > 0 ? { config: runtime } : {}),
    rootfs: { type: 'layers', diff_ids: [blob.digest] },
    history: [{ created, comment }],
    comment,
  };
  const release = service.claimBlobs([blob.digest]);
  try {
    const image = await service.addImage({ configBytes: Buffer.from(JSON.stringify(config)), layers: [{ blobDigest: blob.digest, mediaType: MediaType.dockerLayer }] }, options.ref !== undefined ? [options.ref] : []);
    release();
    return image;
  } catch (err) {
    release();
    await service.discardBlobs([blob.digest]);
    throw err;
  }
}

async function uncompressed(source: Readable): Promise<Readable> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value as Uint8Array);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value as Buffer;
    }
  }
  const stream = Readable.from(replay());
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    stream.on('error', (err) => gunzip.destroy(err));
    return stream.pipe(gunzip);
  }
  if (head.length === 0) throw new InvalidArgumentError('the import source is empty');
  return stream;
}

// One `--change` line: the instruction and its argument, JSON or shell form as Dockerfiles allow.
function applyChange(config: ImageRuntimeConfig, change: string): void {
  const match = /^\s*(\w+)\s+([\s\S]*?)\s*$/.exec(change);
  if (match === null) throw new InvalidArgumentError(`dockerfile parse error: ${JSON.stringify(change)}`);
  const instruction = match[1]!.toUpperCase();
  const argument = match[2]!;
  const list = (): string[] => {
    if (argument.startsWith('[')) {
      try {
        const parsed = JSON.parse(argument) as unknown;
        if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return parsed as string[];
      } catch {
        // Not JSON: the shell form below.
      }
    }
    return ['/bin/sh', '-c', argument];
  };
  const pairs = (): Array<[string, string]> => {
    if (!argument.includes('=')) {
      const space = argument.search(/\s/);
      return [[space < 0 ? argument : argument.slice(0, space), space < 0 ? '' : argument.slice(space + 1).trim()]];
    }
    return (argument.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []).map((part) => {
      const eq = part.indexOf('=');
      const unquote = (v: string): string => v.replace(/^"(.*)"$/, '$1');
      return [unquote(part.slice(0, eq)), unquote(part.slice(eq + 1))];
    });
  };
  switch (instruction) {
    case 'CMD':
      config.Cmd = list();
      return;
    case 'ENTRYPOINT':
      config.Entrypoint = list();
      return;
    case 'ENV':
      for (const [key, value] of pairs()) config.Env = [...(config.Env ?? []).filter((e) => !e.startsWith(`${key}=`)), `${key}=${value}`];
      return;
    case 'LABEL':
      for (const [key, value] of pairs()) config.Labels = { ...(config.Labels ?? {}), [key]: value };
      return;
    case 'EXPOSE':
      for (const port of argument.split(/\s+/)) config.ExposedPorts = { ...(config.ExposedPorts ?? {}), [port.includes('/') ? port : `${port}/tcp`]: {} };
      return;
    case 'VOLUME':
      for (const volume of argument.startsWith('[') ? (JSON.parse(argument) as string[]) : argument.split(/\s+/)) config.Volumes = { ...(config.Volumes ?? {}), [volume]: {} };
      return;
    case 'USER':
      config.User = argument;
      return;
    case 'WORKDIR':
      config.WorkingDir = argument;
      return;
    case 'STOPSIGNAL':
      config.StopSignal = argument;
      return;
    default:
      throw new InvalidArgumentError(`${instruction} is not a valid change command`);
  }
}
