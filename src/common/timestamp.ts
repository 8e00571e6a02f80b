/**
 * The one parser of the times docker's `since`, `until` and prune `until` accept (moby's
 * api/types/time GetTimestamp): a Go duration (`24h`, `1h30m`: that long before now), an RFC
 * 3339 time or a prefix of one (`2006-01-02`, `2006-01-02T15:04`, with `Z` or an offset, else
 * local time), or a unix timestamp (`1700000000`, `1700000000.5`).
 */
import { parseDurationMs } from './duration.js';
import { InvalidArgumentError } from './errors.js';

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

/** A time given to docker's APIs, as nanoseconds since the epoch. InvalidArgumentError with docker's words otherwise. */
export function parseTimestampNs(value: string, nowMs: number = Date.now()): bigint {
  const text = value.trim();
  // Go's ParseDuration: a signed sequence of number+unit; "0" alone is the epoch, as in moby.
  if (text !== '0' && /^[+-]?(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/.test(text)) {
    const negative = text.startsWith('-');
    const durationMs = tryDurationMs(text.replace(/^[+-]/, ''));
    if (durationMs !== undefined) return BigInt(Math.round(nowMs - (negative ? -durationMs : durationMs))) * NS_PER_MS;
  }
  const unix = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (unix) {
    const seconds = BigInt(unix[1]!);
    const fraction = BigInt((unix[2] ?? '').padEnd(9, '0'));
    return seconds * NS_PER_S + (seconds < 0n ? -fraction : fraction);
  }
  const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?([zZ]|[+-]\d{2}:\d{2})?$/.exec(text);
  if (rfc3339) {
    const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone] = rfc3339;
    const fields = [Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)] as const;
    let ms: number;
    if (zone === undefined) {
      // No zone: the daemon's local time, as moby parses it.
      ms = new Date(...fields).getTime();
    } else {
      ms = Date.UTC(...fields);
      if (zone !== 'z' && zone !== 'Z') {
        const sign = zone.startsWith('-') ? -1 : 1;
        ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
      }
    }
    if (!Number.isNaN(ms) && Number(month) >= 1 && Number(month) <= 12 && Number(day) >= 1 && Number(day) <= 31) {
      return BigInt(ms) * NS_PER_MS + BigInt(fraction.padEnd(9, '0')) % NS_PER_MS;
    }
  }
  throw new InvalidArgumentError(`failed to parse value as time or duration: "${value}"`);
}

/** parseTimestampNs in milliseconds since the epoch. */
export function parseTimestampMs(value: string, nowMs: number = Date.now()): number {
  return Number(parseTimestampNs(value, nowMs) / NS_PER_MS);
}

function tryDurationMs(text: string): number | undefined {
  try {
    return parseDurationMs(text);
  } catch {
    return undefined;
  }
}
