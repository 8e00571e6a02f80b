/**
 * IPv6 on user-defined bridge networks through the real docker CLI and docker-py:
 * `network create --ipv6` with and without a subnet (a unique local /64 then), addresses and
 * gateways in container and network inspect, `--ip6`, container-to-container ping and HTTP over
 * IPv6 on the bridge, AAAA and ip6.arpa PTR answers from the network's DNS responder, ports published on ::1
 * (relayed by berthd as docker's proxy relays them), docker's errors (`--ip6`
 * without an IPv6 network, outside the subnet, on the default bridge), VM containers refused,
 * and `network rm` leaving no bridge or ip6tables chain. The host's IPv6 forwarding setting is
 * never changed. Traffic goes only to this test's containers and their gateway.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { get } from 'node:http';
import { chainNamesOf } from '../../../src/network/index.js';
import { runCommand } from '../../../src/sys/index.js';
import { NO_DOCKER, cannotRun, eventually, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

interface NetworkInspect {
  Id: string;
  EnableIPv6: boolean;
  IPAM: { Config: Array<{ Subnet: string; Gateway: string }> };
  Containers: Record<string, { Name: string; IPv4Address: string; IPv6Address: string }>;
}

interface EndpointInspect {
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string } | null;
  IPAddress: string;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
}

const PYTHON = '/usr/bin/python3';
const hasDockerPy = existsSync(PYTHON) && (await runCommand(PYTHON, ['-c', 'import docker'])).exitCode === 0;
const forwardingNow = (): Promise<string> => readFile('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8').then((t) => t.trim(), () => 'absent');
const hostHasIpv6 = (await readFile('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8').catch(() => '1')).trim() === '0';

describe('IPv6 networks', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  // A subnet of its own each run: a network left by an earlier crashed run cannot overlap it.
  // Groups of four digits without a leading zero print the same in docker's (RFC 5952) form.
  const group = (): string => (0x1000 + (randomBytes(2).readUInt16BE(0) % 0xefff)).toString(16);
  const prefix = `fd${randomBytes(1).toString('hex')}:${group()}:${group()}`;
  const subnet = `${prefix}::/64`;
  const networkIds = new Set<string>();
  const forwardingBefore = forwardingNow();
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
  const endpointOf = async (container: string, network: string): Promise<EndpointInspect> =>
    JSON.parse(await ok(['inspect', '-f', `{{json (index .NetworkSettings.Networks "${network}")}}`, container])) as EndpointInspect;

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    if (daemon) {
      await daemon.docker(['rm', '-f', 'v6-a', 'v6-b', 'v6-c', 'v6-pub', 'v6-taken']).catch(() => {});
      for (const name of ['v6-net', 'v6-auto', 'v6-cli', 'v6-py', 'v6-v4only']) await daemon.docker(['network', 'rm', name]).catch(() => {});
      await daemon.cleanup();
    }
    const saved = (await runCommand('ip6tables-save', [])).stdout;
    for (const id of networkIds) {
      for (const chain of Object.values(chainNamesOf(id))) assert.ok(!saved.includes(chain), `${chain} left behind in ip6tables`);
    }
    assert.equal(await forwardingNow(), await forwardingBefore, 'net.ipv6.conf.all.forwarding changed');
  });

  describe('on a host with IPv6', { skip: cannotRun(!hostHasIpv6 && 'this host has IPv6 off (net.ipv6.conf.all.disable_ipv6): berthd refuses --ipv6 networks there') }, () => {
    it('creates a dual-stack network with the given IPv6 subnet, and one with a unique local /64 when none is given', async () => {
      await ok(['network', 'create', '--ipv6', '--subnet', subnet, 'v6-net']);
      const network = await inspectNetwork('v6-net');
      assert.equal(network.EnableIPv6, true);
      assert.equal(network.IPAM.Config.length, 2);
      assert.match(network.IPAM.Config[0]!.Subnet, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
      assert.deepEqual(network.IPAM.Config[1], { Subnet: subnet, Gateway: `${prefix}::1` });
      assert.match(await ok(['network', 'ls', '--filter', 'name=^v6-net$', '--format', '{{.IPv6}}']), /^true$/m);

      await ok(['network', 'create', '--ipv6', 'v6-auto']);
      const auto = await inspectNetwork('v6-auto');
      assert.equal(auto.EnableIPv6, true);
      const auto6 = auto.IPAM.Config.find((c) => c.Subnet.includes(':'));
      assert.match(auto6?.Subnet ?? '', /^fd[0-9a-f:]+\/64$/);
      await ok(['network', 'rm', 'v6-auto']);

      // berth's own CLI: --gateway goes with the --subnet of its family.
      const cli = await daemon.berth(['network', 'create', '--ipv6', '--subnet', `${prefix}:2::/64`, '--gateway', `${prefix}:2::fe`, 'v6-cli']);
      assert.equal(cli.exitCode, 0, cli.stderr);
      assert.deepEqual((await inspectNetwork('v6-cli')).IPAM.Config.find((c) => c.Subnet.includes(':')), { Subnet: `${prefix}:2::/64`, Gateway: `${prefix}:2::fe` });
      await ok(['network', 'rm', 'v6-cli']);

      const v4only = await inspectNetwork((await ok(['network', 'create', 'v6-v4only'])).trim());
      assert.equal(v4only.EnableIPv6, false);
      assert.equal(v4only.IPAM.Config.length, 1);
    });

    it('gives containers IPv6 addresses (--ip6 too) shown in inspect, and they talk over IPv6 by address and by name', async () => {
      await ok(['run', '-d', '--name', 'v6-a', '--network', 'v6-net', 'busybox', 'sleep', '600']);
      await ok(['run', '-d', '--name', 'v6-b', '--network', 'v6-net', '--ip6', `${prefix}::99`, 'busybox', 'httpd', '-f', '-p', '[::]:8080', '-h', '/etc']);
      const a = await endpointOf('v6-a', 'v6-net');
      assert.match(a.GlobalIPv6Address, new RegExp(`^${prefix}::[0-9a-f]+$`));
      assert.equal(a.GlobalIPv6PrefixLen, 64);
      assert.equal(a.IPv6Gateway, `${prefix}::1`);
      assert.notEqual(a.IPAddress, '');
      const b = await endpointOf('v6-b', 'v6-net');
      assert.equal(b.GlobalIPv6Address, `${prefix}::99`);
      assert.deepEqual(b.IPAMConfig, { IPv6Address: `${prefix}::99` });
      const network = await inspectNetwork('v6-net');
      assert.deepEqual(Object.values(network.Containers).map((c) => c.IPv6Address).sort(), [`${a.GlobalIPv6Address}/64`, `${prefix}::99/64`].sort());
      // The address is on the container's eth0 with the gateway as its IPv6 default route.
      assert.match(await ok(['exec', 'v6-a', 'ip', '-6', 'addr', 'show', 'eth0']), new RegExp(`inet6 ${a.GlobalIPv6Address}/64 scope global`));
      assert.match(await ok(['exec', 'v6-a', 'ip', '-6', 'route']), new RegExp(`default via ${prefix}::1 dev eth0`));

      await ok(['exec', 'v6-a', 'ping', '-6', '-c', '1', '-W', '5', `${prefix}::99`]);
      await ok(['exec', 'v6-a', 'ping', '-6', '-c', '1', '-W', '5', `${prefix}::1`]);
      const hostname = await eventually(async () => {
        const reply = await daemon.docker(['exec', 'v6-a', 'wget', '-qO-', `http://[${prefix}::99]:8080/hostname`]);
        return reply.exitCode === 0 && reply.stdout.trim();
      }, 'httpd answering over IPv6', 20_000);
      assert.equal(hostname, (await ok(['inspect', '-f', '{{.Config.Hostname}}', 'v6-b'])).trim());
      // AAAA from the network's DNS responder, then a connection by name.
      const lookup = await ok(['exec', 'v6-a', 'nslookup', '-type=AAAA', 'v6-b']);
      assert.match(lookup, new RegExp(`Address: ${prefix}::99`));
      // PTR of an IPv6 address (ip6.arpa) names the container on the network, as for IPv4.
      assert.match(await ok(['exec', 'v6-a', 'nslookup', `${prefix}::99`]), /name = v6-b\.v6-net/);
      assert.match(await ok(['exec', 'v6-a', 'ping', '-6', '-c', '1', '-W', '5', 'v6-b']), new RegExp(`PING v6-b \\(${prefix}::99\\)`));
    });

    it('answers docker\'s errors for --ip6 and IPv6 subnets, leaving nothing created', async () => {
      const existing = (await ok(['ps', '-aq'])).trim();
      for (const [args, message] of [
        [['--network', 'v6-v4only', '--ip6', `${prefix}::5`], /user specified IP address is supported only when connecting to networks with user configured subnets/],
        [['--network', 'v6-net', '--ip6', 'fd99::5'], /no configured subnet or ip-range contain the IP address fd99::5/],
        [['--network', 'v6-net', '--ip6', '10.0.0.1'], /invalid IPv6 address: 10\.0\.0\.1/],
        [['--ip6', `${prefix}::5`], /user specified IP address is supported on user defined networks only/],
      ] as const) {
        const result = await daemon.docker(['run', '--rm', ...args, 'busybox', 'true']);
        assert.equal(result.exitCode, 125, args.join(' '));
        assert.match(result.stderr, message);
      }
      assert.equal((await ok(['ps', '-aq'])).trim(), existing);
      const connect = await daemon.docker(['network', 'connect', '--ip6', `${prefix}::6`, 'v6-v4only', 'v6-a']);
      assert.equal(connect.exitCode, 1);
      assert.match(connect.stderr, /user specified IP address is supported only when connecting to networks with user configured subnets/);

      const overlap = await daemon.docker(['network', 'create', '--ipv6', '--subnet', `${prefix}::/48`, 'v6-other']);
      assert.equal(overlap.exitCode, 1);
      assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);
      const withoutFlag = await daemon.docker(['network', 'create', '--subnet', 'fd98::/64', 'v6-other']);
      assert.equal(withoutFlag.exitCode, 1);
      assert.match(withoutFlag.stderr, /IPv6 subnet fd98::\/64 given without --ipv6/);
      assert.equal((await daemon.docker(['network', 'inspect', 'v6-other'])).exitCode, 1);
    });

    it('refuses a VM container on an IPv6 network (its guest is configured with IPv4 only)', async () => {
      const existing = (await ok(['ps', '-aq'])).trim();
      const result = await daemon.docker(['run', '--rm', '--isolation=vm', '--network', 'v6-net', 'busybox', 'true']);
      assert.equal(result.exitCode, 125);
      assert.match(result.stderr, /network v6-net has IPv6, which VM containers \(--isolation=vm\) do not support/);
      await eventually(async () => (await ok(['ps', '-aq'])).trim() === existing, 'the --rm container removed');
    });

    it('docker-py: an IPv6 pool and a container with ipv6_address', { skip: cannotRun(hasDockerPy ? false : 'python3-docker is not installed (scripts/test-deps installs it)') }, async () => {
      const script = `
import docker, sys
client = docker.from_env()
pool = docker.types.IPAMPool(subnet="${prefix}:1::/64", gateway="${prefix}:1::1")
ipam = docker.types.IPAMConfig(pool_configs=[pool])
net = client.networks.create("v6-py", driver="bridge", enable_ipv6=True, ipam=ipam)
try:
    assert net.attrs["EnableIPv6"] is True, net.attrs
    assert {"Subnet": "${prefix}:1::/64", "Gateway": "${prefix}:1::1"} in net.attrs["IPAM"]["Config"], net.attrs["IPAM"]
    config = client.api.create_networking_config({"v6-py": client.api.create_endpoint_config(ipv6_address="${prefix}:1::42")})
    host_config = client.api.create_host_config(network_mode="v6-py")
    created = client.api.create_container("busybox", ["ip", "-6", "addr", "show", "eth0"], host_config=host_config, networking_config=config)
    container = client.containers.get(created["Id"])
    try:
        container.start()
        container.wait()
        out = container.logs().decode()
        assert "inet6 ${prefix}:1::42/64" in out, out
        container.reload()
        endpoint = container.attrs["NetworkSettings"]["Networks"]["v6-py"]
        assert endpoint["IPAMConfig"]["IPv6Address"] == "${prefix}:1::42", endpoint
    finally:
        container.remove(force=True)
finally:
    net.remove()
print("ok ipv6")
`;
      const result = await runCommand(PYTHON, ['-c', script], { env: { ...daemon.env, PYTHONDONTWRITEBYTECODE: '1' }, timeoutMs: 120_000 });
      assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /^ok ipv6$/m);
    });

    it('publishes ports on IPv6 host addresses (::1), relayed to a container with IPv4 only or with IPv6, TCP and UDP', async () => {
      const hostPortOf = async (container: string, port: string, hostIp: string): Promise<number> => {
        const lines = (await ok(['port', container, port])).trim().split('\n');
        const line = lines.find((l) => l.startsWith(hostIp));
        assert.ok(line, `${hostIp} in docker port: ${lines.join(', ')}`);
        return Number(line.split(':').at(-1));
      };
      const httpGet = (port: number, path: string): Promise<string> =>
        new Promise((resolve, reject) => {
          get({ host: '::1', port, path, timeout: 5000 }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve(body));
          }).on('error', reject);
        });
      // The default bridge: the container has an IPv4 address only, as with dockerd's proxy.
      await ok(['run', '-d', '--name', 'v6-pub', '-p', '[::1]::8080', '-p', '127.0.0.1::8080', '-p', '[::1]::9000/udp', 'busybox', 'httpd', '-f', '-p', '8080', '-h', '/etc']);
      const port6 = await hostPortOf('v6-pub', '8080/tcp', '[::1]');
      await hostPortOf('v6-pub', '8080/tcp', '127.0.0.1');
      const hostname = (await ok(['inspect', '-f', '{{.Config.Hostname}}', 'v6-pub'])).trim();
      assert.equal((await eventually(async () => (await httpGet(port6, '/hostname').catch(() => '')).trim(), 'httpd through [::1]', 20_000)), hostname);
      // UDP: busybox has no UDP server, so an echo server of the test's own runs in the container's network namespace.
      const udpPort = await hostPortOf('v6-pub', '9000/udp', '[::1]');
      const pid = (await ok(['inspect', '-f', '{{.State.Pid}}', 'v6-pub'])).trim();
      const echo = spawn('nsenter', ['-t', pid, '-n', process.execPath, '-e', "const s = require('dgram').createSocket('udp4'); s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address)); s.bind(9000, () => console.log('ready'));"], { stdio: ['ignore', 'pipe', 'inherit'] });
      const udp = createSocket('udp6');
      try {
        await new Promise<void>((resolve, reject) => {
          echo.stdout.once('data', () => resolve());
          echo.once('exit', (code) => reject(new Error(`the echo server in the container's namespace exited (${code})`)));
        });
        const answer = new Promise<string>((resolve, reject) => {
          udp.once('message', (m: Buffer) => resolve(m.toString()));
          setTimeout(() => reject(new Error('no UDP answer through [::1] within 20 s')), 20_000).unref();
        });
        const sending = setInterval(() => udp.send('over-udp6', udpPort, '::1'), 200);
        try {
          assert.equal(await answer, 'echo:over-udp6');
        } finally {
          clearInterval(sending);
        }
      } finally {
        udp.close();
        echo.kill();
      }
      // The same address and port again: docker's message, brackets and all.
      const taken = await daemon.docker(['run', '-d', '--name', 'v6-taken', '-p', `[::1]:${port6}:8080`, 'busybox', 'sleep', '600']);
      assert.notEqual(taken.exitCode, 0);
      assert.match(taken.stderr, new RegExp(`Bind for \\[::1\\]:${port6} failed: port is already allocated`));
      await daemon.docker(['rm', '-f', 'v6-taken']);
      // On an IPv6 network the relay goes to the container's IPv6 address.
      await ok(['run', '-d', '--name', 'v6-c', '--network', 'v6-net', '-p', '[::1]::8080', 'busybox', 'httpd', '-f', '-p', '[::]:8080', '-h', '/etc']);
      const portC = await hostPortOf('v6-c', '8080/tcp', '[::1]');
      const hostnameC = (await ok(['inspect', '-f', '{{.Config.Hostname}}', 'v6-c'])).trim();
      assert.equal((await eventually(async () => (await httpGet(portC, '/hostname').catch(() => '')).trim(), 'httpd of an IPv6 container through [::1]', 20_000)), hostnameC);
      // A stopped container's port is free again.
      await ok(['rm', '-f', 'v6-pub', 'v6-c']);
      await assert.rejects(httpGet(port6, '/hostname'));
    });

    it('network rm takes the bridge and its ip6tables chains away', async () => {
      await ok(['rm', '-f', 'v6-a', 'v6-b']);
      const network = await inspectNetwork('v6-net');
      const bridge = `br-${network.Id.slice(0, 12)}`;
      assert.match((await runCommand('ip6tables-save', [])).stdout, new RegExp(chainNamesOf(network.Id).forward));
      await ok(['network', 'rm', 'v6-net']);
      assert.notEqual((await runCommand('ip', ['link', 'show', bridge])).exitCode, 0, `bridge ${bridge} left behind`);
      const saved = (await runCommand('ip6tables-save', [])).stdout;
      for (const chain of Object.values(chainNamesOf(network.Id))) assert.ok(!saved.includes(chain), `${chain} left behind`);
    });
  });
});
