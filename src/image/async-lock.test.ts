import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLock } from './async-lock.js';

test('sections run one at a time, in order, and a failure does not block the next', async () => {
  const lock = new AsyncLock();
  const log: string[] = [];
  const section = (name: string, fail = false) => lock.run(async () => {
    log.push(`${name}>`);
    await new Promise((resolve) => setImmediate(resolve));
    log.push(`<${name}`);
    if (fail) throw new Error(name);
    return name;
  });
  const results = await Promise.allSettled([section('a'), section('b', true), section('c')]);
  assert.deepEqual(log, ['a>', '<a', 'b>', '<b', 'c>', '<c']);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
});
