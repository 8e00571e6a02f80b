/**
 * Capability sets of a process as the guest agent takes them (PROTOCOL.md `caps`): five 64-bit
 * masks, bounding/effective/permitted/inheritable/ambient, in hex. The numbers are Linux's
 * (include/uapi/linux/capability.h); they never change once assigned.
 */
import type { RuntimeProcess } from '../oci/index.js';

const CAPABILITY_NUMBERS: Readonly<Record<string, number>> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4,
  CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10, CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15, CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20, CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25, CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30, CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35, CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
};

function mask(names: readonly string[] | undefined): bigint {
  let bits = 0n;
  for (const name of names ?? []) {
    const number = CAPABILITY_NUMBERS[name.toUpperCase()];
    // A name this table does not know (newer than the guest kernel) cannot be granted there.
    if (number !== undefined) bits |= 1n << BigInt(number);
  }
  return bits;
}

/**
 * The START/EXEC fields for the process's capabilities and no_new_privileges; none when the
 * spec gives no capabilities (the agent then leaves the process with root's full set).
 */
export function capabilityFields(proc: Pick<RuntimeProcess, 'capabilities' | 'noNewPrivileges'>): string[] {
  const fields: string[] = [];
  const caps = proc.capabilities;
  if (caps) {
    const sets = [caps.bounding, caps.effective, caps.permitted, caps.inheritable, caps.ambient];
    fields.push(`caps=${sets.map((set) => mask(set).toString(16)).join('/')}`);
  }
  if (proc.noNewPrivileges) fields.push('nnp=1');
  return fields;
}
