/**
 * Host ports for published container ports. Berth holds a listening socket on each published
 * host address and port while the container runs (as docker's proxy does): a second claim, by
 * another container or a host process, then fails with docker's "port is already allocated".
 * The socket never sees traffic: the portmap plugin's DNAT rules take it first.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { errnoOf } from '../common/index.js';
import { PortAllocatedError } from './errors.js';

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

type Holder = { close(): void };

function listenTcp(hostIp: string, port: number): Promise<{ holder: Holder; port: number }> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer();
    server.once('error', reject);
    server.listen({ host: hostIp, port, exclusive: true }, () => {
      const address = server.address();
      server.unref();
      resolve({ holder: { close: () => server.close() }, port: typeof address === 'object' && address ? address.port : port });
    });
  });
}

function bindUdp(hostIp: string, port: number): Promise<{ holder: Holder; port: number }> {
  return new Promise((resolve, reject) => {
    const socket: UdpSocket = createSocket({ type: 'udp4' });
    socket.once('error', reject);
    socket.bind({ address: hostIp, port, exclusive: true }, () => {
      socket.unref();
      resolve({ holder: { close: () => socket.close() }, port: socket.address().port });
    });
  });
}

/** Holds published host ports per container. */
export class PortReserver {
  readonly #held = new Map<string, Holder[]>();

  /**
   * Reserve every request for `owner`, all or nothing: a port held elsewhere throws
   * PortAllocatedError and releases what this call took.
   */
  async reserve(owner: string, requests: readonly PortRequest[]): Promise<PortMapping[]> {
    const taken: Holder[] = [];
    const granted: PortMapping[] = [];
    try {
      for (const request of requests) {
        const hostIp = request.hostIp === '' ? '0.0.0.0' : request.hostIp;
        let result: { holder: Holder; port: number } | undefined;
        try {
          // SCTP has no Node socket: only TCP and UDP ports are held.
          if (request.protocol === 'udp') result = await bindUdp(hostIp, request.hostPort);
          else if (request.protocol === 'tcp') result = await listenTcp(hostIp, request.hostPort);
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
