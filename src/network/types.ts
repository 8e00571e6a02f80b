/**
 * Network records and endpoint states as src/network keeps them on disk.
 */
import type { CniConfigList } from './cni.js';
import type { PortMapping, PortRequest } from './port-reserver.js';

/** `bridge` (CNI bridge), `host` (the host's stack) or `null` (loopback only), as docker names drivers. */
export type NetworkDriver = 'bridge' | 'host' | 'null';

/** What `network create` asks for; '' fields take docker's defaults. One type for the API's translation, the engine and this service. */
export interface NetworkCreateRequest {
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  ipRange: string;
  isInternal: boolean;
  isAttachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** EnableIPv6: an IPv6 subnet too, `ipv6Subnet` or a unique local /64 of the daemon's /48. */
  enableIPv6: boolean;
  ipv6Subnet: string;
  ipv6Gateway: string;
  ipv6IpRange: string;
}

/** A network, persisted as `<root>/networks/<id>.json`. */
export interface NetworkRecord {
  id: string;
  name: string;
  driver: NetworkDriver;
  created: string;
  /** IPv4 subnet in CIDR form; '' for host and none. */
  subnet: string;
  gateway: string;
  /** Addresses handed out come from here (defaults to the whole subnet). */
  ipRange: string;
  /** Linux bridge device; '' for host and none. */
  bridgeName: string;
  isInternal: boolean;
  isAttachable: boolean;
  /** The predefined networks `bridge`, `host`, `none`. */
  isPredefined: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** The IPv6 side of an `--ipv6` network (EnableIPv6); absent on IPv4-only networks and on records made before Berth had IPv6. */
  ipv6?: Ipv6Config;
}

/** An IPv6 subnet of a network, in CIDR and address forms as docker prints them. */
export interface Ipv6Config {
  subnet: string;
  gateway: string;
  /** '' for the whole subnet. */
  ipRange: string;
}

/** What a container asks of one network when it joins it. */
export interface AttachRequest {
  networkId: string;
  containerName: string;
  aliases: string[];
  /** `--ip`; '' for any. */
  ipv4Address: string;
  /** `--ip6`; '' for any (only on IPv6 networks). */
  ipv6Address: string;
  /** `--mac-address`; '' for a random one. */
  macAddress: string;
  /** Published ports (only for the container's first network, as docker). */
  ports: PortRequest[];
  /** `--dns`: where the network's DNS responder forwards this container's other queries; [] for the host's resolvers. */
  dnsServers: string[];
}

/** One container's live attachment to one network. */
export interface EndpointState {
  networkId: string;
  networkName: string;
  endpointId: string;
  ifName: string;
  /** Without prefix length. */
  ipAddress: string;
  ipPrefixLen: number;
  gateway: string;
  /** On IPv6 networks: the container's IPv6 address (without prefix length), its prefix length and the gateway; absent elsewhere. */
  ipv6Address?: string;
  ipv6PrefixLen?: number;
  ipv6Gateway?: string;
  macAddress: string;
  aliases: string[];
  containerName: string;
  ports: PortMapping[];
}

/** `<root>/networks/endpoints/<containerId>.json`: enough to undo every ADD after a crash. */
export interface EndpointFile {
  containerId: string;
  netnsPath: string;
  endpoints: Array<
    EndpointState & {
      runtimeConfig: Record<string, unknown>;
      args: Record<string, string>;
      cniResult: unknown;
      dnsServers?: string[];
      /** The config list the endpoint was ADDed with, for its DEL; absent on endpoints made before Berth kept it (see legacyConflist). */
      cniConfig?: CniConfigList;
    }
  >;
}
