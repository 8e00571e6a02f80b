import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ApiError, DaemonUnreachableError } from './api-error.js';
import { demuxStream, encodeFrame } from './demux.js';
import { EngineClient, encodeFilters, encodeQuery } from './engine-client.js';

async function withServer(handler: http.RequestListener, run: (client: EngineClient, seen: string[]) => Promise<void>, onUpgrade?: (req: http.IncomingMessage, socket: import('node:net').Socket) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-client-test-'));
  const socketPath = join(dir, 's.sock');
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  if (onUpgrade) server.on('upgrade', (req, socket) => { seen.push(`UPGRADE ${req.url}`); onUpgrade(req, socket as import('node:net').Socket); });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const client = new EngineClient({ socketPath });
  try {
    await run(client, seen);
  } finally {
    await client.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
}

test('json calls use /v1.51 and error bodies become ApiError with status and message', async () => {
  await withServer(
    (req, res) => {
      if (req.url === '/v1.51/containers/abc/json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ Id: 'abc' }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'No such container: nope' }));
      }
    },
    async (client, seen) => {
      assert.equal((await client.containerInspect('abc')).Id, 'abc');
      await assert.rejects(client.containerInspect('nope'), (e: unknown) => e instanceof ApiError && e.status === 404 && e.kind === 'not-found' && e.message === 'No such container: nope');
      assert.deepEqual(seen, ['GET /v1.51/containers/abc/json', 'GET /v1.51/containers/nope/json']);
    },
  );
});

test('create sends the JSON body and name', async () => {
  let received = '';
  await withServer(
    (req, res) => {
      req.setEncoding('utf8');
      req.on('data', (d: string) => (received += d));
      req.on('end', () => res.writeHead(201).end(JSON.stringify({ Id: 'x'.repeat(64), Warnings: [] })));
    },
    async (client, seen) => {
      const answer = await client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: 'web' });
      assert.equal(answer.Id.length, 64);
      assert.deepEqual(JSON.parse(received), { Image: 'busybox', Cmd: ['true'] });
      assert.deepEqual(seen, ['POST /v1.51/containers/create?name=web']);
    },
  );
});

test('wait resolves its begin step on headers and its result on the body', async () => {
  let finish: (() => void) | undefined;
  await withServer(
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      finish = () => res.end(JSON.stringify({ StatusCode: 3 }));
    },
    async (client, seen) => {
      const pending = await client.containerWaitBegin('c1', 'next-exit');
      assert.deepEqual(seen, ['POST /v1.51/containers/c1/wait?condition=next-exit']);
      finish!();
      assert.deepEqual(await pending.result, { StatusCode: 3 });
    },
  );
});

test('attach upgrades the connection and the multiplexed output demuxes', async () => {
  await withServer(
    (_req, res) => res.writeHead(500).end(),
    async (client, seen) => {
      const connection = await client.containerAttach('c1', { stdin: true });
      assert.equal(connection.isMultiplexed, true);
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (d: Buffer) => (out += d.toString()));
      stderr.on('data', (d: Buffer) => (err += d.toString()));
      connection.socket.end('ping');
      await demuxStream(connection.socket, { stdout, stderr });
      assert.equal(out, 'hello\n');
      assert.equal(err, 'ping');
      assert.deepEqual(seen, ['UPGRADE /v1.51/containers/c1/attach?stream=1&stdin=1&stdout=1&stderr=1']);
    },
    (_req, socket) => {
      socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      socket.write(encodeFrame(1, 'hello\n'));
      let input = '';
      socket.on('data', (d: Buffer) => (input += d.toString()));
      socket.on('end', () => socket.end(encodeFrame(2, input)));
    },
  );
});

test('a missing socket is DaemonUnreachableError', async () => {
  const client = new EngineClient({ socketPath: '/nonexistent/berth.sock' });
  await assert.rejects(client.version(), (e: unknown) => e instanceof DaemonUnreachableError && /unix:\/\/\/nonexistent\/berth.sock/.test(e.message));
  await client.close();
});

test('query and filter encoding', () => {
  assert.equal(encodeQuery({ all: true, size: undefined, t: 5, signal: 'TERM' }), '?all=1&t=5&signal=TERM');
  assert.equal(encodeFilters({ status: ['running', 'exited'] }), '{"status":{"running":true,"exited":true}}');
});
