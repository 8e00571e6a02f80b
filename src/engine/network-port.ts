/**
 * What the engine needs from the network service (src/network): networks, a container's
 * namespace and its endpoints on them.
 */
import type { AttachRequest as NetworkAttachRequest, EndpointState as NetworkEndpoint, NetworkCreateRequest, NetworkRecord as EngineNetwork, PortMapping as NetworkPortMapping } from '../network/index.js';

/**
 * src/network's own types, written once there, under the names the engine uses: a network
 * (EngineNetwork), what a container asks of one when it joins it (NetworkAttachRequest), its
 * attachment while it runs (NetworkEndpoint) and a published port (NetworkPortMapping).
 */
export type { EngineNetwork, NetworkAttachRequest, NetworkCreateRequest, NetworkEndpoint, NetworkPortMapping };

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
  /**
   * A new namespace joined to every network asked for; all or nothing. `onNamespace` gets the
   * namespace's path as soon as it exists, before the networks are joined (gone again if the set-up fails).
   */
  setUp(containerId: string, requests: readonly NetworkAttachRequest[], onNamespace?: (netnsPath: string) => void): Promise<{ netnsPath: string; endpoints: NetworkEndpoint[] }>;
  connect(containerId: string, request: NetworkAttachRequest): Promise<NetworkEndpoint>;
  disconnect(containerId: string, networkId: string): Promise<void>;
  /** Leave every network and remove the namespace; idempotent. */
  tearDown(containerId: string): Promise<void>;
}
