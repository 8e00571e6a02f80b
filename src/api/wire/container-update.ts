/**
 * `POST /containers/{id}/update`: new cgroup limits and/or a new restart policy for a
 * container. The answer lists warnings.
 */
import type { z } from 'zod';
import { hostConfigSchema, resourcesSchema } from './schemas.js';

/** The update body: `Resources` plus `RestartPolicy`. */
export const containerUpdateRequestSchema = resourcesSchema.extend({ RestartPolicy: hostConfigSchema.shape.RestartPolicy });

/** A validated update body. */
export type ContainerUpdateRequest = z.infer<typeof containerUpdateRequestSchema>;

/** `ContainerUpdateResponse`. */
export interface ContainerUpdateResponse {
  Warnings: string[];
}
