/**
 * The per-network flags of run/create (`--ip`, `--ip6`, `--network-alias`, `--link-local-ip`,
 * `--mac-address`) as docker's CLI sends them: settings of the endpoint on the network the
 * container is created on (`--network`, else "default"). As there, only the MAC address is
 * checked here; whether the network can honour the rest (a user-defined one, an address in its
 * subnet, a well-formed address) is the daemon's question, answered with its errors.
 */
import type { EndpointSettings } from '../../api/wire/index.js';
import { UsageError } from '../exit.js';

export interface EndpointFlags {
  network?: string;
  ip?: string;
  ip6?: string;
  networkAlias: string[];
  linkLocalIp: string[];
  macAddress?: string;
}

const MAC = /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/;

/** The create body's EndpointsConfig for the flags; empty when none of them is given. */
export function endpointsConfigOf(flags: EndpointFlags): Record<string, EndpointSettings> {
  const { ip, ip6, networkAlias, linkLocalIp, macAddress } = flags;
  if (macAddress !== undefined && !MAC.test(macAddress)) throw new UsageError(`${macAddress} is not a valid mac address`);
  const endpoint: EndpointSettings = {};
  if (ip !== undefined || ip6 !== undefined || linkLocalIp.length > 0) {
    endpoint.IPAMConfig = {
      ...(ip !== undefined ? { IPv4Address: ip } : {}),
      ...(ip6 !== undefined ? { IPv6Address: ip6 } : {}),
      ...(linkLocalIp.length > 0 ? { LinkLocalIPs: linkLocalIp } : {}),
    };
  }
  if (networkAlias.length > 0) endpoint.Aliases = networkAlias;
  if (macAddress !== undefined) endpoint.MacAddress = macAddress;
  if (Object.keys(endpoint).length === 0) return {};
  return { [flags.network ?? 'default']: endpoint };
}
