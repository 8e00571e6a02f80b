import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { isShareableConnection, takeOverReading } from './shared-connection.js';

/** A connected pair over a unix socket: the server's end (as berthd holds it) and the client's. */
async function socketPair(dir: string): Promise<{ server: Socket; client: Socket; close: () => void }> {
  const path = join(dir, 'sock');
  const listener = createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => listener.listen(path, resolve));
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const client = connect(path);
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const server = await accepted;
  return { server, client, close: () => listener.close() };
}

function until(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => (condition() ? resolve() : void setTimeout(check, 5));
    check();
  });
}

describe('takeOverReading', () => {
  it('hands over what Node read, and another process reads the rest from the same descriptor, every byte in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-shared-connection-'));
    const { server, client, close } = await socketPair(dir);
    try {
      const data = randomBytes(4 * 1024 * 1024);
      // Less than Node's high-water mark: Node is still reading when the take-over comes.
      const first = data.subarray(0, 1000);
      const rest = data.subarray(1000);
      server.pause();
      client.write(first);
      // Node reads it into its buffer (it reads ahead while paused, up to its high-water mark).
      await until(() => server.readableLength === first.length);
      const taken = takeOverReading(server);
      assert.ok(taken !== undefined);
      // The rest arrives while no one reads: a Node still reading would take some of it now.
      client.end(rest);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Then another process reads it from the same (non-blocking) descriptor, its fd 3.
      const copyFd3 = "const s = new (require('node:net').Socket)({ fd: 3, readable: true, writable: false }); s.pipe(process.stdout);";
      const reader = spawn(process.execPath, ['-e', copyFd3], { stdio: ['ignore', 'pipe', 'inherit', server] });
      const output = reader.stdout;
      assert.ok(output);
      const read: Buffer[] = [];
      output.on('data', (chunk: Buffer) => read.push(chunk));
      const exited = new Promise<number | null>((resolve) => reader.once('exit', resolve));
      assert.equal(await exited, 0);
      await until(() => output.readableEnded);
      const all = Buffer.concat([...taken, ...read]);
      assert.equal(all.length, data.length, `${Buffer.concat(taken).length} bytes taken over, ${Buffer.concat(read).length} read by the other process`);
      assert.ok(all.equals(data), 'the same bytes, in order');
      assert.equal(server.readableLength, 0, 'Node read nothing more after the take-over');
    } finally {
      client.destroy();
      server.destroy();
      close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is undefined for a closed connection, whose bytes the caller relays as before', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-shared-connection-'));
    const { server, client, close } = await socketPair(dir);
    try {
      server.destroy();
      assert.equal(takeOverReading(server), undefined);
    } finally {
      client.destroy();
      close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('isShareableConnection', () => {
  it('takes a plain socket and refuses TLS (ciphertext on its descriptor) and nothing', () => {
    const plain = new Socket();
    assert.equal(isShareableConnection(plain), true);
    assert.equal(isShareableConnection(new TLSSocket(plain)), false);
    assert.equal(isShareableConnection(undefined), false);
    plain.destroy();
  });
});
