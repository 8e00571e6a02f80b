/**
 * Where berth-vm finds what it boots (guest kernel, initramfs, QEMU) and which accelerator it
 * uses: KVM only where a probe boot of our kernel really finishes (cached per machine), else TCG.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../common/index.js';
import { microvmMachine, type KernelFlavor } from './qemu-command.js';

/** The files a VM boots from. */
export interface GuestAssets {
  qemuPath: string;
  kernelPath: string;
  /**
   * The agent's initramfs, or, for a kernel with a `modules.cpio` beside it (Debian's prebuilt
   * one), a cached file holding both archives one after the other (the kernel unpacks
   * concatenated newc archives in turn).
   */
  initrdPath: string;
  /** The kernel's CONFIG_HZ (from the config saved beside it), 250 when unknown. */
  kernelHz: number;
  /** From the `flavor` file beside the kernel; `berth` when there is none. */
  kernelFlavor: KernelFlavor;
}

/** scripts/setup keeps the built kernel here (a symlink into /var/cache/berth/kernel-<hash>/). */
export const DEFAULT_KERNEL_PATH = '/var/cache/berth/guest/vmlinux';
const ACCEL_CACHE_DIR = '/var/cache/berth';
const PROBE_TIMEOUT_MS = 8000;

/** berth-vm cannot boot: no kernel, no initramfs, no QEMU. */
export class VmUnavailableError extends BerthError {
  constructor(message: string) {
    super('unavailable', 'BERTH_VM_UNAVAILABLE', message);
  }
}

/** The build/ directory of this installation (dist/src/vm/ is three levels below it). */
export function buildDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'build');
}

async function isReadable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Locate the guest kernel (BERTH_VM_KERNEL or the setup-built one), the initramfs
 * (BERTH_VM_INITRD or build/initramfs.cpio) and QEMU (BERTH_VM_QEMU or Debian's).
 */
export async function findGuestAssets(env: NodeJS.ProcessEnv = process.env): Promise<GuestAssets> {
  const kernelPath = env.BERTH_VM_KERNEL || DEFAULT_KERNEL_PATH;
  const initrdPath = env.BERTH_VM_INITRD || join(buildDir(), 'initramfs.cpio');
  const qemuPath = env.BERTH_VM_QEMU || '/usr/bin/qemu-system-x86_64';
  if (!(await isReadable(kernelPath))) throw new VmUnavailableError(`no guest kernel at ${kernelPath}: run scripts/setup (it builds the guest kernel)`);
  if (!(await isReadable(initrdPath))) throw new VmUnavailableError(`no guest initramfs at ${initrdPath}: run scripts/build`);
  if (!(await isReadable(qemuPath))) throw new VmUnavailableError(`no QEMU at ${qemuPath}: apt-get install qemu-system-x86`);
  const kernelDir = dirname(kernelPath);
  const config = await readFile(join(kernelDir, 'config'), 'utf8').catch(() => '');
  const hz = /^CONFIG_HZ=(\d+)$/m.exec(config);
  const flavorText = (await readFile(join(kernelDir, 'flavor'), 'utf8').catch(() => 'berth')).trim();
  if (flavorText !== 'berth' && flavorText !== 'debian') throw new VmUnavailableError(`unknown guest kernel flavor '${flavorText}' in ${join(kernelDir, 'flavor')}`);
  const modulesPath = join(kernelDir, 'modules.cpio');
  const withModules = (await isReadable(modulesPath)) ? await initrdWithModules(initrdPath, modulesPath) : initrdPath;
  return { qemuPath, kernelPath, initrdPath: withModules, kernelHz: hz ? Number(hz[1]) : 250, kernelFlavor: flavorText };
}

/** How long a superseded combined initramfs is kept: long past any boot that chose it. */
const STALE_INITRD_MS = 10 * 60 * 1000;

/**
 * The agent's initramfs followed by the kernel's modules archive, cached beside the modules and
 * keyed by both files' identity, so it is written once per agent build and kernel. Written to a
 * temp name and renamed: concurrent VM starts never read half a file. Older combinations are
 * removed once nothing can still be about to boot from them.
 */
async function initrdWithModules(agentInitrd: string, modulesPath: string): Promise<string> {
  const [agent, modules] = await Promise.all([stat(agentInitrd), stat(modulesPath)]);
  const key = [agent.ino, agent.size, Math.floor(agent.mtimeMs), modules.size, Math.floor(modules.mtimeMs)].map((n) => n.toString(36)).join('-');
  const dir = dirname(modulesPath);
  const combined = join(dir, `initrd-${key}.cpio`);
  if (await isReadable(combined)) return combined;
  try {
    const temp = `${combined}.${process.pid}.tmp`;
    const [agentBytes, moduleBytes] = await Promise.all([readFile(agentInitrd), readFile(modulesPath)]);
    // Each newc archive ends padded to 4 bytes; pad the first anyway so the second starts aligned.
    const padding = Buffer.alloc((4 - (agentBytes.length % 4)) % 4);
    await writeFile(temp, Buffer.concat([agentBytes, padding, moduleBytes]));
    await rename(temp, combined);
  } catch (err) {
    throw new VmUnavailableError(`cannot write the guest initramfs with modules beside ${modulesPath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const now = Date.now();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!/^initrd-.*\.cpio(\.\d+\.tmp)?$/.test(name) || name === basename(combined)) continue;
    const old = await stat(join(dir, name)).catch(() => undefined);
    if (old && now - old.mtimeMs > STALE_INITRD_MS) await rm(join(dir, name), { force: true });
  }
  return combined;
}

/** The host's TSC rate in kHz (what the guest would calibrate to). */
export async function hostTscKhz(): Promise<number> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo);
  return mhz ? Math.round(Number(mhz[1]) * 1000) : 2_000_000;
}

/** Boot our kernel under KVM with `berth.probe` (the agent powers off at once); true if it ends in time. */
function probeKvm(assets: GuestAssets, tscKhz: number): Promise<boolean> {
  return new Promise((resolve) => {
    const args = [
      '-M', microvmMachine(assets.kernelFlavor), '-accel', 'kvm', '-cpu', 'host', '-m', '64M',
      '-nodefaults', '-no-user-config', '-no-reboot', '-nographic', '-serial', 'none', '-monitor', 'none',
      '-kernel', assets.kernelPath, '-initrd', assets.initrdPath,
      '-append', `quiet reboot=t panic=-1 tsc_early_khz=${tscKhz} berth.probe`,
    ];
    const child = spawn(assets.qemuPath, args, { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.once('error', () => resolve(false));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

/** An accelerator and why it was chosen, in words for `docker info`. */
export interface AccelChoice {
  accel: 'kvm' | 'tcg';
  reason: string;
}

/**
 * The accelerator for this host: BERTH_VM_ACCEL (kvm|tcg) when set; otherwise the cached
 * result of a KVM probe boot for this kernel; TCG where /dev/kvm is missing or the probe fails.
 */
export async function chooseAccel(assets: GuestAssets, tscKhz: number, env: NodeJS.ProcessEnv = process.env): Promise<'kvm' | 'tcg'> {
  return (await chooseAccelWithReason(assets, tscKhz, env)).accel;
}

/** chooseAccel, saying why (forced, no /dev/kvm, the probe's answer). */
export async function chooseAccelWithReason(assets: GuestAssets, tscKhz: number, env: NodeJS.ProcessEnv = process.env): Promise<AccelChoice> {
  const forced = env.BERTH_VM_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, reason: 'set by berthd --vm-accel' };
  if (forced) throw new VmUnavailableError(`unknown accelerator '${forced}': use kvm or tcg`);
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: 'no usable /dev/kvm' };
  }
  const kernel = await stat(assets.kernelPath);
  const cacheFile = join(ACCEL_CACHE_DIR, `vm-accel-${kernel.size}-${Math.floor(kernel.mtimeMs)}`);
  const cached = (await readFile(cacheFile, 'utf8').catch(() => '')).trim();
  const probeReason = (accel: 'kvm' | 'tcg'): string => (accel === 'kvm' ? 'a KVM probe boot succeeded' : 'a KVM probe boot failed');
  if (cached === 'kvm' || cached === 'tcg') return { accel: cached, reason: probeReason(cached) };
  const accel = (await probeKvm(assets, tscKhz)) ? 'kvm' : 'tcg';
  try {
    await mkdir(ACCEL_CACHE_DIR, { recursive: true });
    await writeFile(`${cacheFile}.tmp`, `${accel}\n`);
    await rename(`${cacheFile}.tmp`, cacheFile);
  } catch {
    // Not cached: the next VM probes again.
  }
  return { accel, reason: probeReason(accel) };
}

/** VM isolation on this host as berthd reports it (`docker info`). */
export interface VmHostDescription {
  /** `kvm` or `tcg`; '' when VM containers cannot run here. */
  accelerator: string;
  /** Why that accelerator, or what is missing when there is none. */
  reason: string;
  /** The guest kernel's release and flavor (`6.1.192 (berth)`); '' when there is no kernel. */
  guestKernel: string;
}

/**
 * What berth-vm would boot with, given the same environment (berthd hands its own to conmon,
 * which hands it to berth-vm): the same kernel, the same cached probe answer. May run the KVM
 * probe boot (seconds) when this kernel has no cached answer yet; never throws.
 */
export async function describeVmHost(env: NodeJS.ProcessEnv = process.env): Promise<VmHostDescription> {
  let assets: GuestAssets;
  try {
    assets = await findGuestAssets(env);
  } catch (err) {
    return { accelerator: '', reason: err instanceof Error ? err.message : String(err), guestKernel: '' };
  }
  const release = (await readFile(join(dirname(assets.kernelPath), 'release'), 'utf8').catch(() => '')).trim();
  const guestKernel = `${release || assets.kernelPath} (${assets.kernelFlavor})`;
  try {
    const choice = await chooseAccelWithReason(assets, await hostTscKhz(), env);
    return { accelerator: choice.accel, reason: choice.reason, guestKernel };
  } catch (err) {
    return { accelerator: '', reason: err instanceof Error ? err.message : String(err), guestKernel };
  }
}
