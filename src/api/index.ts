// The Docker Engine API: the HTTP server, its routes and handlers, error mapping.
// Imports build/, engine/, api/wire, api/translate and common/.
import type { Engine } from '../engine/index.js';
import { addArchiveRoutes } from './handlers/archive.js';
import { addBuildRoutes } from './handlers/build.js';
import { addContainerRoutes } from './handlers/containers.js';
import { addContainerControlRoutes } from './handlers/container-control.js';
import { addEventRoutes } from './handlers/events.js';
import { addStatsRoutes } from './handlers/stats.js';
import { addExecRoutes } from './handlers/exec.js';
import { addImageRoutes } from './handlers/images.js';
import { addImageTransferRoutes } from './handlers/image-transfer.js';
import { addSwarmRoutes } from './handlers/swarm.js';
import { addSystemRoutes } from './handlers/system.js';
import { addVolumeRoutes } from './handlers/volumes.js';
import { addNetworkRoutes } from './handlers/networks.js';
import { Router } from './router.js';

export { closeApiServer, createApiServer, listenOnTcp, listenOnUnixSocket } from './server.js';
export { MAX_API_VERSION, MIN_API_VERSION } from './version.js';
export { statusOf } from './errors.js';
export { Router } from './router.js';

/** Every route Berth serves, bound to one engine. */
export function buildRouter(engine: Engine): Router {
  const router = new Router();
  addSystemRoutes(router, engine);
  addContainerRoutes(router, engine);
  addArchiveRoutes(router, engine);
  addContainerControlRoutes(router, engine);
  addStatsRoutes(router, engine);
  addEventRoutes(router, engine);
  addExecRoutes(router, engine);
  addImageRoutes(router, engine);
  addVolumeRoutes(router, engine);
  addNetworkRoutes(router, engine);
  addImageTransferRoutes(router, engine);
  addSwarmRoutes(router);
  addBuildRoutes(router, engine);
  return router;
}
