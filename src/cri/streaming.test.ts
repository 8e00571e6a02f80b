import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exitStatus, FrameSplitter } from './streaming.js';

describe('CRI streaming', () => {
  it('splits multiplexed output across chunk boundaries', () => {
    const frame = (stream: number, text: string): Buffer => {
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(text.length, 4);
      return Buffer.concat([header, Buffer.from(text)]);
    };
    const bytes = Buffer.concat([frame(1, 'hello'), frame(2, 'oops'), frame(1, '!')]);
    const seen: Array<[number, string]> = [];
    const splitter = new FrameSplitter();
    for (let i = 0; i < bytes.length; i += 3) splitter.push(bytes.subarray(i, i + 3), (stream, payload) => seen.push([stream, payload.toString()]));
    assert.deepEqual(seen, [[1, 'hello'], [2, 'oops'], [1, '!']]);
  });

  it('words the final status as the kubelet does', () => {
    assert.deepEqual(exitStatus(0), { metadata: {}, status: 'Success' });
    const failure = exitStatus(3) as { reason: string; details: { causes: unknown[] } };
    assert.equal(failure.reason, 'NonZeroExitCode');
    assert.deepEqual(failure.details.causes, [{ reason: 'ExitCode', message: '3' }]);
  });
});
