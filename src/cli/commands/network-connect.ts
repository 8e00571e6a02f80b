/** `berth network connect`: join a container to a network (now if it runs, else at its next start). */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { keyValues } from '../opts/flag-values.js';
import { collect } from './filters.js';

/** Build the network connect command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Connect a container to a network')
    .usage('[OPTIONS] NETWORK CONTAINER')
    .argument('<network>')
    .argument('<container>')
    .option('--alias <strings>', 'Add network-scoped alias for the container', collect, [])
    .option('--driver-opt <strings>', 'driver options for the network', collect, [])
    .option('--ip <string>', 'IPv4 address (e.g., "172.30.100.104")')
    .option('--ip6 <string>', 'IPv6 address (e.g., "2001:db8::33")')
    .option('--link <list>', 'Add link to another container', collect, [])
    .option('--link-local-ip <strings>', 'Add a link-local address for the container', collect, [])
    .action(async (network: string, container: string, flags: { alias: string[]; driverOpt: string[]; ip?: string; ip6?: string; link: string[]; linkLocalIp: string[] }) => {
      const client = await ctx.client();
      // Sent as docker's CLI sends them: the daemon honours each or refuses it by name.
      const ipam = flags.ip || flags.ip6 || flags.linkLocalIp.length > 0
        ? { IPv4Address: flags.ip ?? '', IPv6Address: flags.ip6 ?? '', ...(flags.linkLocalIp.length > 0 ? { LinkLocalIPs: flags.linkLocalIp } : {}) }
        : undefined;
      await client.networkConnect(network, {
        Container: container,
        EndpointConfig: {
          ...(ipam ? { IPAMConfig: ipam } : {}),
          Aliases: flags.alias,
          Links: flags.link,
          ...(flags.driverOpt.length > 0 ? { DriverOpts: keyValues(flags.driverOpt, '--driver-opt') } : {}),
        },
      });
    });
}
