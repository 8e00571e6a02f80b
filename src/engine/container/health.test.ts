import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HealthcheckSettings, HealthState } from '../container.js';
import { checkHealthcheck, unknownHealthcheckType, mergeHealthcheck, nextHealth, nextProbeDelayMs, probeCommand, ProbeOutput } from './health.js';

const settings = (over: Partial<HealthcheckSettings> = {}): HealthcheckSettings => ({
  test: ['CMD-SHELL', 'true'], intervalNs: 0, timeoutNs: 0, startPeriodNs: 0, startIntervalNs: 0, retries: 0, ...over,
});
const startedMs = Date.parse('2026-01-01T00:00:00Z');
const result = (exitCode: number, atSec: number) => {
  const at = new Date(startedMs + atSec * 1000).toISOString();
  return { start: at, end: at, exitCode, output: '' };
};
const starting: HealthState = { status: 'starting', failingStreak: 0, log: [] };

describe('healthcheck rules (dockerd\'s)', () => {
  it('a success is healthy and clears the streak; failures count up to the retries', () => {
    const h = settings({ retries: 2 });
    let health = nextHealth(starting, result(1, 1), h, startedMs);
    assert.deepEqual([health.status, health.failingStreak], ['starting', 1]);
    health = nextHealth(health, result(1, 2), h, startedMs);
    assert.deepEqual([health.status, health.failingStreak], ['unhealthy', 2]);
    health = nextHealth(health, result(0, 3), h, startedMs);
    assert.deepEqual([health.status, health.failingStreak], ['healthy', 0]);
    health = nextHealth(health, result(2, 4), h, startedMs);
    assert.deepEqual([health.status, health.failingStreak], ['healthy', 1]);
  });

  it('defaults to three retries; failures within the start period do not count while starting', () => {
    let health = starting;
    for (let i = 1; i <= 3; i++) health = nextHealth(health, result(1, i), settings(), startedMs);
    assert.deepEqual([health.status, health.failingStreak], ['unhealthy', 3]);
    const withGrace = settings({ startPeriodNs: 10e9 });
    health = nextHealth(starting, result(1, 5), withGrace, startedMs);
    assert.deepEqual([health.status, health.failingStreak], ['starting', 0]);
    health = nextHealth(health, result(1, 11), withGrace, startedMs);
    assert.equal(health.failingStreak, 1);
  });

  it('keeps the last five results, oldest first', () => {
    let health = starting;
    for (let i = 1; i <= 7; i++) health = nextHealth(health, result(0, i), settings(), startedMs);
    assert.equal(health.log.length, 5);
    assert.equal(health.log[0]!.start, result(0, 3).start);
  });

  it('waits the start interval while starting within the start period, else the interval (30s by default)', () => {
    assert.equal(nextProbeDelayMs(settings(), 'starting', 0), 30_000);
    const h = settings({ startPeriodNs: 60e9, intervalNs: 10e9 });
    assert.equal(nextProbeDelayMs(h, 'starting', 1000), 5000);
    assert.equal(nextProbeDelayMs(h, 'healthy', 1000), 10_000);
    assert.equal(nextProbeDelayMs(h, 'starting', 61_000), 10_000);
  });

  it('runs CMD as given and CMD-SHELL through /bin/sh -c; NONE and no command probe nothing', () => {
    assert.deepEqual(probeCommand(settings({ test: ['CMD', 'cat', '/x'] })), ['cat', '/x']);
    assert.deepEqual(probeCommand(settings({ test: ['CMD-SHELL', 'test -f /x'] })), ['/bin/sh', '-c', 'test -f /x']);
    assert.equal(probeCommand(settings({ test: ['NONE'] })), undefined);
    assert.equal(probeCommand(settings({ test: [] })), undefined);
    assert.equal(probeCommand(undefined), undefined);
  });

  it('merges the user\'s healthcheck over the image\'s, field by field', () => {
    const image = { Test: ['CMD', 'img'], Interval: 5e9, Retries: 7 };
    assert.deepEqual(mergeHealthcheck(null, image), { test: ['CMD', 'img'], intervalNs: 5e9, timeoutNs: 0, startPeriodNs: 0, startIntervalNs: 0, retries: 7 });
    const merged = mergeHealthcheck(settings({ test: [], timeoutNs: 2e9, retries: 1 }), image);
    assert.deepEqual(merged, { test: ['CMD', 'img'], intervalNs: 5e9, timeoutNs: 2e9, startPeriodNs: 0, startIntervalNs: 0, retries: 1 });
    assert.deepEqual(mergeHealthcheck(settings({ test: ['NONE'] }), image)?.test, ['NONE']);
    assert.equal(mergeHealthcheck(null, undefined), undefined);
  });

  it('refuses durations under 1ms and negative retries with dockerd\'s words; takes unknown test types as dockerd does', () => {
    assert.throws(() => checkHealthcheck(settings({ intervalNs: 1000 })), /Interval in Healthcheck cannot be less than 1ms$/);
    assert.throws(() => checkHealthcheck(settings({ timeoutNs: -1 })), /Timeout in Healthcheck cannot be less than 1ms/);
    assert.throws(() => checkHealthcheck(settings({ retries: -1 })), /Retries in Healthcheck cannot be negative/);
    // dockerd creates the container with an unknown type and never probes it (its health stays starting).
    checkHealthcheck(settings({ test: ['SHELL', 'x'] }));
    assert.equal(unknownHealthcheckType(settings({ test: ['SHELL', 'x'] })), 'SHELL');
    assert.equal(unknownHealthcheckType(settings({ test: ['CMD-SHELL', 'x'] })), undefined);
    assert.equal(probeCommand(settings({ test: ['SHELL', 'x'] })), undefined);
    checkHealthcheck(settings({ intervalNs: 1e6 }));
    checkHealthcheck(undefined);
  });

  it('keeps 4096 bytes of stdout and stderr from the runtime\'s frames, "..." when cut', () => {
    const frame = (stream: number, text: string): Buffer => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const out = new ProbeOutput();
    const both = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')]);
    out.write(both.subarray(0, 5));
    out.write(both.subarray(5));
    assert.equal(out.text(), 'out\nerr\n');
    const long = new ProbeOutput();
    long.write(frame(1, 'x'.repeat(5000)));
    assert.equal(long.text(), `${'x'.repeat(4096)}...`);
  });
});

describe('goDuration', () => {
  it('prints durations as Go does', async () => {
    const { goDuration } = await import('../../common/index.js');
    assert.equal(goDuration(30e9), '30s');
    assert.equal(goDuration(1.5e9), '1.5s');
    assert.equal(goDuration(500e6), '500ms');
    assert.equal(goDuration(90e9), '1m30s');
    assert.equal(goDuration(3600e9), '1h0m0s');
  });
});
