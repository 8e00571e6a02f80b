/**
 * `GET /events`: the engine's events as docker's JSON stream. `since` replays the recent
 * events kept in memory; `until` ends the stream at that time (at once when it is past);
 * filters as moby's. Without `until` the stream stays open until the client leaves.
 */
import type { ServerResponse } from 'node:http';
import { parseTimestampNs } from '../../common/index.js';
import type { EngineEvent, Engine } from '../../engine/index.js';
import type { ApiRequest } from '../request.js';
import type { Router } from '../router.js';
import { checkEventFilters, eventJsonLine, matchesEventFilters } from '../translate/index.js';

/** Register the events endpoint. */
export function addEventRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/events', async (req, res) => events(engine, req, res));
}

/** An events `since`/`until` parameter in nanoseconds (every format docker takes), undefined when absent. */
function eventTimeNs(req: ApiRequest, name: string): bigint | undefined {
  const value = req.string(name);
  if (value === undefined || value === '') return undefined;
  return parseTimestampNs(value);
}

async function events(engine: Engine, req: ApiRequest, res: ServerResponse): Promise<undefined> {
  const sinceNs = eventTimeNs(req, 'since');
  const untilNs = eventTimeNs(req, 'until');
  const filters = req.filters();
  checkEventFilters(filters);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const send = (event: EngineEvent): void => {
    if (res.destroyed) return;
    if (untilNs !== undefined && event.timeNano > untilNs) return;
    if (matchesEventFilters(event, filters)) res.write(eventJsonLine(event));
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
