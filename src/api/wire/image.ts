/**
 * Docker's image JSON shapes (moby api/swagger.yaml, API 1.51): list, inspect, history,
 * delete and prune.
 */
import type { ContainerConfig, GraphDriverData, Labels } from './container.js';

/** `ImageSummary`: one entry of `GET /images/json`. */
export interface ImageSummary {
  /** `sha256:<hex>`. */
  Id: string;
  ParentId: string;
  /** `name:tag` references; `[]` for a dangling image. */
  RepoTags: string[];
  RepoDigests: string[];
  /** Unix seconds. */
  Created: number;
  Size: number;
  /** -1 unless computed. */
  SharedSize: number;
  /** Deprecated, still sent by older daemons. */
  VirtualSize?: number;
  Labels: Labels | null;
  /** -1 unless computed. */
  Containers: number;
  Manifests?: unknown[];
  Descriptor?: unknown;
}

/** The image config as inspect shows it (`Config`): a subset of ContainerConfig. */
export type ImageConfig = Pick<
  ContainerConfig,
  'User' | 'ExposedPorts' | 'Env' | 'Cmd' | 'Healthcheck' | 'ArgsEscaped' | 'Volumes' | 'WorkingDir' | 'Entrypoint' | 'OnBuild' | 'Labels' | 'StopSignal' | 'Shell'
>;

/** `RootFS`: the layer diff ids of an image. */
export interface RootFs {
  Type: 'layers';
  Layers: string[];
}

/** Answer of `GET /images/{name}/json`. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  /** RFC 3339. */
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: ImageConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  VirtualSize?: number;
  GraphDriver: GraphDriverData;
  RootFS: RootFs;
  Metadata: { LastTagTime?: string };
  Descriptor?: unknown;
  Manifests?: unknown[];
}

/** `HistoryResponseItem`: one entry of `GET /images/{name}/history`, newest first. */
export interface HistoryResponseItem {
  /** Image id, or `<missing>` for a layer with no image of its own. */
  Id: string;
  /** Unix seconds. */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** `ImageDeleteResponseItem`: one line of what `DELETE /images/{name}` did. */
export interface ImageDeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

/** Answer of `POST /images/prune`. */
export interface ImagePruneResponse {
  ImagesDeleted: ImageDeleteResponseItem[] | null;
  SpaceReclaimed: number;
}

/** Progress detail of a JSON message (`current`/`total` bytes). */
export interface ProgressDetail {
  current?: number;
  total?: number;
}

/** `JSONMessage`: one object of a pull/push/build/load progress stream. */
export interface JsonMessage {
  stream?: string;
  status?: string;
  progress?: string;
  progressDetail?: ProgressDetail;
  id?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  errorDetail?: { code?: number; message: string };
  /** Deprecated mirror of errorDetail.message, still read by old clients. */
  error?: string;
  aux?: Record<string, unknown>;
}
