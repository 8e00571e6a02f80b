import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLogConfig, logDriverName, logPolicyOf, parseRamSize } from './log-config.js';

describe('checkLogConfig', () => {
  it('names the default driver json-file, with one uncapped file', () => {
    assert.deepEqual(checkLogConfig('', {}), { driver: 'json-file', maxSizeBytes: 0, maxFiles: 1, compress: false });
    assert.equal(logDriverName('k8s-file'), 'json-file');
  });

  it('reads max-size, max-file and compress as dockerd does', () => {
    assert.deepEqual(checkLogConfig('json-file', { 'max-size': '10m', 'max-file': '3', compress: 'true' }), { driver: 'json-file', maxSizeBytes: 10 * 1024 ** 2, maxFiles: 3, compress: true });
    assert.deepEqual(checkLogConfig('json-file', { 'max-size': '1k' }), { driver: 'json-file', maxSizeBytes: 1024, maxFiles: 1, compress: false });
  });

  it('gives local its defaults: 20 MiB, 5 files, compressed', () => {
    assert.deepEqual(checkLogConfig('local', {}), { driver: 'local', maxSizeBytes: 20 * 1024 ** 2, maxFiles: 5, compress: true });
    assert.deepEqual(checkLogConfig('local', { 'max-file': '1' }), { driver: 'local', maxSizeBytes: 20 * 1024 ** 2, maxFiles: 1, compress: false });
  });

  it('refuses what dockerd refuses, with its words', () => {
    assert.throws(() => checkLogConfig('syslog2', {}), /logger: no log driver named 'syslog2' is registered/);
    assert.throws(() => checkLogConfig('json-file', { 'max-sizes': '1m' }), /unknown log opt 'max-sizes' for json-file log driver/);
    assert.throws(() => checkLogConfig('json-file', { 'max-size': 'abc' }), /invalid size: 'abc'/);
    assert.throws(() => checkLogConfig('json-file', { 'max-size': '0' }), /max-size must be a positive number/);
    assert.throws(() => checkLogConfig('json-file', { 'max-file': '0' }), /max-file cannot be less than 1/);
    assert.throws(() => checkLogConfig('json-file', { 'max-file': 'x' }), /invalid syntax/);
    assert.throws(() => checkLogConfig('json-file', { compress: 'true' }), /compress cannot be true when max-file is less than 2 or max-size is not set/);
    assert.throws(() => checkLogConfig('json-file', { mode: 'fast' }), /logging mode not supported: fast/);
    assert.throws(() => checkLogConfig('json-file', { 'max-buffer-size': '4m' }), /only supported with 'mode=non-blocking'/);
    assert.throws(() => checkLogConfig('json-file', { mode: 'non-blocking' }), /non-blocking is not supported/);
    assert.throws(() => checkLogConfig('json-file', { tag: '{{.Name}}' }), /log opt 'tag' of the json-file log driver is not supported/);
    assert.throws(() => checkLogConfig('none', { 'max-size': '1m' }), /unknown log opt 'max-size' for none log driver/);
    assert.throws(() => checkLogConfig('local', { labels: 'a' }), /unknown log opt 'labels' for local log driver/);
  });

  it('keeps a stored record readable even when its options would now be refused', () => {
    assert.deepEqual(logPolicyOf({ type: 'k8s-file', config: { tag: 'x' } }), { driver: 'json-file', maxSizeBytes: 0, maxFiles: 1, compress: false });
    assert.equal(logPolicyOf({ type: 'none', config: {} }).driver, 'none');
  });
});

describe('parseRamSize', () => {
  it('reads go-units sizes in binary units', () => {
    assert.equal(parseRamSize('512'), 512);
    assert.equal(parseRamSize('1.5k'), 1536);
    assert.equal(parseRamSize('2MiB'), 2 * 1024 ** 2);
    assert.equal(parseRamSize('1 g'), 1024 ** 3);
    assert.throws(() => parseRamSize('-1m'), /invalid size/);
  });
});
