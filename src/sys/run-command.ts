/**
 * Running host programs (mount, crun, conmon, iptables...) with their output captured.
 * The one place Berth spawns short-lived helpers, so errors read the same everywhere.
 */
import { spawn } from 'node:child_process';
import { BerthError } from '../common/index.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunCommandOptions {
  /** Data written to the program's stdin, which is then closed. */
  input?: string | Uint8Array;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the program after this long; the call then fails with CommandTimeoutError. */
  timeoutMs?: number;
  /** Called once all of `input` is in the program's stdin pipe (the program is running then). */
  onInputWritten?: () => void;
}

/** A host program that did not finish within its time limit (it was killed). */
export class CommandTimeoutError extends BerthError {
  constructor(program: string, timeoutMs: number) {
    super('internal', 'BERTH_COMMAND_TIMEOUT', `${program}: did not finish within ${timeoutMs / 1000} s; killed`);
  }
}

/** A host program that failed; carries its stderr's last line as the message. */
export class CommandFailedError extends BerthError {
  readonly result: CommandResult;
  constructor(program: string, result: CommandResult) {
    const detail = lastLine(result.stderr) || lastLine(result.stdout) || `exit status ${result.exitCode}`;
    super('internal', 'BERTH_COMMAND_FAILED', `${program}: ${detail}`);
    this.result = result;
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').trim();
}

/** Run `program args`, resolving with its output whatever the exit code; rejects only when it cannot be spawned or times out. */
export function runCommand(program: string, args: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (options.timeoutMs !== undefined) {
      const timeoutMs = options.timeoutMs;
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
    }
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (timedOut) {
        reject(new CommandTimeoutError(program, options.timeoutMs!));
        return;
      }
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode: code ?? (signal ? 128 : 1),
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '', options.onInputWritten);
  });
}

/** Run `program args` and fail with CommandFailedError unless it exits 0. */
export async function runChecked(program: string, args: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  const result = await runCommand(program, args, options);
  if (result.exitCode !== 0) throw new CommandFailedError(program, result);
  return result;
}
