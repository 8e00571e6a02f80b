/** `berth port`: a container's published ports, all of them or the bindings of one. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { StatusError } from '../exit.js';

/** `host:port`, with brackets around an IPv6 host (Go's net.JoinHostPort). */
function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Build the port command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('List port mappings or a specific mapping for the container')
    .usage('[OPTIONS] CONTAINER [PRIVATE_PORT[/PROTO]]')
    .argument('<container>')
    .argument('[port]')
    .action(async (container: string, port: string | undefined) => {
      const client = await ctx.client();
      const ports = (await client.containerInspect(container)).NetworkSettings?.Ports ?? {};
      const lines: string[] = [];
      if (port !== undefined) {
        const [number = '', proto = 'tcp'] = port.split('/');
        const key = `${number}/${proto}`;
        const bindings = ports[key];
        if (!bindings) throw new StatusError(1, `Error: No public port '${key}' published for ${container}`);
        for (const b of bindings) lines.push(joinHostPort(b.HostIp ?? '', b.HostPort ?? ''));
      } else {
        for (const [key, bindings] of Object.entries(ports)) for (const b of bindings ?? []) lines.push(`${key} -> ${joinHostPort(b.HostIp ?? '', b.HostPort ?? '')}`);
        lines.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      }
      await write(ctx.out, lines.map((l) => `${l}\n`).join(''));
    });
}
