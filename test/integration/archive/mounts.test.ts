/**
 * `docker cp` into and out of paths that are volumes or bind mounts: the files go to and come
 * from the mount's host source (not the hidden rootfs directory under it), a read-only mount
 * refuses them, and neither a hostile archive nor a symlink planted in the volume reaches
 * anything outside that source. Running and stopped containers, docker and berth.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import tar from 'tar-stream';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

async function makeTar(entries: Array<{ name: string; data: string }>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const { name, data } of entries) {
    await new Promise<void>((resolve, reject) => pack.entry({ name }, Buffer.from(data), (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

function putArchive(socket: string, container: string, path: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method: 'PUT', path: `/containers/${container}/archive?path=${encodeURIComponent(path)}`, headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('cp through volumes and bind mounts', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let local: string;
  let bindDir: string;
  let roDir: string;
  let volumeDir: string;

  before(async () => {
    daemon = await startTestDaemon();
    local = await mkdtemp(join(daemon.dir, 'local-'));
    bindDir = await mkdtemp(join(daemon.dir, 'bind-'));
    roDir = await mkdtemp(join(daemon.dir, 'ro-'));
    await writeFile(join(local, 'in.txt'), 'into-mount\n');
    await writeFile(join(bindDir, 'host.txt'), 'from-host\n');
    assert.equal((await daemon.docker(['volume', 'create', 'cpvol'])).exitCode, 0);
    volumeDir = (await daemon.docker(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'cpvol'])).stdout.trim();
    const mounts = ['-v', 'cpvol:/vol', '-v', `${bindDir}:/bind`, '-v', `${roDir}:/ro:ro`];
    assert.equal((await daemon.docker(['run', '-d', '--name', 'cpm-run', ...mounts, 'busybox', 'sleep', '1000'])).exitCode, 0);
    assert.equal((await daemon.docker(['create', '--name', 'cpm-stopped', ...mounts, 'busybox', 'cat', '/vol/stopped.txt', '/bind/stopped.txt'])).exitCode, 0);
  });

  after(async () => {
    await daemon?.docker(['rm', '-f', 'cpm-run', 'cpm-stopped']);
    await daemon?.docker(['volume', 'rm', 'cpvol']);
    await daemon?.cleanup();
  });

  it('copies a file into a named volume of a running container: the volume has it', async () => {
    const result = await daemon.docker(['cp', join(local, 'in.txt'), 'cpm-run:/vol/']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(await readFile(join(volumeDir, 'in.txt'), 'utf8'), 'into-mount\n');
    const seen = await daemon.docker(['exec', 'cpm-run', 'cat', '/vol/in.txt']);
    assert.equal(seen.stdout, 'into-mount\n');
  });

  it('copies files out of a volume and a bind mount (a file and a whole mount)', async () => {
    assert.equal((await daemon.docker(['exec', 'cpm-run', 'sh', '-c', 'echo made-inside > /vol/inside.txt'])).exitCode, 0);
    const out = await mkdtemp(join(daemon.dir, 'out-'));
    const fromVolume = await daemon.docker(['cp', 'cpm-run:/vol/inside.txt', join(out, 'inside.txt')]);
    assert.equal(fromVolume.exitCode, 0, fromVolume.stderr);
    assert.equal(await readFile(join(out, 'inside.txt'), 'utf8'), 'made-inside\n');
    const wholeBind = await daemon.berth(['cp', 'cpm-run:/bind', join(out, 'bindcopy')]);
    assert.equal(wholeBind.exitCode, 0, wholeBind.stderr);
    assert.equal(await readFile(join(out, 'bindcopy', 'host.txt'), 'utf8'), 'from-host\n');
  });

  it('copies into a bind mount with berth: the host directory has it', async () => {
    const result = await daemon.berth(['cp', join(local, 'in.txt'), 'cpm-run:/bind/copied.txt']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(await readFile(join(bindDir, 'copied.txt'), 'utf8'), 'into-mount\n');
  });

  it('refuses a read-only mount and writes nothing', async () => {
    const result = await daemon.docker(['cp', join(local, 'in.txt'), 'cpm-run:/ro/']);
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /mounted volume is marked read-only/);
    assert.deepEqual(await readdir(roDir), []);
  });

  it('keeps a hostile archive and a planted symlink inside the volume', async () => {
    // An absolute symlink in the volume must resolve inside the volume, never on the host.
    await mkdir(join(volumeDir, 'sub'), { recursive: true });
    await symlink('/', join(volumeDir, 'sub', 'toroot'));
    const viaLink = await daemon.docker(['cp', join(local, 'in.txt'), 'cpm-run:/vol/sub/toroot/planted.txt']);
    assert.equal(viaLink.exitCode, 0, viaLink.stderr);
    assert.equal(existsSync('/planted.txt'), false);
    assert.equal(await readFile(join(volumeDir, 'planted.txt'), 'utf8'), 'into-mount\n');
    const hostile = await putArchive(daemon.socket, 'cpm-run', '/vol', await makeTar([{ name: '../../escaped.txt', data: 'x' }]));
    assert.notEqual(hostile.status, 200);
    assert.equal(existsSync(join(volumeDir, '..', 'escaped.txt')), false);
    assert.equal(existsSync(join(volumeDir, '..', '..', 'escaped.txt')), false);
  });

  it('copies into the mounts of a stopped container, which then sees the files', async () => {
    await writeFile(join(local, 'stopped.txt'), 'for-stopped\n');
    assert.equal((await daemon.docker(['cp', join(local, 'stopped.txt'), 'cpm-stopped:/vol/'])).exitCode, 0);
    assert.equal((await daemon.berth(['cp', join(local, 'stopped.txt'), 'cpm-stopped:/bind/'])).exitCode, 0);
    assert.equal(await readFile(join(bindDir, 'stopped.txt'), 'utf8'), 'for-stopped\n');
    const run = await daemon.docker(['start', '-a', 'cpm-stopped']);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stdout, 'for-stopped\nfor-stopped\n');
  });
});
