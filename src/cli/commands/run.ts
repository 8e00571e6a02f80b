/**
 * `berth run`: create (pulling on "No such image" when --pull allows), attach and wait
 * before start as docker does, then stream output and return the container's exit code.
 */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { StatusError, startFailureExitCode } from '../exit.js';
import { relayInput } from '../relay-input.js';
import { relayOutput } from '../relay-output.js';
import { addCreateOptions, toCreatePlan, type CreateFlags } from '../run-options.js';
import { createContainer } from './create.js';
import { hiddenNegation } from '../go-flags.js';

/** Build the run command. */
export function build(ctx: CliContext): Command {
  const command = new Command()
    .description('Create and run a new container from an image')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .helpOption('--help', 'Print usage')
    .option('-d, --detach', 'Run container in background and print container ID')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('--sig-proxy', 'Proxy received signals to the process', true)
    .addOption(hiddenNegation('--sig-proxy'))
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions();
  addCreateOptions(command);
  command.action(async (image: string, args: string[], flags: CreateFlags & { detachKeys?: string; sigProxy?: boolean }) => {
    const plan = toCreatePlan(flags, image, args, { isRun: true, env: ctx.env });
    const client = await ctx.client();
    const id = await createContainer(ctx, plan);
    if (flags.detach) {
      await client.containerStart(id).catch((err: unknown) => {
        throw new StatusError(startFailureExitCode(err), `berth: Error response from daemon: ${(err as Error).message}`);
      });
      await write(ctx.out, `${id}\n`);
      return;
    }
    const isAttached = plan.attachStdout || plan.attachStderr || plan.attachStdin;
    const connection = isAttached
      ? await client.containerAttach(id, {
          stdin: plan.attachStdin,
          stdout: plan.attachStdout,
          stderr: plan.attachStderr,
          ...(flags.detachKeys ? { detachKeys: flags.detachKeys } : {}),
        })
      : undefined;
    const wait = await client.containerWaitBegin(id, flags.rm ? 'removed' : 'next-exit');
    let output: Promise<void> = Promise.resolve();
    let detached: Promise<boolean> = new Promise(() => {});
    if (connection) {
      output = relayOutput(ctx, connection, flags.tty === true);
      if (plan.attachStdin) {
        // As docker's CLI: with a tty the detach keys end the session here, the container runs on.
        const input = relayInput(connection, { tty: flags.tty === true, detachKeys: flags.detachKeys });
        detached = input.detached.then(() => true);
        output = output.finally(() => input.stop());
        void detached.then(() => input.stop());
      } else {
        // No stdin: tell the daemon at once so a container reading stdin sees EOF.
        connection.socket.end();
      }
    }
    // As docker: without a tty, signals to berth go to the container's process.
    const stopProxy = !flags.tty && flags.sigProxy !== false ? proxySignals((signal) => void client.containerKill(id, signal).catch(() => {})) : () => {};
    output = output.finally(stopProxy);
    try {
      await client.containerStart(id);
    } catch (err) {
      connection?.socket.destroy();
      const message = (err as Error).message;
      throw new StatusError(startFailureExitCode(err), `berth: Error response from daemon: ${message}`);
    }
    if (flags.tty && process.stdout.isTTY) {
      // As docker: size the container's terminal now, and again whenever ours changes.
      const resize = (): void => void client.containerResize(id, process.stdout.rows, process.stdout.columns).catch(() => {});
      resize();
      process.stdout.on('resize', resize);
      output = output.finally(() => process.stdout.off('resize', resize));
    }
    const finished = Promise.all([wait.result, output]).then(([result]) => result);
    const result = await Promise.race([finished, detached.then(() => undefined)]);
    if (result === undefined) {
      connection?.socket.destroy();
      return;
    }
    if (result.Error?.Message) await write(ctx.err, `berth: Error response from daemon: ${result.Error.Message}\n`);
    if (result.StatusCode !== 0) throw new StatusError(result.StatusCode);
  });
  return command;
}

/** Forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 while the container runs. */
function proxySignals(forward: (signal: string) => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const handlers = signals.map((signal) => {
    const handler = (): void => forward(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
