import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { JsonMessage } from '../api/wire/index.js';
import { displayJsonMessages, formatProgress } from './progress-display.js';
import { StatusError } from './exit.js';

async function render(messages: JsonMessage[], isTerminal: boolean, columns = 120): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  async function* source(): AsyncGenerator<JsonMessage> {
    yield* messages;
  }
  await displayJsonMessages(source(), out, { isTerminal, columns });
  return Buffer.concat(chunks).toString();
}

const PULL: JsonMessage[] = [
  { status: 'Pulling from tools/busybox', id: '1' },
  { status: 'Pulling fs layer', progressDetail: {}, id: 'aaa' },
  { status: 'Pulling fs layer', progressDetail: {}, id: 'bbb' },
  { status: 'Downloading', progressDetail: { current: 500, total: 1000 }, id: 'aaa' },
  { status: 'Pull complete', progressDetail: {}, id: 'aaa' },
  { status: 'Digest: sha256:x' },
];

describe('displayJsonMessages', () => {
  it('prints plain lines off a terminal and leaves the byte counters out', async () => {
    assert.equal(await render(PULL, false), '1: Pulling from tools/busybox\naaa: Pulling fs layer\nbbb: Pulling fs layer\naaa: Pull complete\nDigest: sha256:x\n');
  });

  it('gives each layer one line on a terminal, redrawn with cursor moves', async () => {
    const text = await render(PULL, true);
    const E = '\x1b[';
    assert.equal(
      text,
      '1: Pulling from tools/busybox\n' +
        `\n${E}1A${E}2K\raaa: Pulling fs layer \r${E}1B` +
        `\n${E}1A${E}2K\rbbb: Pulling fs layer \r${E}1B` +
        `${E}2A${E}2K\raaa: Downloading [=========================>                         ]     500B/1kB\r${E}2B` +
        `${E}2A${E}2K\raaa: Pull complete \r${E}2B` +
        'Digest: sha256:x\n',
    );
  });

  it('passes aux messages to the callback and throws in-band errors', async () => {
    const seen: unknown[] = [];
    const out = new PassThrough();
    async function* source(): AsyncGenerator<JsonMessage> {
      yield { aux: { Digest: 'sha256:y' } };
      yield { errorDetail: { message: 'boom' }, error: 'boom' };
    }
    await assert.rejects(displayJsonMessages(source(), out, { isTerminal: false, onAux: (aux) => seen.push(aux) }), (err: unknown) => err instanceof StatusError && err.message === 'boom' && err.exitCode === 1);
    assert.deepEqual(seen, [{ Digest: 'sha256:y' }]);
  });
});

describe('formatProgress', () => {
  it("draws docker's bar only on wide terminals", () => {
    assert.equal(formatProgress({ current: 1000, total: 2000 }, 80), '     1kB/2kB');
    assert.equal(formatProgress({ current: 0, total: 0 }, 200), '');
    assert.equal(formatProgress({ current: 1500 }, 200), '   1.5kB');
  });
});
