import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { silentLogger } from '../common/index.js';
import { DNS_RCODE, DNS_TYPE, encodeDnsResponse, encodeName, ipv4OfPtrName, ipv6OfPtrName, parseDnsQuery } from './dns-message.js';
import { DnsResponder, upstreamsFromResolvConf, type DnsRecords } from './dns-responder.js';

function query(name: string, type: number, id = 0x1234): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** Read the answers of a response this module wrote (uncompressed names). */
function answersOf(reply: Buffer): { rcode: number; id: number; answers: Array<{ type: number; data: string }> } {
  const count = reply.readUInt16BE(6);
  let at = 12;
  const skipName = (): string => {
    const labels: string[] = [];
    while (reply[at] !== 0) {
      labels.push(reply.toString('latin1', at + 1, at + 1 + reply[at]!));
      at += 1 + reply[at]!;
    }
    at++;
    return labels.join('.');
  };
  if (reply.readUInt16BE(4) > 0) {
    skipName();
    at += 4;
  }
  const answers: Array<{ type: number; data: string }> = [];
  for (let i = 0; i < count; i++) {
    skipName();
    const type = reply.readUInt16BE(at);
    const length = reply.readUInt16BE(at + 8);
    at += 10;
    const end = at + length;
    const data = type === DNS_TYPE.a ? [...reply.subarray(at, end)].join('.') : skipName();
    at = end;
    answers.push({ type, data });
  }
  return { rcode: reply.readUInt16BE(2) & 0x0f, id: reply.readUInt16BE(0), answers };
}

const records: DnsRecords = {
  addressesOf: (name) => (name === 'db' || name === 'database' ? { ipv4: ['10.9.0.2'], ipv6: [] } : undefined),
  namesOf: (ip) => (ip === '10.9.0.2' ? ['db.app'] : undefined),
  isInSubnet: (ip) => ip.startsWith('10.9.'),
};

describe('dns message', () => {
  it('parses a query and echoes its question', () => {
    const parsed = parseDnsQuery(query('DB', DNS_TYPE.a));
    assert.ok(parsed);
    assert.equal(parsed.name, 'db');
    assert.equal(parsed.type, DNS_TYPE.a);
    assert.equal(parsed.isRecursionDesired, true);
    const reply = encodeDnsResponse(parsed, DNS_RCODE.noError, [{ name: 'db', type: DNS_TYPE.a, ttlSeconds: 1, data: '10.9.0.2' }]);
    assert.deepEqual(answersOf(reply).answers, [{ type: DNS_TYPE.a, data: '10.9.0.2' }]);
    assert.equal(reply.readUInt16BE(2) & 0x8000, 0x8000);
  });

  it('follows compression pointers and rejects loops and truncation', () => {
    const q = query('db', DNS_TYPE.a);
    // A question whose name is a pointer to itself.
    const looped = Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    assert.equal(parseDnsQuery(looped), undefined);
    assert.equal(parseDnsQuery(q.subarray(0, 14)), undefined);
    assert.equal(parseDnsQuery(Buffer.alloc(5)), undefined);
  });

  it('reads PTR names', () => {
    assert.equal(ipv4OfPtrName('2.0.9.10.in-addr.arpa'), '10.9.0.2');
    assert.equal(ipv4OfPtrName('2.0.9.300.in-addr.arpa'), undefined);
    assert.equal(ipv4OfPtrName('db'), undefined);
    // fd00:0:0:1::99 reversed nibble by nibble (RFC 3596), any letter case.
    const name = `${'9.9.0.0.'}${'0.0.0.0.'.repeat(2)}${'0.0.0.0.'}1.0.0.0.${'0.0.0.0.'.repeat(2)}0.0.d.f.ip6.arpa`;
    assert.equal(ipv6OfPtrName(name), 'fd00:0:0:1::99');
    assert.equal(ipv6OfPtrName(name.toUpperCase().replace('IP6.ARPA', 'ip6.arpa')), 'fd00:0:0:1::99');
    assert.equal(ipv6OfPtrName('1.0.d.f.ip6.arpa'), undefined);
    assert.equal(ipv6OfPtrName('2.0.9.10.in-addr.arpa'), undefined);
  });
});

describe('dns responder', () => {
  it('answers names, aliases, PTR, NXDOMAIN and empty AAAA', async () => {
    const responder = await DnsResponder.start({ address: '127.0.0.1', port: 0, records, upstreams: [], logger: silentLogger });
    try {
      const a = answersOf((await responder.answer(query('database', DNS_TYPE.a, 7)))!);
      assert.equal(a.id, 7);
      assert.deepEqual(a.answers, [{ type: DNS_TYPE.a, data: '10.9.0.2' }]);
      const aaaa = answersOf((await responder.answer(query('db', DNS_TYPE.aaaa)))!);
      assert.equal(aaaa.rcode, DNS_RCODE.noError);
      assert.deepEqual(aaaa.answers, []);
      assert.equal(answersOf((await responder.answer(query('nope', DNS_TYPE.a)))!).rcode, DNS_RCODE.nxDomain);
      assert.deepEqual(answersOf((await responder.answer(query('2.0.9.10.in-addr.arpa', DNS_TYPE.ptr)))!).answers, [{ type: DNS_TYPE.ptr, data: 'db.app' }]);
      assert.equal(answersOf((await responder.answer(query('3.0.9.10.in-addr.arpa', DNS_TYPE.ptr)))!).rcode, DNS_RCODE.nxDomain);
      // No upstream: a forwarded name fails fast with SERVFAIL.
      assert.equal(answersOf((await responder.answer(query('example.org', DNS_TYPE.a)))!).rcode, DNS_RCODE.servFail);
    } finally {
      await responder.close();
    }
  });

  it('serves UDP and forwards other names to an upstream', async () => {
    const upstream = await DnsResponder.start({ address: '127.0.0.1', port: 0, records: { addressesOf: () => undefined, namesOf: () => undefined, isInSubnet: () => false }, upstreams: [], logger: silentLogger });
    // The upstream answers multi-label names with SERVFAIL (it has no upstream): enough to see the reply relayed.
    const responder = await DnsResponder.start({ address: '127.0.0.1', port: 0, records, upstreams: [{ address: '127.0.0.1', port: upstream.port }], logger: silentLogger });
    const client = createSocket('udp4');
    try {
      const ask = (message: Buffer): Promise<Buffer> =>
        new Promise((resolve) => {
          client.once('message', (reply) => resolve(reply));
          client.send(message, responder.port, '127.0.0.1');
        });
      assert.deepEqual(answersOf(await ask(query('db', DNS_TYPE.a, 9))).answers, [{ type: DNS_TYPE.a, data: '10.9.0.2' }]);
      const forwarded = answersOf(await ask(query('example.org', DNS_TYPE.a, 10)));
      assert.equal(forwarded.id, 10);
      assert.equal(forwarded.rcode, DNS_RCODE.servFail);
    } finally {
      client.close();
      await responder.close();
      await upstream.close();
    }
  });

  it("forwards to the querying container's own servers, others to the default upstreams", async () => {
    // Two plain UDP upstreams, each answering every name with its own marker address.
    const upstream = async (marker: string): Promise<{ port: number; close: () => void }> => {
      const socket = createSocket('udp4');
      socket.on('message', (message, peer) => {
        const asked = parseDnsQuery(message)!;
        socket.send(encodeDnsResponse(asked, DNS_RCODE.noError, [{ name: asked.name, type: DNS_TYPE.a, ttlSeconds: 1, data: marker }]), peer.port, peer.address);
      });
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      return { port: socket.address().port, close: () => socket.close() };
    };
    const chosen = await upstream('192.0.2.10');
    const fallback = await upstream('192.0.2.20');
    const perClient: DnsRecords = { ...records, upstreamsOf: (ip) => (ip === '10.9.0.7' ? [{ address: '127.0.0.1', port: chosen.port }] : undefined) };
    const responder = await DnsResponder.start({ address: '127.0.0.1', port: 0, records: perClient, upstreams: [{ address: '127.0.0.1', port: fallback.port }], logger: silentLogger });
    try {
      const via = async (from: string | undefined): Promise<string | undefined> => answersOf((await responder.answer(query('ext.example', DNS_TYPE.a, 7), from))!).answers[0]?.data;
      assert.equal(await via('10.9.0.7'), '192.0.2.10');
      assert.equal(await via('::ffff:10.9.0.7'), '192.0.2.10');
      assert.equal(await via('10.9.0.8'), '192.0.2.20');
      assert.equal(await via(undefined), '192.0.2.20');
      // The network's own names never leave the responder.
      assert.deepEqual(answersOf((await responder.answer(query('db', DNS_TYPE.a, 8), '10.9.0.7'))!).answers, [{ type: DNS_TYPE.a, data: '10.9.0.2' }]);
    } finally {
      await responder.close();
      chosen.close();
      fallback.close();
    }
  });

  it('reads upstreams from resolv.conf without loopback ones', () => {
    assert.deepEqual(upstreamsFromResolvConf('nameserver 127.0.0.53\nnameserver 10.0.0.1\n# x\nnameserver ::1\n'), [{ address: '10.0.0.1', port: 53 }]);
  });
});
