/**
 * Pod sandboxes as berthd keeps them: one JSON record per pod under `<root>/cri/sandboxes/`,
 * written atomically. A sandbox owns no process: its network namespace is a handle the network
 * service holds under the sandbox's id, and its containers are engine containers labelled with it.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic, type Logger } from '../common/index.js';
import type { NetworkPortMapping } from '../engine/index.js';
import { CriInvalidError, NoSuchSandboxError } from './grpc-errors.js';
import type { PodSandboxMetadata, SandboxStateName } from './wire.js';
import type { PidHandle } from './pid-handle.js';

export interface SandboxRecord {
  id: string;
  /** Nanoseconds since the epoch, as a decimal string (int64 on the wire). */
  createdAtNs: string;
  metadata: PodSandboxMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
  /** The engine runtime its containers run on. */
  runtime: string;
  state: SandboxStateName;
  hostname: string;
  logDirectory: string;
  dns: { servers: string[]; searches: string[]; options: string[] };
  /** The node's network namespace (NamespaceMode NODE) instead of one of its own. */
  hostNetwork: boolean;
  hostPid: boolean;
  hostIpc: boolean;
  /** The pod's address on the default bridge while it is ready ('' with the host's network). */
  ip: string;
  /** The handle of the pod's IPC namespace while it is ready ('' with the node's IPC). */
  ipcPath: string;
  /** Its containers share one process namespace (shareProcessNamespace: namespace mode POD). */
  sharesPid?: boolean;
  /** That namespace while the pod is ready (see pid-handle.ts); absent otherwise. */
  pidHandle?: PidHandle;
  /** The cgroup its containers' cgroups go below. */
  cgroupParent: string;
  /** Whether berthd made cgroupParent (and so removes it), rather than the kubelet naming it. */
  ownsCgroupParent: boolean;
  sysctls: Record<string, string>;
  portMappings: NetworkPortMapping[];
}

export class SandboxStore {
  readonly #dir: string;
  readonly #records = new Map<string, SandboxRecord>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async open(root: string, logger: Logger): Promise<SandboxStore> {
    const store = new SandboxStore(join(root, 'cri', 'sandboxes'));
    await mkdir(store.#dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(store.#dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const record = JSON.parse(await readFile(join(store.#dir, name), 'utf8')) as SandboxRecord;
        store.#records.set(record.id, record);
      } catch (err) {
        logger.warn('a pod sandbox record could not be read; left alone', { file: name, error: (err as Error).message });
      }
    }
    return store;
  }

  /** Ids of the sandboxes on disk under `root` that are ready (their network namespaces are in use). */
  static async readyIds(root: string): Promise<string[]> {
    const dir = join(root, 'cri', 'sandboxes');
    const ids: string[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const record = JSON.parse(await readFile(join(dir, name), 'utf8').catch(() => '{}')) as Partial<SandboxRecord>;
      if (record.id && record.state === 'SANDBOX_READY') ids.push(record.id);
    }
    return ids;
  }

  all(): SandboxRecord[] {
    return [...this.#records.values()];
  }

  find(ref: string): SandboxRecord | undefined {
    if (ref === '') return undefined;
    const exact = this.#records.get(ref);
    if (exact) return exact;
    const matches = this.all().filter((r) => r.id.startsWith(ref));
    if (matches.length > 1) throw new CriInvalidError('pod_sandbox_id', `${JSON.stringify(ref)} matches several pod sandboxes`);
    return matches[0];
  }

  get(ref: string): SandboxRecord {
    const record = this.find(ref);
    if (!record) throw new NoSuchSandboxError(ref);
    return record;
  }

  async save(record: SandboxRecord): Promise<void> {
    await writeJsonAtomic(join(this.#dir, `${record.id}.json`), record);
    this.#records.set(record.id, record);
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.#dir, `${id}.json`), { force: true });
    this.#records.delete(id);
  }
}
