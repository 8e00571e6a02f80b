import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { encodeFrame } from '../../client/index.js';
import { runCli } from '../main.js';

test('run: pulls on No such image, attaches and waits before start, returns the exit code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-run-test-'));
  const socketPath = join(dir, 's.sock');
  const calls: string[] = [];
  let hasImage = false;
  let attached: import('node:net').Socket | undefined;
  let finishWait: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').replace(/\?.*/, '');
    calls.push(`${req.method} ${req.url}`);
    req.resume();
    if (path === '/v1.51/containers/create') {
      if (!hasImage) return void res.writeHead(404).end(JSON.stringify({ message: 'No such image: busybox:latest' }));
      return void res.writeHead(201).end(JSON.stringify({ Id: 'c'.repeat(64), Warnings: [] }));
    }
    if (path === '/v1.51/images/create') {
      hasImage = true;
      return void res.writeHead(200).end('{"status":"Pulling from library/busybox","id":"latest"}\n{"status":"Status: Downloaded newer image for busybox:latest"}\n');
    }
    if (path.endsWith('/wait')) {
      res.writeHead(200);
      res.flushHeaders();
      finishWait = () => res.end(JSON.stringify({ StatusCode: 7 }));
      return;
    }
    if (path.endsWith('/start')) {
      res.writeHead(204).end();
      attached!.end(Buffer.concat([encodeFrame(1, 'out\n'), encodeFrame(2, 'err\n')]));
      setTimeout(() => finishWait!(), 10);
      return;
    }
    res.writeHead(404).end(JSON.stringify({ message: `unexpected ${path}` }));
  });
  server.on('upgrade', (req, socket) => {
    calls.push(`UPGRADE ${req.url}`);
    attached = socket as import('node:net').Socket;
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const out = new PassThrough();
  const err = new PassThrough();
  let outText = '';
  let errText = '';
  out.on('data', (d: Buffer) => (outText += d.toString()));
  err.on('data', (d: Buffer) => (errText += d.toString()));
  try {
    const code = await runCli(['-H', `unix://${socketPath}`, 'run', '--rm', 'busybox', 'sh', '-c', 'exit 7'], { out, err, env: {} });
    assert.equal(code, 7);
    assert.equal(outText, 'out\n');
    assert.match(errText, /^Unable to find image 'busybox:latest' locally\nlatest: Pulling from library\/busybox\nStatus: Downloaded newer image for busybox:latest\nerr\n$/);
    assert.deepEqual(calls.map((c) => c.replace(/c{64}/, 'ID')), [
      'POST /v1.51/containers/create',
      'POST /v1.51/images/create?fromImage=busybox&tag=latest',
      'POST /v1.51/containers/create',
      'UPGRADE /v1.51/containers/ID/attach?stream=1&stdout=1&stderr=1',
      'POST /v1.51/containers/ID/wait?condition=removed',
      'POST /v1.51/containers/ID/start',
    ]);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});
