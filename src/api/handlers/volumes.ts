/**
 * Volume endpoints: create, list, inspect, remove, prune (moby's `/volumes` routes).
 */
import { NotImplementedError } from '../../common/index.js';
import { VolumesUnavailableError, type Engine, type VolumeManager } from '../../engine/index.js';
import type { Router } from '../router.js';
import { toDockerVolume } from '../translate/index.js';
import { volumeCreateSchema, type VolumeListResponse, type VolumePruneResponse } from '../wire/index.js';
import { compareApiVersions } from '../version.js';

export function addVolumeRoutes(router: Router, engine: Engine): void {
  const volumes = (): VolumeManager => {
    if (!engine.volumes) throw new VolumesUnavailableError();
    return engine.volumes;
  };

  router.add('POST', '/volumes/create', async (req) => {
    const body = await req.json(volumeCreateSchema);
    if (body.ClusterVolumeSpec) throw new NotImplementedError('cluster volumes need swarm mode, which Berth does not have');
    const volume = await volumes().create({
      ...(body.Name ? { name: body.Name } : {}),
      ...(body.Driver ? { driver: body.Driver } : {}),
      driverOpts: body.DriverOpts ?? {},
      labels: body.Labels ?? {},
    });
    return { status: 201, body: toDockerVolume(volume) };
  });

  router.add('GET', '/volumes', async (req) => {
    const list = volumes().list(req.filters());
    const body: VolumeListResponse = { Volumes: list.map((u) => toDockerVolume(u.volume)), Warnings: null };
    return { body };
  });

  router.add('GET', '/volumes/{name}', async (req) => {
    return { body: toDockerVolume(volumes().get(req.param('name')).volume) };
  });

  router.add('DELETE', '/volumes/{name}', async (req) => {
    await volumes().remove(req.param('name'), { force: req.bool('force') });
    return { status: 204 };
  });

  router.add('POST', '/volumes/prune', async (req) => {
    // Since API 1.42 prune takes only anonymous volumes unless the `all` filter says otherwise.
    const result = await volumes().prune(req.filters(), { allByDefault: compareApiVersions(req.version, '1.42') < 0 });
    const body: VolumePruneResponse = { VolumesDeleted: result.deleted.length > 0 ? result.deleted : null, SpaceReclaimed: result.spaceReclaimedBytes };
    return { body };
  });
}
