/** `berth info`: docker's summary of the daemon, or --format. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { humanSize } from '../human.js';
import { parseFormat, renderTemplate } from '../template.js';

/** Build the info command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Display system-wide information')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (flags: { format?: string }) => {
      const info = await (await ctx.client()).info();
      if (flags.format) {
        await write(ctx.out, renderTemplate(parseFormat(flags.format).template, info) + '\n');
        return;
      }
      const lines = [
        'Server:',
        ` Containers: ${info.Containers}`,
        `  Running: ${info.ContainersRunning}`,
        `  Paused: ${info.ContainersPaused}`,
        `  Stopped: ${info.ContainersStopped}`,
        ` Images: ${info.Images}`,
        ` Server Version: ${info.ServerVersion}`,
        ` Storage Driver: ${info.Driver}`,
        ...(info.DriverStatus ?? []).map(([k, v]) => `  ${k}: ${v}`),
        ...(info.SystemStatus ?? []).map(([k, v]) => ` ${k}: ${v}`),
        ` Logging Driver: ${info.LoggingDriver}`,
        ` Cgroup Driver: ${info.CgroupDriver}`,
        ` Cgroup Version: ${info.CgroupVersion}`,
        ` Runtimes: ${Object.keys(info.Runtimes ?? {}).join(' ')}`,
        ` Default Runtime: ${info.DefaultRuntime}`,
        ` Security Options:`,
        ...(info.SecurityOptions ?? []).map((o) => `  ${o.replace(/^name=/, '')}`),
        ` Kernel Version: ${info.KernelVersion}`,
        ` Operating System: ${info.OperatingSystem}`,
        ` OSType: ${info.OSType}`,
        ` Architecture: ${info.Architecture}`,
        ` CPUs: ${info.NCPU}`,
        ` Total Memory: ${humanSize(info.MemTotal).replace(/B$/, 'B')}`,
        ` Name: ${info.Name}`,
        ` ID: ${info.ID}`,
        ` Docker Root Dir: ${info.DockerRootDir}`,
        ` Debug Mode: ${info.Debug}`,
        ` Experimental: ${info.ExperimentalBuild}`,
        ` Live Restore Enabled: ${info.LiveRestoreEnabled}`,
      ];
      await write(ctx.out, lines.join('\n') + '\n');
      for (const warning of info.Warnings ?? []) await write(ctx.err, `${warning}\n`);
    });
}
