/**
 * Networking of VM containers through the docker CLI: the guest's eth0 carries the container's
 * IP and MAC on the default bridge and on a user network, reaches a process container by IP and
 * by name, serves a published port to the host, `--network none` gives only loopback, host and
 * container: modes are refused, and no tap, tc qdisc or namespace is left after stop and rm.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:http';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';
import { runCommand } from '../../../src/sys/index.js';

const VM_TIMEOUT_MS = 120_000;
const NETWORK = `vmnet-it-${process.pid}`;

interface NetworkInspect {
  NetworkSettings: { SandboxKey: string; Networks: Record<string, { IPAddress: string; MacAddress: string; Gateway: string }> };
}

async function inspectNetwork(daemon: TestDaemon, ref: string): Promise<NetworkInspect> {
  const result = await daemon.docker(['inspect', ref]);
  assert.equal(result.exitCode, 0, result.stderr);
  return (JSON.parse(result.stdout) as NetworkInspect[])[0]!;
}

/** A port on 127.0.0.1 nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function httpGet(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Links and ingress qdiscs in a namespace, or undefined when the namespace is gone. */
async function netnsDevices(path: string): Promise<{ links: string; qdiscs: string } | undefined> {
  if (!existsSync(path)) return undefined;
  const links = await runCommand('nsenter', [`--net=${path}`, '--', 'ip', '-o', 'link', 'show']);
  const qdiscs = await runCommand('nsenter', [`--net=${path}`, '--', 'tc', 'qdisc', 'show']);
  if (links.exitCode !== 0) return undefined;
  return { links: links.stdout, qdiscs: qdiscs.stdout };
}

describe('vm isolation: networking', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.docker(['rm', '-f', 'vmnet-web', 'vmnet-httpd', 'vmnet-proc', 'vmnet-vm']).catch(() => {});
    await daemon?.docker(['network', 'rm', NETWORK]).catch(() => {});
    await daemon?.cleanup();
  });

  it("gives the guest's eth0 the container's IP and MAC on the default bridge, and leaves no tap behind", async () => {
    const id = (await daemon.docker(['run', '-d', '--isolation=vm', 'busybox', 'sleep', '1000'], { timeoutMs: VM_TIMEOUT_MS })).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const settings = await inspectNetwork(daemon, id);
    const endpoint = settings.NetworkSettings.Networks['bridge']!;
    assert.ok(endpoint.IPAddress, 'the container has an address');
    const addr = await daemon.docker(['exec', id, 'ip', 'addr', 'show', 'eth0']);
    assert.equal(addr.exitCode, 0, addr.stderr);
    assert.match(addr.stdout, new RegExp(`inet ${endpoint.IPAddress.replaceAll('.', '\\.')}/\\d+`));
    assert.ok(addr.stdout.includes(`link/ether ${endpoint.MacAddress}`), `MAC ${endpoint.MacAddress} in ${addr.stdout}`);
    const route = await daemon.docker(['exec', id, 'ip', 'route']);
    assert.match(route.stdout, new RegExp(`default via ${endpoint.Gateway.replaceAll('.', '\\.')} dev eth0`));

    // Running: the namespace holds the tap and both redirects.
    const sandbox = settings.NetworkSettings.SandboxKey;
    const running = await netnsDevices(sandbox);
    assert.ok(running, `the namespace ${sandbox} exists`);
    assert.match(running.links, /bvm-eth0/);
    assert.equal((running.qdiscs.match(/qdisc ingress/g) ?? []).length, 2, running.qdiscs);

    // A restart plugs the VM in again (the namespace may be the same one).
    const restart = await daemon.docker(['restart', '-t', '1', id], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(restart.exitCode, 0, restart.stderr);
    const restarted = await inspectNetwork(daemon, id);
    const again = await daemon.docker(['exec', id, 'ip', 'addr', 'show', 'eth0']);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.ok(again.stdout.includes(restarted.NetworkSettings.Networks['bridge']!.IPAddress), again.stdout);

    const lastSandbox = restarted.NetworkSettings.SandboxKey;
    const stop = await daemon.docker(['stop', '-t', '1', id], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(stop.exitCode, 0, stop.stderr);
    const stopped = await netnsDevices(lastSandbox);
    if (stopped) {
      assert.doesNotMatch(stopped.links, /bvm-/);
      assert.doesNotMatch(stopped.qdiscs, /qdisc ingress/);
    }
    assert.equal((await daemon.docker(['rm', id])).exitCode, 0);
    assert.equal(existsSync(lastSandbox), false, 'the namespace handle is removed');
    const hostLinks = await runCommand('ip', ['-o', 'link', 'show']);
    assert.doesNotMatch(hostLinks.stdout, /bvm-/);
  });

  it('reaches a process container by IP and by name on a user network', async () => {
    await daemon.docker(['network', 'create', NETWORK]);
    assert.equal((await daemon.docker(['network', 'inspect', NETWORK])).exitCode, 0);
    const web = await daemon.docker(['run', '-d', '--name', 'vmnet-web', '--network', NETWORK, 'busybox', 'sleep', '1000']);
    assert.equal(web.exitCode, 0, web.stderr);
    const webIp = (await inspectNetwork(daemon, 'vmnet-web')).NetworkSettings.Networks[NETWORK]!.IPAddress;
    const run = await daemon.docker(['run', '--rm', '--isolation=vm', '--network', NETWORK, 'busybox', 'sh', '-c', `ping -c 1 -W 10 ${webIp} && ping -c 1 -W 10 vmnet-web`], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, new RegExp(`PING vmnet-web \\(${webIp.replaceAll('.', '\\.')}\\)`));
    assert.equal((await daemon.docker(['rm', '-f', 'vmnet-web'])).exitCode, 0);
  });

  it('serves a published port to the host', async () => {
    const port = await freePort();
    const run = await daemon.docker(['run', '-d', '--name', 'vmnet-httpd', '--isolation=vm', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c',
      'mkdir -p /www && echo hello-from-the-vm > /www/index.html && exec httpd -f -p 80 -h /www'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    // httpd may need a moment after the container reports running.
    let answer: { status: number; body: string } | undefined;
    for (let i = 0; i < 50 && !answer; i++) {
      answer = await httpGet(port).catch(() => undefined);
      if (!answer) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(answer, 'httpd answered');
    assert.equal(answer.status, 200);
    assert.equal(answer.body.trim(), 'hello-from-the-vm');
    assert.equal((await daemon.docker(['rm', '-f', 'vmnet-httpd'])).exitCode, 0);
  });

  it('refuses to hot-plug a network into a running VM container, or to share its namespace', async () => {
    const run = await daemon.docker(['run', '-d', '--name', 'vmnet-vm', '--isolation=vm', 'busybox', 'sleep', '1000'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    await daemon.docker(['network', 'create', NETWORK]);
    const connect = await daemon.docker(['network', 'connect', NETWORK, 'vmnet-vm']);
    assert.notEqual(connect.exitCode, 0);
    assert.match(connect.stderr, /cannot connect running VM container vmnet-vm/);
    const join = await daemon.docker(['run', '--rm', '--network', 'container:vmnet-vm', 'busybox', 'true']);
    assert.equal(join.exitCode, 125);
    assert.match(join.stderr, /cannot join the network namespace of VM container/);
    assert.equal((await daemon.docker(['rm', '-f', 'vmnet-vm'])).exitCode, 0);
  });

  it('gives --network none only loopback and refuses host and container: modes', async () => {
    const none = await daemon.docker(['run', '--rm', '--isolation=vm', '--network', 'none', 'busybox', 'ip', '-o', 'link'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(none.exitCode, 0, none.stderr);
    assert.match(none.stdout, /\blo\b/);
    assert.doesNotMatch(none.stdout, /eth0/);

    const host = await daemon.docker(['run', '--rm', '--isolation=vm', '--network', 'host', 'busybox', 'true']);
    assert.equal(host.exitCode, 125);
    assert.match(host.stderr, /--network host is not supported with --isolation=vm/);

    assert.equal((await daemon.docker(['run', '-d', '--name', 'vmnet-proc', 'busybox', 'sleep', '1000'])).exitCode, 0);
    const shared = await daemon.docker(['run', '--rm', '--isolation=vm', '--network', 'container:vmnet-proc', 'busybox', 'true']);
    assert.equal(shared.exitCode, 125);
    assert.match(shared.stderr, /--network container:<id> is not supported with --isolation=vm/);
    assert.equal((await daemon.docker(['rm', '-f', 'vmnet-proc'])).exitCode, 0);
  });
});
