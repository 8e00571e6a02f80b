/** `berth network disconnect`: take a container off a network. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';

/** Build the network disconnect command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Disconnect a container from a network')
    .usage('[OPTIONS] NETWORK CONTAINER')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'Force the container to disconnect from a network')
    .action(async (network: string, container: string, flags: { force?: boolean }) => {
      const client = await ctx.client();
      await client.networkDisconnect(network, { Container: container, Force: Boolean(flags.force) });
    });
}
