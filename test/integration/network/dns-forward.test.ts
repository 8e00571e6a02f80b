/**
 * `--dns` as dockerd treats it: on a user-defined network the container keeps berthd's DNS
 * responder in resolv.conf and the responder forwards the names it does not know to that
 * container's --dns servers; on the default bridge network the servers go into resolv.conf as
 * given. The upstream is a DNS server this test runs on a 127.0.0.x address, never a real one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { DNS_RCODE, DNS_TYPE, encodeDnsResponse, parseDnsQuery } from '../../../src/network/index.js';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

/** The test's own upstream address, the one name it knows and that name's address. */
const UPSTREAM = '127.0.0.153';
const OUTSIDE = 'outside.example.test';
const MARKER = '192.0.2.55';

describe('--dns on user-defined networks', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let upstream: Socket;
  const asked: string[] = [];
  const ok = async (args: string[]): Promise<string> => {
    const result = await daemon.docker(args);
    assert.equal(result.exitCode, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };

  before(async () => {
    upstream = createSocket('udp4');
    upstream.on('message', (message, peer) => {
      const query = parseDnsQuery(message);
      if (!query) return;
      asked.push(query.name);
      // Only its own name exists here: others (the search domain tried first) are NXDOMAIN.
      if (query.name !== OUTSIDE) {
        upstream.send(encodeDnsResponse(query, DNS_RCODE.nxDomain), peer.port, peer.address);
        return;
      }
      const answers = query.type === DNS_TYPE.a ? [{ name: query.name, type: DNS_TYPE.a, ttlSeconds: 5, data: MARKER }] : [];
      upstream.send(encodeDnsResponse(query, DNS_RCODE.noError, answers), peer.port, peer.address);
    });
    await new Promise<void>((resolve, reject) => {
      upstream.once('error', reject);
      upstream.bind(53, UPSTREAM, () => resolve());
    });
    daemon = await startTestDaemon();
  });
  after(async () => {
    if (daemon) {
      await daemon.docker(['rm', '-f', 'dnsf-web']).catch(() => {});
      await daemon.docker(['network', 'rm', 'dnsf-app']).catch(() => {});
      await daemon.cleanup();
    }
    upstream?.close();
  });

  it("keeps the responder in resolv.conf and forwards other names to the container's --dns", async () => {
    await ok(['network', 'create', 'dnsf-app']);
    const gateway = (await ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'dnsf-app'])).trim();
    await ok(['run', '-d', '--name', 'dnsf-web', '--network', 'dnsf-app', 'busybox', 'sleep', '1000']);
    const out = await ok(['run', '--rm', '--network', 'dnsf-app', '--dns', UPSTREAM, '--dns-search', 'example.test', '--dns-option', 'ndots:2',
      'busybox', 'sh', '-c', 'cat /etc/resolv.conf; echo ---; nslookup outside.example.test']);
    const [resolvConf = '', outside = ''] = out.split('---\n');
    assert.deepEqual(resolvConf.split('\n').filter((l) => l.startsWith('nameserver')), [`nameserver ${gateway}`]);
    assert.match(resolvConf, /^search example\.test$/m);
    assert.match(resolvConf, /^options ndots:2$/m);
    assert.match(outside, new RegExp(`Address:\\s+${MARKER.replace(/\./g, '\\.')}`), outside);
    assert.ok(asked.includes(OUTSIDE), `the test's server was asked for ${asked.join(', ') || 'nothing'}`);
    // The network's own names still come from the responder, not the --dns server (without a
    // search domain: busybox's nslookup tries only the first candidate name).
    const local = await ok(['run', '--rm', '--network', 'dnsf-app', '--dns', UPSTREAM, 'busybox', 'nslookup', 'dnsf-web']);
    const webAddress = (await ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "dnsf-app").IPAddress}}', 'dnsf-web'])).trim();
    assert.match(local, new RegExp(`Address:\\s+${webAddress.replace(/\./g, '\\.')}`), local);
    assert.ok(!asked.includes('dnsf-web'), `the bare name dnsf-web was forwarded: ${asked.join(', ')}`);
  });

  it('writes --dns straight into resolv.conf on the default bridge network', async () => {
    const out = await ok(['run', '--rm', '--dns', UPSTREAM, '--dns-search', 'example.test', 'busybox', 'cat', '/etc/resolv.conf']);
    assert.deepEqual(out.split('\n').filter((l) => l.startsWith('nameserver')), [`nameserver ${UPSTREAM}`]);
    assert.match(out, /^search example\.test$/m);
  });
});
