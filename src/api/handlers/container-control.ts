/**
 * Container endpoints that change a live container: pause, unpause, rename, update.
 */
import { InvalidArgumentError } from '../../common/index.js';
import type { Engine, RestartPolicyName } from '../../engine/index.js';
import type { Router } from '../router.js';
import { kernelMemoryWarnings, refuseUnsupportedUpdateSettings } from '../translate/index.js';
import { containerUpdateRequestSchema, type ContainerUpdateResponse } from '../wire/index.js';

/** Register pause, unpause, rename and update. */
export function addContainerControlRoutes(router: Router, engine: Engine): void {
  const containers = engine.containers;

  router.add('POST', '/containers/{id}/pause', async (req) => {
    await containers.pause(req.param('id'));
    return { status: 204 };
  });

  router.add('POST', '/containers/{id}/unpause', async (req) => {
    await containers.unpause(req.param('id'));
    return { status: 204 };
  });

  router.add('POST', '/containers/{id}/rename', async (req) => {
    await containers.rename(req.param('id'), req.string('name') ?? '');
    return { status: 204 };
  });

  router.add('POST', '/containers/{id}/update', async (req) => {
    const body = await req.json(containerUpdateRequestSchema);
    refuseUnsupportedUpdateSettings(body);
    const policy = body.RestartPolicy;
    const retries = policy?.MaximumRetryCount ?? 0;
    if (retries < 0) throw new InvalidArgumentError('invalid restart policy: maximum retry count cannot be negative');
    if (policy?.Name && policy.Name !== 'on-failure' && retries !== 0) {
      throw new InvalidArgumentError(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
    }
    const result = await containers.update(req.param('id'), {
      resources: {
        ...(body.Memory ? { memoryBytes: body.Memory } : {}),
        ...(body.MemorySwap ? { memorySwapBytes: body.MemorySwap } : {}),
        ...(body.MemoryReservation ? { memoryReservationBytes: body.MemoryReservation } : {}),
        ...(body.NanoCpus ? { nanoCpus: body.NanoCpus } : {}),
        ...(body.CpuShares ? { cpuShares: body.CpuShares } : {}),
        ...(body.CpusetCpus ? { cpusetCpus: body.CpusetCpus } : {}),
        ...(body.PidsLimit ? { pidsLimit: body.PidsLimit } : {}),
        ...(body.CpuPeriod ? { cpuPeriod: body.CpuPeriod } : {}),
        ...(body.CpuQuota ? { cpuQuota: body.CpuQuota } : {}),
        ...(body.CpuRealtimePeriod ? { cpuRealtimePeriod: body.CpuRealtimePeriod } : {}),
        ...(body.CpuRealtimeRuntime ? { cpuRealtimeRuntime: body.CpuRealtimeRuntime } : {}),
        ...(body.BlkioWeight ? { blkioWeight: body.BlkioWeight } : {}),
      },
      // An absent or empty policy name leaves the policy as it is, as dockerd does.
      ...(policy?.Name ? { restartPolicy: { name: policy.Name as RestartPolicyName, maximumRetryCount: retries } } : {}),
    });
    const response: ContainerUpdateResponse = { Warnings: [...kernelMemoryWarnings(req.version, body), ...result.warnings] };
    return { body: response };
  });
}
