/** Attach to a container's stdio through its runtime, now or (for `docker run`) at its next start; and tty resize. */
import { isRunningStatus, type ContainerRecord } from '../container.js';
import { ContainerNotRunningError } from '../errors.js';
import type { AttachOptions, AttachSession } from '../ports.js';
import type { AttachRequest, ContainerContext, PendingAttach } from './context.js';

/** The runtime's attach options for a client's request to this container. */
function attachOptionsOf(request: AttachRequest, record: ContainerRecord): AttachOptions {
  return {
    isStdin: request.stdin,
    isTty: record.settings.tty,
    ...(request.client ? { client: request.client } : {}),
    ...(request.stdinFromClient ? { isStdinFromClient: true } : {}),
  };
}

/** Attach to the container's stdio through conmon. */
export async function attach(ctx: ContainerContext, ref: string, options: AttachRequest): Promise<{ record: ContainerRecord; session: AttachSession }> {
  const record = ctx.store.resolve(ref);
  const session = await ctx.runtimeOf(record).attach(record.id, attachOptionsOf(options, record));
  ctx.publish(record, 'attach');
  return { record, session };
}

/**
 * Attach for a client that connected before start (what `docker run` does): the session is
 * opened at the next start, after conmon exists and before the process runs its command, so
 * no output is lost. Resolves undefined when the container goes away or the client does.
 */
export function attachAtStart(ctx: ContainerContext, ref: string, options: AttachRequest, signal: AbortSignal): Promise<AttachSession | undefined> {
  const record = ctx.store.resolve(ref);
  // docker logs the attach when the client asks for it: `docker run` shows create, attach, start.
  ctx.publish(record, 'attach');
  return new Promise((resolve, reject) => {
    const pending: PendingAttach = { request: options, resolve, reject };
    const list = ctx.pendingAttaches.get(record.id) ?? [];
    list.push(pending);
    ctx.pendingAttaches.set(record.id, list);
    signal.addEventListener('abort', () => {
      const current = ctx.pendingAttaches.get(record.id)?.filter((p) => p !== pending) ?? [];
      if (current.length > 0) ctx.pendingAttaches.set(record.id, current);
      else ctx.pendingAttaches.delete(record.id);
      resolve(undefined);
    }, { once: true });
  });
}

/** Open the sessions of the clients waiting for this start (conmon exists, the command has not run yet). */
export async function connectPendingAttaches(ctx: ContainerContext, record: ContainerRecord): Promise<void> {
  const pending = ctx.pendingAttaches.get(record.id) ?? [];
  ctx.pendingAttaches.delete(record.id);
  for (const waiting of pending) {
    try {
      waiting.resolve(await ctx.runtimeOf(record).attach(record.id, attachOptionsOf(waiting.request, record)));
    } catch (err) {
      waiting.reject(err);
    }
  }
}

/** Tell the clients waiting for a start of `id` that none will come. */
export function dropPendingAttaches(ctx: ContainerContext, id: string): void {
  for (const pending of ctx.pendingAttaches.get(id) ?? []) pending.resolve(undefined);
  ctx.pendingAttaches.delete(id);
}

/** Resize the container's tty; docker answers a stopped container with 409. */
export async function resize(ctx: ContainerContext, ref: string, height: number, width: number): Promise<void> {
  const record = ctx.store.resolve(ref);
  if (!isRunningStatus(record.state.status)) throw new ContainerNotRunningError(record.id);
  await ctx.runtimeOf(record).resize(record.id, height, width);
}
