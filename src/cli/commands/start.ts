/**
 * `berth start`: start containers; with -a (and -i), attach first, as `docker start -a`
 * does, and return the container's exit code. A running container is attached to as it is
 * (the start answers 304); the detach keys leave it running and exit 0.
 */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { StatusError } from '../exit.js';
import { parseDetachKeys } from '../../common/index.js';
import { forEachRef } from './multi.js';
import { streamAttached } from './attach.js';

interface StartFlags {
  attach?: boolean;
  interactive?: boolean;
  detachKeys?: string;
}

/** Build the start command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Start one or more stopped containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .helpOption('--help', 'Print usage')
    .argument('<containers...>')
    .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('-i, --interactive', "Attach container's STDIN")
    .action(async (refs: string[], flags: StartFlags) => {
      const client = await ctx.client();
      if (!flags.attach && !flags.interactive) {
        await forEachRef(ctx, refs, (ref) => client.containerStart(ref));
        return;
      }
      if (refs.length > 1) throw new StatusError(1, 'you cannot start and attach multiple containers at once');
      if (flags.detachKeys) parseDetachKeys(flags.detachKeys);
      const info = await client.containerInspect(refs[0]!);
      const tty = info.Config.Tty === true;
      // As docker: stdin only when asked for and the container was made with -i.
      const stdin = flags.interactive === true && info.Config.OpenStdin === true;
      if (stdin && tty && !process.stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
      const connection = await client.containerAttach(info.Id, {
        stdin,
        stdout: true,
        stderr: true,
        ...(flags.detachKeys ? { detachKeys: flags.detachKeys } : {}),
      });
      const wait = await client.containerWaitBegin(info.Id, info.HostConfig?.AutoRemove ? 'removed' : 'next-exit');
      let markStarted: () => void = () => {};
      const started = new Promise<void>((resolve) => (markStarted = resolve));
      const ending = streamAttached(ctx, client, info.Id, connection, {
        tty,
        stdin,
        sigProxy: true,
        sizeAfter: started,
        ...(flags.detachKeys ? { detachKeys: flags.detachKeys } : {}),
      });
      try {
        await client.containerStart(info.Id);
      } catch (err) {
        connection.socket.destroy();
        await ending;
        throw err;
      }
      markStarted();
      if ((await ending) === 'detached') return;
      const result = await wait.result;
      if (result.StatusCode !== 0) throw new StatusError(result.StatusCode);
    });
}
