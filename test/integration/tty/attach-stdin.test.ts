/**
 * attach's rough edges: stdin kept open across attaches for `docker run -di` (StdinOnce false),
 * the attach helper ending as soon as its client goes away (even while the container prints
 * nothing), `logs=1` replay, and `stdout=0`/`stderr=0` honoured on a non-tty attach.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { NO_DOCKER, cannotRun, DOCKER, countProcesses, eventually, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

/** Poll (bounded) until check() holds; a condition never reached fails the test. */

/** `docker attach` as a child whose stdin the test writes to and whose output it watches. */
function dockerAttach(daemon: TestDaemon, name: string): { type(text: string): void; output(): string; kill(): Promise<void> } {
  const child = spawn(DOCKER, ['attach', name], { env: daemon.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  child.stdin.on('error', () => {});
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    type: (text) => child.stdin.write(text),
    output: () => output,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A raw hijacked attach: the multiplexed frames (stream type and payload) until `count` arrive. */
function rawAttachFrames(daemon: TestDaemon, path: string, count: number): Promise<Array<{ stream: number; text: string }>> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: daemon.socket, path, method: 'POST', agent: false, headers: { Connection: 'Upgrade', Upgrade: 'tcp' } });
    req.on('error', reject);
    req.on('upgrade', (_res, socket: Duplex, head: Buffer) => {
      let buffer = head;
      const frames: Array<{ stream: number; text: string }> = [];
      const onData = (chunk: Buffer): void => {
        buffer = Buffer.concat([buffer, chunk]);
        while (buffer.length >= 8 && buffer.length >= 8 + buffer.readUInt32BE(4)) {
          const size = buffer.readUInt32BE(4);
          frames.push({ stream: buffer[0]!, text: buffer.subarray(8, 8 + size).toString() });
          buffer = buffer.subarray(8 + size);
        }
        if (frames.length >= count) {
          socket.destroy();
          resolve(frames);
        }
      };
      socket.on('data', onData);
      onData(Buffer.alloc(0));
    });
    req.end();
  });
}

/** A masked client text frame, as a websocket client must send. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]);
}

describe('attach and stdin', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
    await daemon.docker(['pull', 'busybox']);
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('keeps stdin open across attaches for run -di, and a killed attach leaves no helper behind', async () => {
    const name = 'q-di';
    const id = (await daemon.docker(['run', '-di', '--name', name, 'busybox', 'cat'])).stdout.trim();
    try {
      assert.match(id, /^[0-9a-f]{64}$/);
      const first = dockerAttach(daemon, name);
      // Typing until echoed: the attach may still be connecting when the first line is written.
      await eventually(async () => {
        first.type('first-line\n');
        return first.output().includes('first-line');
      }, 'cat echoing the first attach');
      await first.kill();
      // cat prints nothing now: the helper must still go, because its client did.
      await eventually(async () => (await countProcesses('berth-attach', id)) === 0, 'the attach helper ending with its client');
      const running = await daemon.docker(['inspect', '-f', '{{.State.Running}}', name]);
      assert.equal(running.stdout.trim(), 'true', 'the first attach going away must not close stdin');

      const second = dockerAttach(daemon, name);
      await eventually(async () => {
        second.type('second-line\n');
        return second.output().includes('second-line');
      }, 'cat echoing the second attach');
      await second.kill();
      await eventually(async () => (await countProcesses('berth-attach', id)) === 0, 'the second helper ending');
    } finally {
      await daemon.docker(['rm', '-f', name]);
    }
  });

  it('passes stdin EOF to the container for run -i (StdinOnce)', async () => {
    const result = await daemon.docker(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo after-eof'], { input: 'data\n' });
    assert.equal(result.stdout, 'data\nafter-eof\n');
  });

  it('replays the log with logs=1 and honours stdout=0 / stderr=0', async () => {
    const name = 'q-logs';
    await daemon.docker(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo early-out; echo early-err >&2; while true; do echo tick-out; echo tick-err >&2; sleep 0.2; done']);
    try {
      await eventually(async () => (await daemon.docker(['logs', name])).stderr.includes('early-err'), 'the first log lines');
      const onlyOut = await daemon.api('POST', `/containers/${name}/attach?logs=1&stream=0&stdout=1&stderr=0`);
      assert.equal(onlyOut.status, 200);
      assert.ok(onlyOut.body.includes('early-out') && !onlyOut.body.includes('err'), onlyOut.body);
      const onlyErr = await daemon.api('POST', `/containers/${name}/attach?logs=1&stream=0&stdout=0&stderr=1`);
      assert.ok(onlyErr.body.includes('early-err') && !onlyErr.body.includes('out'), onlyErr.body);

      // conmon reads the two pipes separately, so the log may interleave them either way.
      const replayed = await rawAttachFrames(daemon, `/containers/${name}/attach?logs=1&stream=1&stdout=1&stderr=1`, 4);
      assert.ok(replayed.some((f) => f.stream === 1 && f.text === 'early-out\n'), JSON.stringify(replayed));
      assert.ok(replayed.some((f) => f.stream === 2 && f.text === 'early-err\n'), JSON.stringify(replayed));
      const streamedErr = await rawAttachFrames(daemon, `/containers/${name}/attach?stream=1&stdout=0&stderr=1`, 3);
      assert.deepEqual(streamedErr.map((f) => f.stream), [2, 2, 2]);
      const streamedOut = await rawAttachFrames(daemon, `/containers/${name}/attach?stream=1&stdout=1&stderr=0`, 3);
      assert.deepEqual(streamedOut.map((f) => f.stream), [1, 1, 1]);
    } finally {
      await daemon.docker(['rm', '-f', name]);
    }
  });

  it('attaches over a websocket: stdin from messages, output back in binary messages', async () => {
    const name = 'q-ws';
    const id = (await daemon.docker(['run', '-di', '--name', name, 'busybox', 'cat'])).stdout.trim();
    try {
      const socket = connect(daemon.socket);
      let received = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
      const key = randomBytes(16).toString('base64');
      socket.write(`GET /v1.47/containers/${name}/attach/ws?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: berth\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      await eventually(async () => received.includes('\r\n\r\n'), 'the handshake answer');
      const head = received.subarray(0, received.indexOf('\r\n\r\n')).toString();
      assert.match(head, /^HTTP\/1\.1 101 /);
      const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      assert.ok(head.includes(`Sec-WebSocket-Accept: ${accept}`), head);
      await eventually(async () => {
        socket.write(clientFrame('ws-line\n'));
        return received.includes('ws-line');
      }, 'cat echoing a websocket message');
      const start = received.indexOf('\r\n\r\n') + 4;
      assert.equal(received[start], 0x82, 'a binary message with FIN');
      socket.destroy();
      await eventually(async () => (await countProcesses('berth-attach', id)) === 0, 'the helper ending with the websocket');
    } finally {
      await daemon.docker(['rm', '-f', name]);
    }
  });
});
