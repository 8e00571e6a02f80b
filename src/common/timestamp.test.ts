import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTimestampMs, parseTimestampNs } from './timestamp.js';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

describe('parseTimestampNs (moby GetTimestamp)', () => {
  it('reads Go durations as that long before now', () => {
    assert.equal(parseTimestampMs('24h', NOW), NOW - 24 * 3_600_000);
    assert.equal(parseTimestampMs('1h30m', NOW), NOW - 90 * 60_000);
    assert.equal(parseTimestampMs('1.5s', NOW), NOW - 1500);
    assert.equal(parseTimestampMs('10m', NOW), NOW - 600_000);
  });
  it('reads unix timestamps with an optional fraction', () => {
    assert.equal(parseTimestampNs('1700000000'), 1_700_000_000_000_000_000n);
    assert.equal(parseTimestampNs('1700000000.5'), 1_700_000_000_500_000_000n);
    assert.equal(parseTimestampNs('0'), 0n);
  });
  it('reads RFC 3339 times and their prefixes, with a zone or in local time', () => {
    assert.equal(parseTimestampMs('2026-12-07T10:00:00Z'), Date.UTC(2026, 11, 7, 10));
    assert.equal(parseTimestampNs('2026-12-07T10:00:00.000000123Z'), BigInt(Date.UTC(2026, 11, 7, 10)) * 1_000_000n + 123n);
    assert.equal(parseTimestampMs('2026-12-07T10:00:00+02:00'), Date.UTC(2026, 11, 7, 8));
    assert.equal(parseTimestampMs('2026-12-07T10:30-01:00'), Date.UTC(2026, 11, 7, 11, 30));
    assert.equal(parseTimestampMs('2026-12-07'), new Date(2026, 11, 7).getTime());
    assert.equal(parseTimestampMs('2026-12-07T10'), new Date(2026, 11, 7, 10).getTime());
  });
  it('refuses anything else with docker\'s message', () => {
    for (const bad of ['abc', '24x', '2026-13-45', '12:00', '']) {
      assert.throws(() => parseTimestampNs(bad), /failed to parse value as time or duration/);
    }
  });
});
