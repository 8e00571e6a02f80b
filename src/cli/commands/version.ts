/** `berth version`: client and server versions, docker's layout or --format. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { parseFormat, renderTemplate } from '../template.js';

const CLIENT_VERSION = '0.1.0';

/** Build the version command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Show the Berth version information')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (flags: { format?: string }) => {
      const { CLIENT_API_VERSION } = await import('../../client/index.js');
      const client = {
        Version: CLIENT_VERSION,
        ApiVersion: CLIENT_API_VERSION,
        GoVersion: `node ${process.version}`,
        Os: process.platform,
        Arch: process.arch === 'x64' ? 'amd64' : process.arch,
        Context: 'default',
      };
      let server;
      let serverError: unknown;
      try {
        server = await (await ctx.client()).version();
      } catch (err) {
        serverError = err;
      }
      if (flags.format) {
        await write(ctx.out, renderTemplate(parseFormat(flags.format).template, { Client: client, Server: server ?? null }) + '\n');
      } else {
        let text = `Client:\n Version:           ${client.Version}\n API version:       ${client.ApiVersion}\n Node version:      ${process.version}\n OS/Arch:           ${client.Os}/${client.Arch}\n Context:           ${client.Context}\n`;
        if (server) {
          text += `\nServer: ${server.Platform?.Name ?? 'Berth'}\n Engine:\n  Version:          ${server.Version}\n  API version:      ${server.ApiVersion} (minimum version ${server.MinAPIVersion})\n  Go version:       ${server.GoVersion}\n  Git commit:       ${server.GitCommit}\n  Built:            ${server.BuildTime}\n  OS/Arch:          ${server.Os}/${server.Arch}\n  Experimental:     ${server.Experimental ?? false}\n`;
          for (const component of server.Components ?? []) {
            if (component.Name === 'Engine') continue;
            text += ` ${component.Name}:\n  Version:          ${component.Version}\n`;
            for (const [key, value] of Object.entries(component.Details ?? {})) text += `  ${(key + ':').padEnd(18)}${value}\n`;
          }
        }
        await write(ctx.out, text);
      }
      if (serverError) throw serverError;
    });
}
