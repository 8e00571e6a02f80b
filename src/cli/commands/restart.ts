/** `berth restart`: restart containers, printing each reference. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { forEachRef } from './multi.js';
import { parseTimeout } from './stop.js';

/** Build the restart command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Restart one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .option('-s, --signal <signal>', 'Signal to send to the container')
    .option('-t, --timeout <seconds>', 'Seconds to wait before killing the container')
    .action(async (refs: string[], flags: { signal?: string; timeout?: string }) => {
      const timeoutS = parseTimeout(flags.timeout);
      const client = await ctx.client();
      await forEachRef(ctx, refs, (ref) => client.containerRestart(ref, { ...(timeoutS !== undefined ? { timeoutS } : {}), ...(flags.signal ? { signal: flags.signal } : {}) }));
    });
}
