/**
 * `berth attach`: connect this terminal to a running container's stdio, as `docker attach`
 * does: raw mode and window size with a tty, signals proxied without one, the detach keys
 * (Ctrl-P Ctrl-Q) leaving it running, otherwise the container's exit code.
 */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { StatusError } from '../exit.js';
import { relayInput } from '../relay-input.js';
import { relayOutput } from '../relay-output.js';
import { parseDetachKeys } from '../../common/index.js';
import type { AttachConnection, EngineClient } from '../../client/index.js';
import { hiddenNegation } from '../go-flags.js';

interface AttachFlags {
  detachKeys?: string;
  stdin: boolean;
  sigProxy: boolean;
}

/** docker's message when the user leaves with the detach keys (its term.EscapeError). */
export const ESCAPE_MESSAGE = 'read escape sequence';

/** Build the attach command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Attach local standard input, output, and error streams to a running container')
    .usage('[OPTIONS] CONTAINER')
    .helpOption('--help', 'Print usage')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('--no-stdin', 'Do not attach STDIN')
    .option('--sig-proxy', 'Proxy all received signals to the process', true)
    .addOption(hiddenNegation('--sig-proxy'))
    .argument('<container>')
    .action(async (ref: string, flags: AttachFlags) => {
      const client = await ctx.client();
      // As docker: the wait goes first, so an exit between the checks and the attach is seen.
      const wait = await client.containerWaitBegin(ref, 'not-running');
      const info = await inspectAttachable(client, ref);
      const tty = info.Config.Tty === true;
      const stdin = flags.stdin && info.Config.OpenStdin === true;
      if (stdin && tty && !process.stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
      if (flags.detachKeys) parseDetachKeys(flags.detachKeys);
      const connection = await client.containerAttach(ref, {
        stdin,
        stdout: true,
        stderr: true,
        ...(flags.detachKeys ? { detachKeys: flags.detachKeys } : {}),
      });
      // The container may have stopped between the check and the attach: re-check, as docker does.
      await inspectAttachable(client, ref).catch((err: unknown) => {
        connection.socket.destroy();
        throw err;
      });
      const ending = streamAttached(ctx, client, info.Id, connection, {
        tty,
        stdin,
        sigProxy: flags.sigProxy !== false,
        ...(flags.detachKeys ? { detachKeys: flags.detachKeys } : {}),
        // docker's trick: a size one larger, then the real one, so the shell redraws its prompt.
        nudgeSize: true,
      });
      if ((await ending) === 'detached') throw new StatusError(1, ESCAPE_MESSAGE);
      const result = await wait.result;
      if (result.Error?.Message) throw new StatusError(1, result.Error.Message);
      if (result.StatusCode !== 0) throw new StatusError(result.StatusCode);
    });
}

async function inspectAttachable(client: EngineClient, ref: string): ReturnType<EngineClient['containerInspect']> {
  const info = await client.containerInspect(ref);
  if (!info.State?.Running) throw new StatusError(1, 'You cannot attach to a stopped container, start it first');
  if (info.State.Paused) throw new StatusError(1, 'You cannot attach to a paused container, unpause it first');
  if (info.State.Restarting) throw new StatusError(1, 'You cannot attach to a restarting container, wait until it is running');
  return info;
}

/** How an attached session relays this process's stdio. */
export interface StreamAttachedOptions {
  /** The container has a tty: output is raw, input goes in raw mode, the size follows ours. */
  tty: boolean;
  /** Relay our stdin (else the daemon is told EOF at once). */
  stdin: boolean;
  detachKeys?: string;
  /** Without a tty, forward our signals to the container's process. */
  sigProxy: boolean;
  /** Resize one larger first, so a shell that is already running redraws (docker attach). */
  nudgeSize?: boolean;
  /** Size the container's tty once this settles (after start, for `start -a`); default at once. */
  sizeAfter?: Promise<unknown>;
}

/**
 * Relay stdio over an attach connection until the output ends ('ended') or the user types
 * the detach keys ('detached'). Restores the terminal, signal handlers and listeners before
 * it resolves; on a detach it also closes the connection (the container runs on).
 */
export async function streamAttached(
  ctx: CliContext,
  client: EngineClient,
  id: string,
  connection: AttachConnection,
  options: StreamAttachedOptions,
): Promise<'ended' | 'detached'> {
  const cleanups: Array<() => void> = [];
  const output = relayOutput(ctx, connection, options.tty);
  let detached: Promise<void> = new Promise(() => {});
  if (options.stdin) {
    const input = relayInput(connection, { tty: options.tty, detachKeys: options.detachKeys });
    detached = input.detached;
    cleanups.push(() => input.stop());
  } else {
    connection.socket.end();
  }
  if (!options.tty && options.sigProxy) {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
    for (const signal of signals) {
      const handler = (): void => void client.containerKill(id, signal).catch(() => {});
      process.on(signal, handler);
      cleanups.push(() => process.off(signal, handler));
    }
  }
  if (options.tty && process.stdout.isTTY) {
    const resize = (): void => void client.containerResize(id, process.stdout.rows, process.stdout.columns).catch(() => {});
    const nudge = options.nudgeSize === true;
    void (options.sizeAfter ?? Promise.resolve()).then(async () => {
      if (nudge) await client.containerResize(id, process.stdout.rows + 1, process.stdout.columns + 1).catch(() => {});
      resize();
    }, () => {});
    process.stdout.on('resize', resize);
    cleanups.push(() => process.stdout.off('resize', resize));
  }
  const how = await Promise.race([output.then(() => 'ended' as const), detached.then(() => 'detached' as const)]);
  for (const cleanup of cleanups) cleanup();
  if (how === 'detached') connection.socket.destroy();
  return how;
}
