/**
 * A pod's containers: engine containers (so `docker ps` lists them, labelled io.kubernetes.*)
 * in the pod's network namespace and cgroup parent, logging in the kubelet's format (conmon's
 * k8s-file: `<RFC3339Nano> stdout|stderr F|P <line>`) to the path the kubelet names.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { isErrorKind, NotFoundError, type Logger } from '../common/index.js';
import { isRunningStatus, type ContainerRecord, type Engine, type ResourceUpdate } from '../engine/index.js';
import { CriInvalidError, CriTimeoutError, CriUnsupportedError } from './grpc-errors.js';
import type { SandboxStore } from './sandbox-store.js';
import { containerState, criInfoOf, createInputOf, exitReason, LABEL_SANDBOX_ID, labelsMatch, nanosOf, resourcesOf } from './translate.js';
import type { ContainerConfig, ContainerStateName, LinuxContainerResources, PodSandboxConfig } from './wire.js';

/** What ExecSync keeps of each stream (the CRI's cap: 16 MiB). */
const EXEC_OUTPUT_CAP = 16 * 1024 * 1024;

export interface ContainerDeps {
  engine: Engine;
  sandboxes: SandboxStore;
  logger: Logger;
}

class NoSuchCriContainerError extends NotFoundError {
  constructor(id: string) {
    super('BERTH_NO_SUCH_CONTAINER', `container ${JSON.stringify(id)} not found`);
  }
}

/** The kubelet's log path for a container: log_directory joined with log_path, kept inside it. */
export function logPathOf(logDirectory: string, logPath: string): string | undefined {
  if (logPath === '') return undefined;
  if (logDirectory === '') {
    if (!isAbsolute(logPath)) throw new CriInvalidError('config.log_path', 'a relative log path needs the pod\'s log_directory');
    return normalize(logPath);
  }
  if (!isAbsolute(logDirectory)) throw new CriInvalidError('sandbox_config.log_directory', 'an absolute path is required');
  const full = normalize(join(logDirectory, logPath));
  if (!full.startsWith(`${normalize(logDirectory).replace(/\/+$/, '')}/`)) throw new CriInvalidError('config.log_path', 'the log path leaves the pod\'s log directory');
  return full;
}

/** Split docker's multiplexed exec output (8-byte frame headers) into stdout and stderr, each capped. */
export function demultiplex(chunks: readonly Buffer[]): { stdout: Buffer; stderr: Buffer } {
  const data = Buffer.concat(chunks);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let outBytes = 0;
  let errBytes = 0;
  let at = 0;
  while (at + 8 <= data.length) {
    const stream = data[at]!;
    const size = data.readUInt32BE(at + 4);
    const payload = data.subarray(at + 8, Math.min(data.length, at + 8 + size));
    at += 8 + size;
    if (stream === 1 && outBytes < EXEC_OUTPUT_CAP) {
      out.push(payload.subarray(0, EXEC_OUTPUT_CAP - outBytes));
      outBytes += payload.length;
    } else if (stream === 2 && errBytes < EXEC_OUTPUT_CAP) {
      err.push(payload.subarray(0, EXEC_OUTPUT_CAP - errBytes));
      errBytes += payload.length;
    }
  }
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}

export class Containers {
  readonly #deps: ContainerDeps;

  constructor(deps: ContainerDeps) {
    this.#deps = deps;
  }

  /** A CRI container by id or unique id prefix; engine containers the CRI did not make are not CRI containers. */
  #get(ref: string): ContainerRecord {
    let record: ContainerRecord;
    try {
      record = this.#deps.engine.containers.get(ref);
    } catch (err) {
      if (isErrorKind(err, 'not-found')) throw new NoSuchCriContainerError(ref);
      throw err;
    }
    if (!criInfoOf(record)) throw new NoSuchCriContainerError(ref);
    return record;
  }

  /** A CRI container's record; NOT_FOUND for any other id. */
  get(ref: string): ContainerRecord {
    return this.#get(ref);
  }

  #find(ref: string): ContainerRecord | undefined {
    try {
      return this.#get(ref);
    } catch (err) {
      if (isErrorKind(err, 'not-found')) return undefined;
      throw err;
    }
  }

  async create(request: { pod_sandbox_id: string; config: ContainerConfig | null; sandbox_config: PodSandboxConfig | null }): Promise<{ container_id: string }> {
    const { engine, sandboxes } = this.#deps;
    const sandbox = sandboxes.get(request.pod_sandbox_id);
    if (sandbox.state !== 'SANDBOX_READY') throw new CriInvalidError('pod_sandbox_id', `pod sandbox ${sandbox.id} is not ready`);
    const logPath = logPathOf(sandbox.logDirectory, request.config?.log_path ?? '');
    const input = createInputOf(sandbox, request.config, logPath ?? '');
    if (logPath === undefined) delete input.host.logPath;
    else await mkdir(dirname(logPath), { recursive: true, mode: 0o755 });
    const { id } = await engine.containers.create(input);
    return { container_id: id };
  }

  async start(request: { container_id: string }): Promise<object> {
    const record = this.#get(request.container_id);
    const sandboxId = record.settings.labels[LABEL_SANDBOX_ID] ?? '';
    const sandbox = this.#deps.sandboxes.find(sandboxId);
    if (!sandbox || sandbox.state !== 'SANDBOX_READY') throw new CriInvalidError('container_id', `the container's pod sandbox ${sandboxId} is not ready`);
    if (record.state.status !== 'created') throw new CriInvalidError('container_id', `container ${record.id} is ${record.state.status}: only a created container starts`);
    await this.#deps.engine.containers.start(record.id);
    return {};
  }

  async stop(request: { container_id: string; timeout: string }): Promise<object> {
    const record = this.#get(request.container_id);
    if (!isRunningStatus(record.state.status)) return {};
    await this.#deps.engine.containers.stop(record.id, { timeoutSec: Math.max(0, Number(request.timeout)) }).catch((err: unknown) => {
      if (!isErrorKind(err, 'not-modified')) throw err;
    });
    return {};
  }

  async remove(request: { container_id: string }): Promise<object> {
    const record = this.#find(request.container_id);
    if (!record) return {};
    await this.#deps.engine.containers.remove(record.id, { force: true, removeVolumes: true }).catch((err: unknown) => {
      if (!isErrorKind(err, 'not-found')) throw err;
    });
    return {};
  }

  list(request: { filter: { id: string; state: { state: ContainerStateName } | null; pod_sandbox_id: string; label_selector: Record<string, string> } | null }): object {
    const filter = request.filter;
    const containers = this.#deps.engine.containers.all().flatMap((record) => {
      const info = criInfoOf(record);
      if (!info) return [];
      if (filter?.id && !record.id.startsWith(filter.id)) return [];
      const sandboxId = record.settings.labels[LABEL_SANDBOX_ID] ?? '';
      if (filter?.pod_sandbox_id && !sandboxId.startsWith(filter.pod_sandbox_id)) return [];
      const state = containerState(record.state.status);
      if (filter?.state && filter.state.state !== state) return [];
      if (!labelsMatch(info.labels, filter?.label_selector)) return [];
      return [{
        id: record.id,
        pod_sandbox_id: sandboxId,
        metadata: info.metadata,
        image: { image: info.image },
        image_ref: record.imageId,
        state,
        created_at: nanosOf(record.created),
        labels: info.labels,
        annotations: info.annotations,
        image_id: record.imageId,
      }];
    });
    return { containers };
  }

  /** The ContainerStatus message of a record (also PodSandboxStatus's containers_statuses). */
  statusOf(record: ContainerRecord): object {
    const info = criInfoOf(record);
    const state = containerState(record.state.status);
    return {
      id: record.id,
      metadata: info?.metadata ?? { name: record.name, attempt: 0 },
      state,
      created_at: nanosOf(record.created),
      started_at: nanosOf(record.state.startedAt),
      finished_at: state === 'CONTAINER_EXITED' ? nanosOf(record.state.finishedAt) : '0',
      exit_code: state === 'CONTAINER_EXITED' ? record.state.exitCode : 0,
      image: { image: info?.image ?? record.settings.imageRef },
      image_ref: record.imageId,
      reason: exitReason(record),
      message: record.state.error,
      labels: info?.labels ?? {},
      annotations: info?.annotations ?? {},
      mounts: (record.host.mounts ?? []).filter((m) => m.type === 'bind').map((m) => ({ container_path: m.destination, host_path: m.source, readonly: m.isReadOnly })),
      log_path: info?.logPath ?? '',
      image_id: record.imageId,
    };
  }

  status(request: { container_id: string; verbose: boolean }): object {
    const record = this.#get(request.container_id);
    const info: Record<string, string> = {};
    if (request.verbose) {
      info['info'] = JSON.stringify({ pid: record.state.pid, sandboxID: record.settings.labels[LABEL_SANDBOX_ID] ?? '', runtime: record.host.runtime, name: record.name });
    }
    return { status: this.statusOf(record), info };
  }

  async reopenLog(request: { container_id: string }): Promise<object> {
    const record = this.#get(request.container_id);
    if (record.state.status !== 'running') throw new CriInvalidError('container_id', `container ${record.id} is not running`);
    const runtime = this.#deps.engine.containers.runtimeFor(record);
    await runtime.reopenLog(record.id);
    return {};
  }

  async execSync(request: { container_id: string; cmd: string[]; timeout: string }): Promise<{ stdout: Buffer; stderr: Buffer; exit_code: number }> {
    const { engine } = this.#deps;
    const record = this.#get(request.container_id);
    if (request.cmd.length === 0) throw new CriInvalidError('cmd', 'a command is required');
    const execId = engine.execs.create(record.id, {
      cmd: request.cmd,
      env: [],
      workingDir: '',
      user: '',
      tty: false,
      attachStdin: false,
      attachStdout: true,
      attachStderr: true,
      privileged: false,
      detachKeys: '',
      consoleSize: undefined,
    });
    const handle = await engine.execs.start(execId, {});
    const chunks: Buffer[] = [];
    let held = 0;
    handle.output.on('data', (chunk: Buffer) => {
      // Framing included, a little over both caps; past that the output is drained and dropped.
      if (held < 2 * EXEC_OUTPUT_CAP + 1024 * 1024) {
        chunks.push(chunk);
        held += chunk.length;
      }
    });
    const timeoutSec = Number(request.timeout);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (timeoutSec > 0) timer = setTimeout(() => resolve('timeout'), timeoutSec * 1000);
    });
    // The exit status can come before the last output: both are awaited.
    const outputEnded = new Promise<void>((resolve) => {
      handle.output.once('end', resolve);
      handle.output.once('close', resolve);
      handle.output.once('error', () => resolve());
    });
    const finished = Promise.all([handle.exited, outputEnded]).then(([code]) => code);
    const result = await Promise.race([finished, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      try {
        process.kill(handle.pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
      throw new CriTimeoutError(`command ${JSON.stringify(request.cmd.join(' '))} timed out after ${timeoutSec}s`);
    }
    return { ...demultiplex(chunks), exit_code: result };
  }

  async updateResources(request: { container_id: string; linux: LinuxContainerResources | null; annotations: Record<string, string> }): Promise<object> {
    const record = this.#get(request.container_id);
    if (!request.linux) throw new CriInvalidError('linux', 'Linux resources are required');
    const limits = resourcesOf(request.linux, 'linux');
    if (limits.oomScoreAdj !== (record.host.oomScoreAdj ?? 0)) throw new CriUnsupportedError('linux.oom_score_adj', 'a running container\'s OOM score cannot be changed');
    if ((limits.cpuQuota !== 0) !== (limits.cpuPeriod !== 0) && limits.cpuQuota > 0) throw new CriInvalidError('linux.cpu_period', 'a CPU quota needs its period');
    const resources: ResourceUpdate = {};
    if (limits.memoryBytes > 0) resources.memoryBytes = limits.memoryBytes;
    if (limits.memorySwapBytes !== 0) resources.memorySwapBytes = limits.memorySwapBytes;
    if (limits.cpuShares > 0) resources.cpuShares = limits.cpuShares;
    // A CFS quota over its period, as docker's --cpus sets it (the period becomes docker's 100ms).
    if (limits.cpuQuota > 0 && limits.cpuPeriod > 0) resources.nanoCpus = Math.round((limits.cpuQuota * 1e9) / limits.cpuPeriod);
    if (limits.cpusetCpus !== '') resources.cpusetCpus = limits.cpusetCpus;
    await this.#deps.engine.containers.update(record.id, { resources });
    return {};
  }
}
