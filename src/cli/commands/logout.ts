/** `berth logout [SERVER]`: forget the credentials `berth login` stored for a registry. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { normalizeServer, removeCredentials } from '../credentials.js';

/** Build the logout command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Log out from a registry')
    .usage('[SERVER]')
    .argument('[server]')
    .action(async (server: string | undefined) => {
      const key = normalizeServer(server);
      if (!(await removeCredentials(ctx.env, key))) {
        await write(ctx.out, `Not logged in to ${key}\n`);
        return;
      }
      await write(ctx.out, `Removing login credentials for ${key}\n`);
    });
}
