import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildHosts, buildResolvConf } from './etc-files.js';

describe('per-container etc files', () => {
  it('drops loopback resolvers the container cannot reach and keeps search and options', () => {
    const host = 'nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.test\noptions ndots:2\n';
    assert.equal(buildResolvConf({ dns: [], dnsSearch: [], dnsOptions: [], hostResolvConf: host }), 'search example.test\nnameserver 10.0.0.2\noptions ndots:2\n');
  });

  it('lets --dns, --dns-search and --dns-option replace the host values', () => {
    const text = buildResolvConf({ dns: ['192.0.2.1'], dnsSearch: ['a.test'], dnsOptions: ['ndots:1'], hostResolvConf: 'nameserver 10.0.0.2\n' });
    assert.equal(text, 'search a.test\nnameserver 192.0.2.1\noptions ndots:1\n');
  });

  it('writes localhost entries and --add-host lines', () => {
    const hosts = buildHosts(['db:192.0.2.5', 'v6:2001:db8::1']);
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(hosts, /^192\.0\.2\.5\tdb$/m);
    assert.match(hosts, /^2001:db8::1\tv6$/m);
  });
});
