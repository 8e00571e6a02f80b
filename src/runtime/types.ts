/**
 * The engine's view of one container as the runtime layer needs it to build and run an OCI
 * bundle. camelCase, already validated: the API edge checked the user's input.
 */

/** Which network namespace the container gets. */
export type NetworkNamespaceSetting = 'new' | 'host' | { path: string };

/** Host files bind-mounted over the container's /etc/hosts, /etc/hostname, /etc/resolv.conf. */
export interface EtcFiles {
  hosts?: string;
  hostname?: string;
  resolvConf?: string;
}

/** A bind, tmpfs or volume mount the engine resolved to a host path. */
export interface ContainerMount {
  destination: string;
  /** Host path for binds and volumes; ignored for tmpfs. */
  source?: string;
  type: 'bind' | 'tmpfs';
  isReadOnly?: boolean;
  /** Extra mount options (tmpfs `size=64m`, propagation `rprivate`...). */
  options?: string[];
}

/** Everything needed to write a container's config.json. */
export interface ContainerRuntimeSettings {
  /** Full 64-hex container id; also the OCI runtime's container id. */
  id: string;
  /** Directory that holds config.json; conmon puts its attach socket and ctl fifo here. */
  bundleDir: string;
  /** The already-mounted root filesystem (overlay `merged`). */
  rootfsDir: string;
  /** argv; args[0] is looked up in PATH by the runtime. */
  args: string[];
  /** `KEY=value` strings; PATH and HOSTNAME get docker's defaults when missing. */
  env: string[];
  /** Working directory inside the container; '' means '/'. */
  cwd: string;
  /** docker's `--user`: '', name, uid, name:group, uid:gid (groups may be names or ids). */
  user: string;
  hostname: string;
  isTty: boolean;
  isStdinOpen: boolean;
  etcFiles?: EtcFiles;
  mounts?: ContainerMount[];
  isPrivileged: boolean;
  capAdd: string[];
  capDrop: string[];
  isReadonlyRootfs: boolean;
  /** docker's `--security-opt` values: `seccomp=unconfined|<path>`, `no-new-privileges[:true]`, `apparmor=...`, `label=...`. */
  securityOpt: string[];
  /** cgroupfs path; defaults to `/berth/<id>`. */
  cgroupsPath?: string;
  /** Written to the spec's annotations (labels go here too, prefixed by the engine if it wants). */
  annotations?: Record<string, string>;
  networkNamespace: NetworkNamespaceSetting;
  /** `--shm-size` in bytes; docker's default is 64 MiB. */
  shmSizeBytes?: number;
  /** `--memory`, `--pids-limit`, `--cpu-shares`: only what is set is written. */
  memoryLimitBytes?: number;
  pidsLimit?: number;
  cpuShares?: number;
  /** `--sysctl` key/values. */
  sysctls?: Record<string, string>;
  /** `--init`-free process: initial terminal size when isTty. */
  consoleSize?: { height: number; width: number };
}

/** Lifecycle states an OCI runtime reports, plus what Berth derives. */
export type RuntimeStatus = 'created' | 'running' | 'paused' | 'stopped';

/** `Runtime.state` result. */
export interface RuntimeState {
  status: RuntimeStatus;
  /** Host pid of the container's init, when it has one. */
  pid?: number;
}
