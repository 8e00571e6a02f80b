/**
 * The host programs the engine runs on a user's behalf: `ps` for `docker top`, `du` for the
 * space a prune reclaims, `cp -a` for a volume's copy-up. The engine sees only HostTools;
 * daemon/builtins.ts gives it SystemHostTools, unit tests FakeHostTools.
 */
import { stat } from 'node:fs/promises';
import { runCommand, type CommandResult } from './run-command.js';

export interface HostTools {
  /** `ps <args>` on the host: its output and exit code, whatever the code. */
  ps(args: readonly string[]): Promise<CommandResult>;
  /** Bytes of the files under `dir` (`du -sb`); the directory's own size when du cannot tell, 0 when it is gone. */
  diskUsageBytes(dir: string): Promise<number>;
  /** Copy what is in `source` into the existing directory `destination`, keeping owners, modes and links (`cp -a`). */
  copyTree(source: string, destination: string): Promise<CommandResult>;
}

/** HostTools on the machine's own procps and coreutils. */
export class SystemHostTools implements HostTools {
  ps(args: readonly string[]): Promise<CommandResult> {
    return runCommand('ps', args);
  }

  async diskUsageBytes(dir: string): Promise<number> {
    const result = await runCommand('du', ['-sb', dir]);
    const bytes = Number(result.stdout.split(/\s/)[0]);
    if (Number.isFinite(bytes)) return bytes;
    try {
      return (await stat(dir)).size;
    } catch {
      return 0;
    }
  }

  copyTree(source: string, destination: string): Promise<CommandResult> {
    return runCommand('cp', ['-a', '--', `${source}/.`, `${destination}/`]);
  }
}

/** HostTools for unit tests: `ps` answers what the test set, sizes come from a map, copies are recorded. */
export class FakeHostTools implements HostTools {
  /** What `ps` prints (a header line, then one line per process). */
  psOutput = 'UID PID PPID C STIME TTY TIME CMD\n';
  readonly psCalls: string[][] = [];
  readonly sizes = new Map<string, number>();
  readonly copies: Array<{ source: string; destination: string }> = [];

  async ps(args: readonly string[]): Promise<CommandResult> {
    this.psCalls.push([...args]);
    return { stdout: this.psOutput, stderr: '', exitCode: 0 };
  }

  async diskUsageBytes(dir: string): Promise<number> {
    return this.sizes.get(dir) ?? 0;
  }

  async copyTree(source: string, destination: string): Promise<CommandResult> {
    this.copies.push({ source, destination });
    return { stdout: '', stderr: '', exitCode: 0 };
  }
}
