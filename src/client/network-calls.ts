/** The network calls of the Engine API client. */
import type { Network, NetworkCreateResponse, NetworkPruneResponse } from '../api/wire/index.js';
import { filtersQuery, type ConnectionClass, type Filters } from './api-connection.js';

/** NetworkCalls layered on a connection: EngineClient is made of these. */
export function withNetworkCalls<Base extends ConnectionClass>(Base: Base) {
  return class NetworkCalls extends Base {
    /** `POST /networks/create` (body as docker's CLI sends it). */
    networkCreate(body: Record<string, unknown>): Promise<NetworkCreateResponse> {
      return this.json('POST', '/networks/create', { body });
    }

    /** `GET /networks?filters=`. */
    networkList(filters: Filters = {}): Promise<Network[]> {
      return this.json('GET', '/networks', { query: { filters: filtersQuery(filters) } });
    }

    /** `GET /networks/{id}`. */
    networkInspect(ref: string): Promise<Network> {
      return this.json('GET', `/networks/${encodeURIComponent(ref)}`);
    }

    /** `DELETE /networks/{id}`. */
    networkRemove(ref: string): Promise<void> {
      return this.call('DELETE', `/networks/${encodeURIComponent(ref)}`);
    }

    /** `POST /networks/prune?filters=`. */
    networkPrune(filters: Filters = {}): Promise<NetworkPruneResponse> {
      return this.json('POST', '/networks/prune', { query: { filters: filtersQuery(filters) } });
    }

    /** `POST /networks/{id}/connect`. */
    networkConnect(ref: string, body: { Container: string; EndpointConfig?: Record<string, unknown> }): Promise<void> {
      return this.call('POST', `/networks/${encodeURIComponent(ref)}/connect`, { body });
    }

    /** `POST /networks/{id}/disconnect`. */
    networkDisconnect(ref: string, body: { Container: string; Force?: boolean }): Promise<void> {
      return this.call('POST', `/networks/${encodeURIComponent(ref)}/disconnect`, { body });
    }
  };
}
