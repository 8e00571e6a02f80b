/** What a start hands the runtime's create: the container's record as runtime settings, and where its log and monitor files go. */
import { join } from 'node:path';
import type { ContainerRecord, HostSettings } from '../container.js';
import { logFileOptionsOf, logPolicyOf } from '../log-config.js';
import type { ContainerMount, ContainerRuntimeSettings, CreateOptions } from '../ports.js';
import { limitsOf } from '../resources.js';

/** The parts of a start that are not in the record: where it lives now and what the start prepared. */
export interface StartParts {
  bundleDir: string;
  rootfsDir: string;
  logPath: string;
  /** The directory of the container's hosts, hostname and resolv.conf. */
  userdataDir: string;
  /** argv, the init's arguments included. */
  args: string[];
  env: string[];
  mounts: ContainerMount[];
  networkNamespace: ContainerRuntimeSettings['networkNamespace'];
  pidNamespacePath?: string | undefined;
  /** The IPC namespace to join (a shareable donor's or a pod's), if any. */
  ipcNamespacePath?: string | undefined;
}

/** The runtime's create arguments for `record` started with `parts`; settings left unset keep the runtime's defaults. */
export function runtimeCreateOf(record: ContainerRecord, parts: StartParts): { settings: ContainerRuntimeSettings; options: CreateOptions } {
  const { host, settings: config } = record;
  const settings: ContainerRuntimeSettings = {
    id: record.id,
    bundleDir: parts.bundleDir,
    rootfsDir: parts.rootfsDir,
    args: parts.args,
    env: parts.env,
    cwd: config.workingDir || '/',
    user: config.user,
    hostname: config.hostname,
    isTty: config.tty,
    isStdinOpen: config.openStdin,
    isStdinOnce: config.stdinOnce ?? false,
    etcFiles: {
      hosts: join(parts.userdataDir, 'hosts'),
      hostname: join(parts.userdataDir, 'hostname'),
      resolvConf: join(parts.userdataDir, 'resolv.conf'),
    },
    isPrivileged: host.privileged,
    capAdd: host.capAdd,
    capDrop: host.capDrop,
    isReadonlyRootfs: host.readonlyRootfs,
    securityOpt: host.securityOpt,
    // A pod's containers go below the pod's cgroup; the rest below Berth's own (the runtime's default).
    ...(host.cgroupParent ? { cgroupsPath: `${host.cgroupParent.replace(/\/+$/, '')}/${record.id}` } : {}),
    annotations: { 'io.berth.container.name': record.name },
    networkNamespace: parts.networkNamespace,
    shmSizeBytes: host.shmSizeBytes,
    ...(host.ipcMode === 'none' ? { isShmOmitted: true } : {}),
    mounts: parts.mounts,
    ...limitsOf(host),
    isOomKillDisabled: host.oomKillDisable ?? false,
    ...(config.domainname ? { domainname: config.domainname } : {}),
    ...(host.groupAdd?.length ? { groupAdd: host.groupAdd } : {}),
    ...(host.oomScoreAdj ? { oomScoreAdj: host.oomScoreAdj } : {}),
    ...(host.sysctls && Object.keys(host.sysctls).length > 0 ? { sysctls: host.sysctls } : {}),
    ...(hostNamespacesOf(host).length ? { hostNamespaces: hostNamespacesOf(host) } : {}),
    ...(parts.ipcNamespacePath ? { ipcNamespacePath: parts.ipcNamespacePath } : {}),
    ...(parts.pidNamespacePath ? { pidNamespacePath: parts.pidNamespacePath } : {}),
    ...(host.devices?.length ? { devices: host.devices } : {}),
    ...(host.deviceCgroupRules?.length ? { deviceCgroupRules: host.deviceCgroupRules } : {}),
    ulimits: host.ulimits ?? [],
  };
  const options: CreateOptions = {
    logPath: parts.logPath,
    conmonPidFile: join(parts.bundleDir, 'conmon.pid'),
    log: logFileOptionsOf(logPolicyOf(host.logConfig)),
  };
  return { settings, options };
}

/** The namespaces a container shares with the host (`--pid host`, `--ipc host`, `--uts host`, `--cgroupns host`). */
function hostNamespacesOf(host: HostSettings): Array<'pid' | 'ipc' | 'uts' | 'cgroup'> {
  const shared: Array<'pid' | 'ipc' | 'uts' | 'cgroup'> = [];
  if (host.pidMode === 'host') shared.push('pid');
  if (host.ipcMode === 'host') shared.push('ipc');
  if (host.utsMode === 'host') shared.push('uts');
  if (host.cgroupnsMode === 'host') shared.push('cgroup');
  return shared;
}
