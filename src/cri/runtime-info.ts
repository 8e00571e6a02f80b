/**
 * Version, Status and RuntimeConfig: what the kubelet asks first. The runtime handlers are the
 * process runtimes berthd has (crun, runc); '' is the daemon's default.
 */
import type { Engine, NetworkPort } from '../engine/index.js';
import { CriUnsupportedError } from './grpc-errors.js';

/** The CRI API version served. */
export const CRI_API_VERSION = 'v1';

/** Handlers that run a pod's containers as processes on the host's kernel. */
export const PROCESS_HANDLERS = ['crun', 'runc'] as const;

/** The engine runtime a RuntimeClass handler names ('' is the daemon's default). */
export function runtimeForHandler(handler: string, defaultRuntime: string): string {
  if (handler === '') return defaultRuntime;
  if ((PROCESS_HANDLERS as readonly string[]).includes(handler)) return handler;
  if (handler === 'berth-vm') throw new CriUnsupportedError('runtime_handler', 'berth-vm (a pod in one microVM) is not served over the CRI yet; use crun or runc');
  throw new CriUnsupportedError('runtime_handler', `unknown runtime handler ${JSON.stringify(handler)}: berthd serves ${['""', ...PROCESS_HANDLERS].join(', ')}`);
}

export function version(engine: Engine): object {
  return { version: '0.1.0', runtime_name: 'berth', runtime_version: engine.facts.version, runtime_api_version: CRI_API_VERSION };
}

/** RuntimeReady always (berthd answers); NetworkReady while the default bridge network exists. */
export function status(networks: NetworkPort | undefined): object {
  let networkReady = false;
  let networkMessage = 'berthd runs without a network service';
  if (networks) {
    try {
      networks.get('bridge');
      networkReady = true;
      networkMessage = '';
    } catch (err) {
      networkMessage = `the default bridge network is missing: ${(err as Error).message}`;
    }
  }
  return {
    status: {
      conditions: [
        { type: 'RuntimeReady', status: true, reason: '', message: '' },
        { type: 'NetworkReady', status: networkReady, reason: networkReady ? '' : 'NetworkPluginNotReady', message: networkMessage },
      ],
    },
    info: {},
    runtime_handlers: ['', ...PROCESS_HANDLERS].map((name) => ({ name, features: { recursive_read_only_mounts: false, user_namespaces: false } })),
    features: { supplemental_groups_policy: false },
  };
}

/** Berth manages cgroups with cgroupfs paths. */
export function runtimeConfig(): object {
  return { linux: { cgroup_driver: 'CGROUPFS' } };
}
