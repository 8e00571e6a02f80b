import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contains6, firstHost6, formatIpv6, formatSubnet6, lastAddress6, overlaps6, parseIpv6, parseSubnet6, pickFreeSubnet6, ulaPrefixOf } from './subnets6.js';

test('IPv6 addresses parse and print in RFC 5952 form', () => {
  for (const [text, printed] of [
    ['fd12:3456:789a::1', 'fd12:3456:789a::1'],
    ['FD12:3456:789A:0:0:0:0:1', 'fd12:3456:789a::1'],
    ['::1', '::1'],
    ['::', '::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['fd00:0:0:0:1::', 'fd00::1:0:0:0'],
  ] as const) {
    assert.equal(formatIpv6(parseIpv6(text)!), printed, text);
  }
  for (const bad of ['1.2.3.4', 'fd00', 'fd00:::1', '1::2::3', '1:2:3:4:5:6:7:8:9', 'fd00::g', '12345::1', '1:2:3:4:5:6:7::8']) assert.equal(parseIpv6(bad), undefined, bad);
});

test('IPv6 subnets: network address, containment, overlap, gateway and range end', () => {
  const subnet = parseSubnet6('fd12:3456:789a::5/64');
  assert.equal(formatSubnet6(subnet), 'fd12:3456:789a::/64');
  assert.equal(firstHost6(subnet), 'fd12:3456:789a::1');
  assert.equal(formatIpv6(lastAddress6(subnet)), 'fd12:3456:789a:0:ffff:ffff:ffff:ffff');
  assert.ok(contains6(subnet, parseIpv6('fd12:3456:789a::99')!));
  assert.ok(!contains6(subnet, parseIpv6('fd12:3456:789a:1::99')!));
  assert.ok(overlaps6(subnet, parseSubnet6('fd12:3456::/32')));
  assert.ok(!overlaps6(subnet, parseSubnet6('fd12:3456:789a:1::/64')));
  assert.throws(() => parseSubnet6('fd00::/129'), /invalid CIDR address/);
  assert.throws(() => parseSubnet6('fd00::'), /invalid CIDR address/);
});

test('unique local /64s come from a stable per-daemon /48, skipping taken ones', () => {
  const pool = ulaPrefixOf('/var/lib/berth');
  assert.deepEqual(pool, ulaPrefixOf('/var/lib/berth'));
  assert.notDeepEqual(pool, ulaPrefixOf('/tmp/other'));
  assert.match(formatSubnet6(pool), /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/);
  const first = pickFreeSubnet6(pool, [])!;
  assert.equal(first.base, pool.base);
  assert.equal(first.prefixLength, 64);
  const second = pickFreeSubnet6(pool, [first])!;
  assert.equal(second.base, pool.base + (1n << 64n));
});
