/**
 * The CRI put together: the sandbox and container services over the engine, each RPC a call of
 * theirs, served on one socket. gRPC is loaded only here, when the server starts.
 */
import type { Logger } from '../common/index.js';
import type { Engine, NetworkPort } from '../engine/index.js';
import { Containers } from './containers.js';
import { imageHandlers } from './image-service.js';
import { runtimeConfig, status, version } from './runtime-info.js';
import { Sandboxes } from './sandboxes.js';
import { SandboxStore } from './sandbox-store.js';
import { Stats } from './stats.js';
import { StreamingServer } from './streaming.js';
import { CriInvalidError } from './grpc-errors.js';
import type { CriHandler, CriServer } from './server.js';

export type { CriServer } from './server.js';

export interface CriDependencies {
  engine: Engine;
  /** The network service the Docker side uses: pods join the default bridge through it. */
  networks: NetworkPort | undefined;
  socketPath: string;
  logger: Logger;
  /** native berth-port-relay, which makes PortForward's connections inside a pod's network namespace. */
  portRelayPath: string;
}

/** Ids of the pod sandboxes under `root` whose network namespaces are in use (kept by network recovery). */
export function readySandboxIds(root: string): Promise<string[]> {
  return SandboxStore.readyIds(root);
}

/** The CRI's rules for the streams an Exec or Attach asks for. */
function checkStreams(r: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): void {
  if (!r.stdin && !r.stdout && !r.stderr) throw new CriInvalidError('stdout', 'one of stdin, stdout and stderr must be streamed');
  if (r.tty && r.stderr) throw new CriInvalidError('stderr', 'with a tty, stderr is part of stdout');
}

/** Serve the CRI on `deps.socketPath`. */
export async function startCri(deps: CriDependencies): Promise<CriServer> {
  const { engine, networks, logger } = deps;
  const store = await SandboxStore.open(engine.facts.root, logger);
  const sandboxes = new Sandboxes({ engine, networks, store, logger });
  const containers = new Containers({ engine, sandboxes: store, logger });
  const stats = new Stats(engine, store);
  const streaming = new StreamingServer(engine, logger, deps.portRelayPath);
  await streaming.start();
  const handlers = {
    Version: () => version(engine),
    Status: () => status(networks),
    RuntimeConfig: () => runtimeConfig(),
    RunPodSandbox: (r: Parameters<Sandboxes['run']>[0]) => sandboxes.run(r),
    StopPodSandbox: (r: Parameters<Sandboxes['stop']>[0]) => sandboxes.stop(r),
    RemovePodSandbox: (r: Parameters<Sandboxes['remove']>[0]) => sandboxes.remove(r),
    PodSandboxStatus: (r: Parameters<Sandboxes['status']>[0]) => sandboxes.status(r, (c) => containers.statusOf(c)),
    ListPodSandbox: (r: Parameters<Sandboxes['list']>[0]) => sandboxes.list(r),
    CreateContainer: (r: Parameters<Containers['create']>[0]) => containers.create(r),
    StartContainer: (r: Parameters<Containers['start']>[0]) => containers.start(r),
    StopContainer: (r: Parameters<Containers['stop']>[0]) => containers.stop(r),
    RemoveContainer: (r: Parameters<Containers['remove']>[0]) => containers.remove(r),
    ListContainers: (r: Parameters<Containers['list']>[0]) => containers.list(r),
    ContainerStatus: (r: Parameters<Containers['status']>[0]) => containers.status(r),
    ReopenContainerLog: (r: Parameters<Containers['reopenLog']>[0]) => containers.reopenLog(r),
    ExecSync: (r: Parameters<Containers['execSync']>[0]) => containers.execSync(r),
    UpdateContainerResources: (r: Parameters<Containers['updateResources']>[0]) => containers.updateResources(r),
    Exec: (r: { container_id: string; cmd: string[]; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }) => {
      const record = containers.get(r.container_id);
      if (record.state.status !== 'running') throw new CriInvalidError('container_id', `container ${record.id} is not running`);
      if (r.cmd.length === 0) throw new CriInvalidError('cmd', 'a command is required');
      checkStreams(r);
      return { url: streaming.execUrl({ containerId: record.id, cmd: r.cmd, tty: r.tty, stdin: r.stdin, stdout: r.stdout, stderr: r.stderr }) };
    },
    Attach: (r: { container_id: string; stdin: boolean; tty: boolean; stdout: boolean; stderr: boolean }) => {
      const record = containers.get(r.container_id);
      if (record.state.status !== 'running') throw new CriInvalidError('container_id', `container ${record.id} is not running`);
      checkStreams(r);
      if (r.tty !== record.settings.tty) throw new CriInvalidError('tty', `tty is ${r.tty} but container ${record.id} was created with tty ${record.settings.tty}`);
      if (r.stdin && !record.settings.openStdin) throw new CriInvalidError('stdin', `container ${record.id} was created without stdin`);
      return { url: streaming.attachUrl({ containerId: record.id, tty: r.tty, stdin: r.stdin, stdout: r.stdout, stderr: r.stderr }) };
    },
    PortForward: (r: { pod_sandbox_id: string; port: number[] }) => {
      const pod = store.get(r.pod_sandbox_id);
      if (pod.state !== 'SANDBOX_READY') throw new CriInvalidError('pod_sandbox_id', `pod sandbox ${pod.id} is not ready`);
      // No ports is what a kubelet asks for kubectl's SPDY port-forward: each connection names its own.
      const badPort = r.port.find((port) => !Number.isInteger(port) || port < 1 || port > 65535);
      if (badPort !== undefined) throw new CriInvalidError('port', `port ${badPort} is not between 1 and 65535`);
      // With the node's network the relay stays where it is (its own namespace is the node's).
      const netnsPath = pod.hostNetwork ? '/proc/self/ns/net' : networks?.namespaceOf(pod.id);
      if (!netnsPath) throw new CriInvalidError('pod_sandbox_id', `pod sandbox ${pod.id} has no network namespace`);
      return { url: streaming.portForwardUrl({ podId: pod.id, netnsPath, ports: r.port }) };
    },
    ContainerStats: async (r: { container_id: string }) => ({ stats: await stats.container(containers.get(r.container_id)) }),
    ListContainerStats: async (r: { filter: Parameters<Stats['listContainers']>[0] }) => ({ stats: await stats.listContainers(r.filter) }),
    PodSandboxStats: async (r: { pod_sandbox_id: string }) => ({ stats: await stats.pod(store.get(r.pod_sandbox_id)) }),
    ListPodSandboxStats: async (r: { filter: Parameters<Stats['listPods']>[0] }) => ({ stats: await stats.listPods(r.filter) }),
  };
  try {
    const { serveCri } = await import('./server.js');
    const server = await serveCri({
      socketPath: deps.socketPath,
      runtime: handlers as unknown as Record<string, CriHandler>,
      image: imageHandlers(engine) as unknown as Record<string, CriHandler>,
      logger,
    });
    return {
      socketPath: server.socketPath,
      async close() {
        await server.close();
        await streaming.close();
      },
    };
  } catch (err) {
    await streaming.close();
    throw err;
  }
}
