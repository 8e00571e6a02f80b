/**
 * The one place `berth` picks its exit code, as the docker CLI does: usage errors 125; for
 * run/create any failure before the container runs 125, or 126/127 when the daemon says the
 * command cannot be invoked / was not found; other commands 1 on a daemon error; run
 * otherwise returns the container's own code.
 */
import { BerthError } from '../common/index.js';

/** A command-line mistake found before any API call (bad flag value, conflicting flags). */
export class UsageError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_CLI_USAGE', message);
  }
}

/** An error that already carries its exit code, printed with its message unless empty. */
export class StatusError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message = '') {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Exit code for a usage error. */
export const EXIT_USAGE = 125;

/**
 * The exit code docker's `run` gives when starting fails. The API has no field for
 * "cannot execute" or "not found", so, like docker/cli's container/run.go, the daemon's
 * message decides: not found 127, permission denied or a directory 126, anything else 125.
 */
export function runStartFailureCode(message: string): number {
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(message)) return 127;
  if (/permission denied|is a directory/.test(message)) return 126;
  return 125;
}

/** Exit code for an error escaping a command; `isRunLike` is true for run and create. */
export function exitCodeFor(err: unknown, isRunLike: boolean): number {
  if (err instanceof StatusError) return err.exitCode;
  if (err instanceof UsageError) return EXIT_USAGE;
  return isRunLike ? EXIT_USAGE : 1;
}
