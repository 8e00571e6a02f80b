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

  it('saves a template with its RAM in a shared file and restores a clone copy-on-write from it', () => {
    const template = qemuArgs({ ...launch, template: { role: 'template', memoryPath: '/t/k.building/ram', qmpSocketPath: 'qmp.sock' } });
    const clone = qemuArgs({ ...launch, template: { role: 'clone', memoryPath: '/t/k/ram', qmpSocketPath: 'qmp.sock' } });
    assert.match(template[template.indexOf('-M') + 1]!, /,memory-backend=ram$/);
    assert.equal(template[template.indexOf('-object') + 1], 'memory-backend-file,id=ram,size=128M,mem-path=/t/k.building/ram,share=on');
    assert.equal(clone[clone.indexOf('-object') + 1], 'memory-backend-file,id=ram,size=128M,mem-path=/t/k/ram,share=off');
    assert.ok(!template.includes('-incoming'));
    assert.deepEqual(clone.slice(clone.indexOf('-incoming'), clone.indexOf('-incoming') + 2), ['-incoming', 'defer']);
    assert.match(template[template.indexOf('-append') + 1]!, / berth\.template$/);
    assert.doesNotMatch(kernelCommandLine(launch), /berth\.template/);
    // Device for device the same machine, or the saved state would not load.
    const devices = (args: string[]): string[] => args.filter((_, i) => args[i - 1] === '-device' || args[i - 1] === '-fsdev');
    assert.deepEqual(devices(template), devices(clone));
  });
});
