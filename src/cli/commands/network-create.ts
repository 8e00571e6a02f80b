/** `berth network create`: make a network and print its id. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { UsageError } from '../exit.js';
import { collect } from './filters.js';

/** `key=value` flags into a map; a flag without `=` maps to '' (docker's --label) or is refused (--opt). */
function keyValues(flags: string[], flagName: string, isValueRequired: boolean): Record<string, string> {
  const map: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq === 0 || (eq < 0 && isValueRequired)) throw new UsageError(`invalid argument "${flag}" for "${flagName}" flag: bad format for key=value: ${flag}`);
    if (eq < 0) map[flag] = '';
    else map[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return map;
}

/** Build the network create command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Create a network')
    .usage('[OPTIONS] NETWORK')
    .argument('<network>')
    .option('--attachable', 'Enable manual container attachment')
    .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
    .option('--gateway <strings>', 'IPv4 or IPv6 Gateway for the master subnet', collect, [])
    .option('--internal', 'Restrict external access to the network')
    .option('--ip-range <strings>', 'Allocate container ip from a sub-range', collect, [])
    .option('--ipam-driver <string>', 'IP Address Management Driver', 'default')
    .option('--ipv6', 'Enable or disable IPv6 networking')
    .option('--label <list>', 'Set metadata on a network', collect, [])
    .option('-o, --opt <map>', 'Set driver specific options', collect, [])
    .option('--subnet <strings>', 'Subnet in CIDR format that represents a network segment', collect, [])
    .action(async (name: string, flags: { attachable?: boolean; driver: string; gateway: string[]; internal?: boolean; ipRange: string[]; ipamDriver: string; ipv6?: boolean; label: string[]; opt: string[]; subnet: string[] }) => {
      // docker pairs --gateway and --ip-range with the --subnet they fall in; berthd takes one subnet of each family, so the family pairs them.
      if (flags.subnet.length === 0 && (flags.gateway.length > 0 || flags.ipRange.length > 0)) {
        throw new UsageError('every ip-range or gateway must have a corresponding subnet');
      }
      const isV6 = (text: string): boolean => text.includes(':');
      const config = flags.subnet.map((subnet) => ({
        Subnet: subnet,
        IPRange: flags.ipRange.find((range) => isV6(range) === isV6(subnet)) ?? '',
        Gateway: flags.gateway.find((gateway) => isV6(gateway) === isV6(subnet)) ?? '',
      }));
      const client = await ctx.client();
      const created = await client.networkCreate({
        Name: name,
        Driver: flags.driver,
        Internal: Boolean(flags.internal),
        Attachable: Boolean(flags.attachable),
        EnableIPv6: Boolean(flags.ipv6),
        IPAM: { Driver: flags.ipamDriver, Config: config, Options: {} },
        Options: keyValues(flags.opt, '-o, --opt', true),
        Labels: keyValues(flags.label, '--label', false),
      });
      await write(ctx.out, `${created.Id}\n`);
    });
}
