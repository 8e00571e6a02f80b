/** `-p`/`--publish` as docker's CLI parses it (its opts/port.go), single ports. */
import type { PortBinding } from '../../api/wire/index.js';
import { flagError } from './flag-values.js';

/** `-p [ip:][hostPort:]containerPort[/proto]`, single ports only. */
export function parsePublish(spec: string, exposed: Record<string, Record<string, never>>, bindings: Record<string, PortBinding[]>): void {
  const [addr, proto = 'tcp'] = spec.split('/');
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw flagError(spec, '-p, --publish', `invalid proto: ${proto}`);
  const parts = addr!.startsWith('[') ? splitIpv6(addr!) : addr!.split(':');
  let hostIp = '';
  let hostPort = '';
  let containerPort: string;
  if (parts.length === 1) containerPort = parts[0]!;
  else if (parts.length === 2) [hostPort, containerPort] = parts as [string, string];
  else if (parts.length === 3) [hostIp, hostPort, containerPort] = parts as [string, string, string];
  else throw flagError(spec, '-p, --publish', `invalid port format: ${spec}`);
  const isPort = (p: string): boolean => /^\d+$/.test(p) && Number(p) >= 1 && Number(p) <= 65535;
  if (!isPort(containerPort)) throw flagError(spec, '-p, --publish', `invalid containerPort: ${containerPort}`);
  if (hostPort !== '' && !isPort(hostPort)) throw flagError(spec, '-p, --publish', `invalid hostPort: ${hostPort}`);
  const key = `${containerPort}/${proto}`;
  exposed[key] = {};
  (bindings[key] ??= []).push({ HostIp: hostIp.replace(/^\[|\]$/g, ''), HostPort: hostPort });
}

function splitIpv6(addr: string): string[] {
  const end = addr.indexOf(']');
  return [addr.slice(0, end + 1), ...addr.slice(end + 2).split(':')];
}
