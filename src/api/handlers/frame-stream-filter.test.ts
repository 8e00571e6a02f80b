import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameStreamFilter } from './frame-stream-filter.js';
import { frame, STREAM_STDERR, STREAM_STDOUT } from '../../common/index.js';

async function run(keep: number[], chunks: Buffer[]): Promise<Buffer> {
  const filter = new FrameStreamFilter(keep);
  const out: Buffer[] = [];
  filter.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => filter.on('end', resolve));
  for (const chunk of chunks) filter.write(chunk);
  filter.end();
  await ended;
  return Buffer.concat(out);
}

test('keeps wanted frames and drops others across any chunk split', async () => {
  const input = Buffer.concat([
    frame(STREAM_STDOUT, Buffer.from('out1')),
    frame(STREAM_STDERR, Buffer.from('err1')),
    frame(STREAM_STDOUT, Buffer.alloc(0)),
    frame(STREAM_STDOUT, Buffer.from('out2')),
  ]);
  const expected = Buffer.concat([frame(STREAM_STDOUT, Buffer.from('out1')), frame(STREAM_STDOUT, Buffer.alloc(0)), frame(STREAM_STDOUT, Buffer.from('out2'))]);
  for (let split = 0; split <= input.length; split++) {
    const got = await run([STREAM_STDOUT], [input.subarray(0, split), input.subarray(split)]);
    assert.deepEqual(got, expected, `split at ${split}`);
  }
  const bytewise = await run([STREAM_STDERR], [...input].map((b) => Buffer.from([b])));
  assert.deepEqual(bytewise, frame(STREAM_STDERR, Buffer.from('err1')));
});

test('payloadOnly strips the headers of kept frames', async () => {
  const filter = new FrameStreamFilter([STREAM_STDOUT, STREAM_STDERR], { payloadOnly: true });
  const out: Buffer[] = [];
  filter.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => filter.on('end', resolve));
  filter.end(Buffer.concat([frame(STREAM_STDOUT, Buffer.from('a')), frame(STREAM_STDOUT, Buffer.alloc(0)), frame(STREAM_STDERR, Buffer.from('b'))]));
  await ended;
  assert.equal(Buffer.concat(out).toString(), 'ab');
});
