/**
 * `berth`'s entry: global flags, then dispatch to one lazily loaded command module, then
 * one exit code from exit.ts. Management forms (`container ls`, `image rm`) map onto the
 * same modules as docker's aliases do.
 */
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { ApiError } from '../client/index.js';
import { createContext, write, type CliContext } from './context.js';
import { EXIT_USAGE, StatusError, UsageError, exitCodeFor } from './exit.js';
import { rewriteGoBooleans } from './go-flags.js';

/** A command module: builds its commander Command; the action does the work. */
export interface CommandModule {
  build(ctx: CliContext): Command;
}

interface Entry {
  summary: string;
  load: () => Promise<CommandModule>;
  /** run/create report daemon errors with 125 and a `berth:` prefix. */
  isRunLike?: boolean;
}

const CONTAINER: Record<string, Entry> = {
  run: { summary: 'Create and run a new container from an image', load: () => import('./commands/run.js'), isRunLike: true },
  create: { summary: 'Create a new container', load: () => import('./commands/create.js'), isRunLike: true },
  start: { summary: 'Start one or more stopped containers', load: () => import('./commands/start.js') },
  attach: { summary: 'Attach local standard input, output, and error streams to a running container', load: () => import('./commands/attach.js') },
  stop: { summary: 'Stop one or more running containers', load: () => import('./commands/stop.js') },
  kill: { summary: 'Kill one or more running containers', load: () => import('./commands/kill.js') },
  restart: { summary: 'Restart one or more containers', load: () => import('./commands/restart.js') },
  rm: { summary: 'Remove one or more containers', load: () => import('./commands/rm.js') },
  ps: { summary: 'List containers', load: () => import('./commands/ps.js') },
  logs: { summary: 'Fetch the logs of a container', load: () => import('./commands/logs.js') },
  wait: { summary: 'Block until one or more containers stop, then print their exit codes', load: () => import('./commands/wait.js') },
  top: { summary: 'Display the running processes of a container', load: () => import('./commands/top.js') },
  port: { summary: 'List port mappings or a specific mapping for the container', load: () => import('./commands/port.js') },
  cp: { summary: 'Copy files/folders between a container and the local filesystem', load: () => import('./commands/cp.js') },
  diff: { summary: "Inspect changes to files or directories on a container's filesystem", load: () => import('./commands/diff.js') },
  export: { summary: "Export a container's filesystem as a tar archive", load: () => import('./commands/export.js') },
  commit: { summary: "Create a new image from a container's changes", load: () => import('./commands/commit.js') },
  exec: { summary: 'Execute a command in a running container', load: () => import('./commands/exec.js') },
  inspect: { summary: 'Display detailed information on one or more containers', load: () => import('./commands/container-inspect.js') },
  prune: { summary: 'Remove all stopped containers', load: () => import('./commands/container-prune.js') },
  pause: { summary: 'Pause all processes within one or more containers', load: () => import('./commands/pause.js') },
  unpause: { summary: 'Unpause all processes within one or more containers', load: () => import('./commands/unpause.js') },
  rename: { summary: 'Rename a container', load: () => import('./commands/rename.js') },
  update: { summary: 'Update configuration of one or more containers', load: () => import('./commands/update.js') },
  stats: { summary: "Display a live stream of container(s) resource usage statistics", load: () => import('./commands/stats.js') },
};

const IMAGE: Record<string, Entry> = {
  ls: { summary: 'List images', load: () => import('./commands/images.js') },
  inspect: { summary: 'Display detailed information on one or more images', load: () => import('./commands/image-inspect.js') },
  rm: { summary: 'Remove one or more images', load: () => import('./commands/rmi.js') },
  tag: { summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', load: () => import('./commands/tag.js') },
  history: { summary: 'Show the history of an image', load: () => import('./commands/history.js') },
  prune: { summary: 'Remove unused images', load: () => import('./commands/image-prune.js') },
  pull: { summary: 'Download an image from a registry', load: () => import('./commands/pull.js') },
  push: { summary: 'Upload an image to a registry', load: () => import('./commands/push.js') },
  save: { summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)', load: () => import('./commands/save.js') },
  load: { summary: 'Load an image from a tar archive or STDIN', load: () => import('./commands/load.js') },
  import: { summary: 'Import the contents from a tarball to create a filesystem image', load: () => import('./commands/import.js') },
  build: { summary: 'Build an image from a Dockerfile', load: () => import('./commands/build.js') },
};

const VOLUME: Record<string, Entry> = {
  create: { summary: 'Create a volume', load: () => import('./commands/volume-create.js') },
  ls: { summary: 'List volumes', load: () => import('./commands/volume-ls.js') },
  inspect: { summary: 'Display detailed information on one or more volumes', load: () => import('./commands/volume-inspect.js') },
  rm: { summary: 'Remove one or more volumes', load: () => import('./commands/volume-rm.js') },
  prune: { summary: 'Remove unused local volumes', load: () => import('./commands/volume-prune.js') },
};

const NETWORK: Record<string, Entry> = {
  create: { summary: 'Create a network', load: () => import('./commands/network-create.js') },
  ls: { summary: 'List networks', load: () => import('./commands/network-ls.js') },
  inspect: { summary: 'Display detailed information on one or more networks', load: () => import('./commands/network-inspect.js') },
  rm: { summary: 'Remove one or more networks', load: () => import('./commands/network-rm.js') },
  prune: { summary: 'Remove all unused networks', load: () => import('./commands/network-prune.js') },
  connect: { summary: 'Connect a container to a network', load: () => import('./commands/network-connect.js') },
  disconnect: { summary: 'Disconnect a container from a network', load: () => import('./commands/network-disconnect.js') },
};

const TOP_LEVEL: Record<string, Entry> = {
  run: CONTAINER['run']!,
  create: CONTAINER['create']!,
  start: CONTAINER['start']!,
  attach: CONTAINER['attach']!,
  stop: CONTAINER['stop']!,
  kill: CONTAINER['kill']!,
  restart: CONTAINER['restart']!,
  rm: CONTAINER['rm']!,
  ps: CONTAINER['ps']!,
  logs: CONTAINER['logs']!,
  wait: CONTAINER['wait']!,
  top: CONTAINER['top']!,
  port: CONTAINER['port']!,
  cp: CONTAINER['cp']!,
  diff: CONTAINER['diff']!,
  export: CONTAINER['export']!,
  commit: CONTAINER['commit']!,
  pause: CONTAINER['pause']!,
  unpause: CONTAINER['unpause']!,
  rename: CONTAINER['rename']!,
  update: CONTAINER['update']!,
  stats: CONTAINER['stats']!,
  events: { summary: 'Get real time events from the server', load: () => import('./commands/events.js') },
  exec: CONTAINER['exec']!,
  inspect: { summary: 'Return low-level information on Docker objects', load: () => import('./commands/inspect.js') },
  images: IMAGE['ls']!,
  rmi: IMAGE['rm']!,
  tag: IMAGE['tag']!,
  history: IMAGE['history']!,
  pull: IMAGE['pull']!,
  push: IMAGE['push']!,
  save: IMAGE['save']!,
  load: IMAGE['load']!,
  import: IMAGE['import']!,
  build: IMAGE['build']!,
  login: { summary: 'Authenticate to a registry', load: () => import('./commands/login.js') },
  logout: { summary: 'Log out from a registry', load: () => import('./commands/logout.js') },
  version: { summary: 'Show the Berth version information', load: () => import('./commands/version.js') },
  info: { summary: 'Display system-wide information', load: () => import('./commands/info.js') },
};

const CONTAINER_ALIASES: Record<string, string> = { ls: 'ps', list: 'ps', remove: 'rm' };
const IMAGE_ALIASES: Record<string, string> = { list: 'ls', remove: 'rm' };
const GROUPS: Record<string, { entries: Record<string, Entry>; aliases: Record<string, string>; summary: string }> = {
  container: { entries: CONTAINER, aliases: CONTAINER_ALIASES, summary: 'Manage containers' },
  image: { entries: IMAGE, aliases: IMAGE_ALIASES, summary: 'Manage images' },
  volume: { entries: VOLUME, aliases: { list: 'ls', remove: 'rm' }, summary: 'Manage volumes' },
  network: { entries: NETWORK, aliases: { list: 'ls', remove: 'rm' }, summary: 'Manage networks' },
  system: {
    entries: { info: TOP_LEVEL['info']!, version: TOP_LEVEL['version']!, events: TOP_LEVEL['events']!, df: { summary: 'Show docker disk usage', load: () => import('./commands/system-df.js') }, check: { summary: 'Check for what interrupted operations left behind', load: () => import('./commands/system-check.js') } },
    aliases: {},
    summary: 'Manage Berth',
  },
};

function usage(): string {
  const lines = ['', 'Usage:  berth [OPTIONS] COMMAND', '', 'A container engine that speaks the Docker Engine API', '', 'Commands:'];
  for (const [name, entry] of Object.entries(TOP_LEVEL)) lines.push(`  ${name.padEnd(12)}${entry.summary}`);
  lines.push('', 'Management Commands:');
  for (const [name, group] of Object.entries(GROUPS)) lines.push(`  ${name.padEnd(12)}${group.summary}`);
  lines.push('', 'Global Options:', '  -H, --host string   Daemon socket to connect to (unix://...)', '  -v, --version       Print version information and quit', '  -h, --help          Show this help', '');
  lines.push("Run 'berth COMMAND --help' for more information on a command.", '');
  return lines.join('\n');
}

function groupUsage(name: string): string {
  const group = GROUPS[name]!;
  const lines = ['', `Usage:  berth ${name} COMMAND`, '', group.summary, '', 'Commands:'];
  for (const [sub, entry] of Object.entries(group.entries)) lines.push(`  ${sub.padEnd(12)}${entry.summary}`);
  lines.push('', `Run 'berth ${name} COMMAND --help' for more information on a command.`, '');
  return lines.join('\n');
}

/** Run `berth` with `argv` (without node and script) and resolve with the exit code. */
export async function runCli(argv: string[], io: { out: Writable; err: Writable; env: NodeJS.ProcessEnv } = { out: process.stdout, err: process.stderr, env: process.env }): Promise<number> {
  let hostFlag: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-H' || arg === '--host') {
      hostFlag = argv[++i];
      if (hostFlag === undefined) {
        await write(io.err, `flag needs an argument: ${arg}\n`);
        return EXIT_USAGE;
      }
    } else if (arg.startsWith('--host=')) {
      hostFlag = arg.slice('--host='.length);
    } else if (arg === '-D' || arg === '--debug') {
      continue;
    } else if (arg === '-v' || arg === '--version') {
      await write(io.out, 'Berth version 0.1.0\n');
      return 0;
    } else if (arg === '-h' || arg === '--help' || arg === 'help') {
      await write(io.out, usage());
      return 0;
    } else if (arg.startsWith('-')) {
      await write(io.err, `unknown flag: ${arg}\nSee 'berth --help'.\n`);
      return EXIT_USAGE;
    } else {
      break;
    }
  }
  const name = argv[i];
  if (name === undefined) {
    await write(io.out, usage());
    return 0;
  }
  let entry: Entry | undefined;
  let commandPath = `berth ${name}`;
  let rest = argv.slice(i + 1);
  const group = GROUPS[name];
  if (group) {
    const sub = rest[0];
    if (sub === undefined || sub === '--help' || sub === '-h') {
      await write(io.out, groupUsage(name));
      return 0;
    }
    entry = group.entries[group.aliases[sub] ?? sub];
    commandPath = `berth ${name} ${sub}`;
    rest = rest.slice(1);
    if (!entry) {
      await write(io.err, `berth: '${name} ${sub}' is not a berth command.\nSee 'berth ${name} --help'\n`);
      return EXIT_USAGE;
    }
  } else {
    entry = TOP_LEVEL[name];
    if (!entry) {
      await write(io.err, `berth: '${name}' is not a berth command.\nSee 'berth --help'\n`);
      return EXIT_USAGE;
    }
  }

  const ctx = createContext({ ...io, hostFlag, commandPath });
  const isRunLike = entry.isRunLike === true;
  try {
    const module = await entry.load();
    const command = module.build(ctx);
    command
      .name(commandPath)
      .exitOverride()
      .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: () => {} });
    try {
      await command.parseAsync(rewriteGoBooleans(command, rest), { from: 'user' });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'commander.helpDisplayed' || code === 'commander.help' || code === 'commander.version') return 0;
      if (typeof code === 'string' && code.startsWith('commander.')) {
        throw new UsageError((err as Error).message.replace(/^error: /, ''));
      }
      throw err;
    }
    return 0;
  } catch (err) {
    await reportError(io.err, err, commandPath, isRunLike);
    return exitCodeFor(err, isRunLike);
  } finally {
    await ctx.close();
  }
}

async function reportError(err: Writable, error: unknown, commandPath: string, isRunLike: boolean): Promise<void> {
  if (error instanceof StatusError) {
    if (error.message) await write(err, `${error.message}\n`);
    return;
  }
  if (error instanceof UsageError) {
    await write(err, `berth: ${error.message}\n\nRun '${commandPath} --help' for more information\n`);
    return;
  }
  let message = error instanceof Error ? error.message : String(error);
  // What the daemon answered reads as in docker's CLI; local failures (no daemon, bad input) do not.
  if (error instanceof ApiError) message = `Error response from daemon: ${message}`;
  await write(err, isRunLike ? `berth: ${message}\n\nRun '${commandPath} --help' for more information\n` : `${message}\n`);
}
