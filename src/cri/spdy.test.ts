import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { duplexPair } from 'node:stream';
import { constants as zlibConstants, createDeflate, deflateSync, inflateSync } from 'node:zlib';
import { adler32, HeaderBlockReader, HeaderBlockWriter, SPDY_DICTIONARY, uint32, type SpdyHeaders } from './spdy-headers.js';
import { controlFrame, dataFrame, FLAG_FIN, FrameReader, FrameType, SpdySession, type Frame, type SpdyStream } from './spdy.js';
import type { IncomingMessage } from 'node:http';
import { acceptPortForwardPairs, acceptSpdy, waitForStreams } from './spdy-streams.js';

/** A header block as a client writes it, uncompressed. */
function rawBlock(pairs: Array<[string, string]>): Buffer {
  return Buffer.concat([uint32(pairs.length), ...pairs.flatMap(([name, value]) => [uint32(name.length), Buffer.from(name), uint32(value.length), Buffer.from(value)])]);
}

/** Compress blocks as Go's SPDY framer does: one zlib stream with the dictionary, a sync flush after each block. */
async function compressLikeAClient(blocks: Buffer[]): Promise<Buffer[]> {
  const deflate = createDeflate({ dictionary: SPDY_DICTIONARY, level: 9 });
  const out: Buffer[] = [];
  for (const block of blocks) {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer): number => chunks.push(chunk);
    deflate.on('data', onData);
    deflate.write(block);
    await new Promise<void>((resolve) => deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
    await new Promise<void>((resolve) => setImmediate(resolve));
    deflate.off('data', onData);
    out.push(Buffer.concat(chunks));
  }
  deflate.close();
  return out;
}

describe('SPDY/3.1 header blocks', () => {
  it('has SPDY/3\'s dictionary (its length, and the id a Go client names it by)', () => {
    assert.equal(SPDY_DICTIONARY.length, 1423);
    assert.equal(adler32(SPDY_DICTIONARY), 0xe3c6a7c2);
    assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398);
  });

  it('writes blocks any zlib reader takes with the dictionary, as zlib would store them', () => {
    const writer = new HeaderBlockWriter();
    const headers: SpdyHeaders = new Map([['streamtype', ['error']], ['port', ['8080']]]);
    const first = writer.encode(headers);
    const second = writer.encode(new Map());
    const inflated = inflateSync(Buffer.concat([first, second]), { dictionary: SPDY_DICTIONARY, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const expected = rawBlock([['streamtype', 'error'], ['port', '8080']]);
    assert.deepEqual(inflated, Buffer.concat([expected, uint32(0)]));
    assert.deepEqual(first, deflateSync(expected, { level: 0, dictionary: SPDY_DICTIONARY, finishFlush: zlibConstants.Z_SYNC_FLUSH }));
  });

  it('reads a client\'s blocks, later ones referring back to earlier ones and to the dictionary', async () => {
    const blocks = [
      rawBlock([['streamtype', 'error'], ['port', '8080'], ['requestid', '0']]),
      rawBlock([['streamtype', 'data'], ['port', '8080'], ['requestid', '0']]),
      rawBlock([['StreamType', 'stdin'], ['multi', 'a\0b']]),
    ];
    const compressed = await compressLikeAClient(blocks);
    assert.ok(compressed[1]!.length < blocks[1]!.length / 2, 'the second block refers back to the first');
    const reader = new HeaderBlockReader();
    assert.deepEqual(reader.decode(compressed[0]!), new Map([['streamtype', ['error']], ['port', ['8080']], ['requestid', ['0']]]));
    assert.deepEqual(reader.decode(compressed[1]!), new Map([['streamtype', ['data']], ['port', ['8080']], ['requestid', ['0']]]));
    assert.deepEqual(reader.decode(compressed[2]!), new Map([['streamtype', ['stdin']], ['multi', ['a', 'b']]]));
  });

  it('refuses a stream compressed with another dictionary', () => {
    const other = deflateSync(rawBlock([['a', 'b']]), { dictionary: Buffer.from('another dictionary'), finishFlush: zlibConstants.Z_SYNC_FLUSH });
    assert.throws(() => new HeaderBlockReader().decode(other), /another dictionary/);
  });
});

describe('SPDY/3.1 frames', () => {
  it('cuts control and data frames out of chunks of any size', () => {
    const bytes = Buffer.concat([
      controlFrame(FrameType.Ping, 0, uint32(1)),
      dataFrame(3, FLAG_FIN, Buffer.from('hello')),
      controlFrame(FrameType.GoAway, 0, Buffer.concat([uint32(3), uint32(0)])),
    ]);
    const reader = new FrameReader();
    const frames: Frame[] = [];
    for (let i = 0; i < bytes.length; i += 3) frames.push(...reader.push(bytes.subarray(i, i + 3)));
    assert.deepEqual(frames.map((f) => (f.control ? `control ${f.type}` : `data ${f.streamId} ${f.flags} ${f.payload.toString()}`)), [`control ${FrameType.Ping}`, 'data 3 1 hello', `control ${FrameType.GoAway}`]);
  });

  it('refuses another SPDY version', () => {
    const v2 = controlFrame(FrameType.Ping, 0, uint32(1));
    v2.writeUInt16BE(0x8002, 0);
    assert.throws(() => new FrameReader().push(v2), /version 2/);
  });
});

/** A session on one end of a pipe, a client's frames written to the other, the server's frames read back. */
async function withSession(run: (session: SpdySession, client: { synStream(id: number, headers: Array<[string, string]>, flags?: number): Promise<void>; write(bytes: Buffer): void; frames(): Frame[] }) => Promise<void>): Promise<void> {
  const [serverSide, clientSide] = duplexPair();
  const session = new SpdySession(serverSide);
  const reader = new FrameReader();
  const received: Frame[] = [];
  clientSide.on('data', (chunk: Buffer) => received.push(...reader.push(chunk)));
  const pendingBlocks: Buffer[] = [];
  const client = {
    async synStream(id: number, headers: Array<[string, string]>, flags = 0): Promise<void> {
      pendingBlocks.push(rawBlock(headers));
      const all = await compressLikeAClient(pendingBlocks);
      const block = all[all.length - 1]!;
      const prefix = Buffer.alloc(10);
      prefix.writeUInt32BE(id, 0);
      clientSide.write(controlFrame(FrameType.SynStream, flags, Buffer.concat([prefix, block])));
    },
    write: (bytes: Buffer) => clientSide.write(bytes),
    frames: () => received,
  };
  try {
    await run(session, client);
  } finally {
    session.close();
    clientSide.destroy();
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SPDY/3.1 session', () => {
  it('answers a stream with SYN_REPLY, relays data both ways with FIN, answers pings and says GOAWAY', async () => {
    await withSession(async (session, client) => {
      const opened = new Promise<SpdyStream>((resolve) => session.once('stream', resolve));
      await client.synStream(1, [['streamtype', 'stdin']]);
      const stream = await opened;
      assert.equal(stream.header('StreamType'), 'stdin');
      const got: string[] = [];
      stream.on('data', (chunk: Buffer) => got.push(chunk.toString()));
      const ended = new Promise<void>((resolve) => stream.once('end', resolve));
      client.write(dataFrame(1, 0, Buffer.from('abc')));
      client.write(dataFrame(1, FLAG_FIN, Buffer.from('def')));
      client.write(controlFrame(FrameType.Ping, 0, uint32(7)));
      await ended;
      assert.deepEqual(got, ['abc', 'def']);
      stream.write(Buffer.from('out'));
      stream.end();
      session.close();
      await settle();
      const frames = client.frames().map((f) => (f.control ? `control ${f.type}` : `data ${f.streamId} ${f.flags} ${f.payload.toString()}`));
      assert.equal(frames[0], `control ${FrameType.SynReply}`);
      assert.ok(frames.includes(`control ${FrameType.Ping}`), 'the ping is answered');
      assert.ok(frames.includes(`control ${FrameType.WindowUpdate}`), 'the window is given back');
      const tail = frames.filter((f) => !f.startsWith(`control ${FrameType.WindowUpdate}`) && !f.startsWith(`control ${FrameType.Ping}`)).slice(1);
      assert.deepEqual(tail, ['data 1 0 out', 'data 1 1 ', `control ${FrameType.GoAway}`]);
    });
  });

  it('refuses a stream whose ID does not go up, and resets data for an unknown stream', async () => {
    await withSession(async (session, client) => {
      const streams: SpdyStream[] = [];
      session.on('stream', (s: SpdyStream) => streams.push(s));
      await client.synStream(3, [['streamtype', 'error']]);
      await client.synStream(1, [['streamtype', 'stdout']]);
      client.write(dataFrame(9, 0, Buffer.from('x')));
      await settle();
      await settle();
      assert.deepEqual(streams.map((s) => s.id), [3]);
      const resets = client.frames().filter((f) => f.control && f.type === FrameType.RstStream).map((f) => f.payload.readUInt32BE(0));
      assert.deepEqual(resets, [1, 9]);
    });
  });

  it('waits for the streams an exec asks for, and pairs port-forward streams by request ID', async () => {
    await withSession(async (session, client) => {
      const waited = waitForStreams(session, { stdin: true, stdout: true, stderr: false, tty: false });
      await client.synStream(1, [['streamtype', 'error']]);
      await client.synStream(3, [['streamtype', 'stdin']]);
      await client.synStream(5, [['streamtype', 'stdout']]);
      assert.deepEqual([...(await waited).keys()].sort(), ['error', 'stdin', 'stdout']);
    });
    await withSession(async (session, client) => {
      const pairs: string[] = [];
      acceptPortForwardPairs(session, (pair) => pairs.push(`${pair.port} ${pair.error.id} ${pair.data.id}`));
      await client.synStream(1, [['streamtype', 'error'], ['port', '80'], ['requestid', '0']]);
      await client.synStream(3, [['streamtype', 'error'], ['port', '81'], ['requestid', '1']]);
      await client.synStream(5, [['streamtype', 'data'], ['port', '81'], ['requestid', '1']]);
      await client.synStream(7, [['streamtype', 'data'], ['port', '80'], ['requestid', '0']]);
      await settle();
      assert.deepEqual(pairs, ['81 3 5', '80 1 7']);
    });
  });
});

describe('SPDY/3.1 upgrade', () => {
  /** What acceptSpdy answers a request with these headers (each a list of values). */
  async function answerTo(headers: Record<string, string[]>): Promise<{ accepted: string | undefined; response: string }> {
    const request = {
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.join(', ')])),
      headersDistinct: headers,
    } as unknown as IncomingMessage;
    const [serverSide, clientSide] = duplexPair();
    let response = '';
    clientSide.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    const accepted = acceptSpdy(request, serverSide, Buffer.alloc(0), ['v4.channel.k8s.io']);
    await settle();
    accepted?.session.close();
    await settle();
    clientSide.destroy();
    return { accepted: accepted?.protocol, response };
  }

  it('takes the client\'s first protocol that is served, as the kubelet does', async () => {
    const { accepted, response } = await answerTo({ connection: ['Upgrade'], upgrade: ['SPDY/3.1'], 'x-stream-protocol-version': ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io'] });
    assert.equal(accepted, 'v4.channel.k8s.io');
    assert.match(response, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(response, /\r\nUpgrade: SPDY\/3\.1\r\n/);
    assert.match(response, /\r\nX-Stream-Protocol-Version: v4\.channel\.k8s\.io\r\n/);
  });

  it('refuses with 403 naming the served protocols when none is shared, and 400 without one', async () => {
    const none = await answerTo({ connection: ['Upgrade'], upgrade: ['SPDY/3.1'], 'x-stream-protocol-version': ['v2.channel.k8s.io'] });
    assert.equal(none.accepted, undefined);
    assert.match(none.response, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(none.response, /\r\nX-Accepted-Stream-Protocol-Versions: v4\.channel\.k8s\.io\r\n/);
    assert.match(none.response, /unable to negotiate protocol: client supports \[v2\.channel\.k8s\.io\], server accepts \[v4\.channel\.k8s\.io\]/);
    const missing = await answerTo({ connection: ['Upgrade'], upgrade: ['SPDY/3.1'] });
    assert.match(missing.response, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*X-Stream-Protocol-Version is required/);
  });
});
