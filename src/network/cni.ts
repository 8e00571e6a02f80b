/**
 * Calling CNI plugins (containernetworking/cni SPEC 1.0): one plugin at a time with the
 * spec's environment and the network config on stdin, and a whole config list in order
 * (ADD) or in reverse (DEL), each plugin seeing the previous one's result.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crashPoint } from '../common/index.js';
import { CommandTimeoutError, runCommand, type CommandResult, type MountHelper } from '../sys/index.js';
import { CniError } from './errors.js';

/** How long one plugin may run. */
const PLUGIN_TIMEOUT_MS = 60_000;

/** errno(3) ETIMEDOUT on Linux. */
const ETIMEDOUT = 110;

/** Where Debian's containernetworking-plugins installs the plugins. */
export const DEFAULT_CNI_PATH = '/usr/lib/cni';

/** One plugin's config within a list: `type` names the binary, the rest is the plugin's own. */
export interface CniPluginConfig {
  type: string;
  [key: string]: unknown;
}

/** A CNI network configuration list, as written next to the network record. */
export interface CniConfigList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConfig[];
}

/** The parts of a CNI result Berth reads. */
export interface CniResult {
  cniVersion?: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: unknown;
}

/** Who the call is for: the spec's CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME and CNI_ARGS. */
export interface CniInvocation {
  containerId: string;
  netnsPath: string;
  ifName: string;
  /** `K=V` pairs for CNI_ARGS (host-local's `IP`, bridge's `MAC`); IgnoreUnknown is added. */
  args?: Record<string, string>;
  /** Merged into every plugin's config as `runtimeConfig` (portmap's `portMappings`). */
  runtimeConfig?: Record<string, unknown>;
}

/** Told of every plugin call once it returned, with its wall time (for the daemon's debug log). */
export type CniCallObserver = (call: { command: string; type: string; ms: number }) => void;

/**
 * Plugins started by berthd's long-lived helper instead of a fork of berthd (which copies the
 * page tables of a 100+ MiB process, 7-23 ms here, in the event loop): config, result and
 * errors go through files in `ioDir`, each call's own, removed after it.
 */
export interface CniHelperPath {
  helper: MountHelper;
  ioDir: string;
}

/** Runs CNI plugins found under `cniPath`. */
export class CniRunner {
  readonly #cniPath: string;
  readonly #observe: CniCallObserver | undefined;
  readonly #throughHelper: CniHelperPath | undefined;

  constructor(cniPath = DEFAULT_CNI_PATH, observe?: CniCallObserver, throughHelper?: CniHelperPath) {
    this.#cniPath = cniPath;
    this.#observe = observe;
    this.#throughHelper = throughHelper;
  }

  /** Run one plugin; resolves with its parsed stdout (empty object for DEL), throws CniError on failure. */
  async exec(command: 'ADD' | 'DEL' | 'CHECK', config: Record<string, unknown> & { type: string }, invocation: CniInvocation): Promise<CniResult> {
    const args = Object.entries(invocation.args ?? {}).map(([k, v]) => `${k}=${v}`);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: invocation.containerId,
      CNI_NETNS: invocation.netnsPath,
      CNI_IFNAME: invocation.ifName,
      CNI_PATH: this.#cniPath,
      ...(args.length > 0 ? { CNI_ARGS: ['IgnoreUnknown=1', ...args].join(';') } : {}),
    };
    const t0 = performance.now();
    const program = `${this.#cniPath}/${config.type}`;
    const input = JSON.stringify(config);
    const onInputWritten = command === 'ADD' ? (): void => crashPoint('network-connect.cni-adding') : undefined;
    const result = (await this.#runThroughHelper(program, env, input, onInputWritten)) ??
      (await runCommand(program, [], { env, input, timeoutMs: PLUGIN_TIMEOUT_MS, ...(onInputWritten ? { onInputWritten } : {}) }));
    this.#observe?.({ command, type: config.type, ms: performance.now() - t0 });
    if (result.exitCode !== 0) {
      let message = result.stderr.trim() || `exit status ${result.exitCode}`;
      try {
        const parsed = JSON.parse(result.stdout) as { msg?: string; details?: string };
        if (parsed.msg) message = parsed.details ? `${parsed.msg}: ${parsed.details}` : parsed.msg;
      } catch {
        // Not JSON: keep stderr.
      }
      throw new CniError(config.type, command, message);
    }
    if (command !== 'ADD' || result.stdout.trim() === '') return {};
    return JSON.parse(result.stdout) as CniResult;
  }

  /**
   * ADD a whole list. A plugin that fails makes the earlier ones DEL again (in reverse), so
   * nothing half-made stays behind; the error is then thrown.
   */
  async add(list: CniConfigList, invocation: CniInvocation): Promise<CniResult> {
    let prevResult: CniResult | undefined;
    const done: Array<Record<string, unknown> & { type: string }> = [];
    try {
      for (const plugin of list.plugins) {
        const config = this.#pluginConfig(list, plugin, invocation, prevResult);
        done.push(config);
        prevResult = await this.exec('ADD', config, invocation);
      }
    } catch (err) {
      for (const config of done.reverse()) await this.exec('DEL', config, invocation).catch(() => {});
      throw err;
    }
    return prevResult ?? {};
  }

  /** DEL a whole list in reverse order. Every plugin is called even when one fails; the first error is thrown. */
  async del(list: CniConfigList, invocation: CniInvocation, prevResult?: CniResult): Promise<void> {
    let first: unknown;
    for (const plugin of [...list.plugins].reverse()) {
      await this.exec('DEL', this.#pluginConfig(list, plugin, invocation, prevResult), invocation).catch((err: unknown) => {
        first ??= err;
      });
    }
    if (first !== undefined) throw first;
  }

  /** Run the plugin through the helper; undefined when there is none (the caller forks it itself). */
  async #runThroughHelper(program: string, env: NodeJS.ProcessEnv, input: string, onInputWritten: (() => void) | undefined): Promise<CommandResult | undefined> {
    if (!this.#throughHelper) return undefined;
    const { helper, ioDir } = this.#throughHelper;
    await mkdir(ioDir, { recursive: true });
    const base = join(ioDir, randomBytes(8).toString('hex'));
    const paths = { stdinPath: `${base}.in`, stdoutPath: `${base}.out`, stderrPath: `${base}.err` };
    try {
      await writeFile(paths.stdinPath, input, { mode: 0o600 });
      const definedEnv = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
      const answering = helper.run({ argv: [program], env: definedEnv, ...paths, timeoutMs: PLUGIN_TIMEOUT_MS });
      // The request is written by now: the plugin runs even if berthd dies here.
      onInputWritten?.();
      const answer = await answering;
      if (!answer) return undefined;
      if (answer.errno === ETIMEDOUT) throw new CommandTimeoutError(program, PLUGIN_TIMEOUT_MS);
      // Not started at all (its files, a fork): reported as the plugin's failure, as a failed exec would be.
      if (answer.errno !== 0) return { stdout: '', stderr: `cannot run ${program}: ${answer.message}`, exitCode: 126 };
      const [stdout, stderr] = await Promise.all([readFile(paths.stdoutPath, 'utf8'), readFile(paths.stderrPath, 'utf8')]);
      return { stdout, stderr, exitCode: Number(answer.message) };
    } finally {
      await Promise.all(Object.values(paths).map((path) => rm(path, { force: true })));
    }
  }

  #pluginConfig(list: CniConfigList, plugin: CniPluginConfig, invocation: CniInvocation, prevResult: CniResult | undefined): Record<string, unknown> & { type: string } {
    return {
      ...plugin,
      cniVersion: list.cniVersion,
      name: list.name,
      ...(invocation.runtimeConfig ? { runtimeConfig: invocation.runtimeConfig } : {}),
      ...(prevResult ? { prevResult } : {}),
    };
  }
}

/** The pids of running processes whose environment names one of `containerIds` as CNI_CONTAINERID. */
async function pluginsOf(containerIds: ReadonlySet<string>): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'latin1').catch(() => '');
    const id = /(?:^|\0)CNI_CONTAINERID=([^\0]*)/.exec(environ)?.[1];
    if (id !== undefined && containerIds.has(id) && environ.includes('CNI_COMMAND=')) pids.push(Number(entry));
  }
  return pids;
}

/**
 * After a daemon start: wait (at most `timeoutMs`) for CNI plugins a crashed daemon left running
 * for these containers. A plugin outlives the daemon that ran it and finishes its ADD on its own,
 * so a DEL run meanwhile would race it and leave a veth or a lease behind. Resolves with the
 * pids still running at the deadline (none normally).
 */
export async function waitForOrphanedPlugins(containerIds: Iterable<string>, timeoutMs = 30_000): Promise<number[]> {
  const ids = new Set(containerIds);
  if (ids.size === 0) return [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = await pluginsOf(ids);
    if (running.length === 0 || Date.now() >= deadline) return running;
    await new Promise((r) => setTimeout(r, 50));
  }
}
