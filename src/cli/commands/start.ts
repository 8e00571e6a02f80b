/** `berth start`: start containers; with -a, attach first and return the container's code. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { StatusError } from '../exit.js';
import { forEachRef } from './multi.js';

/** Build the start command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Start one or more stopped containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .option('-a, --attach', "Attach STDOUT/STDERR and forward signals")
    .option('-i, --interactive', "Attach container's STDIN")
    .action(async (refs: string[], flags: { attach?: boolean; interactive?: boolean }) => {
      const client = await ctx.client();
      if (!flags.attach && !flags.interactive) {
        await forEachRef(ctx, refs, (ref) => client.containerStart(ref));
        return;
      }
      if (refs.length > 1) throw new StatusError(1, 'you cannot start and attach multiple containers at once');
      const { demuxStream } = await import('../../client/index.js');
      const ref = refs[0]!;
      const info = await client.containerInspect(ref);
      const connection = await client.containerAttach(ref, { stdin: Boolean(flags.interactive) });
      const wait = await client.containerWaitBegin(ref, 'next-exit');
      if (flags.interactive) process.stdin.pipe(connection.socket);
      else connection.socket.end();
      const output = info.Config.Tty
        ? new Promise<void>((resolve) => {
            connection.socket.on('data', (c: Buffer) => ctx.out.write(c));
            connection.socket.on('end', resolve);
          })
        : demuxStream(connection.socket, { stdout: ctx.out, stderr: ctx.err });
      await client.containerStart(ref);
      const [result] = await Promise.all([wait.result, output]);
      if (flags.interactive) {
        process.stdin.unpipe(connection.socket);
        process.stdin.pause();
      }
      if (result.StatusCode !== 0) throw new StatusError(result.StatusCode);
    });
}
