import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RuntimeStats } from '../engine/index.js';
import { cpuOf, memoryOf } from './stats.js';

function sample(overrides: { totalNs?: number; usageBytes?: number; limitBytes?: number; stats?: Record<string, number>; atMs?: number }): RuntimeStats {
  return {
    readAtMs: overrides.atMs ?? 1000,
    cgroup: {
      mode: 'v1',
      cpu: { totalNs: overrides.totalNs ?? 0, kernelNs: 0, userNs: 0, throttling: { periods: 0, throttledPeriods: 0, throttledNs: 0 } },
      memory: { usageBytes: overrides.usageBytes ?? 0, ...(overrides.limitBytes !== undefined ? { limitBytes: overrides.limitBytes } : {}), stats: overrides.stats ?? {} },
      pids: { current: 1 },
      blkio: { serviceBytes: [], serviced: [] },
    },
    host: { systemNs: 0, onlineCpus: 2 },
    networks: {},
  };
}

describe('CRI stats', () => {
  it('derives the working set and available bytes from a v1 or v2 sample', () => {
    assert.deepEqual(memoryOf(sample({ usageBytes: 1000, limitBytes: 4000, stats: { total_inactive_file: 300, total_rss: 500, total_pgfault: 9, total_pgmajfault: 1 } })), {
      timestamp: '1000000000',
      working_set_bytes: { value: '700' },
      available_bytes: { value: '3300' },
      usage_bytes: { value: '1000' },
      rss_bytes: { value: '500' },
      page_faults: { value: '9' },
      major_page_faults: { value: '1' },
    });
    const v2 = memoryOf(sample({ usageBytes: 100, stats: { inactive_file: 40, anon: 30 } })) as Record<string, unknown>;
    assert.deepEqual([v2['working_set_bytes'], v2['rss_bytes'], v2['available_bytes']], [{ value: '60' }, { value: '30' }, undefined]);
  });

  it('gives usage_nano_cores only against an earlier sample', () => {
    assert.deepEqual(cpuOf(sample({ totalNs: 5e8, atMs: 2000 }), undefined), { timestamp: '2000000000', usage_core_nano_seconds: { value: '500000000' } });
    // Half a core for a second.
    const cpu = cpuOf(sample({ totalNs: 1e9, atMs: 2000 }), { atMs: 1000, totalNs: 5e8 }) as Record<string, unknown>;
    assert.deepEqual(cpu['usage_nano_cores'], { value: '500000000' });
  });
});
