/**
 * `docker build --isolation=vm` and `berth build --isolation=vm`: every RUN step runs in a
 * microVM on Berth's guest kernel (real QEMU: KVM where a probe boot works, TCG otherwise), its
 * changes (a new file, a deletion as a whiteout, a here-document's script run from /dev/pipes)
 * land in the image's layers, and the image then runs as any other; no container is left.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, mountsUnder, startTestDaemon, type TestDaemon } from '../harness.js';

const KERNEL_RELEASE_FILE = '/var/cache/berth/guest/release';
const VM_BUILD_TIMEOUT_MS = 300_000;

const DOCKERFILE = [
  'FROM busybox',
  'COPY data.txt /data.txt',
  'RUN uname -r > /kernel.txt && cat /data.txt > /seen.txt && rm /bin/vi',
  'RUN <<EOF',
  '#!/bin/sh',
  'echo "script $0 on $(uname -r)" > /script.txt',
  'EOF',
  '',
].join('\n');

describe('build with --isolation=vm', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let scratch: string;
  let guestRelease: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-vm-build-'));
    daemon = await startTestDaemon();
    daemon.env['DOCKER_BUILDKIT'] = '0';
    guestRelease = (await readFile(KERNEL_RELEASE_FILE, 'utf8')).trim();
  });
  after(async () => {
    await daemon?.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });

  it('runs each RUN step on the guest kernel and keeps its changes as layers', async () => {
    const dir = join(scratch, 'ctx');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), DOCKERFILE);
    await writeFile(join(dir, 'data.txt'), 'from the context\n');
    const built = await daemon.docker(['build', '--isolation=vm', '-t', 'vm-built:1', dir], { timeoutMs: VM_BUILD_TIMEOUT_MS });
    assert.equal(built.exitCode, 0, built.stderr + built.stdout);
    assert.match(built.stdout, /^Successfully tagged vm-built:1$/m);
    const files = await daemon.docker(['run', '--rm', 'vm-built:1', 'sh', '-c', 'cat /kernel.txt /seen.txt /script.txt; test -e /bin/vi || echo vi-gone'], { timeoutMs: 60_000 });
    assert.equal(files.exitCode, 0, files.stderr);
    assert.equal(files.stdout, `${guestRelease}\nfrom the context\nscript /dev/pipes/EOF on ${guestRelease}\nvi-gone\n`);
    assert.notEqual(guestRelease, release(), 'the guest kernel is not the host\'s');
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout, '', 'no build container is left');
  });

  it('fails a RUN step in a VM with its exit code through berth build, leaving nothing with --force-rm', async () => {
    const failing = await daemon.berth(['build', '--isolation=vm', '--force-rm', '-'], { input: 'FROM busybox\nRUN echo in-vm-$(uname -r); exit 5\n', timeoutMs: VM_BUILD_TIMEOUT_MS });
    assert.equal(failing.exitCode, 5, failing.stderr);
    assert.match(failing.stdout, new RegExp(`^in-vm-${guestRelease.replace(/[.+]/g, '\\$&')}$`, 'm'));
    assert.match(failing.stderr, /returned a non-zero code: 5/);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout, '', 'the failed step\'s container is gone');
    assert.deepEqual(await mountsUnder(daemon.root), [], 'no overlay stays mounted');
  });
});
