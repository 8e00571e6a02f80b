/**
 * Wire shapes of cp (`/containers/{id}/archive`), diff (`/containers/{id}/changes`) and
 * commit (`POST /commit`), as moby's swagger.yaml and its Go types define them.
 */
import { z } from 'zod';

/** The JSON inside the base64 `X-Docker-Container-Path-Stat` header. */
export interface ContainerPathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits (type bits high, permissions low). */
  mode: number;
  /** RFC 3339. */
  mtime: string;
  linkTarget: string;
}

/** The header carrying a ContainerPathStat. */
export const PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

/** One entry of `GET /containers/{id}/changes`; Kind 0 modified, 1 added, 2 deleted. */
export interface FilesystemChangeItem {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** `POST /commit`'s answer (201). */
export interface CommitResponse {
  Id: string;
}

/** The optional container config in `POST /commit`'s body: fields it sets replace the container's. */
export const commitConfigSchema = z
  .object({
    User: z.string().optional(),
    Env: z.array(z.string()).nullable().optional(),
    Cmd: z.union([z.array(z.string()), z.string()]).nullable().optional(),
    Entrypoint: z.union([z.array(z.string()), z.string()]).nullable().optional(),
    WorkingDir: z.string().optional(),
    Labels: z.record(z.string(), z.string()).nullable().optional(),
    ExposedPorts: z.record(z.string(), z.object({})).nullable().optional(),
    Volumes: z.record(z.string(), z.object({})).nullable().optional(),
    StopSignal: z.string().optional(),
  })
  .passthrough()
  .nullable();

export type CommitConfig = z.infer<typeof commitConfigSchema>;
