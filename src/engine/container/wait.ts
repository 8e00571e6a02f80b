/** Waiting for a container's exit or removal: the waiters `docker wait` and `run` register, and their wake-up. */
import { isRunningStatus } from '../container.js';
import type { ContainerContext, WaitCondition, WaitResult, Waiter } from './context.js';

/**
 * Wait for a condition. The returned promise settles when it holds; `not-running` on a
 * container that is not running settles at once.
 */
export function wait(ctx: ContainerContext, ref: string, condition: WaitCondition): Promise<WaitResult> {
  const record = ctx.store.resolve(ref);
  if (condition === 'not-running' && !isRunningStatus(record.state.status)) {
    return Promise.resolve({ statusCode: record.state.exitCode, error: undefined });
  }
  return new Promise((resolve) => addWaiter(ctx, record.id, { condition, resolve }));
}

/** A promise settled at the next exit of the container (already settled if it is not running). */
export function waitExit(ctx: ContainerContext, id: string): Promise<WaitResult> {
  const record = ctx.current(id);
  if (!isRunningStatus(record.state.status)) return Promise.resolve({ statusCode: record.state.exitCode, error: undefined });
  return new Promise((resolve) => addWaiter(ctx, id, { condition: 'next-exit', resolve }));
}

function addWaiter(ctx: ContainerContext, id: string, waiter: Waiter): void {
  const list = ctx.waiters.get(id) ?? [];
  list.push(waiter);
  ctx.waiters.set(id, list);
}

/** Settle the waiters of `id` whose condition `matches`, with `result`. */
export function wake(ctx: ContainerContext, id: string, matches: (condition: WaitCondition) => boolean, result: WaitResult): void {
  const list = ctx.waiters.get(id);
  if (!list) return;
  const keep = list.filter((w) => !matches(w.condition));
  for (const waiter of list) if (matches(waiter.condition)) waiter.resolve(result);
  if (keep.length > 0) ctx.waiters.set(id, keep);
  else ctx.waiters.delete(id);
}

/** Whether `promise` settled within `ms` (it is not cancelled either way). */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = promise.then(() => true as const);
  const result = await Promise.race([done, timeout]);
  clearTimeout(timer);
  return result;
}
