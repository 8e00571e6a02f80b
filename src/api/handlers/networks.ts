/**
 * Network endpoints: list, inspect, create, remove, prune, connect, disconnect (moby's
 * `/networks` routes).
 */
import { NotImplementedError } from '../../common/index.js';
import type { Engine, NetworkManager } from '../../engine/index.js';
import type { Router } from '../router.js';
import { fromDockerEndpointConfig, fromDockerNetworkCreate, refuseUnsupportedEndpointSettings, toDockerNetwork } from '../translate/index.js';
import { networkConnectSchema, networkCreateSchema, networkDisconnectSchema, type NetworkCreateResponse, type NetworkPruneResponse } from '../wire/index.js';

export function addNetworkRoutes(router: Router, engine: Engine): void {
  const networks = (): NetworkManager => {
    if (!engine.networks) throw new NotImplementedError('networks are not available on this daemon');
    return engine.networks;
  };
  const nameOf = (id: string): string => {
    try {
      return engine.containers.get(id).name;
    } catch {
      return '';
    }
  };

  router.add('GET', '/networks', async (req) => {
    return { body: networks().list(req.filters()).map((usage) => toDockerNetwork(usage, nameOf)) };
  });

  router.add('GET', '/networks/{id}', async (req) => {
    return { body: toDockerNetwork(networks().get(req.param('id')), nameOf) };
  });

  router.add('POST', '/networks/create', async (req) => {
    const body = await req.json(networkCreateSchema);
    const network = await networks().create(fromDockerNetworkCreate(body));
    const answer: NetworkCreateResponse = { Id: network.id, Warning: '' };
    return { status: 201, body: answer };
  });

  router.add('DELETE', '/networks/{id}', async (req) => {
    await networks().remove(req.param('id'));
    return { status: 204 };
  });

  router.add('POST', '/networks/prune', async (req) => {
    const deleted = await networks().prune(req.filters());
    const body: NetworkPruneResponse = { NetworksDeleted: deleted.length > 0 ? deleted : null };
    return { body };
  });

  router.add('POST', '/networks/{id}/connect', async (req) => {
    const body = await req.json(networkConnectSchema);
    refuseUnsupportedEndpointSettings(body.EndpointConfig);
    await networks().connect(req.param('id'), body.Container, fromDockerEndpointConfig(body.EndpointConfig));
    return { status: 200 };
  });

  router.add('POST', '/networks/{id}/disconnect', async (req) => {
    const body = await req.json(networkDisconnectSchema);
    await networks().disconnect(req.param('id'), body.Container);
    return { status: 200 };
  });
}
