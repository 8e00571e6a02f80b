/**
 * `GET /events`: the engine's events as docker's JSON stream. `since` replays the recent
 * events kept in memory; `until` ends the stream at that time (at once when it is past);
 * filters as moby's. Without `until` the stream stays open until the client leaves.
 */
import type { ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../../common/index.js';
import type { EngineEvent, Engine } from '../../engine/index.js';
import type { ApiRequest } from '../request.js';
import type { Router } from '../router.js';
import { eventFor } from '../version-shapes.js';
import { checkEventFilters, eventJsonLine, matchesEventFilters } from '../translate/index.js';

/** Register the events endpoint. */
export function addEventRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/events', async (req, res) => events(engine, req, res));
}

/**
 * docker's event time parameter in nanoseconds since the epoch: unix seconds with an
 * optional fraction (what the CLI sends), an RFC 3339 time, or a duration before now (`10m`).
 */
export function parseEventTime(value: string | undefined, nowMs = Date.now()): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (seconds) return BigInt(seconds[1]!) * 1_000_000_000n + BigInt((seconds[2] ?? '').padEnd(9, '0'));
  const duration = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(value);
  if (duration) {
    const unitMs = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[duration[2] as 'ns' | 'us' | 'ms' | 's' | 'm' | 'h'];
    return BigInt(Math.round(nowMs - Number(duration[1]) * unitMs)) * 1_000_000n;
  }
  const parsed = Date.parse(value);
  if (!Number.isNaN(parsed)) return BigInt(parsed) * 1_000_000n;
  throw new InvalidArgumentError(`invalid value for time: ${value}`);
}

async function events(engine: Engine, req: ApiRequest, res: ServerResponse): Promise<undefined> {
  const sinceNs = parseEventTime(req.string('since'));
  const untilNs = parseEventTime(req.string('until'));
  const filters = req.filters();
  checkEventFilters(filters);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const send = (event: EngineEvent): void => {
    if (res.destroyed) return;
    if (untilNs !== undefined && event.timeNano > untilNs) return;
    if (matchesEventFilters(event, filters)) res.write(eventJsonLine(event, (message) => eventFor(req.version, message)));
  };
  // Replay and subscribe in the same tick: publishing is synchronous, so no event falls between.
  if (sinceNs !== undefined) {
    for (const event of engine.events.recent()) if (event.timeNano >= sinceNs) send(event);
  }
  if (untilNs !== undefined && untilNs <= nowNs) {
    res.end();
    return undefined;
  }
  const unsubscribe = engine.events.subscribe(send);
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      if (timer) clearTimeout(timer);
      resolve();
    };
    if (untilNs !== undefined) timer = setTimeout(done, Number((untilNs - nowNs) / 1_000_000n) + 1);
    req.signal.addEventListener('abort', done, { once: true });
    if (req.signal.aborted) done();
  });
  unsubscribe();
  res.end();
  return undefined;
}
