/**
 * Network errors, with docker's wording where docker has one.
 */
import { BerthError, ConflictError, NotFoundError } from '../common/index.js';

/** No network of that name, id or id prefix (404). */
export class NoSuchNetworkError extends NotFoundError {
  constructor(ref: string) {
    super('BERTH_NO_SUCH_NETWORK', `network ${ref} not found`);
  }
}

/** A network of that name exists already (409). */
export class NetworkExistsError extends ConflictError {
  constructor(name: string) {
    super('BERTH_NETWORK_EXISTS', `network with name ${name} already exists`);
  }
}

/** The requested subnet overlaps another network's or a host route's (403, as docker). */
export class SubnetOverlapError extends BerthError {
  constructor() {
    super('forbidden', 'BERTH_SUBNET_OVERLAP', 'invalid pool request: Pool overlaps with other one on this address space');
  }
}

/** No free subnet left in Berth's pool (403, as docker). */
export class NoFreeSubnetError extends BerthError {
  constructor() {
    super('forbidden', 'BERTH_NO_FREE_SUBNET', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  }
}

/** Removing a network that containers still use (403, as docker). */
export class NetworkInUseError extends BerthError {
  constructor(name: string, id: string) {
    super('forbidden', 'BERTH_NETWORK_IN_USE', `error while removing network: network ${name} id ${id} has active endpoints`);
  }
}

/** `bridge`, `host` and `none` cannot be removed or connected to arbitrarily (403). */
export class PredefinedNetworkError extends BerthError {
  constructor(message: string) {
    super('forbidden', 'BERTH_PREDEFINED_NETWORK', message);
  }
}

/** A published host port another container or host process holds (500, as docker). */
export class PortAllocatedError extends BerthError {
  constructor(hostIp: string, hostPort: number) {
    // Go's net.JoinHostPort, as dockerd writes it: an IPv6 address in brackets.
    super('internal', 'BERTH_PORT_ALLOCATED', `Bind for ${hostIp.includes(':') ? `[${hostIp}]` : hostIp}:${hostPort} failed: port is already allocated`);
  }
}

/** A requested --ip outside the network's subnet, or taken (400). */
export class InvalidAddressError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_INVALID_ADDRESS', message);
  }
}

/** A CNI plugin failed; the message is the plugin's own `msg`. */
export class CniError extends BerthError {
  constructor(plugin: string, command: string, message: string) {
    super('internal', 'BERTH_CNI_FAILED', `failed to set up container networking: ${plugin} ${command}: ${message}`);
  }
}

/**
 * A `com.docker.network.bridge.name` Linux cannot give an interface: 1 to 15 bytes, no '/', no
 * whitespace, not '.' or '..' (checked at create, not left to fail at the first run).
 */
export class InvalidBridgeNameError extends BerthError {
  constructor(name: string) {
    super('invalid-argument', 'BERTH_INVALID_BRIDGE_NAME', `invalid bridge name ${JSON.stringify(name)}: an interface name is 1 to 15 characters without '/', ':' or spaces`);
  }
}

/** Whether Linux accepts `name` as an interface name (dev_valid_name, plus ':' that iproute reads as a label). */
export function isValidBridgeName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= 15 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** An `--ipv6` network on a host whose kernel has IPv6 off or absent (503). */
export class IPv6UnavailableError extends BerthError {
  constructor(message: string) {
    super('unavailable', 'BERTH_IPV6_UNAVAILABLE', message);
  }
}
