/**
 * `--pid container:<name|id>` and `--network container:<name|id>`: the container joins the
 * other's namespace (the /proc/self/ns links are the same, the donor's processes are seen), the
 * reference is kept as the donor's full id (as dockerd's inspect shows it), and dockerd's errors
 * come when the donor is missing (at create: nothing is created, no image pull is tried) or not
 * running (at start). VM containers refuse to join by name; --uts has no container mode in docker.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cannotRun, hasDocker, NO_DOCKER, startTestDaemon, type TestDaemon } from '../harness.js';

describe('namespaces shared with another container', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let donorId: string;
  before(async () => {
    daemon = await startTestDaemon();
    const donor = await daemon.docker(['run', '-d', '--name', 'ns-donor', 'busybox', 'sleep', '1000']);
    assert.equal(donor.exitCode, 0, donor.stderr);
    donorId = donor.stdout.trim();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  const ok = async (args: string[]): Promise<string> => {
    const result = await daemon.docker(args);
    assert.equal(result.exitCode, 0, result.stderr);
    return result.stdout.trim();
  };

  const donorNamespace = (ns: string): Promise<string> => ok(['exec', 'ns-donor', 'readlink', `/proc/self/ns/${ns}`]);

  /** A refused run: exit 125, the message, no container left behind and no pull tried. */
  const refused = async (args: string[], message: RegExp): Promise<void> => {
    const before = await ok(['ps', '-aq']);
    const result = await daemon.docker(['run', '--rm', ...args, 'busybox', 'true']);
    assert.equal(result.exitCode, 125, result.stderr);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /Unable to find image/);
    assert.equal(await ok(['ps', '-aq']), before);
  };

  it('--pid container:<name> joins the donor\'s PID namespace: same ns link, the donor\'s processes seen', async () => {
    const out = await ok(['run', '--rm', '--pid', 'container:ns-donor', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/pid; cat /proc/1/cmdline | tr "\\0" " "']);
    const [link, initCmdline] = out.split('\n');
    assert.equal(link, await donorNamespace('pid'));
    assert.equal(initCmdline?.trim(), 'sleep 1000');
    // By id prefix too; the record keeps the full id, as dockerd's inspect shows it.
    const id = await ok(['create', '--pid', `container:${donorId.slice(0, 12)}`, 'busybox', 'true']);
    assert.equal(await ok(['inspect', '-f', '{{.HostConfig.PidMode}}', id]), `container:${donorId}`);
    await ok(['rm', id]);
    const berth = await daemon.berth(['run', '--rm', '--pid', 'container:ns-donor', 'busybox', 'readlink', '/proc/self/ns/pid']);
    assert.equal(berth.stdout.trim(), link, berth.stderr);
    const badMode = await daemon.berth(['run', '--rm', '--uts', 'container:ns-donor', 'busybox', 'true']);
    assert.equal(badMode.exitCode, 125);
    assert.match(badMode.stderr, /--uts: invalid UTS mode/);
    // The raw API shows the same.
    const created = await daemon.api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['readlink', '/proc/self/ns/pid'], HostConfig: { PidMode: 'container:ns-donor' } }));
    assert.equal(created.status, 201, created.body);
    const rawId = (JSON.parse(created.body) as { Id: string }).Id;
    await ok(['start', '-a', rawId]).then((link2) => assert.equal(link2, link));
    await ok(['rm', rawId]);
  });

  it('--network container:<name> joins the donor\'s network namespace and records its id', async () => {
    const link = await ok(['run', '--rm', '--network', 'container:ns-donor', 'busybox', 'readlink', '/proc/self/ns/net']);
    assert.equal(link, await donorNamespace('net'));
    const id = await ok(['create', '--network', 'container:ns-donor', 'busybox', 'true']);
    assert.equal(await ok(['inspect', '-f', '{{.HostConfig.NetworkMode}}', id]), `container:${donorId}`);
    await ok(['rm', id]);
  });

  it('a donor that does not exist is refused at create, with dockerd\'s words', async () => {
    await refused(['--pid', 'container:ns-nosuch'], /No such container: ns-nosuch/);
    await refused(['--network', 'container:ns-nosuch'], /No such container: ns-nosuch/);
  });

  it('a donor that is not running fails the start with dockerd\'s words', async () => {
    const stopped = await ok(['create', '--name', 'ns-stopped', 'busybox', 'true']);
    for (const [flag, message] of [['--pid', `container ${stopped} is not running`], ['--network', `cannot join network of a non running container: ${stopped}`]] as const) {
      const id = await ok(['create', flag, 'container:ns-stopped', 'busybox', 'true']);
      const start = await daemon.docker(['start', id]);
      assert.notEqual(start.exitCode, 0);
      assert.match(start.stderr, new RegExp(message));
      assert.equal(await ok(['inspect', '-f', '{{.State.Status}}', id]), 'created');
      await ok(['rm', id]);
    }
    await ok(['rm', 'ns-stopped']);
  });

  it('refuses joining for --isolation=vm by name, and --uts container: as docker does', async () => {
    await refused(['--isolation=vm', '--pid', 'container:ns-donor'], /--pid container:<id> is not supported with --isolation=vm/);
    await refused(['--isolation=vm', '--network', 'container:ns-donor'], /--network container:<id> is not supported with --isolation=vm/);
    const uts = await daemon.api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { UTSMode: 'container:ns-donor' } }));
    assert.equal(uts.status, 400);
    assert.match(uts.body, /invalid --uts mode: container:ns-donor/);
  });
});
