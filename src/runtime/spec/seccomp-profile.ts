/**
 * Converting a seccomp profile in moby's format (docker's default, in docker-default-seccomp.ts, and
 * what `--security-opt seccomp=<file>` names: archMap, includes/excludes by arch, caps and minKernel)
 * into the OCI spec's linux.seccomp for one host architecture and one capability set.
 */
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { BerthError, messageOf } from '../../common/index.js';
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall, SeccompAction } from '../../oci/index.js';

/** One rule of a moby-format profile. */
export interface MobySeccompRule {
  name?: string;
  names?: string[];
  action: SeccompAction;
  args?: LinuxSeccompArg[] | null;
  errnoRet?: number;
  includes?: { arches?: string[]; caps?: string[]; minKernel?: string };
  excludes?: { arches?: string[]; caps?: string[]; minKernel?: string };
}

/** A moby-format seccomp profile, as docker's `--security-opt seccomp=<file>` also accepts. */
export interface MobySeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  flags?: string[];
  syscalls?: MobySeccompRule[];
}

/** A seccomp profile that cannot be read or parsed. */
export class InvalidSeccompProfileError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid-argument', 'BERTH_INVALID_SECCOMP_PROFILE', message, options);
  }
}

/** The host facts the conversion depends on. */
export interface SeccompTarget {
  /** Go's GOARCH naming, as the profile's `arches` use it (`amd64`, `arm64`, ...). */
  arch: string;
  /** The container's bounding capabilities (`CAP_SYS_ADMIN` ...). */
  capabilities: readonly string[];
  /** Host kernel release (`6.1.0-18-amd64`); only major.minor matter. */
  kernelRelease: string;
}

const NODE_TO_GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64el: 'mips64le' };
const GO_TO_SECCOMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64', '386': 'SCMP_ARCH_X86', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM',
  ppc64le: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64', mips64le: 'SCMP_ARCH_MIPSEL64',
};

/** This host's target for `capabilities`. */
export function hostSeccompTarget(capabilities: readonly string[]): SeccompTarget {
  return { arch: NODE_TO_GO_ARCH[process.arch] ?? process.arch, capabilities, kernelRelease: release() };
}

/** Compare `a` and `b` as `major.minor` kernel versions: negative, zero or positive. */
function compareKernel(a: string, b: string): number {
  const parse = (text: string): [number, number] => {
    const match = /^(\d+)\.(\d+)/.exec(text);
    return match ? [Number(match[1]), Number(match[2])] : [0, 0];
  };
  const [aMajor, aMinor] = parse(a);
  const [bMajor, bMinor] = parse(b);
  return aMajor !== bMajor ? aMajor - bMajor : aMinor - bMinor;
}

function ruleApplies(rule: MobySeccompRule, target: SeccompTarget): boolean {
  const { includes = {}, excludes = {} } = rule;
  if (includes.arches?.length && !includes.arches.includes(target.arch)) return false;
  if (includes.caps?.length && !includes.caps.every((cap) => target.capabilities.includes(cap))) return false;
  if (includes.minKernel && compareKernel(target.kernelRelease, includes.minKernel) < 0) return false;
  if (excludes.arches?.length && excludes.arches.includes(target.arch)) return false;
  if (excludes.caps?.length && excludes.caps.some((cap) => target.capabilities.includes(cap))) return false;
  return true;
}

/**
 * The OCI seccomp section for `target`: rules whose includes/excludes do not match are dropped,
 * architectures come from the archMap entry of the host's native arch (with its sub-arches).
 * Pure; the input is not modified.
 */
export function toOciSeccomp(profile: MobySeccompProfile, target: SeccompTarget): LinuxSeccomp {
  const nativeArch = GO_TO_SECCOMP_ARCH[target.arch];
  let architectures: string[] = [];
  const mapped = profile.archMap?.find((entry) => entry.architecture === nativeArch);
  if (mapped) architectures = [mapped.architecture, ...(mapped.subArchitectures ?? [])];
  else if (profile.architectures) architectures = [...profile.architectures];

  const syscalls: LinuxSyscall[] = [];
  for (const rule of profile.syscalls ?? []) {
    if (!ruleApplies(rule, target)) continue;
    const names = rule.names?.length ? [...rule.names] : rule.name ? [rule.name] : [];
    if (names.length === 0) continue;
    const syscall: LinuxSyscall = { names, action: rule.action };
    if (rule.errnoRet !== undefined) syscall.errnoRet = rule.errnoRet;
    if (rule.args && rule.args.length > 0) {
      syscall.args = rule.args.map((arg) => ({ index: arg.index, value: arg.value, valueTwo: arg.valueTwo ?? 0, op: arg.op }));
    }
    syscalls.push(syscall);
  }
  const result: LinuxSeccomp = { defaultAction: profile.defaultAction, syscalls };
  if (profile.defaultErrnoRet !== undefined) result.defaultErrnoRet = profile.defaultErrnoRet;
  if (architectures.length > 0) result.architectures = architectures;
  if (profile.flags?.length) result.flags = [...profile.flags];
  return result;
}

/** Read and parse a moby-format profile; InvalidSeccompProfileError when unreadable or malformed. */
export async function loadSeccompProfile(path: string): Promise<MobySeccompProfile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InvalidSeccompProfileError(`opening seccomp profile (${path}) failed: ${messageOf(err)}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON.parse's message: it quotes the file's first bytes (`--security-opt seccomp=/etc/shadow`).
    throw new InvalidSeccompProfileError(`decoding seccomp profile (${path}) failed: not a JSON profile`);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { defaultAction?: unknown }).defaultAction !== 'string') {
    throw new InvalidSeccompProfileError(`decoding seccomp profile (${path}) failed: no defaultAction`);
  }
  return parsed as MobySeccompProfile;
}
