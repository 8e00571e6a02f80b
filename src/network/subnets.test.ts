import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contains, firstHost, formatSubnet, overlaps, parseIpv4, parseSubnet, pickFreeSubnet } from './subnets.js';

test('parseSubnet reduces to the network address and rejects bad input', () => {
  assert.equal(formatSubnet(parseSubnet('172.18.3.4/16')), '172.18.0.0/16');
  assert.throws(() => parseSubnet('172.18.0.0'), /invalid CIDR address/);
  assert.throws(() => parseSubnet('300.1.1.1/8'), /invalid CIDR address/);
  assert.equal(parseIpv4('1.2.3'), undefined);
});

test('overlaps and contains', () => {
  assert.ok(overlaps(parseSubnet('172.17.0.0/16'), parseSubnet('172.17.5.0/24')));
  assert.ok(!overlaps(parseSubnet('172.17.0.0/16'), parseSubnet('172.18.0.0/16')));
  assert.ok(contains(parseSubnet('10.0.0.0/8'), parseIpv4('10.200.1.1')!));
  assert.equal(firstHost(parseSubnet('10.231.7.0/24')), '10.231.7.1');
});

test('pickFreeSubnet skips taken ranges in docker order', () => {
  assert.equal(formatSubnet(pickFreeSubnet([])!), '172.17.0.0/16');
  assert.equal(formatSubnet(pickFreeSubnet([parseSubnet('172.17.0.0/16'), parseSubnet('172.18.1.0/24')])!), '172.19.0.0/16');
});
