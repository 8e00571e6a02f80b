/**
 * Mounting and unmounting through mount(8)/umount(8), and reading /proc/self/mountinfo to tell
 * what is mounted where. The only code in Berth that mounts filesystems.
 */
import { readFile, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BerthError } from '../common/index.js';
import type { MountHelper } from './mount-helper.js';
import { runCommand } from './run-command.js';

/** What to mount: like mount(8)'s `-t type -o options source target`. */
export interface MountSpec {
  source: string;
  target: string;
  type?: string;
  /** Joined with commas into mount's `-o`. */
  options?: readonly string[];
  /** Directory mount(8) runs in, so relative paths inside options resolve there (keeps overlay's option string short). */
  cwd?: string;
}

/** One line of /proc/self/mountinfo. */
export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** The mount point, with the kernel's octal escapes decoded. */
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string;
}

/** mount(8) or umount(8) failed; the message is the program's last stderr line. */
export class MountError extends BerthError {
  constructor(message: string) {
    super('internal', 'BERTH_MOUNT_FAILED', message);
  }
}

/**
 * The host's mount table, behind an interface so snapshotters can be tested with a fake.
 * Implementations must make unmount idempotent: unmounting something not mounted succeeds.
 */
export interface Mounter {
  mount(spec: MountSpec): Promise<void>;
  /** Unmount `target`; when a plain unmount fails as busy, detach it lazily. No-op when not mounted. */
  unmount(target: string): Promise<void>;
  isMounted(path: string): Promise<boolean>;
}

/** Decode mountinfo's octal escapes (`\040` for a space, and so on). */
function unescapeMountField(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Parse the text of /proc/<pid>/mountinfo (proc(5)). Lines it cannot read are skipped. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 4) continue;
    entries.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      mountPoint: unescapeMountField(fields[4]!),
      fsType: fields[separator + 1]!,
      source: unescapeMountField(fields[separator + 2]!),
      superOptions: fields[separator + 3]!,
    });
  }
  return entries;
}

/** The mounts of this process's mount namespace. */
export async function readMountInfo(): Promise<MountInfoEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/**
 * The real host mounter: mount(2)/umount2(2) through the berth-mount helper where it can (the
 * overlay mounts every start makes), else mount(8) and umount(8).
 */
export class HostMounter implements Mounter {
  readonly #helper: MountHelper | undefined;

  constructor(options: { helper?: MountHelper } = {}) {
    this.#helper = options.helper;
  }

  async mount(spec: MountSpec): Promise<void> {
    // Only option strings that are all filesystem data (key=value) go to the helper: flag words
    // (ro, bind, nosuid) are mount(8)'s to translate into mount flags.
    const options = spec.options ?? [];
    if (this.#helper && spec.type === 'overlay' && options.every((option) => option.includes('='))) {
      const answer = await this.#helper.mount(spec.cwd ?? '', spec.type, spec.source, spec.target, options.join(','));
      if (answer !== undefined) {
        if (answer.errno !== 0) throw new MountError(`mount ${spec.target}: ${answer.message}`);
        return;
      }
    }
    const args: string[] = [];
    if (spec.type !== undefined) args.push('-t', spec.type);
    if (options.length > 0) args.push('-o', options.join(','));
    args.push(spec.source, spec.target);
    const result = await runCommand('mount', args, spec.cwd === undefined ? {} : { cwd: spec.cwd });
    if (result.exitCode !== 0) {
      throw new MountError(`mount ${spec.target}: ${lastLine(result.stderr) || `exit status ${result.exitCode}`}`);
    }
  }

  async unmount(target: string): Promise<void> {
    if (!(await this.isMounted(target))) return;
    const plain = await this.#unmountOnce(target, false);
    if (plain.ok || !(await this.isMounted(target))) return;
    // Busy (a process still has its cwd or a file there): detach now, the kernel frees it later.
    const lazy = await this.#unmountOnce(target, true);
    if (!lazy.ok && (await this.isMounted(target))) {
      throw new MountError(`umount ${target}: ${lazy.message || plain.message}`);
    }
  }

  async #unmountOnce(target: string, isLazy: boolean): Promise<{ ok: boolean; message: string }> {
    const answer = await this.#helper?.unmount(target, isLazy);
    if (answer !== undefined) return { ok: answer.errno === 0, message: answer.message };
    const result = await runCommand('umount', isLazy ? ['-l', target] : [target]);
    return { ok: result.exitCode === 0, message: lastLine(result.stderr) || `exit status ${result.exitCode}` };
  }

  async isMounted(path: string): Promise<boolean> {
    // mountinfo shows canonical paths; a symlinked prefix (say /tmp -> /private/tmp) must not hide a mount.
    const wanted = await realpath(path).catch(() => resolve(path));
    return (await readMountInfo()).some((entry) => entry.mountPoint === wanted);
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').trim();
}
