/** `berth network ls`: NETWORK ID, NAME, DRIVER and SCOPE, one row per network, sorted by name. */
import { Command } from 'commander';
import type { Network } from '../../api/wire/index.js';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { renderList } from '../output.js';
import { collect, parseFilters } from './filters.js';

/** Default `docker network ls` format. */
export const NETWORKS_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
const HEADERS = { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' };

/** One row as docker's network formatter sees it. */
export interface NetworkRow {
  ID: string;
  Name: string;
  Driver: string;
  Scope: string;
  IPv4: string;
  IPv6: string;
  Internal: string;
  Labels: string;
  CreatedAt: string;
}

/** The row for one network; ids are cut to 12 characters unless `isNoTrunc`. */
export function toNetworkRow(network: Network, isNoTrunc: boolean): NetworkRow {
  return {
    ID: isNoTrunc ? network.Id : network.Id.slice(0, 12),
    Name: network.Name,
    Driver: network.Driver,
    Scope: network.Scope,
    IPv4: String(network.EnableIPv4 ?? true),
    IPv6: String(network.EnableIPv6),
    Internal: String(network.Internal),
    Labels: Object.entries(network.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
    CreatedAt: network.Created,
  };
}

/** Build the network ls command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('List networks')
    .usage('[OPTIONS]')
    .option('-f, --filter <filter>', "Provide filter values (e.g. 'driver=bridge')", collect, [])
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', 'Do not truncate the output')
    .option('-q, --quiet', 'Only display network IDs')
    .action(async (flags: { filter: string[]; format?: string; trunc: boolean; quiet?: boolean }) => {
      const client = await ctx.client();
      const list = await client.networkList(parseFilters(flags.filter));
      const rows = list.map((n) => toNetworkRow(n, !flags.trunc)).sort((a, b) => a.Name.localeCompare(b.Name));
      if (flags.quiet && !flags.format) {
        await write(ctx.out, rows.map((r) => `${r.ID}\n`).join(''));
        return;
      }
      await write(ctx.out, renderList({ rows, format: flags.format, defaultFormat: NETWORKS_FORMAT, headers: HEADERS }));
    });
}
