/**
 * The iptables rules of Berth's bridge networks, made once per network rather than once per
 * container (as dockerd does), so a container's CNI calls make none of their own but portmap's.
 *
 * Layout: three top-level chains of Berth's, each hooked once into a built-in chain and shared
 * by every berthd on the host, and per network one chain of its own in each table it needs,
 * jumped to from the top-level one:
 *
 *   filter FORWARD     → BERTH-FORWARD     → BERTH-FWD-<id12>  forwarding from, back to, DNAT'ed to the bridge
 *   filter INPUT       → BERTH-INPUT       → BERTH-IN-<id12>   internal networks only: nothing to the host beyond the subnet
 *   nat    POSTROUTING → BERTH-POSTROUTING → BERTH-NAT-<id12>  non-internal only: masquerade the subnet leaving by another interface
 *   filter (from FWD)  → BERTH-ISOLATE     → BERTH-ISO-<id12>  non-internal only: drop what another network's bridge sends to this one
 *
 * Isolation between networks, as dockerd's DOCKER-ISOLATION stages: each non-internal network's
 * forward chain sends what leaves its bridge for another interface through BERTH-ISOLATE, where
 * every network's ISO chain drops what would go out of its bridge; the host's other interfaces
 * match none and fall through. Connections DNAT'ed to a published port are exempt: a container
 * reaching another network's published port through the host, as dockerd's userland proxy
 * allows. Internal networks drop all such traffic in their own chains, which come first.
 *
 * A network's chains are rebuilt as a unit by one `iptables-restore --noflush` (declaring a
 * chain there creates it or flushes it, one transaction), so ensuring twice or after a crash
 * leaves exactly one copy. Removing deletes the jumps and the network's chains; the empty
 * top-level chains and their hooks stay, as CNI leaves its own.
 *
 * An IPv6 network has the same chains again in ip6tables, made from its IPv6 subnet (an internal
 * one lets ICMPv6 reach the host: neighbour discovery of the gateway needs it).
 */
import { CommandFailedError, runCommand } from '../sys/index.js';

/** What the rules of one network are made from. */
export interface RuledNetwork {
  id: string;
  bridgeName: string;
  /** IPv4 CIDR for iptables, IPv6 CIDR for ip6tables. */
  subnet: string;
  isInternal: boolean;
}

/** The shared top-level chains and where each hooks into the built-in ones. */
const TOP = {
  forward: { table: 'filter', chain: 'BERTH-FORWARD', hook: '-I FORWARD 1 -j BERTH-FORWARD', hookLine: '-A FORWARD -j BERTH-FORWARD' },
  input: { table: 'filter', chain: 'BERTH-INPUT', hook: '-I INPUT 1 -j BERTH-INPUT', hookLine: '-A INPUT -j BERTH-INPUT' },
  postrouting: { table: 'nat', chain: 'BERTH-POSTROUTING', hook: '-A POSTROUTING -j BERTH-POSTROUTING', hookLine: '-A POSTROUTING -j BERTH-POSTROUTING' },
  // Jumped to from the networks' forward chains only: no hook into a built-in chain.
  isolate: { table: 'filter', chain: 'BERTH-ISOLATE', hook: undefined, hookLine: undefined },
} as const;

type TopChain = (typeof TOP)[keyof typeof TOP];

/** One per-network chain: its table, name, rules, and how the top-level chain jumps to it. */
interface NetworkChain {
  top: TopChain;
  name: string;
  rules: string[];
  /** Internal networks' drops must come before other networks' accepts: their jumps go first. */
  first: boolean;
}

/** The names of a network's chains (all three, whether or not its kind uses each). */
export function chainNamesOf(networkId: string): { forward: string; input: string; nat: string; isolate: string } {
  const short = networkId.slice(0, 12);
  return { forward: `BERTH-FWD-${short}`, input: `BERTH-IN-${short}`, nat: `BERTH-NAT-${short}`, isolate: `BERTH-ISO-${short}` };
}

function chainsOf(network: RuledNetwork): NetworkChain[] {
  const names = chainNamesOf(network.id);
  const br = network.bridgeName;
  if (network.isInternal) {
    return [
      {
        top: TOP.forward,
        name: names.forward,
        first: true,
        rules: [`-i ${br} -o ${br} -j ACCEPT`, `-i ${br} -j DROP`, `-o ${br} -j DROP`],
      },
      // The gateway (its DNS responder) is in the subnet; every other host address is outside.
      {
        top: TOP.input,
        name: names.input,
        first: false,
        rules: [...(network.subnet.includes(':') ? [`-i ${br} -p ipv6-icmp -j RETURN`] : []), `-i ${br} ! -d ${network.subnet} -j DROP`],
      },
    ];
  }
  return [
    // Before the forward chain that jumps to it, so one transaction never names a missing chain.
    { top: TOP.isolate, name: names.isolate, first: false, rules: [`-o ${br} -j DROP`] },
    {
      top: TOP.forward,
      name: names.forward,
      first: false,
      rules: [
        `-i ${br} ! -o ${br} -m conntrack ! --ctstate DNAT -j ${TOP.isolate.chain}`,
        `-i ${br} -j ACCEPT`,
        `-o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        // Published ports: portmap's DNAT sends new connections to the container.
        `-o ${br} -m conntrack --ctstate DNAT -j ACCEPT`,
      ],
    },
    { top: TOP.postrouting, name: names.nat, first: false, rules: [`-s ${network.subnet} ! -o ${br} -j MASQUERADE`] },
  ];
}

/** What `iptables-save` shows, per table: its chains and its rule lines exactly as printed. */
export interface SavedTables {
  chains: Map<string, Set<string>>;
  rules: Map<string, Set<string>>;
}

/** Parse `iptables-save` output. */
export function parseIptablesSave(text: string): SavedTables {
  const saved: SavedTables = { chains: new Map(), rules: new Map() };
  let table = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      table = line.slice(1);
      saved.chains.set(table, saved.chains.get(table) ?? new Set());
      saved.rules.set(table, saved.rules.get(table) ?? new Set());
    } else if (line.startsWith(':') && table !== '') {
      saved.chains.get(table)!.add(line.slice(1).split(' ')[0]!);
    } else if (line.startsWith('-A ') && table !== '') {
      saved.rules.get(table)!.add(line);
    }
  }
  return saved;
}

/**
 * The `iptables-restore --noflush` input that makes `network`'s rules exactly as they should
 * be, given what the host has now: missing top-level chains and hooks, the network's chains
 * declared (so created or flushed) and filled, and the jumps to them that are missing.
 */
export function ensureScript(saved: SavedTables, network: RuledNetwork): string {
  const byTable = new Map<string, string[]>();
  const add = (table: string, line: string): void => {
    byTable.set(table, [...(byTable.get(table) ?? []), line]);
  };
  const chains = chainsOf(network);
  // A chain the network's kind no longer uses (never, as records do not change kind) is dropped by remove.
  for (const chain of chains) {
    const { table } = chain.top;
    const existing = saved.chains.get(table) ?? new Set<string>();
    const rules = saved.rules.get(table) ?? new Set<string>();
    // -N, not a declaration: declaring an existing top-level chain would flush other networks' jumps.
    if (!existing.has(chain.top.chain) && !(byTable.get(table) ?? []).includes(`-N ${chain.top.chain}`)) add(table, `-N ${chain.top.chain}`);
    const { hook, hookLine } = chain.top;
    if (hook !== undefined && hookLine !== undefined && !rules.has(hookLine) && !(byTable.get(table) ?? []).includes(hook)) add(table, hook);
    add(table, `:${chain.name} - [0:0]`);
    for (const rule of chain.rules) add(table, `-A ${chain.name} ${rule}`);
    if (!rules.has(`-A ${chain.top.chain} -j ${chain.name}`)) add(table, chain.first ? `-I ${chain.top.chain} 1 -j ${chain.name}` : `-A ${chain.top.chain} -j ${chain.name}`);
  }
  return script(byTable);
}

/** The `iptables-restore --noflush` input that removes every rule of network `networkId`; '' when there is none. */
export function removeScript(saved: SavedTables, networkId: string): string {
  const names = chainNamesOf(networkId);
  const byTable = new Map<string, string[]>();
  for (const [top, name] of [
    [TOP.forward, names.forward],
    [TOP.input, names.input],
    [TOP.postrouting, names.nat],
    [TOP.isolate, names.isolate],
  ] as const) {
    const lines: string[] = [];
    const rules = saved.rules.get(top.table) ?? new Set<string>();
    // Every jump to it (a race between two ensures could have made two).
    for (const rule of rules) if (rule === `-A ${top.chain} -j ${name}`) lines.push(`-D ${top.chain} -j ${name}`);
    if (saved.chains.get(top.table)?.has(name)) lines.push(`-F ${name}`, `-X ${name}`);
    if (lines.length > 0) byTable.set(top.table, [...(byTable.get(top.table) ?? []), ...lines]);
  }
  return script(byTable);
}

function script(byTable: Map<string, string[]>): string {
  let out = '';
  for (const [table, lines] of byTable) if (lines.length > 0) out += `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
  return out;
}

/** The program family the rules go through: IPv4 networks' or IPv6 networks'. */
export type RulesProgram = 'iptables' | 'ip6tables';

/** Applies the scripts above with iptables-save and iptables-restore (`-w`: wait for the xtables lock), or their ip6tables twins. */
export class BridgeRules {
  readonly #program: RulesProgram;
  /** Networks whose rules this daemon has ensured since it started; set-up skips them. */
  readonly #ensured = new Set<string>();

  constructor(program: RulesProgram = 'iptables') {
    this.#program = program;
  }

  /** Whether `ensure` ran for this network in this daemon's life (and `remove` did not since). */
  isEnsured(networkId: string): boolean {
    return this.#ensured.has(networkId);
  }

  /** Make the network's rules exactly as they should be; idempotent. Throws CommandFailedError. */
  async ensure(network: RuledNetwork): Promise<void> {
    await this.#apply((saved) => ensureScript(saved, network));
    this.#ensured.add(network.id);
  }

  /** Remove every rule of the network; nothing there is not an error. Throws CommandFailedError. */
  async remove(networkId: string): Promise<void> {
    this.#ensured.delete(networkId);
    await this.#apply((saved) => removeScript(saved, networkId));
  }

  /**
   * Read the tables, plan, apply. Another berthd changing the shared chains between the read and
   * the write makes a `-N` or `-D` fail, and the whole transaction with it: read and plan again.
   */
  async #apply(plan: (saved: SavedTables) => string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const save = await runCommand(`${this.#program}-save`, []);
      if (save.exitCode !== 0) throw new CommandFailedError(`${this.#program}-save`, save);
      const input = plan(parseIptablesSave(save.stdout));
      if (input === '') return;
      const result = await runCommand(`${this.#program}-restore`, ['-w', '--noflush'], { input });
      if (result.exitCode === 0) return;
      if (attempt >= 3) throw new CommandFailedError(`${this.#program}-restore`, result);
    }
  }
}
