/**
 * `berth login [-u USER] [-p PASS | --password-stdin] [SERVER]`: check the credentials with the
 * daemon (`POST /auth`), then store them in Berth's config file (see credentials.ts) for pull
 * and push to send.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { normalizeServer, storeCredentials } from '../credentials.js';
import { StatusError } from '../exit.js';

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// One line from the terminal; `isSecret` keeps what is typed off the screen.
async function prompt(ctx: CliContext, question: string, isSecret: boolean): Promise<string> {
  await write(ctx.out, question);
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: isSecret ? muted : ctx.out, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.once('line', resolve));
  } finally {
    rl.close();
    if (isSecret) await write(ctx.out, '\n');
  }
}

/** Build the login command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Authenticate to a registry')
    .usage('[OPTIONS] [SERVER]')
    .option('-u, --username <string>', 'Username')
    .option('-p, --password <string>', 'Password or Personal Access Token (PAT)')
    .option('--password-stdin', 'Take the Password or Personal Access Token (PAT) from stdin')
    .argument('[server]')
    .action(async (server: string | undefined, options: { username?: string; password?: string; passwordStdin?: boolean }) => {
      if (options.password !== undefined && options.passwordStdin) throw new StatusError(1, '--password and --password-stdin are mutually exclusive');
      if (options.passwordStdin && (options.username === undefined || options.username === '')) throw new StatusError(1, 'Must provide --username with --password-stdin');
      let username = options.username ?? '';
      let password = options.password ?? '';
      if (options.password !== undefined) await write(ctx.err, 'WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      if (options.passwordStdin) password = (await readAllStdin()).replace(/\r?\n$/, '');
      if (username === '' || password === '') {
        if (!process.stdin.isTTY) throw new StatusError(1, 'Error: Cannot perform an interactive login from a non TTY device');
        if (username === '') username = (await prompt(ctx, 'Username: ', false)).trim();
        if (username === '') throw new StatusError(1, 'Error: Non-null Username Required');
        if (password === '') password = await prompt(ctx, 'Password: ', true);
        if (password === '') throw new StatusError(1, 'Error: Password Required');
      }
      const key = normalizeServer(server);
      const client = await ctx.client();
      const answer = await client.registryLogin({ username, password, serverAddress: key });
      const token = answer.IdentityToken;
      await storeCredentials(ctx.env, key, { username, ...(token ? { identityToken: token } : { password }) });
      await write(ctx.out, `${answer.Status || 'Login Succeeded'}\n`);
    });
}
