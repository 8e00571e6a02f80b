/**
 * Networks between docker's wire shapes and the engine: `Network` for inspect and list, the
 * create body in, and a container's `NetworkSettings` and `Ports` for inspect and ps.
 */
import { InvalidArgumentError } from '../../common/index.js';
import type { ContainerRecord, EndpointSettingsInput, NetworkCreateRequest, NetworkUsage } from '../../engine/index.js';
import type { EndpointSettings, Network, NetworkSettings, Port, PortMap } from '../wire/index.js';
import type { networkConnectSchema, networkCreateSchema } from '../wire/index.js';
import type { z } from 'zod';

/** docker's `Network` for a network and the running containers on it. */
export function toDockerNetwork(usage: NetworkUsage, nameOf: (containerId: string) => string): Network {
  const n = usage.network;
  const containers: Network['Containers'] = {};
  for (const { id, endpoint } of usage.containers) {
    containers[id] = {
      Name: nameOf(id),
      EndpointID: endpoint.endpointId,
      MacAddress: endpoint.macAddress,
      IPv4Address: endpoint.ipAddress === '' ? '' : `${endpoint.ipAddress}/${endpoint.ipPrefixLen}`,
      IPv6Address: endpoint.ipv6Address ? `${endpoint.ipv6Address}/${endpoint.ipv6PrefixLen ?? 64}` : '',
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv4: true,
    EnableIPv6: n.ipv6 !== undefined,
    IPAM: {
      Driver: 'default',
      Options: n.isPredefined ? null : {},
      Config: [
        ...(n.subnet === '' ? [] : [{ Subnet: n.subnet, Gateway: n.gateway, ...(n.ipRange !== '' ? { IPRange: n.ipRange } : {}) }]),
        ...(n.ipv6 ? [{ Subnet: n.ipv6.subnet, Gateway: n.ipv6.gateway, ...(n.ipv6.ipRange !== '' ? { IPRange: n.ipv6.ipRange } : {}) }] : []),
      ],
    },
    Internal: n.isInternal,
    Attachable: n.isAttachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: n.options,
    Labels: n.labels,
  };
}

/**
 * The engine's create request from docker's body. `IPAM.Config` entries go by their subnet's
 * family (a colon makes it IPv6), one of each: a second subnet of a family is refused, not dropped.
 */
export function fromDockerNetworkCreate(body: z.infer<typeof networkCreateSchema>): NetworkCreateRequest {
  const configs = body.IPAM?.Config ?? [];
  const ipv4Configs = configs.filter((c) => !(c.Subnet ?? '').includes(':'));
  const ipv6Configs = configs.filter((c) => (c.Subnet ?? '').includes(':'));
  if (ipv4Configs.length > 1 || ipv6Configs.length > 1) {
    throw new InvalidArgumentError(`IPAM.Config has ${configs.length} subnets: berth takes one IPv4 and one IPv6 subnet per network`);
  }
  const config = ipv4Configs[0];
  const config6 = ipv6Configs[0];
  return {
    name: body.Name,
    driver: body.Driver ?? '',
    subnet: config?.Subnet ?? '',
    gateway: config?.Gateway ?? '',
    ipRange: config?.IPRange ?? '',
    enableIPv6: body.EnableIPv6 ?? false,
    ipv6Subnet: config6?.Subnet ?? '',
    ipv6Gateway: config6?.Gateway ?? '',
    ipv6IpRange: config6?.IPRange ?? '',
    isInternal: body.Internal ?? false,
    isAttachable: body.Attachable ?? false,
    labels: body.Labels ?? {},
    options: body.Options ?? {},
  };
}

/** A connect body's endpoint settings in engine terms. */
export function fromDockerEndpointConfig(config: z.infer<typeof networkConnectSchema>['EndpointConfig']): EndpointSettingsInput {
  return { aliases: config?.Aliases ?? [], ipv4Address: config?.IPAMConfig?.IPv4Address ?? '', ipv6Address: config?.IPAMConfig?.IPv6Address ?? '', macAddress: config?.MacAddress ?? '' };
}

/** Create's NetworkingConfig.EndpointsConfig in engine terms (plus the deprecated top-level MacAddress for the first network). */
export function fromDockerEndpointsConfig(endpoints: Record<string, { Aliases?: string[] | null | undefined; MacAddress?: string | null | undefined; IPAMConfig?: { IPv4Address?: string | null | undefined; IPv6Address?: string | null | undefined } | null | undefined }> | null | undefined, networkMode: string, macAddress: string): Record<string, EndpointSettingsInput> {
  const out: Record<string, EndpointSettingsInput> = {};
  for (const [key, value] of Object.entries(endpoints ?? {})) {
    out[key] = { aliases: value.Aliases ?? [], ipv4Address: value.IPAMConfig?.IPv4Address ?? '', ipv6Address: value.IPAMConfig?.IPv6Address ?? '', macAddress: value.MacAddress ?? '' };
  }
  if (macAddress !== '') {
    const key = networkMode === '' || networkMode === 'default' ? 'bridge' : networkMode;
    out[key] = { ...(out[key] ?? { aliases: [], ipv4Address: '' }), macAddress };
  }
  return out;
}

/** `Ports` of inspect: every exposed port, with its host bindings while published. */
export function toDockerPortMap(record: ContainerRecord): PortMap {
  const ports: PortMap = {};
  if (!record.network) return ports;
  for (const key of Object.keys(record.settings.exposedPorts)) ports[key] = null;
  for (const endpoint of record.network.endpoints) {
    for (const p of endpoint.ports) {
      const key = `${p.containerPort}/${p.protocol}`;
      (ports[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    }
  }
  return ports;
}

/** ps's `Ports` column source. */
export function toDockerPorts(record: ContainerRecord): Port[] {
  const out: Port[] = [];
  const published = new Set<string>();
  for (const endpoint of record.network?.endpoints ?? []) {
    for (const p of endpoint.ports) {
      published.add(`${p.containerPort}/${p.protocol}`);
      out.push({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol });
    }
  }
  for (const key of Object.keys(record.settings.exposedPorts)) {
    if (published.has(key)) continue;
    const [port, proto] = key.split('/');
    out.push({ PrivatePort: Number(port), Type: (proto ?? 'tcp') as Port['Type'] });
  }
  return out;
}

/** The per-network entries of NetworkSettings.Networks. */
export function toDockerNetworks(record: ContainerRecord): Record<string, EndpointSettings> {
  const out: Record<string, EndpointSettings> = {};
  const live = new Map((record.network?.endpoints ?? []).map((e) => [e.networkName, e]));
  const configured = record.host.networks ?? (record.host.networkMode === 'host' || record.host.networkMode === 'none' ? { [record.host.networkMode]: { aliases: [], ipv4Address: '', macAddress: '' } } : {});
  for (const [name, settings] of Object.entries(configured)) {
    const endpoint = live.get(name);
    out[name] = {
      IPAMConfig: settings.ipv4Address !== '' || (settings.ipv6Address ?? '') !== '' ? { ...(settings.ipv4Address !== '' ? { IPv4Address: settings.ipv4Address } : {}), ...(settings.ipv6Address ? { IPv6Address: settings.ipv6Address } : {}) } : null,
      Links: null,
      Aliases: settings.aliases.length > 0 ? settings.aliases : null,
      MacAddress: endpoint?.macAddress ?? settings.macAddress,
      DriverOpts: null,
      GwPriority: 0,
      NetworkID: endpoint?.networkId ?? ('networkId' in settings ? (settings.networkId ?? '') : ''),
      EndpointID: endpoint?.endpointId ?? '',
      Gateway: endpoint?.gateway ?? '',
      IPAddress: endpoint?.ipAddress ?? '',
      IPPrefixLen: endpoint?.ipPrefixLen ?? 0,
      IPv6Gateway: endpoint?.ipv6Gateway ?? '',
      GlobalIPv6Address: endpoint?.ipv6Address ?? '',
      GlobalIPv6PrefixLen: endpoint?.ipv6PrefixLen ?? 0,
      DNSNames: endpoint && name !== 'bridge' ? [record.name, ...settings.aliases, record.id.slice(0, 12)] : null,
    };
  }
  return out;
}

/** Inspect's NetworkSettings: the deprecated top-level address fields come from the default bridge, as in docker. */
export function toDockerNetworkSettings(record: ContainerRecord): NetworkSettings {
  const bridge = record.network?.endpoints.find((e) => e.networkName === 'bridge');
  return {
    Bridge: '',
    SandboxID: record.network ? record.id : '',
    SandboxKey: record.network?.sandboxKey ?? '',
    Ports: toDockerPortMap(record),
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: bridge?.endpointId ?? '',
    Gateway: bridge?.gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.ipAddress ?? '',
    IPPrefixLen: bridge?.ipPrefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: bridge?.macAddress ?? '',
    Networks: toDockerNetworks(record),
  };
}
