/** The system calls of the Engine API client: version, info, disk usage, events. */
import type { ContainerSummary, EventMessage, ImageSummary, SystemInfo, SystemVersion, Volume } from '../api/wire/index.js';
import { filtersQuery, type ConnectionClass, type Filters } from './api-connection.js';
import { readJsonLines } from './json-stream.js';

/** `GET /system/df`'s answer, the fields `berth system df` reads. */
export interface SystemDataUsageResponse {
  LayersSize: number;
  Images: ImageSummary[] | null;
  Containers: Array<ContainerSummary & { SizeRw?: number; SizeRootFs?: number }> | null;
  Volumes: Array<Volume & { UsageData?: { Size: number; RefCount: number } | null }> | null;
  BuildCache: Array<{ Size: number; InUse: boolean; Shared: boolean }> | null;
}

/** SystemCalls layered on a connection: EngineClient is made of these. */
export function withSystemCalls<Base extends ConnectionClass>(Base: Base) {
  return class SystemCalls extends Base {
    version(): Promise<SystemVersion> {
      return this.json('GET', '/version');
    }

    info(): Promise<SystemInfo> {
      return this.json('GET', '/info');
    }

    /** `GET /system/df`. */
    systemDataUsage(): Promise<SystemDataUsageResponse> {
      return this.json('GET', '/system/df');
    }

    /** `GET /events`: yields events until `until` passes, the daemon ends the stream, or iteration stops. */
    async *events(options: { since?: string; until?: string; filters?: Filters; signal?: AbortSignal } = {}): AsyncGenerator<EventMessage> {
      const response = await this.request('GET', '/events', {
        query: {
          since: options.since || undefined,
          until: options.until || undefined,
          filters: filtersQuery(options.filters),
        },
      });
      options.signal?.addEventListener('abort', () => response.body.destroy(), { once: true });
      try {
        yield* readJsonLines<EventMessage>(response.body);
      } catch (err) {
        if (!options.signal?.aborted) throw err;
      } finally {
        response.body.destroy();
      }
    }
  };
}
