/**
 * `berth exec`: run a command in a running container, as `docker exec` does: create the
 * session, start it attached (or detached with -d), relay stdio, then report the exit code
 * the daemon recorded.
 */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { StatusError, UsageError } from '../exit.js';
import { relayInput } from '../relay-input.js';
import { relayOutput } from '../relay-output.js';
import { readEnvFile, resolveEnv } from '../run-options.js';

interface ExecFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  env: string[];
  envFile: string[];
  workdir?: string;
  user?: string;
  privileged?: boolean;
  detachKeys?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Build the exec command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Execute a command in a running container')
    .usage('[OPTIONS] CONTAINER COMMAND [ARG...]')
    .helpOption('--help', 'Print usage')
    .option('-d, --detach', 'Detached mode: run command in the background')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('-e, --env <list>', 'Set environment variables', collect, [])
    .option('--env-file <list>', 'Read in a file of environment variables', collect, [])
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('--privileged', 'Give extended privileges to the command')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .argument('<container>')
    .argument('<command...>')
    .passThroughOptions()
    .action(async (ref: string, command: string[], flags: ExecFlags) => {
      if (command.length === 0) throw new UsageError('exec requires at least 2 arguments');
      const env: string[] = [];
      for (const file of flags.envFile) env.push(...readEnvFile(file, ctx.env));
      for (const entry of flags.env) {
        const resolved = resolveEnv(entry, ctx.env);
        if (resolved !== undefined) env.push(resolved);
      }
      const tty = flags.tty === true;
      const stdin = flags.interactive === true && !flags.detach;
      const size: [number, number] | undefined = tty && process.stdout.isTTY ? [process.stdout.rows, process.stdout.columns] : undefined;
      const client = await ctx.client();
      const execId = await client.execCreate(ref, {
        Cmd: command,
        Env: env,
        ...(flags.workdir ? { WorkingDir: flags.workdir } : {}),
        ...(flags.user ? { User: flags.user } : {}),
        Tty: tty,
        AttachStdin: stdin,
        AttachStdout: !flags.detach,
        AttachStderr: !flags.detach,
        Privileged: flags.privileged === true,
        ...(flags.detachKeys ? { DetachKeys: flags.detachKeys } : {}),
        ...(size ? { ConsoleSize: size } : {}),
      });
      if (flags.detach) {
        await client.execStartDetached(execId, tty);
        return;
      }
      const connection = await client.execStartAttached(execId, { tty, ...(size ? { consoleSize: size } : {}) });
      let output = relayOutput(ctx, connection, tty);
      let detached: Promise<void> = new Promise(() => {});
      if (stdin) {
        const input = relayInput(connection, { tty, detachKeys: flags.detachKeys });
        detached = input.detached;
        output = output.finally(() => input.stop());
        void detached.then(() => input.stop());
      } else {
        connection.socket.end();
      }
      if (size && process.stdout.isTTY) {
        const onResize = (): void => void client.execResize(execId, process.stdout.rows, process.stdout.columns).catch(() => {});
        process.stdout.on('resize', onResize);
        output = output.finally(() => process.stdout.off('resize', onResize));
      }
      if (await Promise.race([output.then(() => false), detached.then(() => true)])) {
        connection.socket.destroy();
        return;
      }
      const inspect = await client.execInspect(execId);
      const code = inspect.ExitCode ?? 0;
      if (code !== 0) throw new StatusError(code);
    });
}
