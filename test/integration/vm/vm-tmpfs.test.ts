/**
 * tmpfs mounts inside a VM container: `--tmpfs` with a size, `--mount type=tmpfs` with size and
 * mode, and /dev/shm sized by --shm-size, each mounted by the guest agent with its options; what
 * is written there stays out of the container's filesystem.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const VM_TIMEOUT_MS = 120_000;

describe('vm isolation: tmpfs', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.docker(['rm', '-f', 'vmtmpfs']).catch(() => {});
    await daemon?.cleanup();
  });

  it('mounts --tmpfs, --mount type=tmpfs and /dev/shm with their sizes and modes', async () => {
    const run = await daemon.docker([
      'run', '--name', 'vmtmpfs', '--isolation=vm',
      '--tmpfs', '/run:size=64m',
      '--mount', 'type=tmpfs,destination=/scratch,tmpfs-size=1m,tmpfs-mode=0700',
      '--shm-size', '32m',
      'busybox', 'sh', '-c',
      'for d in /run /scratch /dev/shm; do set -- $(df -k $d | tail -n 1); echo "$d $1 $2"; done; stat -c "%a" /scratch; echo data > /run/f; echo data > /scratch/f; grep " /run " /proc/mounts',
    ], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 4), ['/run tmpfs 65536', '/scratch tmpfs 1024', '/dev/shm tmpfs 32768', '700']);
    // docker's defaults for a tmpfs: nosuid, nodev, noexec.
    assert.match(lines[4]!, /^tmpfs \/run tmpfs rw,nosuid,nodev,noexec/);
    // The files lived in the guest's memory, not in the container's layer.
    const diff = await daemon.docker(['diff', 'vmtmpfs']);
    assert.equal(diff.exitCode, 0, diff.stderr);
    assert.doesNotMatch(diff.stdout, /\/run\/f|\/scratch\/f/);
    assert.equal((await daemon.docker(['rm', 'vmtmpfs'])).exitCode, 0);
  });
});
