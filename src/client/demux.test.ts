import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { FrameDecoder, StreamSystemError, demuxStream, encodeFrame } from './demux.js';

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString();
}

test('decoder reassembles frames split at every byte', () => {
  const bytes = Buffer.concat([encodeFrame(1, 'hello\n'), encodeFrame(2, 'oops\n'), encodeFrame(1, '')]);
  const decoder = new FrameDecoder();
  const frames = [];
  for (const byte of bytes) frames.push(...decoder.push(Buffer.from([byte])));
  assert.deepEqual(frames.map((f) => [f.stream, f.payload.toString()]), [[1, 'hello\n'], [2, 'oops\n'], [1, '']]);
  assert.equal(decoder.pending, 0);
});

test('demuxStream routes stdout and stderr', async () => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  await demuxStream(Readable.from([Buffer.concat([encodeFrame(1, 'a'), encodeFrame(2, 'b')]), encodeFrame(1, 'c')]), { stdout, stderr });
  assert.equal(out(), 'ac');
  assert.equal(err(), 'b');
});

test('demuxStream rejects on a system error frame', async () => {
  const sink = new PassThrough();
  await assert.rejects(demuxStream(Readable.from([encodeFrame(3, 'boom\n')]), { stdout: sink, stderr: sink }), (e: unknown) => e instanceof StreamSystemError && e.message === 'boom');
});
