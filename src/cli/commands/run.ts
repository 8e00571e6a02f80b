/**
 * `berth run`: create (pulling on "No such image" when --pull allows), attach and wait
 * before start as docker does, then stream output and return the container's exit code.
 */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { StatusError, runStartFailureCode } from '../exit.js';
import { addCreateOptions, toCreatePlan, type CreateFlags } from '../run-options.js';
import { createContainer } from './create.js';

/** Build the run command. */
export function build(ctx: CliContext): Command {
  const command = new Command()
    .description('Create and run a new container from an image')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .helpOption('--help', 'Print usage')
    .option('-d, --detach', 'Run container in background and print container ID')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions();
  addCreateOptions(command);
  command.action(async (image: string, args: string[], flags: CreateFlags) => {
    const plan = toCreatePlan(flags, image, args, { isRun: true, env: ctx.env });
    const client = await ctx.client();
    const { demuxStream, StreamSystemError } = await import('../../client/index.js');
    const id = await createContainer(ctx, plan);
    if (flags.detach) {
      await client.containerStart(id).catch((err: unknown) => {
        throw new StatusError(runStartFailureCode(String((err as Error).message)), `berth: Error response from daemon: ${(err as Error).message}`);
      });
      await write(ctx.out, `${id}\n`);
      return;
    }
    const isAttached = plan.attachStdout || plan.attachStderr || plan.attachStdin;
    const connection = isAttached
      ? await client.containerAttach(id, { stdin: plan.attachStdin, stdout: plan.attachStdout, stderr: plan.attachStderr })
      : undefined;
    const wait = await client.containerWaitBegin(id, flags.rm ? 'removed' : 'next-exit');
    let output: Promise<void> = Promise.resolve();
    if (connection) {
      const isMultiplexed = connection.isMultiplexed && !flags.tty;
      output = isMultiplexed
        ? demuxStream(connection.socket, { stdout: ctx.out, stderr: ctx.err })
        : new Promise<void>((resolve, reject) => {
            connection.socket.on('data', (chunk: Buffer) => ctx.out.write(chunk));
            connection.socket.on('end', resolve);
            connection.socket.on('error', reject);
          });
      output = output.catch(async (err: unknown) => {
        if (err instanceof StreamSystemError) await write(ctx.err, `${err.message}\n`);
      });
      if (plan.attachStdin) {
        const restoreTty = flags.tty && process.stdin.isTTY ? enterRawMode() : undefined;
        process.stdin.pipe(connection.socket);
        output = output.finally(() => {
          process.stdin.unpipe(connection.socket);
          process.stdin.pause();
          restoreTty?.();
        });
      } else {
        // No stdin: tell the daemon at once so a container reading stdin sees EOF.
        connection.socket.end();
      }
    }
    try {
      await client.containerStart(id);
    } catch (err) {
      connection?.socket.destroy();
      const message = (err as Error).message;
      throw new StatusError(runStartFailureCode(message), `berth: Error response from daemon: ${message}`);
    }
    const [result] = await Promise.all([wait.result, output]);
    if (result.Error?.Message) await write(ctx.err, `berth: Error response from daemon: ${result.Error.Message}\n`);
    if (result.StatusCode !== 0) throw new StatusError(result.StatusCode);
  });
  return command;
}

function enterRawMode(): () => void {
  process.stdin.setRawMode(true);
  return () => process.stdin.setRawMode(false);
}
