/**
 * Every byte of stdin and stdout arrives with --isolation=vm too (issue 12): md5 round trips
 * through the docker and berth CLIs (sizes smaller than the process test's: on build machines
 * without KVM the VMs run under TCG emulation), a container that never reads its stdin holding
 * back only its own stream (another exec session of the same VM keeps working, `docker kill`
 * still ends it), a slow reader of an exec's output with the shims' memory sampled, argument lists past 1023 entries, and a process spec over the channel's frame
 * limit refused with its size.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { open, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../../src/sys/index.js';
import { NO_DOCKER, cannotRun, DOCKER, eventually, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';
import { DIRECTIONS, KiB, MiB, makePayload, plan, RoundTripper, type Payload, type RoundTrip } from './round-trips.js';

const VM_TIMEOUT_MS = 180_000;

describe('stream round trips (vm isolation)', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let dir: string;
  let small: Payload[];
  let large: Payload[];
  let trips: RoundTripper;
  const worker = 'vm-rt-worker';

  before(async () => {
    daemon = await startTestDaemon();
    dir = await mkdtemp(join(tmpdir(), 'berth-vm-streams-'));
    small = [await makePayload(dir, 0), await makePayload(dir, 1)];
    large = [await makePayload(dir, 64 * KiB), await makePayload(dir, MiB)];
    const made = await daemon.docker(['run', '-d', '--isolation=vm', '--name', worker, 'busybox', 'sleep', '3600'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(made.exitCode, 0, made.stderr);
    trips = new RoundTripper(daemon, { runFlags: ['--isolation=vm'], worker, timeoutMs: VM_TIMEOUT_MS });
  });
  after(async () => {
    await daemon?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exec -i in a VM: every byte arrives, 0 B to 1 MiB, five runs of each size where bytes were lost (docker and berth CLIs)', { timeout: 600_000 }, async () => {
    for (const trip of plan('docker', 'exec', { small, large }, 5)) await trips.check(trip);
    for (const trip of plan('berth', 'exec', { small, large }, 3)) await trips.check(trip);
  });

  it('run -i, start -ai and attach of a VM: every byte arrives, with and without --rm', { timeout: 900_000 }, async () => {
    // Each of these boots a VM: fewer runs than for process containers, every direction still.
    const boots: RoundTrip[] = [];
    for (const path of ['run', 'start', 'attach'] as const) {
      for (const [index, direction] of DIRECTIONS.entries()) {
        boots.push({ cli: 'docker', path, direction, remove: index % 2 === 0, payload: large[index % 2]! });
      }
    }
    boots.push({ cli: 'docker', path: 'run', direction: 'stdin-file', remove: true, payload: small[0]! });
    boots.push({ cli: 'docker', path: 'run', direction: 'stdout', remove: false, payload: small[1]! });
    boots.push({ cli: 'berth', path: 'run', direction: 'stdin-pipe', remove: true, payload: large[1]! });
    boots.push({ cli: 'berth', path: 'start', direction: 'stdout', remove: false, payload: large[0]! });
    for (const trip of boots) await trips.check(trip);
    // 16 MiB once, both ways through the guest.
    const big = await makePayload(dir, 16 * MiB);
    await trips.check({ cli: 'docker', path: 'run', direction: 'stdout', remove: true, payload: big });
    await trips.check({ cli: 'docker', path: 'exec', direction: 'stdin-file', remove: false, payload: big });
  });

  it('a container that never reads its stdin blocks only its own stream: another exec session works, docker kill ends it', { timeout: 600_000 }, async () => {
    const name = 'vm-never-reads';
    const input = await makePayload(dir, 4 * MiB);
    const file = await open(input.path, 'r');
    // 4 MiB into a process that never reads: far more than every buffer and window on the way.
    const stuck = spawn(DOCKER, ['run', '-i', '--isolation=vm', '--name', name, 'busybox', 'sleep', '3600'], { env: daemon.env, stdio: [file.fd, 'ignore', 'pipe'] });
    let stuckErr = '';
    stuck.stderr?.on('data', (chunk: Buffer) => (stuckErr += chunk.toString()));
    const stuckExited = new Promise<number | null>((resolve) => stuck.on('exit', (code) => resolve(code)));
    try {
      await eventually(async () => (await daemon.docker(['inspect', '-f', '{{.State.Running}}', name])).stdout.trim() === 'true', 'the container running', VM_TIMEOUT_MS);
      // Its stdin is full, yet the VM answers: an exec session relays every byte, signals work.
      const alive = await daemon.docker(['exec', name, 'echo', 'alive'], { timeoutMs: VM_TIMEOUT_MS });
      assert.equal(alive.stdout, 'alive\n', alive.stderr);
      await trips.check({ cli: 'docker', path: 'exec', direction: 'stdout', remove: false, payload: large[1]! });
      await new RoundTripper(daemon, { worker: name, timeoutMs: VM_TIMEOUT_MS }).check({ cli: 'docker', path: 'exec', direction: 'stdin-pipe', remove: false, payload: large[1]! });
      const killed = await daemon.docker(['kill', name], { timeoutMs: VM_TIMEOUT_MS });
      assert.equal(killed.exitCode, 0, killed.stderr);
      // It ends (the assertion is that it does, not how fast).
      assert.equal(await stuckExited, 137, stuckErr);
      assert.equal((await daemon.docker(['inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', name])).stdout.trim(), 'false 137');
    } finally {
      stuck.kill('SIGKILL');
      await file.close();
      await daemon.docker(['rm', '-f', name]);
    }
  });

  it("an exec's 16 MiB output read slowly: every byte arrives and the VM's shims stay small", { timeout: 600_000 }, async () => {
    const shimRssKiB = async (): Promise<number> => {
      // Every berth-vm-shim of this daemon (the VM's and the exec's), by its state directory.
      const ps = await runCommand('ps', ['-eo', 'rss=,args=']);
      return ps.stdout.split('\n').filter((line) => line.includes('berth-vm-shim') && line.includes(daemon.dir)).reduce((max, line) => Math.max(max, Number(line.trim().split(/\s+/)[0])), 0);
    };
    const totalBytes = 16 * MiB;
    const reader = spawn(DOCKER, ['exec', worker, 'head', '-c', String(totalBytes), '/dev/zero'], { env: daemon.env, stdio: ['ignore', 'pipe', 'ignore'] });
    let peakKiB = 0;
    const sampler = setInterval(() => void shimRssKiB().then((kib) => (peakKiB = Math.max(peakKiB, kib)), () => {}), 200);
    try {
      const received = await new Promise<number>((resolve) => {
        let count = 0;
        reader.stdout.on('data', (chunk: Buffer) => {
          count += chunk.length;
          // A slow reader (about 2 MB/s, slower than the guest writes): a pause after every chunk.
          reader.stdout.pause();
          setTimeout(() => reader.stdout.resume(), Math.ceil(chunk.length / 2048));
        });
        reader.stdout.on('end', () => resolve(count));
      });
      assert.equal(received, totalBytes);
    } finally {
      clearInterval(sampler);
    }
    assert.ok(peakKiB > 0, 'the shims were sampled');
    // Generous: each queue is bounded by the window (256 KiB); unbounded buffering would be 16 MiB.
    assert.ok(peakKiB < 12 * 1024, `a berth-vm-shim reached ${peakKiB} KiB relaying 16 MiB to a slow reader`);
  });

  it('takes more than 1023 arguments, and refuses a process spec over the frame limit with its size', { timeout: 600_000 }, async () => {
    const many = Array.from({ length: 3000 }, (_, i) => String(i));
    const counted = await daemon.docker(['run', '--rm', '--isolation=vm', 'busybox', 'sh', '-c', 'echo $# ${3000}', 'sh', ...many], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(counted.stdout, '3000 2999\n', counted.stderr);
    const execCounted = await daemon.docker(['exec', worker, 'sh', '-c', 'echo $#', 'sh', ...many]);
    assert.equal(execCounted.stdout, '3000\n', execCounted.stderr);

    const huge = 'x'.repeat(70_000);
    const execTooLarge = await daemon.docker(['exec', '-e', `HUGE=${huge}`, worker, 'true']);
    assert.notEqual(execTooLarge.exitCode, 0);
    assert.match(execTooLarge.stderr + execTooLarge.stdout, /is \d+ bytes, over the VM channel's limit of 65536 bytes/);
    const runTooLarge = await daemon.docker(['run', '--rm', '--isolation=vm', 'busybox', 'echo', huge], { timeoutMs: VM_TIMEOUT_MS });
    assert.notEqual(runTooLarge.exitCode, 0);
    assert.match(runTooLarge.stderr, /is \d+ bytes, over the VM channel's limit of 65536 bytes/);
    assert.equal((await daemon.docker(['exec', worker, 'echo', 'still-there'])).stdout, 'still-there\n');
  });
});
