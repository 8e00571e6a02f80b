/**
 * The spec's seccomp section for the guest agent (PROTOCOL.md `seccomp`): compiled on the host to
 * the raw BPF program seccomp(2) takes, by build/berth-seccomp (Debian's libseccomp, as crun uses
 * it), because the guest has neither libseccomp nor a JSON parser. The agent installs the program
 * for the container's process and for every exec in it, as runc and crun do.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { LinuxSeccomp, SeccompAction } from '../oci/index.js';
import { buildDir } from './guest-assets.js';

/** Flags seccomp(2) takes with SECCOMP_SET_MODE_FILTER (include/uapi/linux/seccomp.h). */
const FILTER_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
};

const ACTIONS: ReadonlySet<SeccompAction> = new Set<SeccompAction>([
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG',
]);

const EPERM = 1;
const WORD = /^[A-Za-z0-9_]+$/;

/** A profile the guest cannot apply as written; berth-vm create fails with this message. */
export class UnsupportedGuestSeccompError extends Error {}

function actionWord(action: string, errnoRet: number | undefined): string {
  if (action === 'SCMP_ACT_NOTIFY') throw new UnsupportedGuestSeccompError('seccomp action SCMP_ACT_NOTIFY is not supported with --isolation=vm (there is no listener inside the VM)');
  if (!ACTIONS.has(action as SeccompAction)) throw new UnsupportedGuestSeccompError(`unknown seccomp action ${JSON.stringify(action)}`);
  // runc's and crun's default return code for ERRNO and TRACE without errnoRet.
  const code = errnoRet ?? EPERM;
  if (!Number.isInteger(code) || code < 0 || code > 4095) throw new UnsupportedGuestSeccompError(`seccomp errnoRet ${code} is out of range`);
  return `${action} ${code}`;
}

function unsigned64(value: number | undefined, what: string): string {
  const v = value ?? 0;
  if (!Number.isInteger(v) || v < 0) throw new UnsupportedGuestSeccompError(`seccomp argument value ${v} of ${what} is not an unsigned integer`);
  return BigInt(v).toString();
}

/**
 * The lines build/berth-seccomp reads for `seccomp` (native/berth-seccomp.c); throws
 * UnsupportedGuestSeccompError for what the guest cannot do (a notify listener) or malformed input.
 */
export function seccompCompilerInput(seccomp: LinuxSeccomp): string {
  const lines = [`default ${actionWord(seccomp.defaultAction, seccomp.defaultErrnoRet)}`];
  for (const arch of seccomp.architectures ?? []) {
    if (!WORD.test(arch)) throw new UnsupportedGuestSeccompError(`unknown seccomp architecture ${JSON.stringify(arch)}`);
    lines.push(`arch ${arch}`);
  }
  for (const rule of seccomp.syscalls ?? []) {
    const action = actionWord(rule.action, rule.errnoRet);
    const args = rule.args ?? [];
    if (args.length > 24) throw new UnsupportedGuestSeccompError(`a seccomp rule has ${args.length} argument conditions (at most 24)`);
    const conditions = args.map((arg) => {
      if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) throw new UnsupportedGuestSeccompError(`seccomp argument index ${arg.index} is out of range (0-5)`);
      if (!WORD.test(arg.op)) throw new UnsupportedGuestSeccompError(`unknown seccomp operator ${JSON.stringify(arg.op)}`);
      return `${arg.index} ${arg.op} ${unsigned64(arg.value, rule.names.join(','))} ${unsigned64(arg.valueTwo, rule.names.join(','))}`;
    });
    for (const name of rule.names) {
      if (!WORD.test(name)) throw new UnsupportedGuestSeccompError(`invalid syscall name ${JSON.stringify(name)} in the seccomp profile`);
      lines.push(['rule', action, name, String(args.length), ...conditions].join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The seccomp(2) flags of the section as one mask; throws for a flag the agent does not apply. */
export function seccompFlagMask(seccomp: LinuxSeccomp): number {
  let mask = 0;
  for (const flag of seccomp.flags ?? []) {
    const bit = FILTER_FLAGS[flag];
    if (bit === undefined) throw new UnsupportedGuestSeccompError(`seccomp flag ${flag} is not supported with --isolation=vm`);
    mask |= bit;
  }
  return mask;
}

/** Compile with build/berth-seccomp (or `compilerPath`); resolves to the raw program. */
export function compileSeccomp(seccomp: LinuxSeccomp, compilerPath = join(buildDir(), 'berth-seccomp')): Promise<Buffer> {
  const input = seccompCompilerInput(seccomp);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(compilerPath, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => reject(new Error(`cannot run the seccomp compiler ${compilerPath}: ${e.message}`)));
    child.on('close', (code) => {
      const program = Buffer.concat(out);
      const message = Buffer.concat(err).toString('utf8').trim().split('\n')[0];
      // A sock_filter is 8 bytes: anything else is not a whole program.
      if (code !== 0 || program.length === 0 || program.length % 8 !== 0) {
        reject(new Error(`cannot compile the seccomp profile: ${message || `the compiler exited with ${code}`}`));
        return;
      }
      resolvePromise(program);
    });
    child.stdin.on('error', () => {}); // a compiler that died early says why on stderr
    child.stdin.end(input);
  });
}

/**
 * START's `seccomp` field for the spec's section: `<flags hex>/<program base64>`; none when the
 * spec has no section (seccomp=unconfined, --privileged).
 */
export async function seccompFields(seccomp: LinuxSeccomp | undefined, compile = compileSeccomp): Promise<string[]> {
  if (!seccomp) return [];
  const flags = seccompFlagMask(seccomp);
  const program = await compile(seccomp);
  return [`seccomp=${flags.toString(16)}/${program.toString('base64')}`];
}
