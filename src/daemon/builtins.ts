/**
 * The one place that builds concrete services: the image store, the overlay snapshotter, the
 * conmon-driven runtimes, the exit watcher, and the engine over them.
 */
import { dirname, join } from 'node:path';
import { messageOf, type Logger } from '../common/index.js';
import { ContainerService, Engine, EventBus, ExecService, isRunningStatus, NetworkManager, VolumeManager, type NetworkPort, type Runtime, type RuntimeTraits } from '../engine/index.js';
import { CniNetworkService, defaultBridgeNameFor } from '../network/index.js';
import { ImageService } from '../image/index.js';
import { readySandboxIds } from '../cri/index.js';
import { VolumeService } from '../volume/index.js';
import { ConmonRuntime, ExitWatcher } from '../runtime/index.js';
import { OverlaySnapshotter } from '../snapshot/index.js';
import { berthCgroupsPath, ensureRuntimeCgroups, grantRealtimeBudget, HostMounter, MountHelper, probeCgroupFeatures, SystemHostTools } from '../sys/index.js';
import { VM_RUNTIME, type DaemonConfig } from './config.js';
import { readDaemonFacts } from './facts.js';
import { checkSystem } from './system-check.js';
import { berthHome } from './version.js';

/** crun and runc: the container's processes on the host's kernel, in namespaces the engine may share. */
export const PROCESS_TRAITS: RuntimeTraits = { isolation: 'process', sharesHostKernel: true, sharesNetworkNamespace: true, hotPlugsNetworks: true, listsProcesses: false };

/**
 * berth-vm: a microVM per container. Its network stack is inside the guest (its namespace's eth0
 * is redirected into the VM) and configures IPv4 only, its devices are fixed at boot, its processes are listed by the
 * guest agent, and its state says why a VM ended without the container's status and which
 * accelerator it ran with.
 */
export const VM_TRAITS: RuntimeTraits = {
  isolation: 'vm',
  sharesHostKernel: false,
  sharesNetworkNamespace: false,
  hotPlugsNetworks: false,
  listsProcesses: true,
  ipv4Only: true,
  exitReasonAnnotation: 'io.berth.vm.error',
  acceleratorAnnotation: 'io.berth.vm.accel',
};

export interface Services {
  engine: Engine;
  /** The network service, which the CRI's pods join networks through. */
  networks: NetworkPort;
  exits: ExitWatcher;
  close(): Promise<void>;
}

/** Build and start everything berthd serves; recovers containers from disk. */
export async function buildServices(config: DaemonConfig, version: string, logger: Logger): Promise<Services> {
  const cgroups = await ensureRuntimeCgroups();
  for (const problem of cgroups.problems) logger.warn(problem);
  if (cgroups.mounted.length > 0) logger.info('mounted cgroup hierarchies the runtime needs', { mounted: cgroups.mounted });

  // Through the helper, the rootfs mount of every start and its unmount at exit, and a bridge
  // container's namespace handle, cost no process start.
  const mountHelper = new MountHelper(join(berthHome(), 'build', 'berth-mount'), logger);
  const snapshotter = await OverlaySnapshotter.open({ root: config.root, mounter: new HostMounter({ helper: mountHelper }), logger });
  const images = await ImageService.open({
    root: config.root,
    logger,
    snapshotter,
    registry: { insecureRegistries: config.insecureRegistries, isDefaultRegistryDisabled: config.isDefaultRegistryDisabled },
  });
  try {
    await images.ensureBuiltinBusybox();
  } catch (err) {
    logger.warn('the built-in busybox image could not be made', { error: messageOf(err) });
  }

  const exits = new ExitWatcher(join(config.execRoot, 'exits'), logger);
  const runtimes: Record<string, Runtime> = {};
  // berth-vm reads its accelerator from the environment conmon hands down.
  if (config.vmAccel) process.env.BERTH_VM_ACCEL = config.vmAccel;
  for (const [name, path] of Object.entries(config.runtimes)) {
    runtimes[name] = new ConmonRuntime({
      runtimePath: path,
      conmonPath: '/usr/bin/conmon',
      runtimeRoot: join(config.execRoot, 'runtime', name),
      exitDir: join(config.execRoot, 'exits'),
      persistDir: join(config.execRoot, 'conmon'),
      attachHelperPath: join(berthHome(), 'build', 'berth-attach'),
      logger,
      traits: name === VM_RUNTIME ? VM_TRAITS : PROCESS_TRAITS,
      exits,
      isCrun: name === 'crun',
      // Process runtimes; a VM container's start is QEMU's boot, where ~15 ms do not show.
      // berth-vm's exec hands the process to its shim and returns: it has no foreground exec.
      ...(name === VM_RUNTIME ? {} : { spawnHelper: mountHelper, execsInForeground: true }),
    });
  }

  const events = new EventBus();
  const volumes = await VolumeService.open({ root: config.root, mounter: new HostMounter(), logger });
  const networks = await CniNetworkService.open({ root: config.root, execRoot: config.execRoot, cniPath: config.cniPluginDir, logger, defaultBridgeName: defaultBridgeNameFor(config.root), mountHelper });
  const hostFeatures = await probeCgroupFeatures(cgroups.mode);
  // dockerd's --cpu-rt-runtime: the containers' parent gets the budget their own runtimes share.
  const realtimeBudgetUs = hostFeatures.cpuRealtime ? config.cpuRealtimeRuntimeUs : 0;
  if (realtimeBudgetUs > 0) await grantRealtimeBudget(dirname(berthCgroupsPath('x')), config.cpuRealtimePeriodUs, realtimeBudgetUs);
  const containers = await ContainerService.open({
    root: config.root,
    execRoot: config.execRoot,
    defaultRuntime: config.defaultRuntime,
    knownRuntimes: Object.keys(config.runtimes),
    defaultIsolation: config.defaultIsolation,
    init: { path: config.initPath, isDefault: config.isInitDefault },
    images,
    rootfs: snapshotter,
    runtimes,
    events,
    logger,
    volumes,
    networks,
    hostTools: new SystemHostTools(),
    hostMounter: new HostMounter(),
    cgroupFeatures: { ...hostFeatures, cpuRealtimeBudgetUs: realtimeBudgetUs },
  });
  await containers.recover();
  // After recovery handled the exits that happened while berthd was down: what is left belongs to no running container.
  // Ready pod sandboxes (the CRI's) hold network namespaces of their own under their ids.
  const inUse = [...containers.all().filter((c) => isRunningStatus(c.state.status)).map((c) => c.id), ...(await readySandboxIds(config.root))];
  await networks.recover(new Set(inUse));
  exits.on('exit', (id, exitCode) => {
    void containers.handleExit(id, exitCode).catch((err: unknown) => logger.error('handling an exit failed', { id, error: messageOf(err) }));
  });
  await exits.start();
  const stopWatchingMonitors = containers.watchMonitors();

  const facts = await readDaemonFacts(config, version, cgroups.mode === 'v2' ? '2' : '1');
  const engine = new Engine({
    containers,
    execs: new ExecService(containers, logger),
    images,
    events,
    facts,
    volumes: new VolumeManager({ port: volumes, containers, events }),
    networks: new NetworkManager({ port: networks, containers, events }),
    checker: () => checkSystem({ root: config.root, execRoot: config.execRoot, containers, images, networks }),
  });
  for (const undone of (await engine.networks?.recoverConnects()) ?? []) logger.info('undid a network connect a crash cut short', undone);
  await engine.releaseHeldImages();
  return {
    engine,
    networks,
    exits,
    async close() {
      stopWatchingMonitors();
      await exits.stop();
      await networks.close();
      mountHelper.close();
    },
  };
}
