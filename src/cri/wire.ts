/**
 * The CRI messages as @grpc/proto-loader hands them to Berth and takes them back (runtime-v1.proto,
 * loaded with keepCase, enums as names, 64-bit integers as strings, defaults filled in). Only the
 * fields Berth reads or writes are typed; a request's other fields are checked where it is served.
 */

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type ContainerStateName = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
export type SandboxStateName = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ProfileType = 'RuntimeDefault' | 'Unconfined' | 'Localhost';

/** int64 on the wire: proto-loader gives strings; Berth sends numbers or strings. */
export type Int64 = string | number;

export interface Int64Value {
  value: Int64;
}

export interface UInt64Value {
  value: Int64;
}

export interface ImageSpec {
  image: string;
  annotations: Record<string, string>;
  user_specified_image: string;
  runtime_handler: string;
}

export interface IDMapping {
  host_id: number;
  container_id: number;
  length: number;
}

export interface NamespaceOption {
  network: NamespaceMode;
  pid: NamespaceMode;
  ipc: NamespaceMode;
  target_id: string;
  userns_options: { mode: NamespaceMode; uids: IDMapping[]; gids: IDMapping[] } | null;
}

export interface SecurityProfile {
  profile_type: ProfileType;
  localhost_ref: string;
}

export interface SELinuxOption {
  user: string;
  role: string;
  type: string;
  level: string;
}

export interface LinuxContainerResources {
  cpu_period: Int64;
  cpu_quota: Int64;
  cpu_shares: Int64;
  memory_limit_in_bytes: Int64;
  oom_score_adj: Int64;
  cpuset_cpus: string;
  cpuset_mems: string;
  hugepage_limits: Array<{ page_size: string; limit: Int64 }>;
  unified: Record<string, string>;
  memory_swap_limit_in_bytes: Int64;
}

export interface LinuxSandboxSecurityContext {
  namespace_options: NamespaceOption | null;
  selinux_options: SELinuxOption | null;
  run_as_user: Int64Value | null;
  run_as_group: Int64Value | null;
  readonly_rootfs: boolean;
  supplemental_groups: Int64[];
  supplemental_groups_policy: 'Merge' | 'Strict';
  privileged: boolean;
  seccomp: SecurityProfile | null;
  apparmor: SecurityProfile | null;
  seccomp_profile_path: string;
}

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface PortMapping {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  container_port: number;
  host_port: number;
  host_ip: string;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata | null;
  hostname: string;
  log_directory: string;
  dns_config: { servers: string[]; searches: string[]; options: string[] } | null;
  port_mappings: PortMapping[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  linux: {
    cgroup_parent: string;
    security_context: LinuxSandboxSecurityContext | null;
    sysctls: Record<string, string>;
    overhead: LinuxContainerResources | null;
    resources: LinuxContainerResources | null;
  } | null;
}

export interface Mount {
  container_path: string;
  host_path: string;
  readonly: boolean;
  selinux_relabel: boolean;
  propagation: 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
  uidMappings: IDMapping[];
  gidMappings: IDMapping[];
  recursive_read_only: boolean;
  image: ImageSpec | null;
}

export interface LinuxContainerSecurityContext {
  capabilities: { add_capabilities: string[]; drop_capabilities: string[]; add_ambient_capabilities: string[] } | null;
  privileged: boolean;
  namespace_options: NamespaceOption | null;
  selinux_options: SELinuxOption | null;
  run_as_user: Int64Value | null;
  run_as_username: string;
  run_as_group: Int64Value | null;
  readonly_rootfs: boolean;
  supplemental_groups: Int64[];
  supplemental_groups_policy: 'Merge' | 'Strict';
  apparmor_profile: string;
  seccomp_profile_path: string;
  no_new_privs: boolean;
  masked_paths: string[];
  readonly_paths: string[];
  seccomp: SecurityProfile | null;
  apparmor: SecurityProfile | null;
}

export interface ContainerMetadata {
  name: string;
  attempt: number;
}

export interface ContainerConfig {
  metadata: ContainerMetadata | null;
  image: ImageSpec | null;
  command: string[];
  args: string[];
  working_dir: string;
  envs: Array<{ key: string; value: string }>;
  mounts: Mount[];
  devices: Array<{ container_path: string; host_path: string; permissions: string }>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  log_path: string;
  stdin: boolean;
  stdin_once: boolean;
  tty: boolean;
  linux: { resources: LinuxContainerResources | null; security_context: LinuxContainerSecurityContext | null } | null;
  CDI_devices: Array<{ name: string }>;
}

export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata;
  state: ContainerStateName;
  created_at: Int64;
  started_at: Int64;
  finished_at: Int64;
  exit_code: number;
  image: { image: string };
  image_ref: string;
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Array<Partial<Mount>>;
  log_path: string;
  image_id: string;
}

export interface Container {
  id: string;
  pod_sandbox_id: string;
  metadata: ContainerMetadata;
  image: { image: string };
  image_ref: string;
  state: ContainerStateName;
  created_at: Int64;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  image_id: string;
}

export interface Image {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: Int64;
  uid: Int64Value | null;
  username: string;
  spec: { image: string } | null;
  pinned: boolean;
}

export interface FilesystemUsage {
  timestamp: Int64;
  fs_id: { mountpoint: string };
  used_bytes: UInt64Value;
  inodes_used?: UInt64Value;
}

export interface AuthConfig {
  username: string;
  password: string;
  auth: string;
  server_address: string;
  identity_token: string;
  registry_token: string;
}
