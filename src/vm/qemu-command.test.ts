import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kernelCommandLine, qemuArgs } from './qemu-command.js';

const launch = {
  qemuPath: '/usr/bin/qemu-system-x86_64',
  accel: 'tcg' as const,
  kernelPath: '/k/vmlinux',
  initrdPath: '/k/initramfs.cpio',
  memoryMiB: 128,
  cpus: 1,
  tscKhz: 2600000,
  kernelHz: 250,
  agentSocketPath: '/s/agent.sock',
  consoleLogPath: '/s/console,log',
  rootfsPath: '/r/merged',
  pidFilePath: '/s/qemu.pid',
};

describe('qemu command line', () => {
  it('skips TSC and delay-loop calibration and powers off by triple fault', () => {
    const line = kernelCommandLine(launch);
    assert.match(line, /tsc_early_khz=2600000/);
    assert.match(line, /lpj=10400000/);
    assert.match(line, /reboot=t/);
    assert.match(line, /panic=-1/);
  });

  it('builds a microvm with the agent port, console and 9p root', () => {
    const args = qemuArgs(launch);
    assert.equal(args[args.indexOf('-M') + 1], 'microvm,x-option-roms=off,isa-serial=off,rtc=on,acpi=off');
    assert.ok(args.includes('-no-reboot'));
    assert.ok(args.includes('-nodefaults'));
    assert.ok(args.includes('virtserialport,chardev=agent,nr=1,name=berth.agent'));
    // Commas in paths are doubled, QEMU's escape for option values.
    assert.ok(args.includes('file,id=console,path=/s/console,,log'));
    assert.ok(args.some((a) => a.startsWith('local,id=rootfs,path=/r/merged,')));
  });

  it('boots Debian\'s prebuilt kernel with ACPI and its APIC timer', () => {
    const args = qemuArgs({ ...launch, kernelFlavor: 'debian' });
    assert.equal(args[args.indexOf('-M') + 1], 'microvm,x-option-roms=off,isa-serial=off,rtc=on,acpi=on');
    const line = args[args.indexOf('-append') + 1]!;
    assert.doesNotMatch(line, /noapictimer/);
    assert.match(line, /tsc_early_khz=2600000/);
    assert.match(kernelCommandLine(launch), /noapictimer/);
  });
});
