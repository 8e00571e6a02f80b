import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isValidBridgeName } from './errors.js';

describe('isValidBridgeName', () => {
  it('takes what Linux takes as an interface name', () => {
    for (const name of ['berth0', 'br-0123456789ab', 'a', 'x'.repeat(15), 'my.bridge_1']) assert.equal(isValidBridgeName(name), true, name);
  });

  it('refuses what Linux or iproute would refuse', () => {
    for (const name of ['', '.', '..', 'x'.repeat(16), '../../x', 'a/b', 'a b', 'a:b', 'a\tb', 'é'.repeat(8)]) assert.equal(isValidBridgeName(name), false, name);
  });
});
