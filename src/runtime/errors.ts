/**
 * Errors of the runtime layer. The CLI maps CommandNotFoundError to exit 127 and
 * CannotInvokeError to 126 by type (cli/exit.ts), never by message.
 */
import { BerthError } from '../common/index.js';

/** The container's executable does not exist (docker: 400, `docker run` exits 127). */
export class CommandNotFoundError extends BerthError {
  /** The exit status `docker run` reports for this failure. */
  readonly exitStatus = 127;
  constructor(command: string, options?: { cause?: unknown }) {
    super('invalid-argument', 'BERTH_COMMAND_NOT_FOUND', `exec: "${command}": executable file not found in $PATH`, options);
  }
}

/** The executable exists but cannot be run: no permission, a directory (docker: 400, exit 126). */
export class CannotInvokeError extends BerthError {
  /** The exit status `docker run` reports for this failure. */
  readonly exitStatus = 126;
  constructor(command: string, reason: string, options?: { cause?: unknown }) {
    super('invalid-argument', 'BERTH_CANNOT_INVOKE', `exec: "${command}": ${reason}`, options);
  }
}

/** Any other failure of the OCI runtime or conmon, with the runtime's own message. */
export class RuntimeError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', 'BERTH_RUNTIME_ERROR', message, options);
  }
}

/** The runtime does not know a container with this id. */
export class NoSuchRuntimeContainerError extends BerthError {
  constructor(id: string) {
    super('not-found', 'BERTH_NO_SUCH_RUNTIME_CONTAINER', `container ${id} does not exist in the runtime`);
  }
}

/**
 * Map an OCI runtime's error text about starting `command` to the typed error docker's exit
 * codes depend on. Covers crun's and runc's wordings; anything else is a RuntimeError.
 */
export function classifyRuntimeFailure(command: string, message: string): BerthError {
  const text = message.toLowerCase();
  if (/executable file .*not found|no such file or directory/.test(text) && /exec|executable/.test(text)) {
    return new CommandNotFoundError(command, { cause: message });
  }
  // crun says "Operation not permitted" when the executable is a directory; docker reports both as permission denied.
  if (/permission denied|operation not permitted/.test(text) && /exec|executable/.test(text)) {
    return new CannotInvokeError(command, 'permission denied', { cause: message });
  }
  if (/is a directory/.test(text)) {
    return new CannotInvokeError(command, 'is a directory', { cause: message });
  }
  return new RuntimeError(message.trim() || 'OCI runtime failed');
}

/** The message of a runtime log line in crun/runc JSON log format or plain text. */
export function runtimeMessage(text: string): string {
  const messages: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = JSON.parse(line) as { msg?: unknown; level?: unknown };
      if (typeof parsed.msg === 'string' && parsed.level !== 'warning' && parsed.level !== 'info' && parsed.level !== 'debug') messages.push(parsed.msg);
    } catch {
      messages.push(line.trim());
    }
  }
  return messages.join('; ');
}
