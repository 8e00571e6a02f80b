import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWebSocketFrames, encodeWebSocketFrame } from './attach-websocket.js';

function masked(opcode: number, payload: Buffer): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  const length = payload.length < 126 ? Buffer.from([0x80 | payload.length]) : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([Buffer.from([0x80 | opcode]), length, mask, body]);
}

test('decodes masked client frames split anywhere and keeps the rest', () => {
  const long = Buffer.alloc(300, 'x');
  const input = Buffer.concat([masked(1, Buffer.from('hello')), masked(2, long)]);
  for (let split = 0; split <= input.length; split++) {
    const seen: Array<[number, string]> = [];
    const rest = decodeWebSocketFrames(input.subarray(0, split), (op, p) => seen.push([op, p.toString()]));
    decodeWebSocketFrames(Buffer.concat([rest, input.subarray(split)]), (op, p) => seen.push([op, p.toString()]));
    assert.deepEqual(seen, [[1, 'hello'], [2, long.toString()]], `split at ${split}`);
  }
});

test('encodes server frames with the three length forms', () => {
  for (const size of [0, 125, 126, 65535, 65536]) {
    const seen: Buffer[] = [];
    const rest = decodeWebSocketFrames(encodeWebSocketFrame(2, Buffer.alloc(size, 7)), (_op, p) => seen.push(p));
    assert.equal(rest.length, 0);
    assert.equal(seen[0]?.length, size);
  }
});
