/**
 * Pod sandboxes: RunPodSandbox gives a pod its network namespace (through the network service,
 * as a Docker container on the default bridge gets one) and its cgroup parent; there is no pause
 * process. Stop ends the pod's containers and releases the network; Remove removes them too.
 */
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { isErrorKind, newId, type Logger } from '../common/index.js';
import { isRunningStatus, type ContainerRecord, type Engine, type NetworkPort } from '../engine/index.js';
import { removeCgroupDirs } from '../sys/index.js';
import { CriInvalidError, CriUnsupportedError } from './grpc-errors.js';
import { createIpcHandle, removeIpcHandle } from './ipc-handle.js';
import { createPidHandle, removePidHandle } from './pid-handle.js';
import { runtimeForHandler } from './runtime-info.js';
import { SandboxStore, type SandboxRecord } from './sandbox-store.js';
import { LABEL_SANDBOX_ID, labelsMatch, nowNanos, sandboxSettings } from './translate.js';
import type { PodSandboxConfig, SandboxStateName } from './wire.js';

/** Where berthd puts a pod's containers' cgroups when the kubelet names no parent. */
export const BERTH_PODS_CGROUP = '/berth-pods';

export interface SandboxDeps {
  engine: Engine;
  networks: NetworkPort | undefined;
  store: SandboxStore;
  logger: Logger;
}

/** The engine containers of a pod. */
export function containersOf(engine: Engine, sandboxId: string): ContainerRecord[] {
  return engine.containers.all().filter((c) => c.settings.labels[LABEL_SANDBOX_ID] === sandboxId);
}

function toPodSandbox(record: SandboxRecord): object {
  return {
    id: record.id,
    metadata: record.metadata,
    state: record.state,
    created_at: record.createdAtNs,
    labels: record.labels,
    annotations: record.annotations,
    runtime_handler: record.runtimeHandler,
  };
}

function namespaceOptions(record: SandboxRecord): object {
  return {
    network: record.hostNetwork ? 'NODE' : 'POD',
    pid: record.hostPid ? 'NODE' : record.sharesPid ? 'POD' : 'CONTAINER',
    ipc: record.hostIpc ? 'NODE' : 'POD',
    target_id: '',
    userns_options: { mode: 'NODE', uids: [], gids: [] },
  };
}

export class Sandboxes {
  readonly #deps: SandboxDeps;

  constructor(deps: SandboxDeps) {
    this.#deps = deps;
  }

  get store(): SandboxStore {
    return this.#deps.store;
  }

  async run(request: { config: PodSandboxConfig | null; runtime_handler: string }): Promise<{ pod_sandbox_id: string }> {
    const { engine, networks, store } = this.#deps;
    const settings = sandboxSettings(request.config);
    const runtime = runtimeForHandler(request.runtime_handler, engine.facts.defaultRuntime);
    if (!settings.hostNetwork && !networks) throw new CriUnsupportedError('config.linux.security_context.namespace_options.network', 'POD: berthd runs without a network service');
    const duplicate = store.all().find((s) => s.metadata.uid === settings.metadata.uid && s.metadata.attempt === settings.metadata.attempt && s.metadata.name === settings.metadata.name);
    if (duplicate) throw new CriInvalidError('config.metadata', `pod ${settings.metadata.namespace}/${settings.metadata.name} attempt ${settings.metadata.attempt} already has sandbox ${duplicate.id}`);
    const id = newId();
    const ownsCgroupParent = settings.cgroupParent === '';
    const record: SandboxRecord = {
      ...settings,
      id,
      createdAtNs: nowNanos(),
      runtimeHandler: request.runtime_handler,
      runtime,
      state: 'SANDBOX_NOTREADY',
      hostname: settings.hostname !== '' ? settings.hostname : settings.hostNetwork ? osHostname() : settings.metadata.name,
      ip: '',
      ipcPath: '',
      cgroupParent: ownsCgroupParent ? `${BERTH_PODS_CGROUP}/${id}` : settings.cgroupParent,
      ownsCgroupParent,
    };
    // The record first, so a crash mid-way leaves something RemovePodSandbox (or recovery) can clean.
    await store.save(record);
    try {
      if (!record.hostIpc) record.ipcPath = await createIpcHandle(join(engine.facts.execRoot, 'cri', 'ipc'), id);
      if (record.sharesPid) {
        record.pidHandle = await createPidHandle(join(engine.facts.execRoot, 'cri', 'pid'), id);
        // At once: the init it holds outlives berthd, and a crash from here on must find it to end it.
        await store.save(record);
      }
      if (!record.hostNetwork && networks) {
        const bridge = networks.get('bridge');
        const { endpoints } = await networks.setUp(id, [{
          networkId: bridge.id,
          containerName: record.metadata.name,
          aliases: [],
          ipv4Address: '',
          ipv6Address: '',
          macAddress: '',
          ports: record.portMappings,
          dnsServers: [],
        }]);
        record.ip = endpoints[0]?.ipAddress ?? '';
      }
      record.state = 'SANDBOX_READY';
      await store.save(record);
    } catch (err) {
      await networks?.tearDown(id).catch(() => {});
      if (record.ipcPath !== '') await removeIpcHandle(record.ipcPath).catch(() => {});
      if (record.pidHandle) await removePidHandle(record.pidHandle).catch(() => {});
      await store.remove(id);
      throw err;
    }
    return { pod_sandbox_id: id };
  }

  /** Stop the pod's containers (at once: the kubelet stopped them gracefully before) and release its network. */
  async stop(request: { pod_sandbox_id: string }): Promise<object> {
    const { engine, networks, store } = this.#deps;
    const record = store.find(request.pod_sandbox_id);
    if (!record) return {};
    for (const container of containersOf(engine, record.id)) {
      if (isRunningStatus(container.state.status)) {
        await engine.containers.stop(container.id, { timeoutSec: 0 }).catch((err: unknown) => {
          if (!isErrorKind(err, 'not-modified') && !isErrorKind(err, 'not-found')) throw err;
        });
      }
    }
    await networks?.tearDown(record.id);
    if (record.ipcPath !== '') await removeIpcHandle(record.ipcPath);
    if (record.pidHandle) await removePidHandle(record.pidHandle);
    if (record.state !== 'SANDBOX_NOTREADY' || record.ipcPath !== '' || record.pidHandle) {
      record.state = 'SANDBOX_NOTREADY';
      record.ip = '';
      record.ipcPath = '';
      delete record.pidHandle;
      await store.save(record);
    }
    return {};
  }

  async remove(request: { pod_sandbox_id: string }): Promise<object> {
    const { engine, store, logger } = this.#deps;
    const record = store.find(request.pod_sandbox_id);
    if (!record) return {};
    await this.stop({ pod_sandbox_id: record.id });
    for (const container of containersOf(engine, record.id)) {
      await engine.containers.remove(container.id, { force: true, removeVolumes: true }).catch((err: unknown) => {
        if (!isErrorKind(err, 'not-found')) throw err;
      });
    }
    if (record.ownsCgroupParent) {
      const left = await removeCgroupDirs(record.cgroupParent);
      if (left.length > 0) logger.warn('a pod cgroup could not be removed', { sandbox: record.id, left: left.join(' ') });
    }
    await store.remove(record.id);
    return {};
  }

  status(request: { pod_sandbox_id: string; verbose: boolean }, containerStatus: (record: ContainerRecord) => object): object {
    const { engine, networks, store } = this.#deps;
    const record = store.get(request.pod_sandbox_id);
    const info: Record<string, string> = {};
    if (request.verbose) {
      info['info'] = JSON.stringify({ netns: networks?.namespaceOf(record.id) ?? '', cgroupParent: record.cgroupParent, runtime: record.runtime, hostname: record.hostname });
    }
    return {
      status: {
        id: record.id,
        metadata: record.metadata,
        state: record.state,
        created_at: record.createdAtNs,
        network: { ip: record.ip, additional_ips: [] },
        linux: { namespaces: { options: namespaceOptions(record) } },
        labels: record.labels,
        annotations: record.annotations,
        runtime_handler: record.runtimeHandler,
      },
      info,
      containers_statuses: containersOf(engine, record.id).map(containerStatus),
      timestamp: nowNanos(),
    };
  }

  list(request: { filter: { id: string; state: { state: SandboxStateName } | null; label_selector: Record<string, string> } | null }): object {
    const filter = request.filter;
    const items = this.#deps.store.all().filter((record) => {
      if (filter?.id && !record.id.startsWith(filter.id)) return false;
      if (filter?.state && record.state !== filter.state.state) return false;
      return labelsMatch(record.labels, filter?.label_selector);
    });
    return { items: items.map(toPodSandbox) };
  }
}
