/** `berth stop`: stop containers, printing each reference. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { UsageError } from '../exit.js';
import { forEachRef } from './multi.js';

/** Build the stop command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Stop one or more running containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .option('-s, --signal <signal>', 'Signal to send to the container')
    .option('-t, --timeout <seconds>', 'Seconds to wait before killing the container')
    .action(async (refs: string[], flags: { signal?: string; timeout?: string }) => {
      const timeoutS = parseTimeout(flags.timeout);
      const client = await ctx.client();
      await forEachRef(ctx, refs, (ref) => client.containerStop(ref, { ...(timeoutS !== undefined ? { timeoutS } : {}), ...(flags.signal ? { signal: flags.signal } : {}) }));
    });
}

/** Parse `-t` as docker does (an integer); undefined when not given. */
export function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`invalid argument "${value}" for "-t, --timeout" flag: strconv.ParseInt: parsing "${value}": invalid syntax`);
  return Number(value);
}
