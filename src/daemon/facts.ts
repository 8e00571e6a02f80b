/**
 * Facts about this host that `info` and `version` report, read once at start.
 */
import { readFile } from 'node:fs/promises';
import { cpus, hostname, release, totalmem } from 'node:os';
import type { DaemonFacts } from '../engine/index.js';
import { MAX_API_VERSION, MIN_API_VERSION } from '../api/index.js';
import type { DaemonConfig } from './config.js';
import { describeVmHost } from '../vm/index.js';

async function operatingSystem(): Promise<string> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    const match = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
    return match?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

export async function readDaemonFacts(config: DaemonConfig, version: string, cgroupVersion: '1' | '2'): Promise<DaemonFacts> {
  return {
    version,
    apiVersion: MAX_API_VERSION,
    minApiVersion: MIN_API_VERSION,
    root: config.root,
    execRoot: config.execRoot,
    defaultRuntime: config.defaultRuntime,
    runtimes: config.runtimes,
    cgroupVersion,
    cgroupDriver: 'cgroupfs',
    kernelVersion: release(),
    operatingSystem: await operatingSystem(),
    hostname: hostname(),
    cpus: cpus().length,
    memoryBytes: totalmem(),
    startedAt: new Date().toISOString(),
    defaultIsolation: 'process',
    // Started now, awaited by `info`: on a KVM host with no cached answer it is a probe boot.
    // berthd's environment (BERTH_VM_ACCEL from --vm-accel included) is what berth-vm gets.
    vm: describeVmHost(process.env),
  };
}
