/** The volume calls of the Engine API client. */
import type { Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse } from '../api/wire/index.js';
import { filtersQuery, type ConnectionClass, type Filters } from './api-connection.js';

/** VolumeCalls layered on a connection: EngineClient is made of these. */
export function withVolumeCalls<Base extends ConnectionClass>(Base: Base) {
  return class VolumeCalls extends Base {
    /** `POST /volumes/create`: the new volume, or the existing one of that name. */
    volumeCreate(body: VolumeCreateOptions): Promise<Volume> {
      return this.json('POST', '/volumes/create', { body });
    }

    /** `GET /volumes`. */
    volumeList(filters: Filters = {}): Promise<VolumeListResponse> {
      return this.json('GET', '/volumes', { query: { filters: filtersQuery(filters) } });
    }

    /** `GET /volumes/{name}`. */
    volumeInspect(name: string): Promise<Volume> {
      return this.json('GET', `/volumes/${encodeURIComponent(name)}`);
    }

    /** `DELETE /volumes/{name}?force=`. */
    volumeRemove(name: string, options: { force?: boolean } = {}): Promise<void> {
      return this.call('DELETE', `/volumes/${encodeURIComponent(name)}`, { query: { force: options.force || undefined } });
    }

    /** `POST /volumes/prune?filters=`. */
    volumePrune(filters: Filters = {}): Promise<VolumePruneResponse> {
      return this.json('POST', '/volumes/prune', { query: { filters: filtersQuery(filters) } });
    }
  };
}
