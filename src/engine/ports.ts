/**
 * What the engine needs from the services below it. The daemon passes in the concrete
 * implementations (image/, runtime/); the engine sees only these shapes, so tests can
 * hand it fakes and the VM runtime can slot in beside crun.
 */

/** An image as the engine needs it to create and describe containers. */
export interface EngineImage {
  id: string;
  repoTags: string[];
  config: {
    config?: {
      User?: string;
      Env?: string[];
      Cmd?: string[] | null;
      Entrypoint?: string[] | null;
      WorkingDir?: string;
      Labels?: Record<string, string> | null;
      StopSignal?: string;
      ExposedPorts?: Record<string, Record<string, never>>;
      Volumes?: Record<string, Record<string, never>>;
    };
  };
}

/** The image store, as the engine uses it. */
export interface ImagePort {
  get(ref: string): Promise<EngineImage>;
  lowerDirs(imageId: string): Promise<string[]>;
}

/** Mounting a container's root filesystem. */
export interface RootfsPort {
  mount(options: { lowerDirs: string[]; upperDir: string; workDir: string; mergedDir: string }): Promise<void>;
  unmount(mergedDir: string): Promise<void>;
}

/** The state an OCI runtime reports for a container it knows. */
export type RuntimeStatus = 'created' | 'running' | 'paused' | 'stopped';

/** What the engine hands the runtime to create a container's process. */
export interface RuntimeCreateRequest {
  id: string;
  name: string;
  bundleDir: string;
  rootfsDir: string;
  logPath: string;
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  hostname: string;
  tty: boolean;
  openStdin: boolean;
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  readonlyRootfs: boolean;
  shmSizeBytes: number;
  labels: Record<string, string>;
}

/** One record of a container's log. */
export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, as conmon wrote it. */
  timestamp: string;
  data: Buffer;
}

export interface LogReadOptions {
  follow: boolean;
  tailLines: number | undefined;
  sinceNs: bigint | undefined;
  untilNs: bigint | undefined;
  stdout: boolean;
  stderr: boolean;
  signal: AbortSignal;
}

/** An attach session: the container's output (already framed as the caller asked) and its stdin. */
export interface AttachSession {
  output: NodeJS.ReadableStream;
  input: NodeJS.WritableStream | null;
  close(): void;
}

/** An OCI runtime driven through conmon, as the engine uses it. */
export interface RuntimePort {
  create(request: RuntimeCreateRequest): Promise<{ pid: number; conmonPid: number }>;
  start(id: string): Promise<void>;
  kill(id: string, signal: string): Promise<void>;
  delete(id: string): Promise<void>;
  state(id: string): Promise<RuntimeStatus | undefined>;
  exitCode(id: string): Promise<number | undefined>;
  clearExit(id: string): Promise<void>;
  listPids(id: string): Promise<number[]>;
  attach(id: string, options: { stdin: boolean; tty: boolean }): Promise<AttachSession>;
  readLogs(logPath: string, options: LogReadOptions): AsyncIterable<LogEntry>;
}

/** An image as the API shows it. */
export interface CatalogImage extends EngineImage {
  repoDigests: string[];
  parent: string;
  comment: string;
  created: string;
  author: string;
  architecture: string;
  os: string;
  sizeBytes: number;
  diffIds: string[];
}

export interface ImageHistoryEntry {
  id: string;
  /** Seconds since the epoch; 0 when unknown. */
  createdSec: number;
  createdBy: string;
  tags: string[];
  sizeBytes: number;
  comment: string;
}

export type ContainersUsing = (imageId: string) => Array<{ id: string; isRunning: boolean }>;

/** The whole image store, as the engine exposes it to the API. */
export interface ImageStorePort extends ImagePort {
  list(): Promise<CatalogImage[]>;
  get(ref: string): Promise<CatalogImage>;
  /** Returns the new reference in its familiar form. */
  tag(sourceRef: string, repo: string, tag?: string): Promise<string>;
  remove(ref: string, options: { force: boolean; noPrune: boolean }, containersUsing: ContainersUsing): Promise<Array<{ untagged?: string; deleted?: string }>>;
  history(ref: string): Promise<ImageHistoryEntry[]>;
  prune(options: { all: boolean; untilMs?: number; labels?: string[] }, containersUsing: ContainersUsing): Promise<{ deleted: Array<{ untagged?: string; deleted?: string }>; spaceReclaimedBytes: number }>;
}
