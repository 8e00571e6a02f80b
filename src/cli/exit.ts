/**
 * The one place `berth` picks its exit code, as the docker CLI does: usage errors 125; for
 * run/create any failure before the container runs 125, or 126/127 when the daemon's error
 * code says the command cannot be invoked / was not found; other commands 1 on a daemon
 * error; run otherwise returns the container's own code. Codes decide, never message text.
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

/** A command failed (a daemon error outside run/create, a refused local input). */
export const EXIT_FAILURE = 1;
/** Exit code for a usage error, and for run/create failing before the container runs. */
export const EXIT_USAGE = 125;
/** run/exec: the command exists but cannot be invoked. */
export const EXIT_CANNOT_INVOKE = 126;
/** run/exec: the command was not found. */
export const EXIT_NOT_FOUND = 127;

/**
 * Error codes with an exit code of their own when `run`, `create` or `start -a` fails on
 * them (docker/cli's container/run.go gives 126 and 127). docs/errors.md lists the same
 * table; src/cli/exit.test.ts keeps the two in step.
 */
export const EXIT_CODE_OF_ERROR: Readonly<Record<string, number>> = {
  BERTH_CLI_USAGE: EXIT_USAGE,
  BERTH_CANNOT_INVOKE: EXIT_CANNOT_INVOKE,
  BERTH_COMMAND_NOT_FOUND: EXIT_NOT_FOUND,
};

/** The exit code `run` gives when the container could not be started: from the error's code, else 125. */
export function startFailureExitCode(err: unknown): number {
  return (err instanceof BerthError ? EXIT_CODE_OF_ERROR[err.code] : undefined) ?? EXIT_USAGE;
}

/** Exit code for an error escaping a command; `isRunLike` is true for run and create. */
export function exitCodeFor(err: unknown, isRunLike: boolean): number {
  if (err instanceof StatusError) return err.exitCode;
  if (err instanceof UsageError) return EXIT_USAGE;
  return isRunLike ? startFailureExitCode(err) : EXIT_FAILURE;
}
