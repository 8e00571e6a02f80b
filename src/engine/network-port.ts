/**
 * What the engine needs from the network service (src/network): networks, a container's
 * namespace and its endpoints on them.
 */
import type { NetworkCreateRequest } from '../network/index.js';

export type { NetworkCreateRequest };

/** A network as the engine sees it (src/network's record). */
export interface EngineNetwork {
  id: string;
  name: string;
  /** `bridge`, `host` or `null` (docker's driver names). */
  driver: 'bridge' | 'host' | 'null';
  created: string;
  subnet: string;
  gateway: string;
  ipRange: string;
  bridgeName: string;
  isInternal: boolean;
  isAttachable: boolean;
  /** `bridge`, `host` and `none`, which cannot be removed. */
  isPredefined: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** The IPv6 subnet of an `--ipv6` network; absent on IPv4-only ones. */
  ipv6?: { subnet: string; gateway: string; ipRange: string };
}

/** One published port: hostPort 0 asks for any free port. */
export interface NetworkPortMapping {
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  hostPort: number;
}

/** What a container asks of one network when it joins it. */
export interface NetworkAttachRequest {
  networkId: string;
  containerName: string;
  aliases: string[];
  ipv4Address: string;
  /** `--ip6`; '' for any. */
  ipv6Address: string;
  macAddress: string;
  ports: NetworkPortMapping[];
  /** `--dns`: on a user-defined network the DNS responder forwards this container's queries for names it does not own there (the host's resolvers otherwise). */
  dnsServers: string[];
}

/** A running container's attachment to one network. */
export interface NetworkEndpoint {
  networkId: string;
  networkName: string;
  endpointId: string;
  ifName: string;
  ipAddress: string;
  ipPrefixLen: number;
  gateway: string;
  /** On IPv6 networks only. */
  ipv6Address?: string;
  ipv6PrefixLen?: number;
  ipv6Gateway?: string;
  macAddress: string;
  aliases: string[];
  containerName: string;
  /** The ports published through this endpoint, host ports resolved. */
  ports: NetworkPortMapping[];
}

/**
 * The network service (CNI bridges, namespaces, IPAM, published ports), as the engine uses it.
 * It knows containers only by id; the engine decides when they join and leave.
 */
export interface NetworkPort {
  list(): EngineNetwork[];
  /** By id, name or id prefix; throws docker's `network X not found` (404). */
  get(ref: string): EngineNetwork;
  create(request: NetworkCreateRequest): Promise<EngineNetwork>;
  /** Check `--ip`/`--ip6` for a network before anything is made (docker's wording: invalid, predefined network, no IPv6, outside the subnet). */
  checkAddresses(networkRef: string, ipv4Address: string, ipv6Address: string): void;
  /** Refuses predefined networks and ones with running containers attached. */
  remove(ref: string): Promise<void>;
  endpointsOf(networkId: string): Array<{ containerId: string; endpoint: NetworkEndpoint }>;
  endpointsOfContainer(containerId: string): NetworkEndpoint[];
  /** The namespace handle of a container set up here, while it runs. */
  namespaceOf(containerId: string): string | undefined;
  /** A new namespace joined to every network asked for; all or nothing. */
  setUp(containerId: string, requests: readonly NetworkAttachRequest[]): Promise<{ netnsPath: string; endpoints: NetworkEndpoint[] }>;
  connect(containerId: string, request: NetworkAttachRequest): Promise<NetworkEndpoint>;
  disconnect(containerId: string, networkId: string): Promise<void>;
  /** Leave every network and remove the namespace; idempotent. */
  tearDown(containerId: string): Promise<void>;
}
