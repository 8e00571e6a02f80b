/**
 * `/_ping`, `/version`, `/info`: what clients ask first to negotiate and describe the daemon.
 */
import type { Engine, VmFacts } from '../../engine/index.js';
import type { Router } from '../router.js';
import type { SystemInfo, SystemVersion } from '../wire/index.js';
import { MAX_API_VERSION, MIN_API_VERSION } from '../version.js';
import { DEFAULT_LOG_DRIVER, isRunningStatus } from '../../engine/index.js';

export function addSystemRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/_ping', async (req, res) => {
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Docker-Experimental': 'false',
      'Builder-Version': '1',
      Swarm: 'inactive',
      'Content-Length': 2,
    });
    res.end(req.raw.method === 'HEAD' ? undefined : 'OK');
    return undefined;
  });

  router.add('GET', '/version', async () => ({ body: versionOf(engine) }));
  router.add('GET', '/info', async () => ({ body: await infoOf(engine) }));
  // Berth's own (docker has no such endpoint): what interrupted operations left behind.
  router.add('GET', '/system/check', async () => ({ body: await engine.check() }));
}

function versionOf(engine: Engine): SystemVersion {
  const facts = engine.facts;
  return {
    Platform: { Name: 'Berth' },
    Components: [
      { Name: 'Engine', Version: facts.version, Details: { ApiVersion: MAX_API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: 'amd64', KernelVersion: facts.kernelVersion } },
      ...Object.entries(facts.runtimes).map(([name, path]) => ({ Name: name, Version: path })),
    ],
    Version: facts.version,
    ApiVersion: MAX_API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: 'berth',
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: process.arch === 'x64' ? 'amd64' : process.arch,
    KernelVersion: facts.kernelVersion,
    BuildTime: facts.startedAt,
  };
}

/**
 * VM isolation as `docker info` shows it: SystemStatus is the one list of free `key: value`
 * pairs the docker CLI (v28) prints on Linux (Labels are the user's, Isolation is printed for
 * Windows daemons only).
 */
function vmStatus(vm: VmFacts): [string, string][] {
  return [
    ['VM Accelerator', vm.accelerator ? `${vm.accelerator} (${vm.reason})` : `none (${vm.reason})`],
    ...(vm.guestKernel ? [['VM Guest Kernel', vm.guestKernel] as [string, string]] : []),
  ];
}

async function infoOf(engine: Engine): Promise<SystemInfo> {
  const facts = engine.facts;
  const containers = engine.containers.all();
  const running = containers.filter((c) => c.state.status === 'running').length;
  const paused = containers.filter((c) => c.state.status === 'paused').length;
  const images = await engine.images.list();
  const vm = await facts.vm;
  return {
    ID: facts.hostname,
    Containers: containers.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: containers.filter((c) => !isRunningStatus(c.state.status)).length,
    Images: images.length,
    Driver: 'overlay',
    DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
    ...(vm ? { SystemStatus: vmStatus(vm) } : {}),
    DockerRootDir: facts.root,
    Plugins: { Volume: ['local'], Network: ['null'], Authorization: null, Log: ['json-file', 'local', 'none'] },
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    OomKillDisable: facts.cgroupVersion === '1',
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: DEFAULT_LOG_DRIVER,
    CgroupDriver: 'cgroupfs',
    CgroupVersion: facts.cgroupVersion,
    NEventsListener: 0,
    KernelVersion: facts.kernelVersion,
    OperatingSystem: facts.operatingSystem,
    OSVersion: '',
    OSType: 'linux',
    Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
    NCPU: facts.cpus,
    MemTotal: facts.memoryBytes,
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: [] },
    GenericResources: null,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: facts.hostname,
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: facts.version,
    Runtimes: Object.fromEntries(Object.entries(facts.runtimes).map(([name, path]) => [name, { path }])),
    DefaultRuntime: facts.defaultRuntime,
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: facts.defaultIsolation,
    InitBinary: '',
    ContainerdCommit: { ID: '' },
    RuncCommit: { ID: '' },
    InitCommit: { ID: '' },
    SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'],
    Warnings: null,
  };
}
