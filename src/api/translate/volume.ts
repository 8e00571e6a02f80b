/**
 * Volumes and container mounts between the engine's records and docker's shapes: the
 * volume JSON of list/inspect/create, and the `Mounts` of container inspect and ps.
 */
import type { ContainerMountRecord, ContainerRecord, EngineVolume, MountRequest } from '../../engine/index.js';
import type { Mount, MountPoint, ValidContainerCreateRequest, Volume } from '../wire/index.js';

/** One `HostConfig.Mounts` entry as the create schema validated it (nulls allowed). */
type ValidMount = NonNullable<NonNullable<ValidContainerCreateRequest['HostConfig']>['Mounts']>[number];

/** docker's `Volume` for an engine volume. */
export function toDockerVolume(volume: EngineVolume): Volume {
  return {
    CreatedAt: volume.createdAt,
    Driver: volume.driver,
    Labels: Object.keys(volume.labels).length > 0 ? volume.labels : null,
    Mountpoint: volume.mountpoint,
    Name: volume.name,
    Options: Object.keys(volume.options).length > 0 ? volume.options : null,
    Scope: 'local',
  };
}

/** One entry of inspect's `Mounts`. */
export function toDockerMountPoint(mount: ContainerMountRecord): MountPoint {
  const point: MountPoint = {
    Type: mount.type,
    Source: mount.source,
    Destination: mount.destination,
    Mode: mount.mode,
    RW: !mount.isReadOnly,
    Propagation: mount.propagation,
  };
  if (mount.type === 'volume') {
    return { Type: point.Type, Name: mount.name ?? '', Source: point.Source, Destination: point.Destination, Driver: mount.driver ?? 'local', Mode: point.Mode, RW: point.RW, Propagation: point.Propagation };
  }
  return point;
}

/**
 * inspect's and ps's `Mounts`, in destination order as docker sorts them. `--tmpfs` mounts
 * are not listed (docker keeps them in HostConfig.Tmpfs only); `--mount type=tmpfs` ones are.
 */
export function toDockerMounts(record: ContainerRecord): MountPoint[] {
  const tmpfsFlags = new Set(Object.keys(record.host.tmpfs ?? {}).map((p) => p.replace(/(.)\/$/, '$1')));
  return (record.host.mounts ?? [])
    .filter((m) => !(m.type === 'tmpfs' && tmpfsFlags.has(m.destination)))
    .sort((a, b) => a.destination.localeCompare(b.destination))
    .map(toDockerMountPoint);
}

/** The engine's form of one `HostConfig.Mounts` entry. */
export function fromDockerMount(mount: ValidMount): MountRequest {
  const request: MountRequest = { type: mount.Type ?? '', source: mount.Source ?? '', target: mount.Target ?? '', readOnly: mount.ReadOnly ?? false };
  if (mount.BindOptions) {
    request.bindOptions = {
      ...(mount.BindOptions.Propagation ? { propagation: mount.BindOptions.Propagation } : {}),
      ...(mount.BindOptions.CreateMountpoint ? { createMountpoint: true } : {}),
      ...(mount.BindOptions.NonRecursive ? { nonRecursive: true } : {}),
    };
  }
  if (mount.VolumeOptions) {
    const v = mount.VolumeOptions;
    request.volumeOptions = {
      ...(v.NoCopy ? { noCopy: true } : {}),
      ...(v.Labels ? { labels: v.Labels } : {}),
      ...(v.DriverConfig?.Name ? { driverName: v.DriverConfig.Name } : {}),
      ...(v.DriverConfig?.Options ? { driverOptions: v.DriverConfig.Options } : {}),
      ...(v.Subpath ? { subpath: v.Subpath } : {}),
    };
  }
  if (mount.TmpfsOptions) {
    const t = mount.TmpfsOptions;
    request.tmpfsOptions = {
      ...(t.SizeBytes ? { sizeBytes: t.SizeBytes } : {}),
      ...(t.Mode ? { mode: t.Mode } : {}),
      ...(t.Options ? { options: t.Options } : {}),
    };
  }
  return request;
}

/** docker's `Mount` echoed in inspect's HostConfig.Mounts. */
export function toDockerMount(request: MountRequest): Mount {
  const mount: Mount = { Type: request.type as Mount['Type'], Source: request.source, Target: request.target };
  if (request.readOnly) mount.ReadOnly = true;
  if (request.bindOptions) {
    mount.BindOptions = {
      ...(request.bindOptions.propagation ? { Propagation: request.bindOptions.propagation } : {}),
      ...(request.bindOptions.createMountpoint ? { CreateMountpoint: true } : {}),
      ...(request.bindOptions.nonRecursive ? { NonRecursive: true } : {}),
    };
  }
  if (request.volumeOptions) {
    const v = request.volumeOptions;
    mount.VolumeOptions = {
      ...(v.noCopy ? { NoCopy: true } : {}),
      ...(v.labels ? { Labels: v.labels } : {}),
      ...(v.driverName || v.driverOptions ? { DriverConfig: { ...(v.driverName ? { Name: v.driverName } : {}), ...(v.driverOptions ? { Options: v.driverOptions } : {}) } } : {}),
      ...(v.subpath ? { Subpath: v.subpath } : {}),
    };
  }
  if (request.tmpfsOptions) {
    const t = request.tmpfsOptions;
    mount.TmpfsOptions = { ...(t.sizeBytes ? { SizeBytes: t.sizeBytes } : {}), ...(t.mode ? { Mode: t.mode } : {}), ...(t.options ? { Options: t.options } : {}) };
  }
  return mount;
}
