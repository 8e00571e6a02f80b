/**
 * `docker commit` (`POST /commit`): a new image made of the container's image plus one layer
 * holding the container's changes (its overlay upper dir as a docker layer tar), with the
 * container's config (and any `--change`s) as the image's config and one history entry more.
 * Input is checked before anything is stored: a bad change or reference changes nothing.
 */
import { BerthError, crashPoint, InvalidArgumentError } from '../../common/index.js';
import { applyChanges, MediaType, type ImageConfig, type ImageRuntimeConfig } from '../../oci/index.js';
import { packOverlayDiff, RootedDir } from '../../snapshot/index.js';
import { InvalidReferenceError, isValidTag, parseImageReference } from '../../store/index.js';
import type { ContainerRecord } from '../container.js';
import { isRuntimePlaceholder, type ArchiveDeps } from './container-fs.js';

/** The digest of a layer tar with no entries (1024 zero bytes): docker keeps no such layer. */
export const EMPTY_LAYER_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

/** What `POST /commit` asks for. */
export interface CommitOptions {
  repo: string;
  tag: string;
  comment: string;
  author: string;
  /** Freeze a running container while its changes are read (docker's default). */
  pause: boolean;
  changes: readonly string[];
  /** A config given in the request body; unset fields come from the container's. */
  config?: ImageRuntimeConfig | undefined;
}

/** The container's settings as an image runtime config (docker's Config, the fields images keep). */
export function runtimeConfigOf(record: ContainerRecord): ImageRuntimeConfig {
  const settings = record.settings;
  const config: ImageRuntimeConfig = {
    User: settings.user,
    Env: [...settings.env],
    Cmd: settings.cmd.length > 0 ? [...settings.cmd] : null,
    Entrypoint: settings.entrypoint === null ? null : [...settings.entrypoint],
    WorkingDir: settings.workingDir,
    Labels: { ...settings.labels },
    OnBuild: null,
  };
  if (Object.keys(settings.exposedPorts).length > 0) config.ExposedPorts = { ...settings.exposedPorts };
  if (Object.keys(settings.volumes).length > 0) config.Volumes = { ...settings.volumes };
  if (settings.stopSignal !== '') config.StopSignal = settings.stopSignal;
  return config;
}

// docker's merge(): fields the request's config leaves empty come from the container's.
function mergeConfig(user: ImageRuntimeConfig, container: ImageRuntimeConfig): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = { ...container, ...Object.fromEntries(Object.entries(user).filter(([, v]) => v !== undefined && v !== null && v !== '')) };
  if (user.Env !== undefined) {
    const keys = new Set(user.Env.map((e) => e.split('=')[0]));
    out.Env = [...user.Env, ...(container.Env ?? []).filter((e) => !keys.has(e.split('=')[0]))];
  }
  return out;
}

/** Check `repo` and `tag` as docker does, before anything is stored. */
function tagsFor(repo: string, tag: string): string[] {
  if (repo === '') {
    if (tag !== '') throw new InvalidArgumentError('tag is specified without repository');
    return [];
  }
  const reference = parseImageReference(repo);
  if (reference.digest !== undefined) throw new InvalidReferenceError('refusing to create a tag with a digest reference');
  if (tag !== '' && !isValidTag(tag)) throw new InvalidReferenceError('invalid tag format');
  return [tag === '' ? repo : `${repo}:${tag}`];
}

/** Commit the container as a new image; returns its id (`sha256:...`). */
export async function commitContainer(deps: ArchiveDeps, ref: string, options: CommitOptions): Promise<{ id: string }> {
  const id = deps.containers.get(ref).id;
  const tags = tagsFor(options.repo, options.tag);
  return deps.containers.withLock(id, async () => {
    const record = deps.containers.get(id);
    const containerConfig = runtimeConfigOf(record);
    const base = options.config !== undefined ? mergeConfig(options.config, containerConfig) : containerConfig;
    const runtimeConfig = applyChanges(base, options.changes);
    const parent = await deps.images.get(record.imageId);
    const paths = deps.containers.pathsOf(id);

    const runtime = deps.containers.runtimeFor(record);
    const shouldPause = options.pause && record.state.status === 'running';
    let paused = false;
    if (shouldPause) {
      // Best effort: a host without a usable freezer still commits, as a container that changes meanwhile.
      paused = await runtime.pause(id).then(() => true, () => false);
      if (paused) crashPoint('commit.paused');
    }
    let layer: { digest: `sha256:${string}`; sizeBytes: number };
    try {
      const upper = await RootedDir.open(paths.upper);
      try {
        layer = await deps.images.content.put(packOverlayDiff(upper, paths.upper, isRuntimePlaceholder));
      } finally {
        await upper.close();
      }
      crashPoint('commit.layer-stored');
    } finally {
      if (paused) await runtime.resume(id).catch(() => {});
    }

    const isEmptyLayer = layer.digest === EMPTY_LAYER_DIFF_ID;
    const created = new Date().toISOString();
    const parentConfig = parent.config;
    const diffIds = [...parent.diffIds, ...(isEmptyLayer ? [] : [layer.digest])];
    const history = [
      ...(parentConfig.history ?? []),
      {
        created,
        ...(options.author !== '' ? { author: options.author } : {}),
        created_by: record.settings.cmd.join(' '),
        ...(options.comment !== '' ? { comment: options.comment } : {}),
        ...(isEmptyLayer ? { empty_layer: true } : {}),
      },
    ];
    const config: ImageConfig & { container: string } = {
      architecture: parentConfig.architecture ?? parent.architecture,
      os: parentConfig.os ?? parent.os,
      ...(parentConfig.variant !== undefined ? { variant: parentConfig.variant } : {}),
      created,
      ...(options.author !== '' ? { author: options.author } : {}),
      ...(options.comment !== '' ? { comment: options.comment } : {}),
      config: runtimeConfig,
      container: id,
      parent: parent.id,
      rootfs: { type: 'layers', diff_ids: diffIds },
      history,
    };
    const parentLayers = deps.images.recordOf(parent.id).layers.map((stored) => {
      if (stored.blobDigest === undefined) throw new BerthError('internal', 'BERTH_COMMIT_FAILED', `layer ${stored.diffId} of image ${parent.id} has no blob to build on`);
      return { blobDigest: stored.blobDigest, mediaType: stored.mediaType ?? MediaType.dockerLayer };
    });
    const layers = [...parentLayers, ...(isEmptyLayer ? [] : [{ blobDigest: layer.digest, mediaType: MediaType.dockerLayer }])];
    // The parent's layers are already unpacked (this container runs on them), so addImage finds them by chain id.
    const image = await deps.images.addImage({ configBytes: Buffer.from(JSON.stringify(config)), layers }, tags).catch((err: unknown) => {
      if (err instanceof BerthError) throw err;
      throw new BerthError('internal', 'BERTH_COMMIT_FAILED', `commit failed: ${(err as Error).message}`, { cause: err });
    });
    deps.containers.publishEvent(record, 'commit', { comment: options.comment, imageID: image.id, imageRef: tags[0] ?? '' });
    return { id: image.id };
  });
}

