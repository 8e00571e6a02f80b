/**
 * `GET /containers/{id}/stats`: with `stream` (the default) one object a second until the
 * client leaves or the container is removed; `stream=false` waits for a second sample so
 * precpu_stats is real, as dockerd does; `one-shot=true` answers at once with the first.
 */
import type { ServerResponse } from 'node:http';
import type { ContainerRecord, Engine, RuntimeStats } from '../../engine/index.js';
import type { ApiRequest } from '../request.js';
import type { Router } from '../router.js';
import { toDockerStats } from '../translate/index.js';
import { statsFor } from '../version-shapes.js';

const INTERVAL_MS = 1000;

/** Register the stats endpoint. */
export function addStatsRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/containers/{id}/stats', async (req, res) => stats(engine, req, res));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

async function sample(engine: Engine, id: string): Promise<{ record: ContainerRecord; sample: RuntimeStats | undefined } | undefined> {
  let record: ContainerRecord;
  try {
    record = engine.containers.get(id);
  } catch {
    return undefined;
  }
  const running = record.state.status === 'running' || record.state.status === 'paused';
  const current = running ? await engine.containers.runtimeFor(record).stats(record.id).catch(() => undefined) : undefined;
  return { record, sample: current };
}

async function stats(engine: Engine, req: ApiRequest, res: ServerResponse): Promise<undefined> {
  const first = engine.containers.get(req.param('id'));
  const id = first.id;
  const isStream = req.bool('stream', true);
  const isOneShot = req.bool('one-shot');
  const hostMemory = engine.facts.memoryBytes;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const write = (value: unknown): void => {
    if (!res.destroyed) res.write(JSON.stringify(value) + '\n');
  };
  let previous: RuntimeStats | undefined;
  if (!isStream) {
    let current = await sample(engine, id);
    if (current?.sample && !isOneShot) {
      previous = current.sample;
      await sleep(INTERVAL_MS, req.signal);
      current = await sample(engine, id);
    }
    if (current) write(statsFor(req.version, toDockerStats(current.record, current.sample, current.sample ? previous : undefined, hostMemory)));
    res.end();
    return undefined;
  }
  while (!req.signal.aborted && !res.destroyed) {
    const current = await sample(engine, id);
    // The container is gone: the stream ends, as dockerd's does when it stops collecting.
    if (!current) break;
    write(statsFor(req.version, toDockerStats(current.record, current.sample, current.sample ? previous : undefined, hostMemory)));
    previous = current.sample;
    await sleep(INTERVAL_MS, req.signal);
  }
  res.end();
  return undefined;
}
