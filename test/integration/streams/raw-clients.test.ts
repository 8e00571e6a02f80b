/**
 * Streams through raw API clients (issue 12): a hijacked attach or exec whose client writes all
 * of stdin with the request and half-closes at once (before the container has started) or sends it
 * in bursts around the start (berthd hands the rest of stdin to the attach helper), the
 * websocket attach, the detach keys' bytes as plain data without a tty, `exec -t` output as a
 * tty gives it, exec of a missing command (126), and a 256 MiB output read slowly while
 * berthd's memory stays bounded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

/** Random bytes holding Ctrl-P Ctrl-Q pairs: data, never a detach, without a tty. */
function payloadOf(sizeBytes: number): Buffer {
  const data = randomBytes(sizeBytes);
  for (let at = 0; at + 1 < sizeBytes; at += 997) data.set([0x10, 0x11], at);
  return data;
}

/** Demultiplexed stdout and stderr of a raw stream (docker's 8-byte frame headers). */
function demux(raw: Buffer): { stdout: Buffer; stderr: Buffer } {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length) {
    const size = raw.readUInt32BE(at + 4);
    const payload = raw.subarray(at + 8, at + 8 + size);
    (raw[at] === 2 ? stderr : stdout).push(payload);
    at += 8 + size;
  }
  assert.equal(at, raw.length, 'the stream ends on a frame boundary');
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) };
}

/**
 * A hijacked request written in one go with `stdin` right behind it, then half-closed: what a
 * client does that sends everything at once. Resolves with what came after the 101 head.
 */
function hijackAtOnce(socketPath: string, method: string, path: string, body: string, stdin: Buffer, whenSent?: () => Promise<void>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const headEnd = all.indexOf('\r\n\r\n');
      if (!/^HTTP\/1\.1 101/.test(all.subarray(0, 12).toString())) return reject(new Error(`no upgrade: ${all.subarray(0, 200).toString()}`));
      socket.end();
      resolve(all.subarray(headEnd + 4));
    });
    socket.on('connect', () => {
      const head = `${method} ${path} HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      socket.write(Buffer.concat([Buffer.from(head), stdin]));
      socket.end();
      void whenSent?.().catch(reject);
    });
  });
}

/**
 * A hijacked request whose stdin comes in bursts: the first with the request, each next one
 * after `before(i)` settles, then the half-close. Resolves with what came after the 101 head.
 */
function hijackInBursts(socketPath: string, path: string, body: string, bursts: Buffer[], before: (index: number) => Promise<void>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      if (!/^HTTP\/1\.1 101/.test(all.subarray(0, 12).toString())) return reject(new Error(`no upgrade: ${all.subarray(0, 200).toString()}`));
      socket.end();
      resolve(all.subarray(all.indexOf('\r\n\r\n') + 4));
    });
    socket.on('connect', () => {
      const head = `POST ${path} HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      socket.write(Buffer.concat([Buffer.from(head), bursts[0] ?? Buffer.alloc(0)]));
      void (async () => {
        for (let i = 1; i < bursts.length; i++) {
          await before(i);
          socket.write(bursts[i]!);
        }
        socket.end();
      })().catch(reject);
    });
  });
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** A masked client websocket frame (binary, or close with `opcode` 8). */
function clientFrame(payload: Buffer, opcode = 0x2): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : Buffer.alloc(4);
  if (length >= 126) {
    assert.ok(length < 65536);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  }
  return Buffer.concat([header, mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]);
}

/** The payloads of the server's websocket frames (unmasked) up to its close frame. */
function serverMessages(raw: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 2 <= raw.length) {
    const opcode = raw[at]! & 0x0f;
    let length = raw[at + 1]! & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      length = raw.readUInt16BE(at + 2);
      offset += 2;
    } else if (length === 127) {
      length = Number(raw.readBigUInt64BE(at + 2));
      offset += 8;
    }
    if (opcode === 0x8) break;
    out.push(raw.subarray(offset, offset + length));
    at = offset + length;
  }
  return Buffer.concat(out);
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

describe('streams through raw API clients', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  async function createCat(name: string): Promise<string> {
    const created = await daemon.api('POST', `/containers/create?name=${name}`, JSON.stringify({ Image: 'busybox', Cmd: ['cat'], OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true }));
    assert.equal(created.status, 201, created.body);
    return (JSON.parse(created.body) as { Id: string }).Id;
  }

  it('attach before start: 5,000 bytes and the half-close sent with the request all come back', async () => {
    const id = await createCat('raw-before-start');
    const stdin = payloadOf(5000);
    const output = await hijackAtOnce(daemon.socket, 'POST', `/v1.47/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`, '', stdin, async () => {
      // The client has sent everything and half-closed; only now does the container start.
      await new Promise((r) => setTimeout(r, 200));
      const started = await daemon.api('POST', `/containers/${id}/start`);
      assert.equal(started.status, 204, started.body);
    });
    const { stdout, stderr } = demux(output);
    assert.equal(stderr.length, 0, stderr.toString());
    assert.equal(stdout.length, stdin.length);
    assert.ok(stdout.equals(stdin), 'the same bytes, in order');
    const waited = await daemon.api('POST', `/containers/${id}/wait`);
    assert.equal((JSON.parse(waited.body) as { StatusCode: number }).StatusCode, 0, 'cat saw EOF after the last byte and exited 0');
  });

  it('attach to a running container: 1 MiB and the half-close sent at once all come back', async () => {
    const id = await createCat('raw-running');
    assert.equal((await daemon.api('POST', `/containers/${id}/start`)).status, 204);
    const stdin = payloadOf(1024 * 1024);
    const { stdout } = demux(await hijackAtOnce(daemon.socket, 'POST', `/v1.47/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`, '', stdin));
    assert.equal(md5(stdout), md5(stdin), `${stdout.length} of ${stdin.length} bytes came back`);
  });

  it('exec start: stdin right behind the start body, half-closed at once, all comes back', async () => {
    const id = await createCat('raw-exec');
    assert.equal((await daemon.api('POST', `/containers/${id}/start`)).status, 204);
    const created = await daemon.api('POST', `/containers/${id}/exec`, JSON.stringify({ Cmd: ['cat'], AttachStdin: true, AttachStdout: true, AttachStderr: true }));
    const execId = (JSON.parse(created.body) as { Id: string }).Id;
    const stdin = payloadOf(256 * 1024);
    const { stdout } = demux(await hijackAtOnce(daemon.socket, 'POST', `/v1.47/exec/${execId}/start`, JSON.stringify({ Detach: false, Tty: false }), stdin));
    assert.equal(md5(stdout), md5(stdin), `${stdout.length} of ${stdin.length} bytes came back`);
    const inspect = JSON.parse((await daemon.api('GET', `/exec/${execId}/json`)).body) as { ExitCode: number };
    assert.equal(inspect.ExitCode, 0);
  });

  it('stdin in bursts around the start (with the request, before and after start): every byte back, in order, for attach and exec', async () => {
    const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    const id = await createCat('raw-bursts');
    const stdin = payloadOf(3 * 1024 * 1024);
    const bursts = [stdin.subarray(0, 70_000), stdin.subarray(70_000, 1_000_000), stdin.subarray(1_000_000, 1_000_001), stdin.subarray(1_000_001)];
    const output = await hijackInBursts(daemon.socket, `/v1.47/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`, '', bursts, async (index) => {
      await pause(100);
      // The second burst reaches berthd while it waits for the start; the others after.
      if (index === 2) assert.equal((await daemon.api('POST', `/containers/${id}/start`)).status, 204);
    });
    const { stdout, stderr } = demux(output);
    assert.equal(stderr.length, 0, stderr.toString());
    assert.equal(md5(stdout), md5(stdin), `${stdout.length} of ${stdin.length} bytes came back`);

    const runner = await createCat('raw-bursts-exec');
    assert.equal((await daemon.api('POST', `/containers/${runner}/start`)).status, 204);
    const created = await daemon.api('POST', `/containers/${runner}/exec`, JSON.stringify({ Cmd: ['cat'], AttachStdin: true, AttachStdout: true, AttachStderr: true }));
    const execId = (JSON.parse(created.body) as { Id: string }).Id;
    const execOutput = await hijackInBursts(daemon.socket, `/v1.47/exec/${execId}/start`, JSON.stringify({ Detach: false, Tty: false }), bursts, () => pause(100));
    assert.equal(md5(demux(execOutput).stdout), md5(stdin), 'exec: the same bytes, in order');
    const inspect = JSON.parse((await daemon.api('GET', `/exec/${execId}/json`)).body) as { ExitCode: number };
    assert.equal(inspect.ExitCode, 0, 'cat saw EOF after the last byte');
  });

  it('websocket attach: binary messages in, every byte back, the close frame as EOF', async () => {
    const id = await createCat('raw-ws');
    assert.equal((await daemon.api('POST', `/containers/${id}/start`)).status, 204);
    const stdin = payloadOf(512 * 1024);
    const output = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(daemon.socket);
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const all = Buffer.concat(chunks);
        resolve(all.subarray(all.indexOf('\r\n\r\n') + 4));
      });
      const key = randomBytes(16).toString('base64');
      const head = `GET /v1.47/containers/${id}/attach/ws?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: berth\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
      const frames: Buffer[] = [Buffer.from(head)];
      for (let at = 0; at < stdin.length; at += 60_000) frames.push(clientFrame(stdin.subarray(at, at + 60_000)));
      frames.push(clientFrame(Buffer.alloc(0), 0x8));
      socket.write(Buffer.concat(frames));
    });
    const back = serverMessages(output);
    assert.equal(md5(back), md5(stdin), `${back.length} of ${stdin.length} bytes came back`);
  });

  it('without a tty the detach keys are data; exec -t ends lines as a tty does; exec of a missing command is 126', async () => {
    const counted = await daemon.docker(['run', '-i', '--rm', 'busybox', 'wc', '-c'], { input: 'hello\n\x10\x11world\n' });
    assert.equal(counted.stdout.trim(), '14', counted.stderr);
    const worker = (await daemon.docker(['run', '-d', 'busybox', 'sleep', '600'])).stdout.trim();
    const tty = await daemon.docker(['exec', '-t', worker, 'echo', 'hi']);
    assert.equal(tty.stdout, 'hi\r\n');
    const berthTty = await daemon.berth(['exec', '-t', worker, 'echo', 'hi']);
    assert.equal(berthTty.stdout, 'hi\r\n');
    const missing = await daemon.docker(['exec', worker, 'no-such-command']);
    assert.equal(missing.exitCode, 126);
    assert.match(missing.stderr + missing.stdout, /executable file not found/);
    const run = await daemon.docker(['run', '--rm', 'busybox', 'no-such-command']);
    assert.equal(run.exitCode, 127, 'run keeps 127');
  });

  it('a 256 MiB output read slowly: every byte arrives and berthd does not buffer it', async () => {
    const pid = Number((await readFile(join(daemon.execRoot, 'berthd.pid'), 'utf8')).trim());
    assert.ok(pid > 0);
    const totalBytes = 256 * 1024 * 1024;
    const created = await daemon.api('POST', '/containers/create?name=raw-slow', JSON.stringify({ Image: 'busybox', Cmd: ['head', '-c', String(totalBytes), '/dev/zero'], AttachStdout: true, AttachStderr: true }));
    assert.equal(created.status, 201, created.body);
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    const before = await rssKiB(pid);
    let peak = before;
    const sampler = setInterval(() => {
      void rssKiB(pid).then((kib) => (peak = Math.max(peak, kib)), () => {});
    }, 50);
    try {
      const stdout = await new Promise<number>((resolve, reject) => {
        const socket = connect(daemon.socket);
        let head: Buffer = Buffer.alloc(0);
        let inHead = true;
        let frameLeft = 0;
        let headerBytes: Buffer = Buffer.alloc(0);
        let received = 0;
        socket.on('error', reject);
        socket.on('connect', () => {
          socket.write(`POST /v1.47/containers/${id}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
          socket.end();
          void daemon.api('POST', `/containers/${id}/start`);
        });
        const count = (chunk: Buffer): void => {
          let at = 0;
          while (at < chunk.length) {
            if (frameLeft === 0) {
              const need = 8 - headerBytes.length;
              headerBytes = Buffer.concat([headerBytes, chunk.subarray(at, at + need)]);
              at += Math.min(need, chunk.length - at);
              if (headerBytes.length === 8) {
                frameLeft = headerBytes.readUInt32BE(4);
                headerBytes = Buffer.alloc(0);
              }
              continue;
            }
            const take = Math.min(frameLeft, chunk.length - at);
            received += take;
            frameLeft -= take;
            at += take;
          }
        };
        socket.on('data', (chunk: Buffer) => {
          if (inHead) {
            head = Buffer.concat([head, chunk]);
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) return;
            inHead = false;
            chunk = head.subarray(end + 4);
          }
          count(chunk);
          // A slow reader: a pause after every chunk.
          socket.pause();
          setTimeout(() => socket.resume(), 2);
        });
        socket.on('end', () => resolve(received));
      });
      assert.equal(stdout, totalBytes);
    } finally {
      clearInterval(sampler);
    }
    const growthMiB = (peak - before) / 1024;
    // Generous: unbounded buffering of a 256 MiB stream would grow by hundreds of MiB.
    assert.ok(growthMiB < 96, `berthd's RSS grew by ${growthMiB.toFixed(1)} MiB while relaying 256 MiB to a slow reader`);
  });
});
