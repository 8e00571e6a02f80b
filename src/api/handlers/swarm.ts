/**
 * Swarm and plugin endpoints. Berth is a single-node engine: it is never part of a swarm and
 * has no managed plugins. Clients probe these (docker-py's `leave_swarm(force=True)` before its
 * network tests, dockerode's `listPlugins`, `docker plugin ls`), so they answer as a dockerd
 * outside a swarm and without plugins does, never with a 404.
 */
import { BerthError, NotFoundError, NotImplementedError } from '../../common/index.js';
import type { Router } from '../router.js';

/** moby's errNoSwarm: the swarm's own endpoints on a node that is in none. */
export class NotInSwarmError extends BerthError {
  constructor() {
    super('unavailable', 'BERTH_NOT_IN_SWARM', 'This node is not part of a swarm');
  }
}

/** moby's errNoManager for a node in no swarm: the cluster objects (nodes, services, ...). */
export class NotSwarmManagerError extends BerthError {
  constructor() {
    super('unavailable', 'BERTH_NOT_SWARM_MANAGER', 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.');
  }
}

const CLUSTER_OBJECTS = ['nodes', 'services', 'tasks', 'secrets', 'configs'];

export function addSwarmRoutes(router: Router): void {
  const notInSwarm = async (): Promise<never> => {
    throw new NotInSwarmError();
  };
  const notManager = async (): Promise<never> => {
    throw new NotSwarmManagerError();
  };
  router.add('GET', '/swarm', notInSwarm);
  for (const action of ['leave', 'update', 'unlock']) router.add('POST', `/swarm/${action}`, notInSwarm);
  router.add('GET', '/swarm/unlockkey', notInSwarm);
  // Joining or starting a swarm would make this node part of one, which Berth cannot be.
  const noSwarmMode = async (): Promise<never> => {
    throw new NotImplementedError('swarm mode is not supported: Berth is a single-node engine');
  };
  router.add('POST', '/swarm/init', noSwarmMode);
  router.add('POST', '/swarm/join', noSwarmMode);
  for (const object of CLUSTER_OBJECTS) {
    router.add('GET', `/${object}`, notManager);
    router.add('POST', `/${object}/create`, notManager);
    router.add('GET', `/${object}/{id}`, notManager);
    router.add('DELETE', `/${object}/{id}`, notManager);
    router.add('POST', `/${object}/{id}/update`, notManager);
  }
  router.add('GET', '/services/{id}/logs', notManager);
  router.add('GET', '/tasks/{id}/logs', notManager);

  router.add('GET', '/plugins', async () => ({ body: [] }));
  const noPlugins = async (): Promise<never> => {
    throw new NotImplementedError('plugins are not supported by Berth');
  };
  router.add('GET', '/plugins/privileges', noPlugins);
  router.add('POST', '/plugins/pull', noPlugins);
  router.add('POST', '/plugins/create', noPlugins);
  router.add('GET', '/plugins/{name*}/json', async (req) => {
    throw new NotFoundError('BERTH_NO_SUCH_PLUGIN', `plugin "${req.param('name')}" not found`);
  });
}
