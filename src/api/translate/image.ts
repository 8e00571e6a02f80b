/**
 * Images from the engine's records to docker's list, inspect and history shapes.
 */
import type { CatalogImage, ImageHistoryEntry } from '../../engine/index.js';
import type { HistoryResponseItem, ImageConfig, ImageInspect, ImageSummary } from '../wire/index.js';

/** One row of `GET /images/json`. */
export function toDockerImageSummary(image: CatalogImage, containers: number): ImageSummary {
  return {
    Id: image.id,
    ParentId: image.parent,
    RepoTags: image.repoTags,
    RepoDigests: image.repoDigests,
    Created: Math.floor(Date.parse(image.created) / 1000) || 0,
    Size: image.sizeBytes,
    SharedSize: -1,
    Labels: image.config.config?.Labels ?? null,
    Containers: containers,
  };
}

/** `GET /images/{name}/json`. */
export function toDockerImageInspect(image: CatalogImage): ImageInspect {
  const config = (image.config.config ?? {}) as ImageConfig;
  return {
    Id: image.id,
    RepoTags: image.repoTags,
    RepoDigests: image.repoDigests,
    Parent: image.parent,
    Comment: image.comment,
    Created: image.created,
    DockerVersion: '',
    Author: image.author,
    Config: {
      User: config.User ?? '',
      Env: config.Env ?? null,
      Cmd: config.Cmd ?? null,
      WorkingDir: config.WorkingDir ?? '',
      Entrypoint: config.Entrypoint ?? null,
      OnBuild: config.OnBuild ?? null,
      Labels: config.Labels ?? null,
      ...(config.ExposedPorts ? { ExposedPorts: config.ExposedPorts } : {}),
      ...(config.Volumes ? { Volumes: config.Volumes } : {}),
      ...(config.StopSignal ? { StopSignal: config.StopSignal } : {}),
    },
    Architecture: image.architecture,
    Os: image.os,
    Size: image.sizeBytes,
    GraphDriver: { Name: 'overlay', Data: null },
    RootFS: { Type: 'layers', Layers: image.diffIds },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

/** One row of `GET /images/{name}/history`. */
export function toDockerHistory(entry: ImageHistoryEntry): HistoryResponseItem {
  return {
    Id: entry.id,
    Created: entry.createdSec,
    CreatedBy: entry.createdBy,
    Tags: entry.tags.length > 0 ? entry.tags : null,
    Size: entry.sizeBytes,
    Comment: entry.comment,
  };
}
