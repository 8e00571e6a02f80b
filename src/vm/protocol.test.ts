import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodeData,
  encodeFrame,
  encodeProcessSpec,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameFormatError,
  FrameTooLargeError,
  FrameType,
  MAX_FRAME_PAYLOAD_BYTES,
  resizePayload,
  STREAM_WINDOW_BYTES,
  u32Payload,
} from './protocol.js';

/** guest/agent/protocol.h, the header the agent and the shim compile with (this runs from dist/src/vm). */
const PROTOCOL_HEADER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'guest', 'agent', 'protocol.h');

describe('guest agent protocol', () => {
  it('encodes the header as PROTOCOL.md says', () => {
    const frame = encodeFrame(FrameType.signal, 7, u32Payload(15));
    assert.deepEqual([...frame], [7, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0, 15]);
  });

  it('decodes frames split and joined at any byte', () => {
    const stream = Buffer.concat([
      encodeFrame(FrameType.ready, 0),
      encodeFrame(FrameType.stdout, 0, Buffer.from('hello')),
      encodeFrame(FrameType.exit, 3, u32Payload(127)),
    ]);
    for (let step = 1; step <= stream.length; step++) {
      const decoder = new FrameDecoder();
      const frames = [];
      for (let at = 0; at < stream.length; at += step) frames.push(...decoder.push(stream.subarray(at, at + step)));
      assert.deepEqual(frames.map((f) => [f.type, f.sessionId, f.payload.toString('hex')]), [
        [1, 0, ''],
        [4, 0, Buffer.from('hello').toString('hex')],
        [9, 3, '0000007f'],
      ]);
    }
  });

  it('splits large data and refuses oversized frames', () => {
    const data = Buffer.alloc(MAX_FRAME_PAYLOAD_BYTES * 2 + 5, 1);
    const frames = new FrameDecoder().push(encodeData(FrameType.stdin, 1, data));
    assert.deepEqual(frames.map((f) => f.payload.length), [MAX_FRAME_PAYLOAD_BYTES, MAX_FRAME_PAYLOAD_BYTES, 5]);
    const bad = Buffer.alloc(12);
    bad.writeUInt32BE(MAX_FRAME_PAYLOAD_BYTES + 1, 8);
    assert.throws(() => new FrameDecoder().push(bad), FrameFormatError);
    assert.throws(() => encodeFrame(FrameType.stdin, 0, Buffer.alloc(MAX_FRAME_PAYLOAD_BYTES + 1)), RangeError);
  });

  it('encodes process specs as NUL-terminated fields', () => {
    const spec = encodeProcessSpec({ args: ['sh', '-c', 'a=b'], env: ['PATH=/bin'], cwd: '/w', uid: 1, gid: 2, additionalGids: [3, 4], isTty: true, hostname: 'h' });
    assert.equal(spec.toString(), 'arg=sh\0arg=-c\0arg=a=b\0env=PATH=/bin\0cwd=/w\0uid=1\0gid=2\0groups=3,4\0host=h\0tty=1\0');
    assert.throws(() => encodeProcessSpec({ args: [], env: [], cwd: '/', uid: 0, gid: 0, additionalGids: [], isTty: false }), RangeError);
    assert.deepEqual([...resizePayload(24, 80)], [0, 24, 0, 80]);
  });

  it('agrees with guest/agent/protocol.h, which the agent and the shim share', () => {
    const header = readFileSync(PROTOCOL_HEADER, 'utf8');
    const types = new Map([...header.matchAll(/\bF_([A-Z_]+) = (\d+),/g)].map((m) => [m[1]!.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), Number(m[2])]));
    // The C names are the wire's (F_STDIN_CLOSE, F_PS_LIST); ours are camelCase, POWEROFF is powerOff.
    types.set('powerOff', types.get('poweroff')!);
    types.delete('poweroff');
    assert.deepEqual(Object.fromEntries(types), { ...FrameType });
    const define = (name: string): number => Number(new RegExp(`#define ${name} (\\d+)`).exec(header)?.[1]);
    assert.equal(define('FRAME_HEADER_BYTES'), FRAME_HEADER_BYTES);
    assert.equal(define('FRAME_MAX_PAYLOAD'), MAX_FRAME_PAYLOAD_BYTES);
    assert.equal(define('STREAM_WINDOW_BYTES'), STREAM_WINDOW_BYTES);
  });

  it('framing edges: empty frames, a payload at the limit, one over it, a peer closing mid-frame', () => {
    // Empty frames are whole frames (READY, STDIN_CLOSE, an empty STDOUT chunk).
    const empties = new FrameDecoder().push(Buffer.concat([encodeFrame(FrameType.ready, 0), encodeFrame(FrameType.stdinClose, 4), encodeFrame(FrameType.stdout, 4, Buffer.alloc(0))]));
    assert.deepEqual(empties.map((f) => [f.type, f.sessionId, f.payload.length]), [[1, 0, 0], [6, 4, 0], [4, 4, 0]]);

    // Exactly at the limit: encoded, and decoded whole even when it arrives a byte at a time.
    const atLimit = encodeFrame(FrameType.stdout, 2, Buffer.alloc(MAX_FRAME_PAYLOAD_BYTES, 7));
    assert.equal(atLimit.length, FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD_BYTES);
    const decoder = new FrameDecoder();
    const got = [];
    for (let at = 0; at < atLimit.length; at += 4096) got.push(...decoder.push(atLimit.subarray(at, at + 4096)));
    assert.equal(got.length, 1);
    assert.equal(got[0]!.payload.length, MAX_FRAME_PAYLOAD_BYTES);
    assert.equal(decoder.pendingBytes, 0);

    // One byte over: refused on both sides, never split.
    assert.throws(() => encodeFrame(FrameType.exec, 1, Buffer.alloc(MAX_FRAME_PAYLOAD_BYTES + 1)), FrameTooLargeError);
    const over = Buffer.alloc(FRAME_HEADER_BYTES);
    over.writeUInt8(FrameType.stdout, 0);
    over.writeUInt32BE(MAX_FRAME_PAYLOAD_BYTES + 1, 8);
    assert.throws(() => new FrameDecoder().push(over), FrameFormatError);

    // The peer closes mid-header and mid-payload: nothing is decoded, and what is left says so.
    const frame = encodeFrame(FrameType.stdout, 3, Buffer.from('partial'));
    const midHeader = new FrameDecoder();
    assert.deepEqual(midHeader.push(frame.subarray(0, 5)), []);
    assert.equal(midHeader.pendingBytes, 5);
    const midPayload = new FrameDecoder();
    assert.deepEqual(midPayload.push(Buffer.concat([encodeFrame(FrameType.ready, 0), frame.subarray(0, FRAME_HEADER_BYTES + 3)])).map((f) => f.type), [FrameType.ready]);
    assert.equal(midPayload.pendingBytes, FRAME_HEADER_BYTES + 3);
  });

  it('takes any number of arguments and environment entries that fit a frame, and refuses a larger spec by its size', () => {
    const args = Array.from({ length: 4000 }, (_, i) => String(i));
    const env = Array.from({ length: 1500 }, (_, i) => `V${i}=x`);
    const spec = encodeProcessSpec({ args, env, cwd: '/', uid: 0, gid: 0, additionalGids: [], isTty: false });
    const fields = spec.toString().split('\0');
    assert.equal(fields.filter((f) => f.startsWith('arg=')).length, 4000);
    assert.equal(fields.filter((f) => f.startsWith('env=')).length, 1500);
    const huge = { args: ['echo', 'x'.repeat(MAX_FRAME_PAYLOAD_BYTES)], env: [], cwd: '/', uid: 0, gid: 0, additionalGids: [], isTty: false };
    assert.throws(() => encodeProcessSpec(huge), (err: Error) => err instanceof FrameTooLargeError && /process spec \(arguments, environment\) is 655\d\d bytes, over the VM channel's limit of 65536 bytes/.test(err.message));
  });
});
