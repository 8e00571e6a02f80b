/** `docker logs`: the container's log records, followed until it exits when asked. */
import { isRunningStatus } from '../container.js';
import type { LogRecord, LogReadOptions } from '../ports.js';
import type { ContainerContext } from './context.js';
import { logPolicyOf, LogsNotReadableError } from '../log-config.js';
import { waitExit } from './wait.js';

/** The container's log records, following new ones until it stops when `follow`. */
export function logs(ctx: ContainerContext, ref: string, options: Omit<LogReadOptions, 'signal'>, signal: AbortSignal): { tty: boolean; entries: AsyncIterable<LogRecord> } {
  const record = ctx.store.resolve(ref);
  if (logPolicyOf(record.host.logConfig).driver === 'none') throw new LogsNotReadableError();
  const controller = new AbortController();
  signal.addEventListener('abort', () => controller.abort(), { once: true });
  if (options.follow) {
    if (!isRunningStatus(record.state.status)) {
      options = { ...options, follow: false };
    } else {
      // Following ends when the container exits (after the remaining records are read).
      void waitExit(ctx, record.id).then(() => setTimeout(() => controller.abort(), 50));
    }
  }
  const entries = ctx.runtimeOf(record).readLogs(ctx.pathsOf(record.id).logPath, { ...options, signal: controller.signal });
  return { tty: record.settings.tty, entries };
}
