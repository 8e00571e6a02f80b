/**
 * `docker build --cache-from` with the classic builder's semantics: an image that was loaded
 * (no local build history, no parent chain) is not a cache on its own, but given in
 * --cache-from its history and layers serve every step that matches them ("Using cache"),
 * up to a changed file; a --cache-from image that is not here is skipped as dockerd skips it.
 * Through the docker CLI (DOCKER_BUILDKIT=0) and through berth.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const DOCKERFILE = [
  'FROM busybox',
  'ENV STAGE=cached',
  'RUN echo ran-first > /first.txt',
  'COPY data.txt /data.txt',
  'RUN echo ran-second; cat /data.txt > /second.txt',
  'CMD ["cat", "/second.txt"]',
  '',
].join('\n');

const usingCache = (stdout: string): number => (stdout.match(/^ ---> Using cache$/gm) ?? []).length;
const builtId = (stdout: string): string | undefined => /^Successfully built ([0-9a-f]{12})$/m.exec(stdout)?.[1];

describe('docker build --cache-from', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let scratch: string;
  let dir: string;
  let sourceId: string;
  const docker = (args: string[]) => daemon.docker(args, { timeoutMs: 180_000 });

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-cache-from-'));
    daemon = await startTestDaemon();
    daemon.env['DOCKER_BUILDKIT'] = '0';
    dir = join(scratch, 'ctx');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), DOCKERFILE);
    await writeFile(join(dir, 'data.txt'), 'one\n');
  });
  after(async () => {
    await daemon?.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });

  it('takes every step from a loaded image given in --cache-from, and none without it', async () => {
    const first = await docker(['build', '-t', 'cf:1', dir]);
    assert.equal(first.exitCode, 0, first.stderr + first.stdout);
    sourceId = (await docker(['image', 'inspect', '--format', '{{.Id}}', 'cf:1'])).stdout.trim();
    // The image as another machine gets it: saved, every build image removed, loaded again.
    const archive = join(scratch, 'cf.tar');
    assert.equal((await docker(['save', '-o', archive, 'cf:1'])).exitCode, 0);
    assert.equal((await docker(['rmi', 'cf:1'])).exitCode, 0);
    assert.deepEqual((await docker(['images', '-a', '--format', '{{.Repository}}'])).stdout.trim().split('\n'), ['busybox'], 'only the base image is left');
    assert.equal((await docker(['load', '-i', archive])).exitCode, 0);

    const plain = await docker(['build', '-t', 'cf:plain', dir]);
    assert.equal(plain.exitCode, 0, plain.stderr);
    assert.equal(usingCache(plain.stdout), 0, plain.stdout);
    assert.match(plain.stdout, /^Step 3\/6 : RUN echo ran-first > \/first\.txt\n ---> Running in /m);

    const cached = await docker(['build', '--cache-from', 'cf:1', '-t', 'cf:2', dir]);
    assert.equal(cached.exitCode, 0, cached.stderr);
    assert.equal(usingCache(cached.stdout), 5, cached.stdout);
    assert.doesNotMatch(cached.stdout, /Running in|^ran-/m);
    assert.equal(builtId(cached.stdout), sourceId.slice(7, 19), 'the last step is the source image itself');
    assert.equal((await docker(['run', '--rm', 'cf:2', 'cat', '/first.txt', '/second.txt'])).stdout, 'ran-first\none\n');
  });

  it('rebuilds from a changed COPY on, and skips a --cache-from image that is not here', async () => {
    await writeFile(join(dir, 'data.txt'), 'two\n');
    const changed = await docker(['build', '--cache-from', 'cf:1', '-t', 'cf:3', dir]);
    assert.equal(changed.exitCode, 0, changed.stderr);
    assert.equal(usingCache(changed.stdout), 2, changed.stdout);
    assert.doesNotMatch(changed.stdout, /^Step 3\/6 : .*\n ---> Running in /m);
    assert.match(changed.stdout, /^ran-second$/m);
    assert.equal((await docker(['run', '--rm', 'cf:3'])).stdout, 'two\n');

    const missing = await docker(['build', '--cache-from', 'nosuch:latest', '-t', 'cf:4', dir]);
    assert.equal(missing.exitCode, 0, missing.stderr + missing.stdout);
    assert.match(missing.stdout, /^Successfully tagged cf:4$/m);
    await writeFile(join(dir, 'data.txt'), 'one\n');
  });

  it('takes --cache-from through berth build', async () => {
    const built = await daemon.berth(['build', '--cache-from', 'nosuch:1,cf:1', '-t', 'cf:berth', dir], { timeoutMs: 180_000 });
    assert.equal(built.exitCode, 0, built.stderr);
    assert.equal(usingCache(built.stdout), 5, built.stdout);
    assert.equal(builtId(built.stdout), sourceId.slice(7, 19));
    assert.equal((await docker(['ps', '-aq'])).stdout, '', 'no build container is left');
  });
});
