import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeData, encodeFrame, encodeProcessSpec, FrameDecoder, FrameFormatError, FrameType, MAX_FRAME_PAYLOAD_BYTES, resizePayload, u32Payload } from './protocol.js';

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
});
