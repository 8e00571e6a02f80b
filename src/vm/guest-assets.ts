/**
 * Where berth-vm finds what it boots (guest kernel, initramfs, QEMU) and which accelerator it
 * uses: KVM only where a probe boot of our kernel really finishes (cached per machine), else TCG.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../common/index.js';

/** The files a VM boots from. */
export interface GuestAssets {
  qemuPath: string;
  kernelPath: string;
  initrdPath: string;
  /** The kernel's CONFIG_HZ (from the config saved beside it), 250 when unknown. */
  kernelHz: number;
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
  const config = await readFile(join(dirname(kernelPath), 'config'), 'utf8').catch(() => '');
  const hz = /^CONFIG_HZ=(\d+)$/m.exec(config);
  return { qemuPath, kernelPath, initrdPath, kernelHz: hz ? Number(hz[1]) : 250 };
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
      '-M', 'microvm,x-option-roms=off,isa-serial=off,rtc=on,acpi=off', '-accel', 'kvm', '-cpu', 'host', '-m', '64M',
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

/**
 * The accelerator for this host: BERTH_VM_ACCEL (kvm|tcg) when set; otherwise the cached
 * result of a KVM probe boot for this kernel; TCG where /dev/kvm is missing or the probe fails.
 */
export async function chooseAccel(assets: GuestAssets, tscKhz: number, env: NodeJS.ProcessEnv = process.env): Promise<'kvm' | 'tcg'> {
  const forced = env.BERTH_VM_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (forced) throw new VmUnavailableError(`unknown accelerator '${forced}': use kvm or tcg`);
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'tcg';
  }
  const kernel = await stat(assets.kernelPath);
  const cacheFile = join(ACCEL_CACHE_DIR, `vm-accel-${kernel.size}-${Math.floor(kernel.mtimeMs)}`);
  const cached = (await readFile(cacheFile, 'utf8').catch(() => '')).trim();
  if (cached === 'kvm' || cached === 'tcg') return cached;
  const accel = (await probeKvm(assets, tscKhz)) ? 'kvm' : 'tcg';
  try {
    await mkdir(ACCEL_CACHE_DIR, { recursive: true });
    await writeFile(`${cacheFile}.tmp`, `${accel}\n`);
    await rename(`${cacheFile}.tmp`, cacheFile);
  } catch {
    // Not cached: the next VM probes again.
  }
  return accel;
}
