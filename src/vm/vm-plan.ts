/**
 * The plan of one VM container, made by `berth-vm create` and carried out by the C shim
 * (native/berth-vm-shim/): everything that needs the spec, the guest assets or the accelerator
 * probe is decided here, in Node, and written into the state directory as three files the shim
 * reads without parsing JSON: `qemu.argv`, `start.spec` and `shim.conf`.
 */
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { RuntimeMount, RuntimeSpec } from '../oci/index.js';
import { cgroupDirsFor } from '../sys/index.js';
import { chooseAccel, findGuestAssets, hostTscKhz } from './guest-assets.js';
import { capabilityFields } from './guest-capabilities.js';
import { MAX_GUEST_SHARES, mountField, planGuestMounts } from './guest-mounts.js';
import { seccompFields } from './guest-seccomp.js';
import { networkNamespaceOf, prepareGuestNetwork, releaseGuestNetwork, type GuestNetwork } from './guest-network.js';
import { encodeProcessSpec, type GuestProcessSpec } from './protocol.js';
import { qemuArgs, type QemuLaunch } from './qemu-command.js';
import { vmCgroupsPath } from './vm-cgroups.js';
import { AGENT_SOCKET, CONSOLE_LOG, QMP_SOCKET } from './vm-state.js';
import { chooseTemplate, logToShimLog, templatesDirOf } from './vm-template.js';

const MIN_MEMORY_MIB = 64;
const DEFAULT_MEMORY_MIB = 128;
/** Overhead on top of --memory: the guest kernel and the agent must fit beside the container. */
const GUEST_OVERHEAD_MIB = 32;

/** VM size from the spec's limits: --memory (plus room for the guest kernel) and --cpus. */
export function vmSize(spec: RuntimeSpec): { memoryMiB: number; cpus: number } {
  const limit = spec.linux?.resources?.memory?.limit;
  const memoryMiB = limit && limit > 0 ? Math.max(MIN_MEMORY_MIB, Math.ceil(limit / 1048576) + GUEST_OVERHEAD_MIB) : DEFAULT_MEMORY_MIB;
  const cpu = spec.linux?.resources?.cpu;
  const cpus = cpu?.quota && cpu.quota > 0 && cpu.period ? Math.max(1, Math.min(8, Math.ceil(cpu.quota / cpu.period))) : 1;
  return { memoryMiB, cpus };
}

/**
 * How long the agent has to say READY: TCG boots are emulated and several may share the cpus.
 * BERTH_VM_BOOT_TIMEOUT_MS overrides it (for tests of a guest that never answers).
 */
export function bootTimeoutMs(accel: string, env: NodeJS.ProcessEnv = process.env): number {
  const forced = Number(env.BERTH_VM_BOOT_TIMEOUT_MS);
  if (Number.isInteger(forced) && forced > 0) return forced;
  return accel === 'kvm' ? 10_000 : 40_000;
}

/**
 * A container process (START) or an exec's (EXEC) as the agent takes it, with its capabilities
 * and no_new_privileges; extra.startFields come first (START's mounts and network).
 */
export function guestProcessOf(proc: NonNullable<RuntimeSpec['process']>, extra: Partial<GuestProcessSpec> = {}): GuestProcessSpec {
  return {
    args: proc.args,
    env: proc.env ?? [],
    cwd: proc.cwd,
    uid: proc.user.uid,
    gid: proc.user.gid,
    additionalGids: proc.user.additionalGids ?? [],
    isTty: proc.terminal === true,
    ...extra,
    startFields: [...(extra.startFields ?? []), ...capabilityFields(proc)],
  };
}

/**
 * 9p shares directories, so a file bind (the container's /etc/hosts, `-v /host/file:/file`)
 * would expose the whole directory around it to the guest. Each such file is hard-linked into a
 * directory of its own under the bundle (`vm-files-ro`, `vm-files-rw`), which is shared instead:
 * the guest sees those files and nothing beside them, and writes reach the same inode. A file on
 * another filesystem than the bundle cannot be linked and keeps sharing its parent directory.
 */
async function isolateFileBinds(mounts: readonly RuntimeMount[], bundle: string): Promise<RuntimeMount[]> {
  const result: RuntimeMount[] = [];
  const made = new Set<string>();
  let count = 0;
  for (const mount of mounts) {
    const isBind = mount.type === 'bind' || (mount.options ?? []).some((o) => o === 'bind' || o === 'rbind');
    const isFile = isBind && mount.source !== undefined && (await stat(mount.source).then((st) => st.isFile(), () => false));
    if (!isFile) {
      result.push(mount);
      continue;
    }
    const dir = join(bundle, (mount.options ?? []).includes('ro') ? 'vm-files-ro' : 'vm-files-rw');
    if (!made.has(dir)) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { mode: 0o700 });
      made.add(dir);
    }
    const linked = join(dir, `${count++}-${basename(mount.source!)}`);
    try {
      await link(mount.source!, linked);
      result.push({ ...mount, source: linked });
    } catch {
      result.push(mount);
    }
  }
  return result;
}

/** An argv file the shim reads: NUL-terminated words, the program first. */
async function writeArgv(path: string, argv: readonly string[]): Promise<void> {
  await writeFile(path, argv.map((a) => `${a}\0`).join(''));
}

/** What create needs back from the plan. */
export interface VmPlan {
  accel: 'kvm' | 'tcg';
}

/**
 * Plan the VM of the bundle's container into stateDir; throws (a one-line message) when it
 * cannot boot: no kernel, no QEMU, a bad spec. consoleSocket is create's --console-socket (-t).
 */
export async function writeVmPlan(stateDir: string, id: string, bundle: string, consoleSocket: string | undefined): Promise<VmPlan> {
  const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as RuntimeSpec;
  if (!spec.process) throw new Error('config.json has no process');
  if (spec.process.terminal && !consoleSocket) throw new Error('a terminal was requested but no --console-socket was given');
  // A tap beside each of the namespace's interfaces, each one more virtio-mmio transport.
  const network = await prepareGuestNetwork(spec, stateDir);
  try {
    return await writePlanFiles(stateDir, id, bundle, consoleSocket, spec, network);
  } catch (err) {
    await releaseGuestNetwork(stateDir);
    throw err;
  }
}

async function writePlanFiles(stateDir: string, id: string, bundle: string, consoleSocket: string | undefined, spec: RuntimeSpec, network: GuestNetwork | undefined): Promise<VmPlan> {
  const proc = spec.process!;
  const assets = await findGuestAssets();
  const tscKhz = await hostTscKhz();
  const accel = await chooseAccel(assets, tscKhz);
  const mounts = await isolateFileBinds(spec.mounts ?? [], bundle);
  const mountPlan = planGuestMounts(mounts, MAX_GUEST_SHARES - (network?.deviceCount ?? 0));
  const size = vmSize(spec);
  const launch: QemuLaunch = {
    ...assets, accel, tscKhz, ...size,
    agentSocketPath: AGENT_SOCKET,
    consoleLogPath: CONSOLE_LOG,
    rootfsPath: resolve(bundle, spec.root?.path ?? 'rootfs'),
    pidFilePath: 'qemu.pid',
    shares: mountPlan.shares,
  };
  const args = qemuArgs(launch).concat(network?.qemuArgs ?? []);
  // Compiled once here; the agent keeps it for the container's process and every exec.
  const seccomp = await seccompFields(spec.linux?.seccomp);
  const startSpecWith = (networkFields: readonly string[]): Buffer => encodeProcessSpec(guestProcessOf(proc, {
    ...(spec.hostname ? { hostname: spec.hostname } : {}),
    startFields: [
      ...mountPlan.mounts.map(mountField),
      ...networkFields,
      // The kernel files a process container cannot see or write, hidden the same way in the guest.
      ...(spec.linux?.maskedPaths ?? []).map((path) => `masked=${path}`),
      ...(spec.linux?.readonlyPaths ?? []).map((path) => `rdonly=${path}`),
      ...(spec.root?.readonly ? ['readonly=1'] : []),
      ...seccomp,
    ],
  }), "the container's process spec (arguments, environment, mounts)");
  const coldStartSpec = startSpecWith(network?.startFields ?? []);
  const cgroupDirs = await cgroupDirsFor(vmCgroupsPath(spec.linux?.cgroupsPath, id)).catch(() => [] as string[]);
  for (const dir of cgroupDirs) await mkdir(dir, { recursive: true }).catch(() => {});
  const netns = network?.netnsPath;
  const conf = [
    `boot_timeout_ms=${bootTimeoutMs(accel)}`,
    `accel=${accel}`,
    ...cgroupDirs.map((dir) => `cgroup=${dir}`),
    // --network none: a namespace of the shim's own, so the container's pid shows no host traffic.
    ...(netns ? [`netns=${netns}`] : networkNamespaceOf(spec) === 'new' ? ['own_netns=1'] : []),
    ...(consoleSocket ? [`console_socket=${resolve(consoleSocket)}`] : []),
    ...(proc.consoleSize ? [`console_size=${proc.consoleSize.height} ${proc.consoleSize.width}`] : []),
  ];
  for (const line of conf) {
    if (line.includes('\n')) throw new Error(`a path with a newline cannot be used: ${JSON.stringify(line)}`);
  }
  await writeArgv(join(stateDir, 'qemu.argv'), [assets.qemuPath, ...args]);
  if (network) {
    await writeFile(join(stateDir, 'release.ip'), network.releaseIpBatch);
    await writeFile(join(stateDir, 'release.tc'), network.releaseTcBatch);
  }

  // A clone of this shape's template where there is one; this VM boots as it where there is not.
  const template = await chooseTemplate(templatesDirOf(dirname(stateDir)), {
    assets, accel, tscKhz, ...size, shareCount: mountPlan.shares.length, interfaceCount: network?.deviceCount ?? 0,
  });
  let startSpec = coldStartSpec;
  if (template.mode === 'cold') {
    await logToShimLog(stateDir, `cold boot: ${template.reason}`);
  } else {
    try {
      // The interfaces are found by the template's MACs (a cold boot after all still has the container's).
      startSpec = startSpecWith(network?.templateStartFields ?? []);
      const templateArgv = (role: 'template' | 'clone', dir: string): string[] => [
        assets.qemuPath,
        ...qemuArgs({ ...launch, template: { role, memoryPath: join(dir, 'ram'), qmpSocketPath: QMP_SOCKET } }),
        ...(network?.templateQemuArgs ?? []),
      ];
      if (template.mode === 'build') await writeArgv(join(stateDir, 'template.argv'), templateArgv('template', `${template.dir}.building`));
      await writeArgv(join(stateDir, 'clone.argv'), templateArgv('clone', template.dir));
      conf.push(`template_${template.mode}=${template.dir}`);
    } catch (err) {
      // The template this VM was to make is someone else's to make now.
      if (template.mode === 'build') await rm(`${template.dir}.building`, { recursive: true, force: true });
      throw err;
    }
  }
  await writeFile(join(stateDir, 'start.spec'), startSpec);
  await writeFile(join(stateDir, 'shim.conf'), `${conf.join('\n')}\n`);
  return { accel };
}
