/**
 * Healthchecks of a VM container: each probe is an exec through berth-vm and the guest agent,
 * so it sees the guest's files and processes; a probe past its timeout is killed in the guest.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, eventually, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const VM_TIMEOUT_MS = 120_000;

interface Health {
  Status: string;
  Log: Array<{ ExitCode: number; Output: string }>;
}

describe('vm isolation: healthchecks', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  const docker = async (args: string[]): Promise<string> => {
    const result = await daemon.docker(args, { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(result.exitCode, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const health = async (name: string): Promise<Health> => JSON.parse(await docker(['inspect', '-f', '{{json .State.Health}}', name])) as Health;
  const healthIs = (name: string, status: string): Promise<Health> =>
    eventually(async () => {
      const h = await health(name);
      return h.Status === status ? h : undefined;
    }, `${name} ${status}`, VM_TIMEOUT_MS);

  it('probes run in the guest: unhealthy until a file exists there, then healthy', async () => {
    await docker(['run', '-d', '--isolation=vm', '--name', 'vmh-file', '--health-cmd', 'test -f /ready', '--health-interval', '1s', '--health-retries', '1', 'busybox', 'sleep', '600']);
    const unready = await healthIs('vmh-file', 'unhealthy');
    assert.equal(unready.Log[0]!.ExitCode, 1);
    await docker(['exec', 'vmh-file', 'touch', '/ready']);
    await healthIs('vmh-file', 'healthy');
    assert.match(await docker(['ps', '--filter', 'health=healthy', '--format', '{{.Names}} {{.Status}}']), /^vmh-file Up .* \(healthy\)$/);
  });

  it('a probe past its timeout is killed in the guest', async () => {
    await docker(['run', '-d', '--isolation=vm', '--name', 'vmh-hang', '--health-cmd', 'sleep 77', '--health-interval', '1s', '--health-timeout', '1s', '--health-retries', '1', 'busybox', 'sleep', '600']);
    const h = await healthIs('vmh-hang', 'unhealthy');
    assert.equal(h.Log[0]!.Output, 'Health check exceeded timeout (1s)');
    await eventually(async () => (await health('vmh-hang')).Log.length >= 3, 'three timed-out probes', VM_TIMEOUT_MS);
    const sleeps = (await docker(['exec', 'vmh-hang', 'ps', '-o', 'args'])).split('\n').filter((line) => line.includes('sleep 77'));
    assert.ok(sleeps.length <= 1, sleeps.join('\n'));
  });
});
