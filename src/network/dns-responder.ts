/**
 * The DNS responder of one user-defined network: a UDP and a TCP listener on the network's
 * gateway address through which its containers find each other by name, alias and short id
 * (A, AAAA, PTR), as docker's embedded DNS server does. Names it does not own are forwarded to
 * the querying container's `--dns` servers when it has some, to the host's resolvers otherwise. It reads the network's containers on every query, so a container that
 * leaves stops resolving at once.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../common/index.js';
import { DNS_RCODE, DNS_TYPE, encodeDnsResponse, ipv4OfPtrName, ipv6OfPtrName, parseDnsQuery, type DnsAnswer } from './dns-message.js';

/** What the responder asks of the network at each query. */
export interface DnsRecords {
  /** The addresses of the container known by `name` (lower-case, one label), or undefined when none is. */
  addressesOf(name: string): { ipv4: string[]; ipv6: string[] } | undefined;
  /** PTR targets for an address of the network's containers, or undefined when none has it. */
  namesOf(ipv4: string): string[] | undefined;
  /** Whether the address lies in the network's subnet (an unknown one then gets NXDOMAIN, not forwarding). */
  isInSubnet(ipv4: string): boolean;
  /**
   * The resolvers the container at this source address asked for (`--dns`), or undefined to
   * use the responder's own upstreams. Optional: without it every query uses those.
   */
  upstreamsOf?(ipv4: string): readonly DnsUpstream[] | undefined;
}

/** A resolver to forward to. */
export interface DnsUpstream {
  address: string;
  port: number;
}

/** How a responder starts. */
export interface DnsResponderOptions {
  /** The address to listen on (the network's gateway). */
  address: string;
  /** 53 unless a test asks for another. */
  port?: number;
  records: DnsRecords;
  upstreams: readonly DnsUpstream[];
  logger: Logger;
  forwardTimeoutMs?: number;
}

/** docker's embedded DNS answers with a 600 s TTL. */
const TTL_SECONDS = 600;
const DEFAULT_FORWARD_TIMEOUT_MS = 3000;

/** The host's resolvers from resolv.conf text, skipping loopback ones the host-side responder would loop through or that are the host's own stub. */
export function upstreamsFromResolvConf(text: string): DnsUpstream[] {
  return text
    .split('\n')
    .filter((l) => /^\s*nameserver\s/.test(l))
    .map((l) => l.trim().split(/\s+/)[1] ?? '')
    .filter((ns) => ns !== '' && !ns.startsWith('127.') && ns !== '::1')
    .map((address) => ({ address, port: 53 }));
}

/** One network's listeners. */
export class DnsResponder {
  readonly #options: DnsResponderOptions;
  readonly #udp: UdpSocket;
  readonly #tcp: Server;
  readonly #clients = new Set<Socket>();

  private constructor(options: DnsResponderOptions) {
    this.#options = options;
    this.#udp = createSocket('udp4');
    this.#tcp = createServer((socket) => this.#serveTcp(socket));
  }

  /** Bind both listeners; rejects (with nothing left bound) when either cannot bind. */
  static async start(options: DnsResponderOptions): Promise<DnsResponder> {
    const responder = new DnsResponder(options);
    const port = options.port ?? 53;
    try {
      await new Promise<void>((resolve, reject) => {
        responder.#udp.once('error', reject);
        responder.#udp.bind({ address: options.address, port, exclusive: true }, () => {
          responder.#udp.off('error', reject);
          resolve();
        });
      });
      await new Promise<void>((resolve, reject) => {
        responder.#tcp.once('error', reject);
        responder.#tcp.listen({ host: options.address, port }, () => {
          responder.#tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await responder.close();
      throw err;
    }
    responder.#udp.on('error', (err) => options.logger.warn('DNS responder UDP error', { address: options.address, error: err.message }));
    responder.#udp.on('message', (message, peer) => {
      void responder.answer(message, peer.address).then((reply) => {
        if (reply) responder.#udp.send(reply, peer.port, peer.address);
      });
    });
    return responder;
  }

  /** The UDP port bound (53 unless a test asked for 0). */
  get port(): number {
    return this.#udp.address().port;
  }

  /**
   * The reply to one query message, or undefined for one not worth answering (a response, or
   * bytes that are not DNS). Names of the network are answered here; the rest is forwarded to
   * the resolvers of the container at `from` (the query's source address) when it chose some.
   */
  async answer(message: Buffer, from?: string): Promise<Buffer | undefined> {
    const query = parseDnsQuery(message);
    if (!query) {
      if (message.length < 12) return undefined;
      // Echo the id with FORMERR so the client stops waiting.
      return encodeDnsResponse({ id: message.readUInt16BE(0), opcode: 0, isRecursionDesired: false, questionBytes: Buffer.alloc(0) }, DNS_RCODE.formErr);
    }
    if (query.opcode !== 0) return encodeDnsResponse(query, DNS_RCODE.notImp);
    const records = this.#options.records;
    const ptrAddress = ipv4OfPtrName(query.name) ?? ipv6OfPtrName(query.name);
    if (ptrAddress !== undefined) {
      const names = records.namesOf(ptrAddress);
      if (names) {
        const answers = query.type === DNS_TYPE.ptr ? names.map((data): DnsAnswer => ({ name: query.name, type: DNS_TYPE.ptr, ttlSeconds: TTL_SECONDS, data })) : [];
        return encodeDnsResponse(query, DNS_RCODE.noError, answers);
      }
      if (records.isInSubnet(ptrAddress)) return encodeDnsResponse(query, DNS_RCODE.nxDomain);
      return this.#forward(message, query, from);
    }
    if (query.name !== '' && !query.name.includes('.')) {
      const addresses = records.addressesOf(query.name);
      if (!addresses) return encodeDnsResponse(query, DNS_RCODE.nxDomain);
      const answers: DnsAnswer[] = [];
      if (query.type === DNS_TYPE.a) for (const data of addresses.ipv4) answers.push({ name: query.name, type: DNS_TYPE.a, ttlSeconds: TTL_SECONDS, data });
      if (query.type === DNS_TYPE.aaaa) for (const data of addresses.ipv6) answers.push({ name: query.name, type: DNS_TYPE.aaaa, ttlSeconds: TTL_SECONDS, data });
      return encodeDnsResponse(query, DNS_RCODE.noError, answers);
    }
    return this.#forward(message, query, from);
  }

  /** Ask each upstream in turn over UDP; SERVFAIL when none answers. */
  async #forward(message: Buffer, query: NonNullable<ReturnType<typeof parseDnsQuery>>, from: string | undefined): Promise<Buffer> {
    const chosen = from === undefined ? undefined : this.#options.records.upstreamsOf?.(from.replace(/^::ffff:/, ''));
    for (const upstream of chosen ?? this.#options.upstreams) {
      const reply = await forwardOnce(message, upstream, this.#options.forwardTimeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS);
      if (reply && reply.length >= 12 && reply.readUInt16BE(0) === query.id) return reply;
    }
    return encodeDnsResponse(query, DNS_RCODE.servFail);
  }

  /** RFC 1035 §4.2.2: each message is preceded by its two-byte length. */
  #serveTcp(socket: Socket): void {
    this.#clients.add(socket);
    socket.on('close', () => this.#clients.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(10_000, () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + message.length);
        void this.answer(Buffer.from(message), socket.remoteAddress).then((reply) => {
          if (!reply || socket.destroyed) return;
          const length = Buffer.alloc(2);
          length.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([length, reply]));
        });
      }
    });
  }

  /** Stop listening and drop open TCP connections. Idempotent. */
  async close(): Promise<void> {
    for (const socket of this.#clients) socket.destroy();
    await new Promise<void>((resolve) => {
      try {
        this.#udp.close(() => resolve());
      } catch {
        resolve();
      }
    });
    await new Promise<void>((resolve) => (this.#tcp.listening ? this.#tcp.close(() => resolve()) : resolve()));
  }
}

function forwardOnce(message: Buffer, upstream: DnsUpstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(upstream.address.includes(':') ? 'udp6' : 'udp4');
    const finish = (reply: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('error', () => finish(undefined));
    socket.on('message', (reply) => finish(reply));
    socket.send(message, upstream.port, upstream.address);
  });
}
