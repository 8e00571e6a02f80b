/**
 * The per-container /etc/hosts, /etc/hostname and /etc/resolv.conf, written under the
 * container's userdata directory and bind-mounted in by the runtime.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface EtcFilePaths {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export interface EtcFileOptions {
  hostname: string;
  extraHosts: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** The host's resolv.conf, read by the caller so tests can pass their own. */
  hostResolvConf: string;
}

const BASE_HOSTS = `127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;

/** Build the container's resolv.conf as docker does: the host's, minus loopback resolvers the container cannot reach. */
export function buildResolvConf(options: Pick<EtcFileOptions, 'dns' | 'dnsSearch' | 'dnsOptions' | 'hostResolvConf'>): string {
  const lines = options.hostResolvConf.split('\n');
  let nameservers = lines
    .filter((l) => /^\s*nameserver\s/.test(l))
    .map((l) => l.trim().split(/\s+/)[1] ?? '')
    .filter((ns) => ns !== '' && !ns.startsWith('127.') && ns !== '::1');
  let search = lines.filter((l) => /^\s*(search|domain)\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  let opts = lines.filter((l) => /^\s*options\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  if (options.dns.length > 0) nameservers = options.dns;
  if (options.dnsSearch.length > 0) search = options.dnsSearch.filter((s) => s !== '.');
  if (options.dnsOptions.length > 0) opts = options.dnsOptions;
  let text = '';
  if (search.length > 0) text += `search ${search.join(' ')}\n`;
  for (const ns of nameservers) text += `nameserver ${ns}\n`;
  if (opts.length > 0) text += `options ${opts.join(' ')}\n`;
  return text;
}

/** Build /etc/hosts: loopback names, the --add-host entries, then `entries` (the container's own and its peers' addresses). */
export function buildHosts(extraHosts: string[], entries: ReadonlyArray<{ address: string; names: string[] }> = []): string {
  let text = BASE_HOSTS;
  for (const entry of extraHosts) {
    // `name:ip` or `name=ip`; the address may itself contain colons (IPv6).
    const at = entry.search(/[:=]/);
    if (at <= 0) continue;
    text += `${entry.slice(at + 1)}\t${entry.slice(0, at)}\n`;
  }
  for (const entry of entries) text += `${entry.address}\t${entry.names.join(' ')}\n`;
  return text;
}

/** Write the three files into `dir` and return their paths. */
export async function writeEtcFiles(dir: string, options: EtcFileOptions): Promise<EtcFilePaths> {
  const paths: EtcFilePaths = {
    hosts: join(dir, 'hosts'),
    hostname: join(dir, 'hostname'),
    resolvConf: join(dir, 'resolv.conf'),
  };
  await writeFile(paths.hosts, buildHosts(options.extraHosts), { mode: 0o644 });
  await writeFile(paths.hostname, options.hostname + '\n', { mode: 0o644 });
  await writeFile(paths.resolvConf, buildResolvConf(options), { mode: 0o644 });
  return paths;
}

/** The host's resolv.conf, or an empty one when the host has none. */
export async function readHostResolvConf(path = '/etc/resolv.conf'): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}
