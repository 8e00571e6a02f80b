/**
 * The network records (`<root>/networks/<id>.json`, with their `.conflist`) and the endpoint
 * files of running containers (`<root>/networks/endpoints/<containerId>.json`), on disk and in memory.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf, writeFileAtomic, type Logger } from '../common/index.js';
import type { CniConfigList } from './cni.js';
import { NoSuchNetworkError } from './errors.js';
import type { EndpointFile, EndpointState, NetworkRecord } from './types.js';

/** Network records and endpoint files; callers serialise changes. */
export class NetworkStore {
  readonly #dir: string;
  readonly #logger: Logger;
  readonly #records = new Map<string, NetworkRecord>();
  /** Endpoint files by container id. */
  readonly endpoints = new Map<string, EndpointFile>();

  constructor(dir: string, logger: Logger) {
    this.#dir = dir;
    this.#logger = logger;
  }

  /** `<root>/networks`. */
  get dir(): string {
    return this.#dir;
  }

  /** Where host-local keeps its leases. */
  get ipamDir(): string {
    return join(this.#dir, 'ipam');
  }

  /** Read every record and endpoint file; unreadable endpoint files are removed. */
  async load(): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(this.#dir);
    } catch {
      return;
    }
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      try {
        const record = JSON.parse(await readFile(join(this.#dir, name), 'utf8')) as NetworkRecord;
        this.#records.set(record.id, record);
      } catch (err) {
        this.#logger.warn('skipping an unreadable network record', { file: name, error: messageOf(err) });
      }
    }
    const endpointDir = join(this.#dir, 'endpoints');
    for (const name of await readdir(endpointDir).catch(() => [] as string[])) {
      if (!name.endsWith('.json')) continue;
      try {
        const file = JSON.parse(await readFile(join(endpointDir, name), 'utf8')) as EndpointFile;
        this.endpoints.set(file.containerId, file);
      } catch {
        await rm(join(endpointDir, name), { force: true });
      }
    }
  }

  /** Every record, in no order. */
  records(): NetworkRecord[] {
    return [...this.#records.values()];
  }

  recordOf(id: string): NetworkRecord | undefined {
    return this.#records.get(id);
  }

  /** By full id, exact name, or unique id prefix (docker's order); NoSuchNetworkError otherwise. */
  get(ref: string): NetworkRecord {
    const byId = this.#records.get(ref);
    if (byId) return byId;
    const byName = this.byName(ref);
    if (byName) return byName;
    const prefixed = ref.length > 0 ? this.records().filter((r) => r.id.startsWith(ref)) : [];
    if (prefixed.length === 1) return prefixed[0]!;
    throw new NoSuchNetworkError(ref);
  }

  byName(name: string): NetworkRecord | undefined {
    return this.records().find((r) => r.name === name);
  }

  async save(record: NetworkRecord): Promise<NetworkRecord> {
    await writeFileAtomic(join(this.#dir, `${record.id}.json`), JSON.stringify(record, null, 2));
    this.#records.set(record.id, record);
    return record;
  }

  /** Forget a record and remove its files (record, config list). */
  async remove(record: NetworkRecord): Promise<void> {
    this.#records.delete(record.id);
    await rm(join(this.#dir, `${record.id}.json`), { force: true });
    await this.removeConflist(record.id);
  }

  writeConflist(networkId: string, list: CniConfigList): Promise<void> {
    return writeFileAtomic(join(this.#dir, `${networkId}.conflist`), JSON.stringify(list, null, 2));
  }

  async readConflist(networkId: string): Promise<CniConfigList | undefined> {
    try {
      return JSON.parse(await readFile(join(this.#dir, `${networkId}.conflist`), 'utf8')) as CniConfigList;
    } catch {
      return undefined;
    }
  }

  async removeConflist(networkId: string): Promise<void> {
    await rm(join(this.#dir, `${networkId}.conflist`), { force: true });
  }

  /** The running containers attached to a network. */
  endpointsOf(networkId: string): Array<{ containerId: string; endpoint: EndpointState }> {
    const out: Array<{ containerId: string; endpoint: EndpointState }> = [];
    for (const file of this.endpoints.values()) {
      for (const endpoint of file.endpoints) if (endpoint.networkId === networkId) out.push({ containerId: file.containerId, endpoint: stripEndpoint(endpoint) });
    }
    return out;
  }

  async saveEndpoints(file: EndpointFile): Promise<void> {
    await writeFileAtomic(this.#endpointPath(file.containerId), JSON.stringify(file));
  }

  async removeEndpoints(containerId: string): Promise<void> {
    this.endpoints.delete(containerId);
    await rm(this.#endpointPath(containerId), { force: true });
  }

  #endpointPath(containerId: string): string {
    return join(this.#dir, 'endpoints', `${containerId}.json`);
  }
}

/** An endpoint as the engine sees it, without what only its CNI DEL needs. */
export function stripEndpoint(endpoint: EndpointState & { runtimeConfig?: unknown; args?: unknown; cniResult?: unknown; dnsServers?: unknown; cniConfig?: unknown }): EndpointState {
  const { runtimeConfig: _r, args: _a, cniResult: _c, dnsServers: _d, cniConfig: _l, ...state } = endpoint;
  return state;
}
