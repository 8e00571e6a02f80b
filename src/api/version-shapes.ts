/**
 * Version-gated answer shapes: the translators build the newest shape, and these adjust it
 * for the API version the client negotiated, so a client keeps the fields of its version
 * (moby api/docs/CHANGELOG.md, "vN API changes"). Each gate names the version that changed.
 */
import type { ContainerInspectResponse, ContainerStatsResponse, ImageInspect } from './wire/index.js';
import { compareApiVersions } from './version.js';

const isBefore = (version: string, than: string): boolean => compareApiVersions(version, than) < 0;

/** `GET /containers/{id}/json` for `version`. */
export function containerInspectFor(version: string, inspect: ContainerInspectResponse): ContainerInspectResponse {
  const shaped: ContainerInspectResponse = { ...inspect, HostConfig: { ...inspect.HostConfig }, Config: { ...inspect.Config }, NetworkSettings: { ...inspect.NetworkSettings } };
  // 1.42 omits KernelMemory and KernelMemoryTCP when unset; older clients always saw them.
  if (isBefore(version, '1.42')) Object.assign(shaped.HostConfig, { KernelMemory: 0, KernelMemoryTCP: 0 });
  if (!isBefore(version, '1.52')) {
    // 1.52 drops the top-level address fields deprecated since 1.21, and an empty OnBuild.
    const settings = shaped.NetworkSettings;
    for (const key of DEPRECATED_NETWORK_SETTINGS) delete settings[key];
    if (!shaped.Config.OnBuild?.length) delete shaped.Config.OnBuild;
  }
  return shaped;
}

const DEPRECATED_NETWORK_SETTINGS = [
  'Bridge', 'HairpinMode', 'LinkLocalIPv6Address', 'LinkLocalIPv6PrefixLen', 'SecondaryIPAddresses', 'SecondaryIPv6Addresses',
  'EndpointID', 'Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway', 'MacAddress',
] as const;

/** `GET /images/{name}/json` for `version`. */
export function imageInspectFor(version: string, inspect: ImageInspect): ImageInspect {
  const shaped: ImageInspect = { ...inspect, Config: { ...inspect.Config } };
  const config = shaped.Config as Record<string, unknown>;
  if (isBefore(version, '1.50')) {
    // Before 1.50 the image's Config carried these container fields, always empty.
    Object.assign(config, { Hostname: '', Domainname: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false, StdinOnce: false, Image: '' });
  }
  if (!isBefore(version, '1.52')) {
    // 1.52 omits unset config fields (as the OCI image spec does) and empty legacy-builder fields.
    for (const key of ['Cmd', 'Entrypoint', 'Env', 'Labels', 'OnBuild', 'User', 'Volumes', 'WorkingDir']) {
      const value = config[key];
      if (value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) delete config[key];
    }
    const top = shaped as unknown as Record<string, unknown>;
    for (const key of ['Parent', 'Comment', 'DockerVersion', 'Author']) if (top[key] === '') delete top[key];
  }
  return shaped;
}

/** A stats object for `version`: 1.52 adds `os_type`. */
export function statsFor(version: string, stats: ContainerStatsResponse): ContainerStatsResponse {
  return isBefore(version, '1.52') ? stats : { ...stats, os_type: 'linux' };
}
