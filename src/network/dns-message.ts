/**
 * The small subset of RFC 1035 messages Berth's DNS responder needs: read a query's header and
 * first question, and write an answer carrying A, AAAA or PTR records. Anything else is
 * forwarded as raw bytes, never decoded.
 */
import { formatIpv6 } from './subnets6.js';

/** RFC 1035 §3.2.2 record types the responder answers itself. */
export const DNS_TYPE = { a: 1, ptr: 12, aaaa: 28 } as const;

/** RFC 1035 §4.1.1 response codes the responder sends. */
export const DNS_RCODE = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4 } as const;

/** The parts of a query the responder looks at. */
export interface DnsQuery {
  id: number;
  /** RFC 1035 §4.1.1 OPCODE; only 0 (standard query) is answered. */
  opcode: number;
  isRecursionDesired: boolean;
  /** The first question's name, lower-cased, without the trailing dot. */
  name: string;
  type: number;
  qclass: number;
  /** The first question as it appeared on the wire (echoed back in the answer). */
  questionBytes: Buffer;
}

/** One resource record of an answer. */
export interface DnsAnswer {
  name: string;
  type: number;
  ttlSeconds: number;
  /** Dotted IPv4 for A, colon-form IPv6 for AAAA, a domain name for PTR. */
  data: string;
}

const HEADER_BYTES = 12;
const MAX_POINTER_HOPS = 16;

/** Read a (possibly compressed) name at `offset`; returns the name and the offset just past it in the original position. */
function readName(message: Buffer, offset: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let at = offset;
  let end = -1;
  for (let hops = 0; hops <= MAX_POINTER_HOPS; ) {
    if (at >= message.length) return undefined;
    const length = message[at]!;
    if (length === 0) {
      if (end < 0) end = at + 1;
      return { name: labels.join('.'), end };
    }
    if ((length & 0xc0) === 0xc0) {
      if (at + 1 >= message.length) return undefined;
      if (end < 0) end = at + 2;
      at = ((length & 0x3f) << 8) | message[at + 1]!;
      hops++;
      continue;
    }
    if ((length & 0xc0) !== 0 || at + 1 + length > message.length) return undefined;
    labels.push(message.toString('latin1', at + 1, at + 1 + length));
    at += 1 + length;
  }
  return undefined;
}

/** Parse a query; undefined when it is not a well-formed message with at least one question. */
export function parseDnsQuery(message: Buffer): DnsQuery | undefined {
  if (message.length < HEADER_BYTES) return undefined;
  const flags = message.readUInt16BE(2);
  if ((flags & 0x8000) !== 0) return undefined;
  if (message.readUInt16BE(4) < 1) return undefined;
  const read = readName(message, HEADER_BYTES);
  if (!read || read.end + 4 > message.length) return undefined;
  return {
    id: message.readUInt16BE(0),
    opcode: (flags >> 11) & 0x0f,
    isRecursionDesired: (flags & 0x0100) !== 0,
    name: read.name.toLowerCase(),
    type: message.readUInt16BE(read.end),
    qclass: message.readUInt16BE(read.end + 2),
    questionBytes: message.subarray(HEADER_BYTES, read.end + 4),
  };
}

/** Encode a name as uncompressed labels; throws on a label longer than 63 bytes. */
export function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.replace(/\.$/, '').split('.')) {
    if (label === '') continue;
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length > 63) throw new RangeError(`DNS label too long: ${label}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map((p) => Number(p) & 0xff));
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const groups = (text: string): number[] => (text === '' ? [] : text.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  all.slice(0, 8).forEach((g, i) => out.writeUInt16BE(g & 0xffff, i * 2));
  return out;
}

/**
 * Build the answer to `query`: the question echoed, `answers` in order, AA and RA set, RD
 * copied. A zero-length answer list with rcode 0 is the "name exists, no such record" reply.
 */
export function encodeDnsResponse(query: Pick<DnsQuery, 'id' | 'opcode' | 'isRecursionDesired' | 'questionBytes'>, rcode: number, answers: readonly DnsAnswer[] = []): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(query.id, 0);
  header.writeUInt16BE(0x8000 | ((query.opcode & 0x0f) << 11) | 0x0400 | (query.isRecursionDesired ? 0x0100 : 0) | 0x0080 | (rcode & 0x0f), 2);
  header.writeUInt16BE(query.questionBytes.length > 0 ? 1 : 0, 4);
  header.writeUInt16BE(answers.length, 6);
  const records = answers.map((answer) => {
    const rdata = answer.type === DNS_TYPE.a ? ipv4Bytes(answer.data) : answer.type === DNS_TYPE.aaaa ? ipv6Bytes(answer.data) : encodeName(answer.data);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(answer.type, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(answer.ttlSeconds, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    return Buffer.concat([encodeName(answer.name), fixed, rdata]);
  });
  return Buffer.concat([header, query.questionBytes, ...records]);
}

/** The dotted IPv4 address a `d.c.b.a.in-addr.arpa` name asks about, or undefined. */
export function ipv4OfPtrName(name: string): string | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  if (!match) return undefined;
  const octets = match.slice(1, 5).reverse().map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.join('.');
}

/** The IPv6 address a `<32 nibbles reversed>.ip6.arpa` name asks about (RFC 3596), in RFC 5952 form, or undefined. */
export function ipv6OfPtrName(name: string): string | undefined {
  const match = /^((?:[0-9a-f]\.){32})ip6\.arpa$/i.exec(name);
  if (!match) return undefined;
  const nibbles = match[1]!.split('.').filter((n) => n !== '').reverse().join('');
  return formatIpv6(BigInt(`0x${nibbles}`));
}
