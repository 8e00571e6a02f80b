/**
 * Host ports for published container ports. Berth holds a listening socket on each published
 * host address and port while the container runs (as docker's proxy does): a second claim, by
 * another container or a host process, then fails with docker's "port is already allocated".
 * On IPv4 addresses the socket never sees traffic: the portmap plugin's DNAT rules take it
 * first. On IPv6 addresses the socket relays the traffic itself (port-proxy.ts).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server } from 'node:net';
import { errnoOf } from '../common/index.js';
import { PortAllocatedError } from './errors.js';
import { relayTcp, relayUdp, type ProxyTarget } from './port-proxy.js';

/** One published port, as asked for (hostPort 0: any free port). */
export interface PortRequest {
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  hostPort: number;
}

/** One published port as granted. */
export interface PortMapping {
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  hostPort: number;
}

/** True for a port on an IPv6 host address: relayed by Berth's socket, not given to the portmap plugin. */
export function isRelayedPort(mapping: Pick<PortMapping, 'hostIp'>): boolean {
  return isIPv6(mapping.hostIp);
}

type Holder = { close(): void };

/** The container a relayed port's traffic goes to, asked at each connection (its endpoint's addresses once set). */
export type TargetLookup = () => ProxyTarget | undefined;

function listenTcp(request: PortRequest, hostIp: string, target: TargetLookup): Promise<{ holder: Holder; port: number }> {
  return new Promise((resolve, reject) => {
    const relays = isRelayedPort({ hostIp });
    const server: Server = createServer({ allowHalfOpen: true });
    if (relays) server.on('connection', (client) => relayTcp(client, target(), request.containerPort));
    server.once('error', reject);
    server.listen({ host: hostIp, port: request.hostPort, exclusive: true, ...(relays ? { ipv6Only: true } : {}) }, () => {
      const address = server.address();
      server.unref();
      resolve({ holder: { close: () => server.close() }, port: typeof address === 'object' && address ? address.port : request.hostPort });
    });
  });
}

function bindUdp(request: PortRequest, hostIp: string, target: TargetLookup): Promise<{ holder: Holder; port: number }> {
  return new Promise((resolve, reject) => {
    const relays = isRelayedPort({ hostIp });
    const socket: UdpSocket = createSocket(relays ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
    socket.once('error', reject);
    socket.bind({ address: hostIp, port: request.hostPort, exclusive: true }, () => {
      socket.unref();
      const relay = relays ? relayUdp(socket, target, request.containerPort) : undefined;
      resolve({ holder: { close: () => { relay?.close(); socket.close(); } }, port: socket.address().port });
    });
  });
}

/** Holds published host ports per container. */
export class PortReserver {
  readonly #held = new Map<string, Holder[]>();

  /**
   * Reserve every request for `owner`, all or nothing: a port held elsewhere throws
   * PortAllocatedError and releases what this call took. `target` says where the ports on IPv6
   * host addresses relay to.
   */
  async reserve(owner: string, requests: readonly PortRequest[], target: TargetLookup = () => undefined): Promise<PortMapping[]> {
    const taken: Holder[] = [];
    const granted: PortMapping[] = [];
    try {
      for (const request of requests) {
        const hostIp = request.hostIp === '' ? '0.0.0.0' : request.hostIp;
        let result: { holder: Holder; port: number } | undefined;
        try {
          // SCTP has no Node socket: only TCP and UDP ports are held.
          if (request.protocol === 'udp') result = await bindUdp(request, hostIp, target);
          else if (request.protocol === 'tcp') result = await listenTcp(request, hostIp, target);
        } catch (err) {
          if (errnoOf(err) === 'EADDRINUSE' || errnoOf(err) === 'EACCES') throw new PortAllocatedError(hostIp, request.hostPort);
          throw err;
        }
        if (result) taken.push(result.holder);
        granted.push({ containerPort: request.containerPort, protocol: request.protocol, hostIp, hostPort: result?.port ?? request.hostPort });
      }
    } catch (err) {
      for (const holder of taken) holder.close();
      throw err;
    }
    this.#held.set(owner, [...(this.#held.get(owner) ?? []), ...taken]);
    return granted;
  }

  /** Release everything `owner` holds. */
  release(owner: string): void {
    for (const holder of this.#held.get(owner) ?? []) holder.close();
    this.#held.delete(owner);
  }

  releaseAll(): void {
    for (const owner of [...this.#held.keys()]) this.release(owner);
  }
}
