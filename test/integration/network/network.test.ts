/**
 * Networking through the real docker CLI: the default bridge, published ports reached with
 * curl on 127.0.0.1, "port is already allocated", names and aliases on a user-defined network,
 * connect/disconnect, none/host/container modes, --ip/--mac-address/--hostname/--add-host/--dns,
 * `docker network` ls/inspect/rm/prune and their errors, isolation between bridge networks, and a kill -9 of berthd that leaves
 * no veth, iptables rule, lease or namespace handle behind. Traffic goes only to 127.0.0.1 and
 * to this test's own containers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chainNamesOf } from '../../../src/network/index.js';
import { runCommand } from '../../../src/sys/index.js';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

interface NetworkInspect {
  Name: string;
  Id: string;
  Driver: string;
  IPAM: { Config: Array<{ Subnet: string; Gateway: string }> };
  Containers: Record<string, { Name: string; IPv4Address: string }>;
  Options: Record<string, string>;
}

describe('networking', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let bridgeName = '';
  /** Every network id the test inspected: none may keep an iptables rule after the daemon's cleanup. */
  const networkIds = new Set<string>();
  const ok = async (args: string[]): Promise<string> => {
    const result = await daemon.docker(args);
    assert.equal(result.exitCode, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const inspectNetwork = async (name: string): Promise<NetworkInspect> => {
    const network = (JSON.parse(await ok(['network', 'inspect', name])) as NetworkInspect[])[0]!;
    networkIds.add(network.Id);
    return network;
  };
  const hostPortOf = async (name: string, port: string): Promise<string> => (await ok(['port', name, port])).trim().split('\n')[0]!.split(':').pop()!;
  const curl = (url: string): Promise<{ stdout: string; exitCode: number }> => runCommand('curl', ['-s', '-m', '10', url]);

  /** What a container leaves on the host: veths on our bridges, iptables lines naming our containers or networks, leases, netns handles. */
  const leftovers = async (containerIds: string[]): Promise<{ veths: number; rules: number; leases: number; netns: number }> => {
    const networks = JSON.parse(await ok(['network', 'inspect', ...(await ok(['network', 'ls', '-q', '--filter', 'driver=bridge'])).trim().split('\n')])) as NetworkInspect[];
    let veths = 0;
    for (const network of networks) {
      const bridge = network.Options['com.docker.network.bridge.name'] ?? `br-${network.Id.slice(0, 12)}`;
      const links = await runCommand('ip', ['-o', 'link', 'show', 'master', bridge]);
      veths += links.stdout.split('\n').filter((l) => l.trim() !== '').length;
    }
    const saved = (await runCommand('iptables-save', [])).stdout.split('\n');
    // The firewall plugin's CNI-FORWARD rules name only the container's address: count those inside our subnets.
    const prefixes = networks.map((n) => (n.IPAM.Config[0]?.Subnet ?? '').split('.').slice(0, 2).join('.') + '.');
    const isOurs = (line: string): boolean =>
      containerIds.some((id) => line.includes(id)) ||
      networks.some((n) => line.includes(`berth-${n.Id.slice(0, 12)}`)) ||
      (line.startsWith('-A CNI-FORWARD') && prefixes.some((p) => new RegExp(`-[sd] ${p.replace(/\./g, '\\.')}[\\d.]+/32`).test(line)));
    const rules = saved.filter(isOurs).length;
    let leases = 0;
    const ipam = join(daemon.root, 'networks', 'ipam');
    for (const dir of await readdir(ipam).catch(() => [] as string[])) {
      leases += (await readdir(join(ipam, dir))).filter((f) => /^[\d.]+$/.test(f)).length;
    }
    const netns = (await readdir(join(daemon.execRoot, 'netns')).catch(() => [] as string[])).length;
    return { veths, rules, leases, netns };
  };

  before(async () => {
    daemon = await startTestDaemon();
    bridgeName = (await inspectNetwork('bridge')).Options['com.docker.network.bridge.name'] ?? '';
  });
  after(async () => {
    if (daemon) {
      await daemon.docker(['rm', '-f', 'nt-iso-web']).catch(() => {});
      for (const name of ['nt-app', 'nt-other', 'nt-fixed', 'nt-iso-a', 'nt-iso-b']) await daemon.docker(['network', 'rm', name]).catch(() => {});
      await daemon.cleanup();
    }
    // The daemon removes its idle bridges when it stops.
    if (bridgeName !== '') assert.notEqual((await runCommand('ip', ['link', 'show', bridgeName])).exitCode, 0, `bridge ${bridgeName} left behind`);
    // ...and their rules (the empty top-level BERTH-* chains stay, as CNI's do).
    const saved = (await runCommand('iptables-save', [])).stdout;
    for (const id of networkIds) {
      for (const chain of Object.values(chainNamesOf(id))) assert.ok(!saved.includes(chain), `${chain} left behind`);
    }
  });

  it('lists the predefined networks and gives a container eth0 on the default bridge', async () => {
    const names = (await ok(['network', 'ls', '--format', '{{.Name}}'])).trim().split('\n').sort();
    assert.deepEqual(names, ['bridge', 'host', 'none']);
    const bridge = await inspectNetwork('bridge');
    assert.equal(bridge.Driver, 'bridge');
    const subnet = bridge.IPAM.Config[0]!.Subnet;
    const out = await ok(['run', '--rm', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
    const address = /inet ([\d.]+)\//.exec(out)?.[1] ?? '';
    assert.ok(address.startsWith(subnet.split('.').slice(0, 2).join('.')), `${address} not in ${subnet}`);
  });

  it('publishes ports on 127.0.0.1 and 0.0.0.0, shows them in port/ps/inspect, and refuses a port already allocated', async () => {
    await ok(['run', '-d', '--name', 'nt-web', '-p', '127.0.0.1::80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    const port = await hostPortOf('nt-web', '80/tcp');
    const id = (await ok(['inspect', '-f', '{{.Id}}', 'nt-web'])).trim();
    let reply = await curl(`http://127.0.0.1:${port}/hostname`);
    // httpd may need a moment to listen after start: retry a few times (no timing is asserted).
    for (let i = 0; i < 20 && reply.stdout.trim() !== id.slice(0, 12); i++) {
      await new Promise((r) => setTimeout(r, 100));
      reply = await curl(`http://127.0.0.1:${port}/hostname`);
    }
    assert.equal(reply.stdout.trim(), id.slice(0, 12));
    const ports = JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'nt-web'])) as Record<string, Array<{ HostIp: string; HostPort: string }>>;
    assert.deepEqual(ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: port }]);
    assert.match(await ok(['ps', '--filter', 'name=nt-web', '--format', '{{.Ports}}']), new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp`));

    const taken = await daemon.docker(['run', '--rm', '-p', `127.0.0.1:${port}:80`, 'busybox', 'true']);
    assert.equal(taken.exitCode, 125);
    assert.match(taken.stderr, /port is already allocated/);

    // -P with the exposed port, on all addresses; reached through 127.0.0.1.
    await ok(['run', '-d', '--name', 'nt-all', '--expose', '80', '-P', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    const allPort = await hostPortOf('nt-all', '80/tcp');
    let allReply = await curl(`http://127.0.0.1:${allPort}/hostname`);
    for (let i = 0; i < 20 && allReply.exitCode !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      allReply = await curl(`http://127.0.0.1:${allPort}/hostname`);
    }
    assert.equal(allReply.exitCode, 0);
    // Hairpin: a container reaches its own published port through the host's address on the bridge.
    const gateway = (await inspectNetwork('bridge')).IPAM.Config[0]!.Gateway;
    const hairpin = await daemon.docker(['exec', 'nt-all', 'sh', '-c', `printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${gateway} ${allPort}`]);
    assert.match(hairpin.stdout, /200 OK/, hairpin.stderr);
    await ok(['rm', '-f', 'nt-web', 'nt-all']);
  });

  it('resolves names and aliases on a user-defined network; connect and disconnect', async () => {
    await ok(['network', 'create', 'nt-app']);
    const overlap = await daemon.docker(['network', 'create', '--subnet', (await inspectNetwork('nt-app')).IPAM.Config[0]!.Subnet, 'nt-other']);
    assert.equal(overlap.exitCode, 1);
    assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);
    assert.match((await daemon.docker(['network', 'create', 'nt-app'])).stderr, /network with name nt-app already exists/);

    await ok(['run', '-d', '--name', 'nt-db', '--network', 'nt-app', '--network-alias', 'database', 'busybox', 'sleep', '1000']);
    const db = (await inspectNetwork('nt-app')).Containers;
    const dbAddress = Object.values(db)[0]!.IPv4Address.split('/')[0]!;
    const dbId = (await ok(['inspect', '-f', '{{.Id}}', 'nt-db'])).trim();
    const gateway = (await inspectNetwork('nt-app')).IPAM.Config[0]!.Gateway;
    const escaped = dbAddress.replace(/\./g, '\\.');
    // Names go through the DNS responder on the gateway (docker writes only the container itself into /etc/hosts).
    const lookup = await ok(['run', '--rm', '--network', 'nt-app', 'busybox', 'sh', '-c',
      `{ ping -c1 -W5 nt-db >/dev/null && ping -c1 -W5 database >/dev/null && nslookup nt-db; nslookup ${dbId.slice(0, 12)}; nslookup ${dbAddress}; nslookup nt-nobody; cat /etc/resolv.conf; echo HOSTS; cat /etc/hosts; } 2>&1`]);
    assert.match(lookup, new RegExp(`Name:\\s+nt-db\\s+Address:\\s+${escaped}\\b`));
    assert.match(lookup, new RegExp(`Name:\\s+${dbId.slice(0, 12)}\\s+Address:\\s+${escaped}\\b`));
    assert.match(lookup, /name = nt-db\.nt-app/);
    assert.match(lookup, /can't find nt-nobody: NXDOMAIN/);
    assert.match(lookup, new RegExp(`^nameserver ${gateway.replace(/\./g, '\\.')}$`, 'm'));
    assert.doesNotMatch(lookup.split('HOSTS')[1]!, /nt-db/);

    await ok(['run', '-d', '--name', 'nt-client', 'busybox', 'sleep', '1000']);
    assert.notEqual((await daemon.docker(['exec', 'nt-client', 'ping', '-c1', '-W2', 'nt-db'])).exitCode, 0);
    await ok(['network', 'connect', '--alias', 'cli', 'nt-app', 'nt-client']);
    assert.equal((await daemon.docker(['exec', 'nt-client', 'ping', '-c1', '-W5', 'nt-db'])).exitCode, 0);
    assert.equal((await daemon.docker(['exec', 'nt-db', 'ping', '-c1', '-W5', 'cli'])).exitCode, 0);
    assert.match(await ok(['exec', 'nt-client', 'ip', '-o', 'link']), /eth1/);
    const inUse = await daemon.docker(['network', 'rm', 'nt-app']);
    assert.equal(inUse.exitCode, 1);
    assert.match(inUse.stderr, /has active endpoints/);
    await ok(['network', 'disconnect', 'nt-app', 'nt-client']);
    assert.doesNotMatch(await ok(['exec', 'nt-client', 'ip', '-o', 'link']), /eth1/);
    assert.match((await daemon.docker(['network', 'disconnect', 'nt-app', 'nt-client'])).stderr, /is not connected to network nt-app/);
    await ok(['rm', '-f', 'nt-db', 'nt-client']);
    // A container that left no longer resolves.
    const gone = await daemon.docker(['run', '--rm', '--network', 'nt-app', 'busybox', 'nslookup', 'nt-db']);
    assert.notEqual(gone.exitCode, 0);
    assert.match(gone.stdout + gone.stderr, /NXDOMAIN/);
    assert.match((await daemon.docker(['network', 'inspect', 'nt-nope'])).stderr, /network nt-nope not found/);
    assert.match((await daemon.docker(['run', '--rm', '--network', 'nt-nope', 'busybox', 'true'])).stderr, /network nt-nope not found/);
    assert.match((await daemon.docker(['network', 'rm', 'bridge'])).stderr, /pre-defined network and cannot be removed/);
    await ok(['network', 'rm', 'nt-app']);
  });

  it('applies --ip, --mac-address, --hostname, --add-host and --dns; prune removes unused networks', async () => {
    await ok(['network', 'create', '--subnet', '10.231.7.0/24', 'nt-fixed']);
    const out = await ok(['run', '--rm', '--network', 'nt-fixed', '--ip', '10.231.7.50', '--mac-address', '02:42:0a:e7:07:32', '--hostname', 'nthost', '--add-host', 'nt-extra:10.231.7.99', '--dns', '10.231.7.53',
      'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; ip link show eth0; hostname; grep nt-extra /etc/hosts; cat /etc/resolv.conf']);
    assert.match(out, /inet 10\.231\.7\.50\/24/);
    assert.match(out, /link\/ether 02:42:0a:e7:07:32/);
    assert.match(out, /^nthost$/m);
    assert.match(out, /10\.231\.7\.99\s+nt-extra/);
    // On a user-defined network --dns stays behind the responder on the gateway (see dns-forward.test.ts).
    assert.match(out, /^nameserver 10\.231\.7\.1$/m);
    assert.doesNotMatch(out, /nameserver 10\.231\.7\.53/);
    assert.match((await daemon.docker(['run', '--rm', '--ip', '172.17.0.99', 'busybox', 'true'])).stderr, /user specified IP address is supported on user defined networks only/);
    const pruned = await ok(['network', 'prune', '-f']);
    assert.match(pruned, /nt-fixed/);
    assert.doesNotMatch(await ok(['network', 'ls', '--format', '{{.Name}}']), /nt-fixed/);
  });

  it('runs with --network none, host and container:<name>', async () => {
    const none = await ok(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']);
    assert.deepEqual(none.trim().split('\n').map((l) => l.split(':')[1]!.trim()), ['lo']);
    const hostLinks = (await runCommand('ip', ['-o', 'link'])).stdout.trim().split('\n').length;
    // Other engines on the machine may add or remove links meanwhile: the host's eth0 is enough to tell its stack.
    const host = await ok(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']);
    assert.ok(hostLinks > 1 && /: eth0:/.test(host), host);
    await ok(['run', '-d', '--name', 'nt-shared', 'busybox', 'sleep', '1000']);
    const sharedAddress = (await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'nt-shared'])).trim();
    const joined = await ok(['run', '--rm', '--network', 'container:nt-shared', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
    assert.match(joined, new RegExp(`inet ${sharedAddress.replace(/\./g, '\\.')}/`));
    await ok(['rm', '-f', 'nt-shared']);
  });

  it('isolates bridge networks from each other, as dockerd does; a published port stays reachable from any', async () => {
    await ok(['network', 'create', 'nt-iso-a']);
    await ok(['network', 'create', 'nt-iso-b']);
    for (const name of ['nt-iso-a', 'nt-iso-b']) await inspectNetwork(name);
    await ok(['run', '-d', '--name', 'nt-iso-web', '--network', 'nt-iso-a', '-p', '80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    const address = (await ok(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'nt-iso-web'])).trim();
    const hostname = (await ok(['inspect', '-f', '{{.Config.Hostname}}', 'nt-iso-web'])).trim();
    // busybox wget's own -T crashes (busybox 1.35): timeout bounds the blocked attempts instead,
    // in a child of sh (sh would exec a last command as pid 1, which ignores the signal).
    const fetchFrom = (network: string[], url: string) => daemon.docker(['run', '--rm', ...network, 'busybox', 'sh', '-c', `timeout 5 wget -qO- ${url}; exit $?`]);
    const same = await fetchFrom(['--network', 'nt-iso-a'], `http://${address}/hostname`);
    assert.equal(same.stdout.trim(), hostname, same.stderr);
    for (const other of [['--network', 'nt-iso-b'], []]) {
      const blocked = await fetchFrom(other, `http://${address}/hostname`);
      assert.notEqual(blocked.exitCode, 0, `reached nt-iso-a from ${other.join(' ') || 'the default bridge'}: ${blocked.stdout}`);
    }
    // Through the host's address on its own gateway, b reaches a's published port (DNAT is exempt).
    const gateway = (await inspectNetwork('nt-iso-b')).IPAM.Config[0]!.Gateway;
    const published = await fetchFrom(['--network', 'nt-iso-b'], `http://${gateway}:${await hostPortOf('nt-iso-web', '80')}/hostname`);
    assert.equal(published.stdout.trim(), hostname, published.stderr);
    await ok(['rm', '-f', 'nt-iso-web']);
    await ok(['network', 'rm', 'nt-iso-a', 'nt-iso-b']);
  });

  it('leaves no veth, iptables rule, lease or namespace behind after kill -9 of berthd and a restart', async () => {
    const stale = (await ok(['ps', '-aq'])).trim();
    if (stale !== '') await ok(['rm', '-f', ...stale.split('\n')]);
    const before = await leftovers([]);
    await ok(['run', '-d', '--name', 'nt-crash', '-p', '127.0.0.1::80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    await ok(['run', '-d', '--name', 'nt-stays', 'busybox', 'sleep', '1000']);
    const ids = [(await ok(['inspect', '-f', '{{.Id}}', 'nt-crash'])).trim(), (await ok(['inspect', '-f', '{{.Id}}', 'nt-stays'])).trim()];
    const during = await leftovers(ids);
    assert.ok(during.veths >= before.veths + 2 && during.leases >= before.leases + 2 && during.rules > before.rules, JSON.stringify({ before, during }));
    const pid = Number((await ok(['inspect', '-f', '{{.State.Pid}}', 'nt-crash'])).trim());
    await daemon.kill9();
    // The container dies while berthd is down: its network must go at the restart.
    process.kill(pid, 'SIGKILL');
    await daemon.restart();
    await ok(['wait', 'nt-crash']);
    const afterRestart = await leftovers(ids);
    assert.equal(afterRestart.veths, before.veths + 1, JSON.stringify({ before, afterRestart }));
    assert.equal(afterRestart.leases, before.leases + 1);
    assert.equal(afterRestart.netns, before.netns + 1);
    await ok(['rm', '-f', 'nt-crash', 'nt-stays']);
    const end = await leftovers(ids);
    assert.deepEqual(end, before);
    const endpoints = await readdir(join(daemon.root, 'networks', 'endpoints')).catch(() => [] as string[]);
    assert.deepEqual(endpoints, []);
    assert.ok(!(await readFile('/proc/self/mountinfo', 'utf8')).includes(join(daemon.execRoot, 'netns')));
  });
});
