/**
 * `berth network create/ls/inspect/rm/prune/connect/disconnect` and `berth port` against the
 * real docker CLI's output for the same daemon, and the DNS responder over TCP (a query sent
 * from the host to the test network's gateway). Traffic goes only to 127.0.0.1 and to this
 * test's own network and containers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

/** An A query for `name` (id 0x4242, recursion desired), as DNS-over-TCP framed bytes. */
function tcpQuery(name: string): Buffer {
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  const message = Buffer.concat([Buffer.from([0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
  return Buffer.concat([Buffer.from([0, message.length]), message]);
}

function askTcp(address: string, name: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port: 53 });
    let data = Buffer.alloc(0);
    socket.setTimeout(10_000, () => socket.destroy(new Error('DNS over TCP timed out')));
    socket.on('error', reject);
    socket.on('connect', () => socket.write(tcpQuery(name)));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        socket.end();
        resolve(data.subarray(2, 2 + data.readUInt16BE(0)));
      }
    });
  });
}

describe('berth network and berth port', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  const ok = async (tool: 'docker' | 'berth', args: string[]): Promise<string> => {
    const result = await daemon[tool](args);
    assert.equal(result.exitCode, 0, `${tool} ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    if (daemon) {
      await daemon.docker(['rm', '-f', 'nb-db', 'nb-web']).catch(() => {});
      for (const name of ['nb-app', 'nb-spare']) await daemon.docker(['network', 'rm', name]).catch(() => {});
      await daemon.cleanup();
    }
  });

  it('creates, lists and inspects networks as docker prints them', async () => {
    const id = (await ok('berth', ['network', 'create', '--label', 'nb=1', 'nb-app'])).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    for (const args of [['network', 'ls'], ['network', 'ls', '-q'], ['network', 'ls', '--no-trunc'], ['network', 'ls', '--filter', 'label=nb=1', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']]) {
      assert.equal(await ok('berth', args), await ok('docker', args), args.join(' '));
    }
    assert.deepEqual(JSON.parse(await ok('berth', ['network', 'inspect', 'nb-app'])), JSON.parse(await ok('docker', ['network', 'inspect', 'nb-app'])));
    assert.equal(await ok('berth', ['network', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'nb-app']), 'nb-app bridge\n');
    const missing = await daemon.berth(['network', 'inspect', 'nb-nope']);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /network nb-nope not found/);
    const dockerMissing = await daemon.docker(['network', 'inspect', 'nb-nope']);
    assert.deepEqual([missing.exitCode, missing.stdout, missing.stderr], [dockerMissing.exitCode, dockerMissing.stdout, dockerMissing.stderr]);
    const twice = await daemon.berth(['network', 'create', 'nb-app']);
    assert.notEqual(twice.exitCode, 0);
    assert.match(twice.stderr, /network with name nb-app already exists/);
  });

  it('connects and disconnects with an alias that resolves through the DNS responder, and prints ports', async () => {
    await ok('docker', ['run', '-d', '--name', 'nb-db', '--network', 'nb-app', 'busybox', 'sleep', '1000']);
    await ok('docker', ['run', '-d', '--name', 'nb-web', '-p', '127.0.0.1::80', '-p', '127.0.0.1::53/udp', 'busybox', 'sleep', '1000']);
    assert.equal(await ok('berth', ['network', 'connect', '--alias', 'nb-front', 'nb-app', 'nb-web']), '');
    // nb-web was started on the default bridge: connecting it points its resolv.conf at the responder.
    assert.match(await ok('docker', ['exec', 'nb-web', 'nslookup', 'nb-db']), /Name:\s+nb-db/);
    assert.match(await ok('docker', ['exec', 'nb-db', 'nslookup', 'nb-front']), /Name:\s+nb-front/);

    const gateway = (JSON.parse(await ok('docker', ['network', 'inspect', 'nb-app'])) as Array<{ IPAM: { Config: Array<{ Gateway: string }> } }>)[0]!.IPAM.Config[0]!.Gateway;
    const reply = await askTcp(gateway, 'nb-front');
    assert.equal(reply.readUInt16BE(0), 0x4242);
    assert.equal(reply.readUInt16BE(2) & 0x0f, 0, 'NOERROR');
    assert.equal(reply.readUInt16BE(6), 1, 'one answer');
    const webAddress = (await ok('docker', ['inspect', '-f', '{{(index .NetworkSettings.Networks "nb-app").IPAddress}}', 'nb-web'])).trim();
    assert.equal([...reply.subarray(reply.length - 4)].join('.'), webAddress);

    assert.equal(await ok('berth', ['port', 'nb-web']), await ok('docker', ['port', 'nb-web']));
    assert.equal(await ok('berth', ['port', 'nb-web', '80']), await ok('docker', ['port', 'nb-web', '80']));
    assert.equal(await ok('berth', ['port', 'nb-web', '53/udp']), await ok('docker', ['port', 'nb-web', '53/udp']));
    const unpublished = await daemon.berth(['port', 'nb-web', '81']);
    assert.equal(unpublished.exitCode, 1);
    assert.match(unpublished.stderr, /No public port '81\/tcp' published for nb-web/);

    assert.equal(await ok('berth', ['network', 'disconnect', 'nb-app', 'nb-web']), '');
    // What berth cannot honour on an endpoint is refused by name, and the container stays out.
    for (const [flag, value] of [['--link-local-ip', '169.254.9.9'], ['--driver-opt', 'com.example=1']]) {
      const refused = await daemon.berth(['network', 'connect', flag!, value!, 'nb-app', 'nb-web']);
      assert.equal(refused.exitCode, 1, refused.stderr);
      assert.match(refused.stderr, new RegExp(`\\(${flag}\\) is not supported by berth`));
    }
    const notConnected = await daemon.berth(['network', 'disconnect', 'nb-app', 'nb-web']);
    assert.notEqual(notConnected.exitCode, 0);
    assert.match(notConnected.stderr, /is not connected to network nb-app/);
    // Gone from the network: the alias no longer resolves.
    const gone = await daemon.docker(['exec', 'nb-db', 'nslookup', 'nb-front']);
    assert.match(gone.stdout + gone.stderr, /NXDOMAIN/);
    const inUse = await daemon.berth(['network', 'rm', 'nb-app']);
    assert.equal(inUse.exitCode, 1);
    assert.match(inUse.stderr, /has active endpoints/);
    await ok('docker', ['rm', '-f', 'nb-db', 'nb-web']);
  });

  it('removes and prunes networks', async () => {
    assert.equal(await ok('berth', ['network', 'rm', 'nb-app']), 'nb-app\n');
    const missing = await daemon.berth(['network', 'rm', 'nb-app']);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /network nb-app not found/);
    const dockerMissing = await daemon.docker(['network', 'rm', 'nb-app']);
    assert.deepEqual([missing.exitCode, missing.stderr], [dockerMissing.exitCode, dockerMissing.stderr]);
    assert.equal((await daemon.berth(['network', 'rm', '-f', 'nb-app'])).exitCode, 0);
    await ok('berth', ['network', 'create', 'nb-spare']);
    assert.equal(await ok('berth', ['network', 'prune', '-f']), 'Deleted Networks:\nnb-spare\n\n');
    await ok('berth', ['network', 'create', 'nb-spare']);
    assert.equal(await ok('docker', ['network', 'prune', '-f']), 'Deleted Networks:\nnb-spare\n\n');
    assert.equal(await ok('berth', ['network', 'ls', '--format', '{{.Name}}']), 'bridge\nhost\nnone\n');
  });
});
