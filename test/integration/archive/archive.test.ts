/**
 * cp (archive), diff, export and commit through the real docker CLI, berth and the raw API:
 * files, directories and symlinks both ways, into running and stopped containers, a missing
 * path, hostile archives (`..`, symlinked parents) that must write nothing outside the
 * container, `diff` output, `export | tar -t`, commit then run, and a bad `--change`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import tar from 'tar-stream';
import { runCommand } from '../../../src/sys/index.js';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

async function makeTar(entries: Array<Partial<tar.Header> & { name: string; data?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const { data, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (data === undefined) pack.entry(header, done);
      else pack.entry(header, Buffer.from(data), done);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

function putArchive(socket: string, container: string, path: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method: 'PUT', path: `/containers/${container}/archive?path=${encodeURIComponent(path)}&noOverwriteDirNonDir=1`, headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('cp, diff, export and commit', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let local: string;

  before(async () => {
    daemon = await startTestDaemon();
    local = await mkdtemp(join(daemon.dir, 'local-'));
    await mkdir(join(local, 'src/sub'), { recursive: true });
    await writeFile(join(local, 'src/a.txt'), 'hello\n');
    await writeFile(join(local, 'src/sub/b.txt'), 'deep\n');
    await symlink('a.txt', join(local, 'src/link'));
    assert.equal((await daemon.docker(['run', '-d', '--name', 'cp-run', 'busybox', 'sleep', '1000'])).exitCode, 0);
    assert.equal((await daemon.docker(['create', '--name', 'cp-stopped', 'busybox', 'cat', '/data/a.txt'])).exitCode, 0);
  });

  after(async () => {
    await daemon.docker(['rmi', '-f', 'archive-test:v2']).catch(() => undefined);
    await daemon.cleanup();
  });

  it('copies a directory with a file, a subdirectory and a symlink into a running container and back', async () => {
    const put = await daemon.docker(['cp', join(local, 'src'), 'cp-run:/tmp/']);
    assert.equal(put.exitCode, 0, put.stderr);
    const listing = await daemon.docker(['exec', 'cp-run', 'sh', '-c', 'cat /tmp/src/a.txt /tmp/src/sub/b.txt; readlink /tmp/src/link']);
    assert.equal(listing.stdout, 'hello\ndeep\na.txt\n');
    const back = join(local, 'back');
    const get = await daemon.docker(['cp', 'cp-run:/tmp/src', back]);
    assert.equal(get.exitCode, 0, get.stderr);
    assert.equal(await readFile(join(back, 'sub/b.txt'), 'utf8'), 'deep\n');
    assert.equal(await readlink(join(back, 'link')), 'a.txt');
  });

  it('copies a file into a stopped container, which then sees it', async () => {
    const put = await daemon.docker(['cp', join(local, 'src/a.txt'), 'cp-stopped:/a.txt']);
    assert.equal(put.exitCode, 0, put.stderr);
    const viaBerth = await daemon.berth(['cp', join(local, 'src'), 'cp-stopped:/data']);
    assert.equal(viaBerth.exitCode, 0, viaBerth.stderr);
    const run = await daemon.docker(['start', '-a', 'cp-stopped']);
    assert.equal(run.stdout, 'hello\n');
    const out = join(local, 'from-stopped.txt');
    assert.equal((await daemon.berth(['cp', 'cp-stopped:/a.txt', out])).exitCode, 0);
    assert.equal(await readFile(out, 'utf8'), 'hello\n');
  });

  it("reads the container's own /etc/hostname", async () => {
    const result = await daemon.docker(['cp', 'cp-run:/etc/hostname', '-']);
    assert.equal(result.exitCode, 0, result.stderr);
    const id = (await daemon.docker(['inspect', '-f', '{{.Id}}', 'cp-run'])).stdout.trim();
    assert.match(result.stdout, new RegExp(id.slice(0, 12)));
  });

  it('reports a missing path clearly, both ways', async () => {
    const get = await daemon.docker(['cp', 'cp-run:/no/such/file', local]);
    assert.notEqual(get.exitCode, 0);
    assert.match(get.stderr, /Could not find the file \/no\/such\/file in container cp-run/);
    const put = await daemon.berth(['cp', join(local, 'src/a.txt'), 'cp-run:/no/such/x']);
    assert.notEqual(put.exitCode, 0);
    assert.match(put.stderr, /Could not find the file \/no\/such in container cp-run/);
  });

  it('refuses hostile archives and writes nothing outside the container', async () => {
    const outside = join(daemon.dir, 'outside');
    const dotdot = await makeTar([{ name: 'ok.txt', data: 'x' }, { name: `../../../../../../../../..${outside}-dotdot`, data: 'pwned' }]);
    const dotdotResult = await putArchive(daemon.socket, 'cp-run', '/tmp', dotdot);
    assert.equal(dotdotResult.status, 400, dotdotResult.body);
    const relLink = await makeTar([{ name: 'up', type: 'symlink', linkname: '../../../../../../../..' }, { name: `up${outside}-rel`, data: 'pwned' }]);
    assert.equal((await putArchive(daemon.socket, 'cp-run', '/tmp', relLink)).status, 400);
    // An absolute symlink is legal (docker allows it) but resolves inside the container.
    const absLink = await makeTar([{ name: 'root-link', type: 'symlink', linkname: '/' }, { name: `root-link${outside}-abs`, data: 'contained' }]);
    const absResult = await putArchive(daemon.socket, 'cp-run', '/tmp', absLink);
    assert.equal(absResult.status, 200, absResult.body);
    for (const suffix of ['-dotdot', '-rel', '-abs']) assert.equal(existsSync(`${outside}${suffix}`), false, `${outside}${suffix} was written on the host`);
    // Refused archives changed nothing, not even their harmless first entries.
    assert.notEqual((await daemon.docker(['exec', 'cp-run', 'ls', '/tmp/ok.txt'])).exitCode, 0);
    assert.equal((await daemon.docker(['exec', 'cp-run', 'cat', `${outside}-abs`])).stdout, 'contained');
  });

  it('lists changes with docker diff', async () => {
    await daemon.docker(['exec', 'cp-run', 'sh', '-c', 'echo new > /etc/added; rm /bin/ls']);
    const diff = await daemon.docker(['diff', 'cp-run']);
    assert.equal(diff.exitCode, 0, diff.stderr);
    const lines = diff.stdout.trim().split('\n');
    for (const line of ['C /etc', 'A /etc/added', 'C /bin', 'D /bin/ls', 'A /tmp/src/a.txt']) assert.ok(lines.includes(line), `${line} missing in:\n${diff.stdout}`);
    // The runtime's mount points are not the user's changes.
    assert.ok(!lines.includes('A /etc/hostname'), diff.stdout);
    assert.deepEqual((await daemon.berth(['diff', 'cp-run'])).stdout, diff.stdout);
  });

  it('exports the root filesystem as a tar', async () => {
    const file = join(local, 'export.tar');
    assert.equal((await daemon.docker(['export', '-o', file, 'cp-stopped'])).exitCode, 0);
    const names = (await runCommand('tar', ['-tf', file])).stdout.split('\n');
    for (const name of ['bin/busybox', 'a.txt', 'data/a.txt', 'etc/passwd']) assert.ok(names.includes(name), `${name} not in the export`);
    const berthFile = join(local, 'berth-export.tar');
    assert.equal((await daemon.berth(['export', '-o', berthFile, 'cp-stopped'])).exitCode, 0);
    assert.deepEqual((await runCommand('tar', ['-tf', berthFile])).stdout.split('\n'), names);
  });

  it('commits a container with --change, author and message, and runs the new image', async () => {
    const commit = await daemon.docker(['commit', '-a', 'Tester <t@example.com>', '-m', 'added a file', '-c', 'CMD ["cat", "/etc/added"]', '-c', 'ENV COMMITTED=yes', 'cp-run', 'archive-test:v2']);
    assert.equal(commit.exitCode, 0, commit.stderr);
    assert.match(commit.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    assert.equal((await daemon.docker(['run', '--rm', 'archive-test:v2'])).stdout, 'new\n');
    const inside = await daemon.docker(['run', '--rm', 'archive-test:v2', 'sh', '-c', 'echo $COMMITTED; ls /bin/ls 2>&1 || true']);
    assert.match(inside.stdout, /^yes\n.*No such file/s);
    const inspect = await daemon.docker(['image', 'inspect', '-f', '{{.Author}}|{{.Comment}}', 'archive-test:v2']);
    assert.equal(inspect.stdout.trim(), 'Tester <t@example.com>|added a file');
  });

  it('refuses a bad --change and changes nothing', async () => {
    const before = (await daemon.docker(['images', '-q'])).stdout;
    const bad = await daemon.docker(['commit', '-c', 'RUN rm -rf /', 'cp-run', 'archive-test:bad']);
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /RUN is not a valid change command/);
    const badPort = await daemon.berth(['commit', '-c', 'EXPOSE nope', 'cp-run', 'archive-test:bad']);
    assert.match(badPort.stderr, /invalid containerPort: nope/);
    assert.equal((await daemon.docker(['images', '-q'])).stdout, before);
  });
});

