/**
 * Docker's volume shapes (moby api/swagger.yaml `Volume`, `VolumeCreateOptions`,
 * `VolumeListResponse`, `VolumePruneResponse`) and the schema for the create body.
 */
import { z } from 'zod';

/** `Volume`: one volume, as list, inspect and create return it. */
export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Status?: Record<string, unknown>;
  Labels: Record<string, string> | null;
  Scope: 'local' | 'global';
  Options: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
}

/** `VolumeCreateOptions`: the body of `POST /volumes/create`. */
export interface VolumeCreateOptions {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string>;
  Labels?: Record<string, string>;
}

/** `GET /volumes`. */
export interface VolumeListResponse {
  Volumes: Volume[];
  Warnings: string[] | null;
}

/** `POST /volumes/prune`. */
export interface VolumePruneResponse {
  VolumesDeleted: string[] | null;
  SpaceReclaimed: number;
}

const strMap = z.record(z.string(), z.string()).nullish();

/** `VolumeCreateOptions` as berthd validates it (unknown fields kept, as dockerd does). */
export const volumeCreateSchema = z.looseObject({
  Name: z.string().nullish(),
  Driver: z.string().nullish(),
  DriverOpts: strMap,
  Labels: strMap,
  ClusterVolumeSpec: z.looseObject({}).nullish(),
});
