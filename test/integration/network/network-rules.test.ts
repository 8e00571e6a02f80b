/**
 * The per-network iptables rules (src/network/bridge-rules.ts) with the real docker CLI, under
 * a FORWARD chain that drops what nothing accepts, as a host with dockerd installed has it
 * (policy DROP). The host's policy is shared with other engines on the machine, so the test
 * emulates it with a DROP for its own bridges appended after Berth's hook, and removes it at the
 * end. Containers on the default bridge and on a user network reach each other, their gateway's
 * DNS responder and ports published to 127.0.0.1 and to the host's address on the bridge; a
 * container on one network does not reach another network's containers (isolation); an internal
 * network reaches nothing outside its subnet (another network's gateway and containers stand for
 * "outside"); an endpoint made with the old per-container firewall plugin is torn down; and no
 * rule of the test's networks is left after the daemon's cleanup. Traffic goes only to
 * 127.0.0.1, the test's bridge addresses and its own containers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../../src/sys/index.js';
import { BridgeRules, chainNamesOf, type EndpointFile } from '../../../src/network/index.js';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

interface NetworkInspect {
  Id: string;
  IPAM: { Config: Array<{ Subnet: string; Gateway: string }> };
  Options: Record<string, string>;
}

describe('per-network iptables rules', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  /** Network id → bridge name, for every network the test used. */
  const bridges = new Map<string, string>();
  /** The emulated DROP policy's rules, removed in after(). */
  const dropRules: string[][] = [];

  const ok = async (args: string[]): Promise<string> => {
    const result = await daemon.docker(args);
    assert.equal(result.exitCode, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const inspectNetwork = async (name: string): Promise<NetworkInspect> => (JSON.parse(await ok(['network', 'inspect', name])) as NetworkInspect[])[0]!;
  const addressOn = async (container: string, network: string): Promise<string> => (await ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container])).trim();
  /** Make a network known: its bridge gets the emulated DROP policy. */
  const useNetwork = async (name: string): Promise<NetworkInspect> => {
    const network = await inspectNetwork(name);
    const bridge = network.Options['com.docker.network.bridge.name'] ?? `br-${network.Id.slice(0, 12)}`;
    if (!bridges.has(network.Id)) {
      bridges.set(network.Id, bridge);
      for (const direction of ['-i', '-o']) {
        const rule = ['FORWARD', direction, bridge, '-j', 'DROP'];
        const result = await runCommand('iptables', ['-w', '-A', ...rule]);
        assert.equal(result.exitCode, 0, result.stderr);
        dropRules.push(rule);
      }
    }
    return network;
  };
  /**
   * An HTTP GET from inside a container (`exec` in `container`, or a new one with `runArgs`) with
   * busybox nc (busybox's wget crashes here); the reply's body, '' when nothing answered.
   */
  const get = async (where: { container: string } | { runArgs: string[] }, host: string, path: string, port = 80, waitSeconds = 10): Promise<string> => {
    const script = `printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | nc -w ${waitSeconds} ${host} ${port}`;
    const result = 'container' in where ? await daemon.docker(['exec', where.container, 'sh', '-c', script]) : await daemon.docker(['run', '--rm', ...where.runArgs, 'busybox', 'sh', '-c', script]);
    if (!/^HTTP\/1\.[01] 200 /.test(result.stdout)) return '';
    return result.stdout.split(/\r?\n\r?\n/).slice(1).join('\n\n').trim();
  };
  /** Retry a GET that may race the server's start (no timing is asserted). */
  const eventuallyGet = async (...args: Parameters<typeof get>): Promise<string> => {
    let body = await get(...args);
    for (let i = 0; i < 20 && body === ''; i++) {
      await new Promise((r) => setTimeout(r, 100));
      body = await get(...args);
    }
    return body;
  };
  const httpd = (name: string, extra: string[]): Promise<string> =>
    ok(['run', '-d', '--name', name, ...extra, 'busybox', 'sh', '-c', 'mkdir -p /w/cgi-bin && hostname > /w/hostname && printf "#!/bin/sh\\necho\\necho \\$REMOTE_ADDR\\n" > /w/cgi-bin/peer && chmod +x /w/cgi-bin/peer && exec httpd -f -p 80 -h /w']);

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    if (daemon) {
      for (const name of ['fr-a', 'fr-b', 'fr-int']) await daemon.docker(['network', 'rm', name]).catch(() => {});
      await daemon.cleanup();
    }
    for (const rule of dropRules) await runCommand('iptables', ['-w', '-D', ...rule]);
    // No rule of the test's networks (the default one included) is left; empty top-level chains may stay.
    const saved = (await runCommand('iptables-save', [])).stdout;
    for (const id of bridges.keys()) {
      const names = Object.values(chainNamesOf(id));
      const left = saved.split('\n').filter((line) => names.some((n) => line.includes(n)) || line.includes(`berth-${id.slice(0, 12)}`));
      assert.deepEqual(left, [], `rules of network ${id} left behind`);
    }
  });

  it('on the default bridge: container to container, published ports on 127.0.0.1 and the bridge address, hairpin', async () => {
    const bridge = await useNetwork('bridge');
    const gateway = bridge.IPAM.Config[0]!.Gateway;
    await httpd('fr-web', ['-p', '80']);
    const id = (await ok(['inspect', '-f', '{{.Id}}', 'fr-web'])).trim();
    const port = (await ok(['port', 'fr-web', '80/tcp'])).trim().split('\n')[0]!.split(':').pop()!;
    const web = (await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'fr-web'])).trim();
    for (const host of ['127.0.0.1', gateway]) {
      let reply = await runCommand('curl', ['-sf', '-m', '10', `http://${host}:${port}/hostname`]);
      // httpd may need a moment to listen after start (no timing is asserted).
      for (let i = 0; i < 20 && reply.exitCode !== 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        reply = await runCommand('curl', ['-sf', '-m', '10', `http://${host}:${port}/hostname`]);
      }
      assert.equal(reply.stdout.trim(), id.slice(0, 12), `curl ${host}:${port}: ${reply.stderr}`);
    }
    assert.equal(await eventuallyGet({ runArgs: [] }, web, '/hostname'), id.slice(0, 12));
    // The namespace's loopback came up with it (no CNI loopback plugin call).
    assert.match(await ok(['exec', 'fr-web', 'ip', '-o', 'link', 'show', 'lo']), /<LOOPBACK,UP,LOWER_UP>/);
    assert.equal(await get({ container: 'fr-web' }, gateway, '/hostname', Number(port)), id.slice(0, 12), 'hairpin');
    await ok(['rm', '-f', 'fr-web']);
  });

  it('on a user network: names through the gateway, container to container; networks isolated from each other', async () => {
    await ok(['network', 'create', 'fr-a']);
    await ok(['network', 'create', 'fr-b']);
    await useNetwork('fr-a');
    const b = await useNetwork('fr-b');
    await httpd('fr-a-web', ['--network', 'fr-a', '--network-alias', 'site']);
    await httpd('fr-b-web', ['--network', 'fr-b']);
    const siteId = (await ok(['inspect', '-f', '{{.Id}}', 'fr-a-web'])).trim();
    assert.equal(await eventuallyGet({ runArgs: ['--network', 'fr-a'] }, 'site', '/hostname'), siteId.slice(0, 12));
    // From fr-a to a container on fr-b: dropped, as dockerd's isolation rules drop it (the
    // container answers from its own network).
    const target = await addressOn('fr-b-web', 'fr-b');
    assert.ok((await eventuallyGet({ runArgs: ['--network', 'fr-b'] }, target, '/hostname')) !== '', 'fr-b-web answers on fr-b');
    assert.equal(await get({ container: 'fr-a-web' }, target, '/hostname', 80, 3), '', 'reached a container on another network');
    assert.equal(await get({ container: 'fr-b-web' }, await addressOn('fr-a-web', 'fr-a'), '/hostname', 80, 3), '', 'reached back across');
    // The network's rules exist while it does.
    const { forward, nat, isolate } = chainNamesOf(b.Id);
    assert.match((await runCommand('iptables', ['-w', '-S', forward])).stdout, /-j ACCEPT/);
    assert.match((await runCommand('iptables', ['-w', '-S', isolate])).stdout, /-o br-\w+ -j DROP/);
    assert.match((await runCommand('iptables', ['-w', '-t', 'nat', '-S', nat])).stdout, new RegExp(`-s ${b.IPAM.Config[0]!.Subnet.replace(/\./g, '\\.')} ! -o br-\\w+ -j MASQUERADE`));
  });

  it('an internal network reaches its own containers and gateway only, and nothing from outside reaches it', async () => {
    await ok(['network', 'create', '--internal', 'fr-int']);
    const internal = await useNetwork('fr-int');
    const outsideGateway = (await inspectNetwork('fr-b')).IPAM.Config[0]!.Gateway;
    const outside = await addressOn('fr-b-web', 'fr-b');
    await httpd('fr-int-web', ['--network', 'fr-int']);
    // NET_ADMIN: the container gives itself the default route an internal network does not hand out, to show the rules, not routing, stop it.
    await ok(['run', '-d', '--name', 'fr-int-cli', '--network', 'fr-int', '--cap-add', 'NET_ADMIN', 'busybox', 'sleep', '1000']);
    await ok(['exec', 'fr-int-cli', 'ip', 'route', 'add', 'default', 'via', internal.IPAM.Config[0]!.Gateway]);
    const intId = (await ok(['inspect', '-f', '{{.Id}}', 'fr-int-web'])).trim();
    assert.equal(await eventuallyGet({ container: 'fr-int-cli' }, 'fr-int-web', '/hostname'), intId.slice(0, 12));
    // Both outside targets answer when reached: fr-b-web's httpd, and fr-b's gateway to ping.
    assert.equal(await get({ container: 'fr-int-cli' }, outside, '/hostname', 80, 3), '', 'reached a container on another network');
    assert.notEqual((await daemon.docker(['exec', 'fr-int-cli', 'ping', '-c1', '-W3', outsideGateway])).exitCode, 0, "reached another network's gateway");
    const intAddress = await addressOn('fr-int-web', 'fr-int');
    assert.equal(await get({ container: 'fr-b-web' }, intAddress, '/hostname', 80, 3), '', 'reached into the internal network');
    const { forward, input, nat } = chainNamesOf(internal.Id);
    assert.match((await runCommand('iptables', ['-w', '-S', forward])).stdout, /-j DROP/);
    assert.match((await runCommand('iptables', ['-w', '-S', input])).stdout, /-j DROP/);
    assert.notEqual((await runCommand('iptables', ['-w', '-t', 'nat', '-S', nat])).exitCode, 0, 'an internal network masquerades nothing');
    await ok(['rm', '-f', 'fr-int-web', 'fr-int-cli']);
    await ok(['network', 'rm', 'fr-int']);
    const saved = (await runCommand('iptables-save', [])).stdout;
    assert.ok(!saved.includes(forward) && !saved.includes(input), 'network rm left its chains');
  });

  it('tears down an endpoint made with the old per-container firewall plugin; a restart makes lost rules again', async () => {
    const a = await inspectNetwork('fr-a');
    const bridge = await inspectNetwork('bridge');
    await ok(['run', '-d', '--name', 'fr-keep', 'busybox', 'sleep', '1000']);
    const id = (await ok(['inspect', '-f', '{{.Id}}', 'fr-a-web'])).trim();
    const address = await addressOn('fr-a-web', 'fr-a');
    await daemon.kill9();
    // What an older Berth left: the firewall plugin's accepts for the address, and an endpoint file without its config list.
    const path = join(daemon.root, 'networks', 'endpoints', `${id}.json`);
    const file = JSON.parse(await readFile(path, 'utf8')) as EndpointFile;
    const endpoint = file.endpoints[0]!;
    const env = { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: file.netnsPath, CNI_IFNAME: endpoint.ifName, CNI_PATH: '/usr/lib/cni' };
    const config = { cniVersion: '1.0.0', name: `berth-${a.Id.slice(0, 12)}`, type: 'firewall', backend: 'iptables', prevResult: endpoint.cniResult };
    const added = await runCommand('/usr/lib/cni/firewall', [], { env, input: JSON.stringify(config) });
    assert.equal(added.exitCode, 0, added.stdout + added.stderr);
    const firewallRules = async (): Promise<number> => (await runCommand('iptables', ['-w', '-S', 'CNI-FORWARD'])).stdout.split('\n').filter((l) => l.includes(` ${address}/32 `)).length;
    assert.ok((await firewallRules()) > 0);
    delete endpoint.cniConfig;
    await writeFile(path, JSON.stringify(file));
    // Rules lost while berthd was down (an `iptables -F`, say) come back at its start for networks with containers.
    const rules = new BridgeRules();
    await rules.remove(bridge.Id);
    await rules.remove(a.Id);
    await daemon.restart();
    assert.equal((await runCommand('iptables', ['-w', '-S', chainNamesOf(bridge.Id).forward])).exitCode, 0, "the default network's rules were not made again");
    assert.equal((await runCommand('iptables', ['-w', '-t', 'nat', '-S', chainNamesOf(a.Id).nat])).exitCode, 0, "fr-a's rules were not made again");
    await ok(['rm', '-f', 'fr-keep']);
    await ok(['rm', '-f', 'fr-a-web', 'fr-b-web']);
    assert.equal(await firewallRules(), 0);
  });
});
