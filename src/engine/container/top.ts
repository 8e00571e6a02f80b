/** `docker top`: the container's processes as `ps` shows them, from the host or from a VM's guest. */
import { InvalidArgumentError } from '../../common/index.js';
import { isRunningStatus } from '../container.js';
import { ContainerNotRunningError } from '../errors.js';
import type { ContainerContext } from './context.js';

/** The container's processes as `ps` shows them, rows limited to the container's host PIDs. */
export async function top(ctx: ContainerContext, ref: string, psArgs: string): Promise<{ titles: string[]; processes: string[][] }> {
  await ctx.untilStarted(ctx.store.resolve(ref).id);
  const record = ctx.store.resolve(ref);
  if (!isRunningStatus(record.state.status)) {
    throw new ContainerNotRunningError(record.id);
  }
  const runtime = ctx.runtimeOf(record);
  const args = psArgs.trim() === '' ? ['-ef'] : psArgs.trim().split(/\s+/);
  // Where the runtime lists the processes (a VM's guest), the host's ps would see only its monitor.
  const isGuest = runtime.traits.listsProcesses;
  const pids = new Set(isGuest ? [] : (await runtime.listPids(record.id)).map(String));
  const result = isGuest ? await runtime.guestProcesses(record.id, args) : await ctx.options.hostTools.ps(args);
  if (result.exitCode !== 0) throw new InvalidArgumentError(`ps: ${result.stderr.trim() || 'failed'}`);
  const lines = result.stdout.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0] ?? '';
  const titles = header.trim().split(/\s+/);
  const pidColumn = titles.indexOf('PID');
  if (pidColumn < 0) throw new InvalidArgumentError("Couldn't find PID field in ps output");
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!isGuest && !pids.has(fields[pidColumn] ?? '')) continue;
    // The last column (the command) may contain spaces: keep it whole.
    const head = fields.slice(0, titles.length - 1);
    const tail = fields.slice(titles.length - 1).join(' ');
    processes.push([...head, tail]);
  }
  return { titles, processes };
}
