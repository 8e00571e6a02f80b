/**
 * The fields docker's `ps` formatter offers (`{{.ID}}`, `{{.Names}}`...), computed from a
 * container summary, and the default ps table.
 */
import type { ContainerSummary, Port } from '../api/wire/index.js';
import { ellipsis, humanSize, timeAgo } from './human.js';

/** Default `docker ps` format. */
export const PS_FORMAT = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** Header text of each ps field. */
export const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED',
  Status: 'STATUS', Ports: 'PORTS', Names: 'NAMES', Labels: 'LABELS', Size: 'SIZE', Mounts: 'MOUNTS',
  Networks: 'NETWORKS', State: 'STATE', LocalVolumes: 'LOCAL VOLUMES',
};

/** One ps row as docker's formatter sees it (all strings, as docker's `{{json .}}` prints them). */
export interface PsRow {
  Command: string;
  CreatedAt: string;
  ID: string;
  Image: string;
  Labels: string;
  LocalVolumes: string;
  Mounts: string;
  Names: string;
  Networks: string;
  Ports: string;
  RunningFor: string;
  Size: string;
  State: string;
  Status: string;
}

/** docker's Ports column: `0.0.0.0:8080->80/tcp, 443/tcp`. */
export function formatPorts(ports: Port[] | null | undefined): string {
  if (!ports) return '';
  return ports
    .map((p) => (p.PublicPort ? `${p.IP && p.IP.includes(':') ? `[${p.IP}]` : p.IP ?? ''}:${p.PublicPort}->${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`))
    .join(', ');
}

/** Go's time.Time String() for a Unix-seconds instant, as CreatedAt prints it. */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000 UTC`;
}

/** Compute a ps row. `noTrunc` keeps full ids and commands. */
export function toPsRow(c: ContainerSummary, options: { noTrunc: boolean; nowMs?: number }): PsRow {
  const command = options.noTrunc ? c.Command : ellipsis(c.Command, 20);
  const names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
  // docker hides link names (`/a/b`) unless --no-trunc.
  const shown = options.noTrunc ? names : names.filter((n) => !n.includes('/'));
  let size = '0B';
  if (c.SizeRw !== undefined) size = `${humanSize(c.SizeRw)} (virtual ${humanSize(c.SizeRootFs ?? 0)})`;
  return {
    Command: `"${command}"`,
    CreatedAt: goTimeString(c.Created),
    ID: options.noTrunc ? c.Id : c.Id.slice(0, 12),
    Image: c.Image,
    Labels: Object.entries(c.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Mounts: (c.Mounts ?? []).map((m) => ellipsis(m.Name || m.Source, 15)).join(','),
    Names: shown.join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
    Ports: formatPorts(c.Ports),
    RunningFor: timeAgo(c.Created * 1000, options.nowMs),
    Size: size,
    State: c.State,
    Status: c.Status,
  };
}
