import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BuildStepError } from './build-options.js';
import type { DockerfileInstruction } from './dockerfile.js';
import { exposedPorts, goQuoted, healthcheck, keyValues } from './instruction-values.js';

const instruction = (keyword: string, args: string, flags: Record<string, string> = {}): DockerfileInstruction =>
  ({ keyword, original: `${keyword} ${args}`, line: 1, flags, args, json: undefined, heredocs: [] });

describe('instruction values', () => {
  it('reads ENV and LABEL pairs in both forms, expanded', () => {
    const env = new Map([['X', 'ex']]);
    assert.deepEqual(keyValues(instruction('ENV', 'A=1 B="two words" C=$X'), env, '\\'), [['A', '1'], ['B', 'two words'], ['C', 'ex']]);
    assert.deepEqual(keyValues(instruction('ENV', 'OLD the rest $X'), env, '\\'), [['OLD', 'the rest ex']]);
    assert.throws(() => keyValues(instruction('ENV', 'ALONE'), env, '\\'), BuildStepError);
  });

  it('expands EXPOSE specs and ranges, refusing bad ones', () => {
    assert.deepEqual(exposedPorts('80'), ['80/tcp']);
    assert.deepEqual(exposedPorts('53/UDP'), ['53/udp']);
    assert.deepEqual(exposedPorts('8000-8002'), ['8000/tcp', '8001/tcp', '8002/tcp']);
    assert.throws(() => exposedPorts('http'), /invalid containerPort: http/);
    assert.throws(() => exposedPorts('80/xyz'), /invalid proto: xyz/);
  });

  it('reads HEALTHCHECK with Go durations, and writes lists as Go quotes them', () => {
    assert.deepEqual(healthcheck(instruction('HEALTHCHECK', 'NONE'), '\\'), { Test: ['NONE'] });
    assert.deepEqual(healthcheck(instruction('HEALTHCHECK', 'CMD ["true"]', { interval: '1m30s', timeout: '500ms', retries: '2' }), '\\'),
      { Test: ['CMD', 'true'], Interval: 90e9, Timeout: 500e6, Retries: 2 });
    assert.deepEqual(healthcheck(instruction('HEALTHCHECK', 'CMD curl -f http://localhost/'), '\\'), { Test: ['CMD-SHELL', 'curl -f http://localhost/'] });
    assert.throws(() => healthcheck(instruction('HEALTHCHECK', 'CMD true', { interval: '5x' }), '\\'), /invalid duration "5x"/);
    assert.equal(goQuoted(['a', 'b c']), '["a" "b c"]');
  });
});
