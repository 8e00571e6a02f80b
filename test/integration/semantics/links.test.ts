/**
 * Legacy links (`--link name[:alias]`) as dockerd keeps them: on the default bridge the linking
 * container's processes get docker's link variables (ALIAS_PORT..., ALIAS_NAME, ALIAS_ENV_...)
 * and /etc/hosts names the target by its alias, hostname and name; on a user-defined network the
 * alias resolves through /etc/hosts and no variables are set. A target that does not exist is
 * refused at create (no pull tried, nothing created), one that is not running fails the start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cannotRun, hasDocker, NO_DOCKER, startTestDaemon, type TestDaemon } from '../harness.js';

describe('legacy links', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let dbAddress: string;
  let dbHostname: string;
  before(async () => {
    daemon = await startTestDaemon();
    const db = await daemon.docker(['run', '-d', '--name', 'lk-db', '-e', 'DB_PASS=secret', '--expose', '5432', '--expose', '7000/udp', '--expose', '7001/udp', 'busybox', 'sleep', '1000']);
    assert.equal(db.exitCode, 0, db.stderr);
    dbAddress = await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'lk-db']);
    dbHostname = await ok(['inspect', '-f', '{{.Config.Hostname}}', 'lk-db']);
  });
  after(async () => {
    await daemon?.cleanup();
  });

  async function ok(args: string[]): Promise<string> {
    const result = await daemon.docker(args);
    assert.equal(result.exitCode, 0, result.stderr);
    return result.stdout.trim();
  }

  it('on the default bridge: docker\'s link variables and the hosts entry', async () => {
    const out = await ok(['run', '--rm', '--name', 'lk-web', '-e', 'DB_ENV_DB_PASS=mine', '--link', 'lk-db:db', 'busybox', 'sh', '-c', 'env; echo ---; cat /etc/hosts']);
    const [envText, hosts] = out.split('---\n');
    const env = new Map(envText!.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    assert.equal(env.get('DB_PORT'), `tcp://${dbAddress}:5432`);
    assert.equal(env.get('DB_PORT_5432_TCP'), `tcp://${dbAddress}:5432`);
    assert.equal(env.get('DB_PORT_5432_TCP_ADDR'), dbAddress);
    assert.equal(env.get('DB_PORT_5432_TCP_PORT'), '5432');
    assert.equal(env.get('DB_PORT_5432_TCP_PROTO'), 'tcp');
    assert.equal(env.get('DB_PORT_7000_UDP'), `udp://${dbAddress}:7000`);
    assert.equal(env.get('DB_PORT_7000_UDP_START'), `udp://${dbAddress}:7000`);
    assert.equal(env.get('DB_PORT_7000_UDP_PORT_END'), '7001');
    assert.equal(env.get('DB_NAME'), '/lk-web/db');
    // The container's own variable wins over the link's; the target's PATH is not passed.
    assert.equal(env.get('DB_ENV_DB_PASS'), 'mine');
    assert.equal(env.has('DB_ENV_PATH'), false);
    assert.match(hosts!, new RegExp(`^${dbAddress.replace(/\./g, '\\.')}\\tdb ${dbHostname} lk-db$`, 'm'));
    const berth = await daemon.berth(['run', '--rm', '--link', 'lk-db:db', 'busybox', 'sh', '-c', 'echo $DB_PORT_5432_TCP_ADDR']);
    assert.equal(berth.stdout.trim(), dbAddress, berth.stderr);
    const id = await ok(['create', '--name', 'lk-inspect', '--link', 'lk-db:db', 'busybox', 'true']);
    assert.equal(await ok(['inspect', '-f', '{{json .HostConfig.Links}}', id]), JSON.stringify(['/lk-db:/lk-inspect/db']));
    assert.equal((await ok(['inspect', '-f', '{{json .Config.Env}}', id])).includes('DB_PORT'), false);
    await ok(['rm', id]);
  });

  it('a target that does not exist is refused at create, one not running fails the start', async () => {
    const before = await ok(['ps', '-aq']);
    const missing = await daemon.docker(['run', '--rm', '--link', 'lk-nosuch:x', 'busybox', 'true']);
    assert.equal(missing.exitCode, 125);
    assert.match(missing.stderr, /could not get container for lk-nosuch/);
    assert.doesNotMatch(missing.stderr, /Unable to find image/);
    assert.equal(await ok(['ps', '-aq']), before);
    await ok(['create', '--name', 'lk-stopped', 'busybox', 'true']);
    const id = await ok(['create', '--name', 'lk-waiting', '--link', 'lk-stopped:s', 'busybox', 'true']);
    const start = await daemon.docker(['start', id]);
    assert.notEqual(start.exitCode, 0);
    assert.match(start.stderr, /Cannot link to a non running container: \/lk-stopped AS \/lk-waiting\/s/);
    await ok(['rm', id, 'lk-stopped']);
    const vm = await daemon.docker(['run', '--rm', '--isolation=vm', '--link', 'lk-db:db', 'busybox', 'true']);
    assert.equal(vm.exitCode, 125);
    assert.match(vm.stderr, /--link is not supported with --isolation=vm/);
  });

  it('on a user-defined network the alias resolves through /etc/hosts, without link variables (the endpoint\'s Links too)', async () => {
    await ok(['network', 'create', 'lk-net']);
    await ok(['run', '-d', '--name', 'lk-net-db', '--network', 'lk-net', 'busybox', 'sleep', '1000']);
    const address = await ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "lk-net").IPAddress}}', 'lk-net-db']);
    const out = await ok(['run', '--rm', '--network', 'lk-net', '--link', 'lk-net-db:store', 'busybox', 'sh', '-c', 'env; cat /etc/hosts']);
    assert.match(out, new RegExp(`^${address.replace(/\./g, '\\.')}\\tstore `, 'm'));
    assert.doesNotMatch(out, /^STORE_/m);
    // docker-py and compose send links in the endpoint config of the network.
    const created = await daemon.api('POST', '/containers/create', JSON.stringify({
      Image: 'busybox', Cmd: ['cat', '/etc/hosts'], HostConfig: { NetworkMode: 'lk-net' },
      NetworkingConfig: { EndpointsConfig: { 'lk-net': { Links: ['lk-net-db:cache'] } } },
    }));
    assert.equal(created.status, 201, created.body);
    const rawId = (JSON.parse(created.body) as { Id: string }).Id;
    assert.match(await ok(['start', '-a', rawId]), new RegExp(`^${address.replace(/\./g, '\\.')}\\tcache `, 'm'));
    await ok(['rm', '-f', rawId, 'lk-net-db']);
    await ok(['network', 'rm', 'lk-net']);
  });
});
