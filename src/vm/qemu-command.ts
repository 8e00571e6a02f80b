/**
 * The QEMU command line of one VM container: a microvm with no firmware option ROMs, no ACPI
 * for Berth's kernel (so QEMU lists the virtio-mmio devices on the kernel command line) and no default devices, the kernel entered directly (PVH), one virtio-serial device carrying the
 * console (port 0) and the agent's channel (port 1), and the container's root shared over 9p.
 */

/**
 * Which guest kernel boots, as far as the command line cares (`flavor` beside the kernel,
 * written by scripts/setup): `berth` is ours (guest/kernel/build); `debian` is Debian's
 * prebuilt one (guest/kernel/prebuilt), which finds virtio-mmio devices only through ACPI
 * (no VIRTIO_MMIO_CMDLINE_DEVICES) and hangs in idle without its APIC timer.
 */
export type KernelFlavor = 'berth' | 'debian';

/** Everything the command line depends on. */
export interface QemuLaunch {
  qemuPath: string;
  accel: 'kvm' | 'tcg';
  kernelPath: string;
  initrdPath: string;
  /** Guest memory and vCPUs. */
  memoryMiB: number;
  cpus: number;
  /** The host's TSC rate; with it the guest skips its calibration (the TCG hang in VM-NOTES.md). */
  tscKhz: number;
  /** The guest kernel's CONFIG_HZ, for lpj. */
  kernelHz: number;
  /** Berth's kernel when absent. */
  kernelFlavor?: KernelFlavor;
  /** QEMU connects here (we listen first, so the channel exists before the guest runs). */
  agentSocketPath: string;
  consoleLogPath: string;
  /** The container's root directory on the host (the overlay mount). */
  rootfsPath: string;
  pidFilePath: string;
  /** Bind-mount sources, one 9p device each (tags `m0`, `m1`, ...). */
  shares?: readonly { tag: string; hostPath: string; isReadonly: boolean }[];
  /**
   * A VM template (src/vm/vm-template.ts): `template` boots the guest that is saved (its RAM a
   * shared file, `berth.template` on the kernel command line), `clone` restores it (the same
   * file mapped copy-on-write, `-incoming defer`). Both have a QMP monitor; absent: a cold boot.
   */
  template?: { role: 'template' | 'clone'; memoryPath: string; qmpSocketPath: string };
}

/** The guest kernel's command line. */
export function kernelCommandLine(launch: Pick<QemuLaunch, 'tscKhz' | 'kernelHz' | 'kernelFlavor' | 'template'>): string {
  const lpj = Math.round((launch.tscKhz * 1000) / launch.kernelHz);
  const isBerthKernel = (launch.kernelFlavor ?? 'berth') === 'berth';
  return [
    'console=hvc0',
    'quiet',
    // No ACPI in the guest: it powers off by triple fault, which -no-reboot turns into QEMU's exit;
    // a panic reboots at once, which ends QEMU the same way.
    'reboot=t',
    'panic=-1',
    // Berth's kernel keeps its tick on the PIT (Debian's would then hang in idle); skipping
    // TSC and delay-loop calibration avoids the calibration hang seen under TCG and saves ~0.25 s.
    ...(isBerthKernel ? ['noapictimer'] : ['pci=off']),
    `tsc_early_khz=${launch.tscKhz}`,
    'tsc=reliable',
    'no_timer_check',
    `lpj=${lpj}`,
    // The agent then leaves the root unmounted until START (a mounted 9p share cannot be saved).
    ...(launch.template ? ['berth.template'] : []),
  ].join(' ');
}

/** The `-M` value: ACPI only for a kernel that needs it to find its virtio-mmio devices. */
export function microvmMachine(flavor: KernelFlavor | undefined): string {
  return `microvm,x-option-roms=off,isa-serial=off,rtc=on,acpi=${(flavor ?? 'berth') === 'berth' ? 'off' : 'on'}`;
}

/** QEMU's argv (without the program). */
export function qemuArgs(launch: QemuLaunch): string[] {
  const escapeOpt = (value: string): string => value.replaceAll(',', ',,');
  const template = launch.template;
  return [
    '-M', template ? `${microvmMachine(launch.kernelFlavor)},memory-backend=ram` : microvmMachine(launch.kernelFlavor),
    ...(template ? [
      '-object', `memory-backend-file,id=ram,size=${launch.memoryMiB}M,mem-path=${escapeOpt(template.memoryPath)},share=${template.role === 'template' ? 'on' : 'off'}`,
      '-chardev', `socket,id=qmp,path=${escapeOpt(template.qmpSocketPath)}`,
      '-mon', 'chardev=qmp,mode=control',
      ...(template.role === 'clone' ? ['-incoming', 'defer'] : []),
    ] : []),
    '-accel', launch.accel,
    '-cpu', launch.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(launch.cpus),
    '-m', `${launch.memoryMiB}M`,
    '-nodefaults',
    '-no-user-config',
    '-no-reboot',
    '-nographic',
    '-serial', 'none',
    '-monitor', 'none',
    '-kernel', launch.kernelPath,
    '-initrd', launch.initrdPath,
    '-append', kernelCommandLine(launch),
    '-pidfile', launch.pidFilePath,
    '-device', 'virtio-serial-device,max_ports=2',
    '-chardev', `file,id=console,path=${escapeOpt(launch.consoleLogPath)}`,
    '-device', 'virtconsole,chardev=console,nr=0',
    '-chardev', `socket,id=agent,path=${escapeOpt(launch.agentSocketPath)}`,
    '-device', 'virtserialport,chardev=agent,nr=1,name=berth.agent',
    '-fsdev', `local,id=rootfs,path=${escapeOpt(launch.rootfsPath)},security_model=passthrough,multidevs=remap`,
    '-device', 'virtio-9p-device,fsdev=rootfs,mount_tag=rootfs',
    ...(launch.shares ?? []).flatMap((share) => [
      '-fsdev', `local,id=${share.tag},path=${escapeOpt(share.hostPath)},security_model=passthrough,multidevs=remap${share.isReadonly ? ',readonly=on' : ''}`,
      '-device', `virtio-9p-device,fsdev=${share.tag},mount_tag=${share.tag}`,
    ]),
  ];
}
