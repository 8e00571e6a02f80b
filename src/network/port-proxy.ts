/**
 * Published ports on IPv6 host addresses (`-p [::1]:8080:80`, `-p [::]:8080:80`), carried in
 * berthd as docker's userland proxy carries them: the portmap plugin's DNAT cannot take them
 * (IPv6 has no route_localnet, and the container may have only an IPv4 address), so the socket
 * Berth holds on the port accepts the traffic and relays it to the container's address (its
 * IPv6 one when it has one, else its IPv4 one). TCP keeps half-closes; UDP keeps one upstream
 * socket per client, closed after docker-proxy's 90 s without traffic.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';

/** Where a published port's traffic goes: the addresses of the container's endpoint (as EndpointState has them). */
export interface ProxyTarget {
  ipAddress: string;
  ipv6Address?: string;
}

/** The container address a proxied connection goes to, or undefined before the endpoint has one. */
export function targetAddress(target: ProxyTarget | undefined): string | undefined {
  if (!target) return undefined;
  if (target.ipv6Address) return target.ipv6Address;
  return target.ipAddress !== '' ? target.ipAddress : undefined;
}

/** Relay one accepted TCP connection to `containerPort` of the target; either side's end or error ends both. */
export function relayTcp(client: Socket, target: ProxyTarget | undefined, containerPort: number): void {
  const host = targetAddress(target);
  if (host === undefined) {
    client.destroy();
    return;
  }
  const upstream = connect({ host, port: containerPort, allowHalfOpen: true });
  const endBoth = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', endBoth);
  upstream.on('error', endBoth);
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
}

/** docker-proxy's UDP connection tracking timeout. */
const UDP_IDLE_MS = 90_000;

/** Relay datagrams arriving on `listener` to the target, and each answer back to its client. */
export function relayUdp(listener: UdpSocket, target: () => ProxyTarget | undefined, containerPort: number): { close(): void } {
  const flows = new Map<string, { socket: UdpSocket; timer: NodeJS.Timeout }>();
  const closeFlow = (key: string): void => {
    const flow = flows.get(key);
    if (!flow) return;
    clearTimeout(flow.timer);
    flow.socket.close();
    flows.delete(key);
  };
  listener.on('message', (message: Buffer, client: RemoteInfo) => {
    const host = targetAddress(target());
    if (host === undefined) return;
    const key = `${client.address}|${client.port}`;
    let flow = flows.get(key);
    if (!flow) {
      const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
      socket.on('message', (answer: Buffer) => {
        listener.send(answer, client.port, client.address);
        const current = flows.get(key);
        if (current) current.timer.refresh();
      });
      socket.on('error', () => closeFlow(key));
      socket.unref();
      flow = { socket, timer: setTimeout(() => closeFlow(key), UDP_IDLE_MS).unref() };
      flows.set(key, flow);
    }
    flow.timer.refresh();
    flow.socket.send(message, containerPort, host);
  });
  return {
    close: () => {
      for (const key of [...flows.keys()]) closeFlow(key);
    },
  };
}
