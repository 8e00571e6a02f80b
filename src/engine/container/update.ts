/** `docker update`: new limits and/or restart policy for a container. */
import { InvalidArgumentError } from '../../common/index.js';
import type { HostSettings } from '../container.js';
import { applyResourceUpdate, HOST_KERNEL_UPDATE_FIELDS, NO_CGROUP_FEATURES, type ResourceUpdate } from '../resources.js';
import { refuseOnOwnKernel } from '../process-settings.js';
import type { ContainerContext } from './context.js';

export interface ContainerUpdate {
  resources: ResourceUpdate;
  restartPolicy?: HostSettings['restartPolicy'];
}

/**
 * docker update: new limits and/or restart policy. A running container's cgroup changes
 * first (through the runtime); the record only after that succeeded.
 */
export async function update(ctx: ContainerContext, ref: string, change: ContainerUpdate): Promise<{ warnings: string[] }> {
  const id = ctx.store.resolve(ref).id;
  return ctx.withLock(id, async () => {
    const record = ctx.current(id);
    if (change.restartPolicy && change.restartPolicy.name !== 'no' && record.host.autoRemove) {
      throw new InvalidArgumentError('Restart policy cannot be updated because AutoRemove is enabled for the container');
    }
    const runtime = ctx.runtimeOf(record);
    if (!runtime.traits.sharesHostKernel) {
      for (const [key, flag] of HOST_KERNEL_UPDATE_FIELDS) {
        if ((change.resources[key] ?? 0) !== 0) refuseOnOwnKernel(flag, record.host.isolation);
      }
    }
    const { next, changed } = applyResourceUpdate(id, record.host, change.resources, ctx.options.cgroupFeatures ?? NO_CGROUP_FEATURES);
    if (Object.keys(changed).length > 0 && (record.state.status === 'running' || record.state.status === 'paused')) {
      await runtime.update(id, changed);
    }
    record.host = { ...record.host, ...next, ...(change.restartPolicy ? { restartPolicy: change.restartPolicy } : {}) };
    await ctx.store.save(record);
    ctx.publish(record, 'update');
    return { warnings: [] };
  });
}
