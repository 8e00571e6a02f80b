import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedLock } from './keyed-lock.js';

describe('KeyedLock', () => {
  it('runs operations on one key one at a time, in order', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const slow = lock.run('a', async () => {
      log.push('a1 start');
      await new Promise((r) => setTimeout(r, 20));
      log.push('a1 end');
    });
    const next = lock.run('a', async () => {
      log.push('a2');
    });
    await Promise.all([slow, next]);
    assert.deepEqual(log, ['a1 start', 'a1 end', 'a2']);
  });

  it('lets different keys proceed in parallel and survives a failing operation', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const a = lock.run('a', async () => {
      await new Promise((r) => setTimeout(r, 20));
      log.push('a');
    });
    const b = lock.run('b', async () => {
      log.push('b');
    });
    await Promise.all([a, b]);
    assert.deepEqual(log, ['b', 'a']);
    await assert.rejects(lock.run('c', async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await lock.run('c', async () => 'after'), 'after');
  });

  it('runs a single key\'s sections in call order whatever fails', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const section = (name: string, fail = false) => lock.run('store', async () => {
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
});
