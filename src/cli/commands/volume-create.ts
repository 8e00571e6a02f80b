/** `berth volume create`: make a volume and print its name. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { UsageError } from '../exit.js';
import { collect } from './filters.js';

/** `key=value` flags into a map; docker refuses a flag without `=`. */
function keyValues(flags: string[], flagName: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid argument "${flag}" for "${flagName}" flag: bad format for key=value: ${flag}`);
    map[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return map;
}

/** Build the volume create command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Create a volume')
    .usage('[OPTIONS] [VOLUME]')
    .argument('[volume]')
    .option('-d, --driver <string>', 'Specify volume driver name', 'local')
    .option('--label <list>', 'Set metadata for a volume', collect, [])
    .option('--name <string>', 'Specify volume name')
    .option('-o, --opt <map>', 'Set driver specific options', collect, [])
    .action(async (volume: string | undefined, flags: { driver: string; label: string[]; name?: string; opt: string[] }) => {
      if (volume && flags.name && volume !== flags.name) {
        throw new UsageError(`conflicting options: cannot specify a volume-name through both --name and as a positional arg`);
      }
      const labels = Object.fromEntries(flags.label.map((l) => {
        const eq = l.indexOf('=');
        return eq < 0 ? [l, ''] : [l.slice(0, eq), l.slice(eq + 1)];
      }));
      const client = await ctx.client();
      const created = await client.volumeCreate({
        Name: volume ?? flags.name ?? '',
        Driver: flags.driver,
        DriverOpts: keyValues(flags.opt, '-o, --opt'),
        Labels: labels,
      });
      await write(ctx.out, `${created.Name}\n`);
    });
}
