/**
 * `docker top` for a VM container: the guest agent's raw process list (PS_LIST,
 * guest/agent/PROTOCOL.md) formatted the way procps's `ps` prints it on the host, for the
 * ps options docker users pass most (`-ef`, `aux`, `-o <fields>`).
 */

/** One guest process as the agent reports it. */
export interface GuestProcess {
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  /** The state letter of /proc/<pid>/stat (R, S, D, Z, T...). */
  state: string;
  /** user+system CPU time, in clock ticks (USER_HZ, 100 a second). */
  cpuTicks: number;
  /** Start, in clock ticks after the guest booted. */
  startTicks: number;
  /** /proc's tty_nr: the controlling terminal's device number, 0 for none. */
  ttyNr: number;
  vszKiB: number;
  rssKiB: number;
  comm: string;
  /** The command line with spaces between arguments; empty for a process without one. */
  args: string;
}

/** The agent's whole answer. */
export interface GuestProcessList {
  uptimeSec: number;
  memTotalKiB: number;
  processes: GuestProcess[];
}

/** ps options the formatter does not know; the message is ps's kind of one-liner. */
export class PsArgumentError extends Error {}

const TICKS_PER_SEC = 100;

/** Parse PS_LIST's text: a `uptime=<s> memtotal_kb=<n>` line, then one tab-separated line per process. */
export function parseGuestProcessList(text: string): GuestProcessList {
  const lines = text.split('\n');
  const head = lines[0] ?? '';
  const uptimeSec = Number(/uptime=([\d.]+)/.exec(head)?.[1] ?? 0);
  const memTotalKiB = Number(/memtotal_kb=(\d+)/.exec(head)?.[1] ?? 0);
  const processes: GuestProcess[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split('\t');
    if (f.length < 12) continue;
    processes.push({
      pid: Number(f[0]), ppid: Number(f[1]), uid: Number(f[2]), gid: Number(f[3]), state: f[4]!,
      cpuTicks: Number(f[5]), startTicks: Number(f[6]), ttyNr: Number(f[7]), vszKiB: Number(f[8]), rssKiB: Number(f[9]),
      comm: f[10]!, args: f.slice(11).join(' '),
    });
  }
  processes.sort((a, b) => a.pid - b.pid);
  return { uptimeSec, memTotalKiB, processes };
}

/** What the columns need besides the process: names for ids, the clock. */
export interface PsContext {
  uptimeSec: number;
  memTotalKiB: number;
  nowMs: number;
  userNames: ReadonlyMap<number, string>;
  groupNames: ReadonlyMap<number, string>;
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** ps's TIME: [DD-]HH:MM:SS of CPU time. */
function cpuTime(seconds: number): string {
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86400);
  const hms = `${two(Math.floor((s % 86400) / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
  return days > 0 ? `${days}-${hms}` : hms;
}

/** ps's ELAPSED: [[DD-]hh:]mm:ss. */
function elapsed(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const ms = `${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
  if (days > 0) return `${days}-${two(hours)}:${ms}`;
  return hours > 0 ? `${two(hours)}:${ms}` : ms;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ps's STIME: HH:MM within a day, else MonDD, else the year. */
function startTime(startMs: number, nowMs: number): string {
  const d = new Date(startMs);
  if (nowMs - startMs < 86_400_000) return `${two(d.getHours())}:${two(d.getMinutes())}`;
  if (nowMs - startMs < 365 * 86_400_000) return `${MONTHS[d.getMonth()]}${two(d.getDate())}`;
  return String(d.getFullYear());
}

/** The controlling terminal's name from tty_nr, `?` for none. */
function ttyName(ttyNr: number): string {
  if (ttyNr === 0) return '?';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${minor + (major - 136) * 256}`;
  if (major === 229) return `hvc${minor}`;
  if (major === 5 && minor === 1) return 'console';
  if (major === 4) return `tty${minor}`;
  return `${major}:${minor}`;
}

interface Column {
  header: string;
  value(p: GuestProcess, ctx: PsContext): string;
  isRightAligned?: boolean;
}

function lifeSec(p: GuestProcess, ctx: PsContext): number {
  return Math.max(0, ctx.uptimeSec - p.startTicks / TICKS_PER_SEC);
}

function cpuPercent(p: GuestProcess, ctx: PsContext): number {
  const life = lifeSec(p, ctx);
  return life > 0 ? (p.cpuTicks / TICKS_PER_SEC / life) * 100 : 0;
}

const userOf = (p: GuestProcess, ctx: PsContext): string => ctx.userNames.get(p.uid) ?? String(p.uid);
const commandLine = (p: GuestProcess): string => p.args || `[${p.comm}]`;
const num = (header: string, get: (p: GuestProcess) => number): Column => ({ header, value: (p) => String(get(p)), isRightAligned: true });

/** The `-o` field names ps knows and Berth supports, with ps's headers. */
const FIELDS: Record<string, Column> = {
  pid: num('PID', (p) => p.pid),
  ppid: num('PPID', (p) => p.ppid),
  uid: num('UID', (p) => p.uid),
  euid: num('EUID', (p) => p.uid),
  gid: num('GID', (p) => p.gid),
  egid: num('EGID', (p) => p.gid),
  user: { header: 'USER', value: userOf },
  euser: { header: 'EUSER', value: userOf },
  uname: { header: 'USER', value: userOf },
  group: { header: 'GROUP', value: (p, ctx) => ctx.groupNames.get(p.gid) ?? String(p.gid) },
  comm: { header: 'COMMAND', value: (p) => p.comm },
  ucomm: { header: 'COMMAND', value: (p) => p.comm },
  args: { header: 'COMMAND', value: commandLine },
  command: { header: 'COMMAND', value: commandLine },
  cmd: { header: 'CMD', value: commandLine },
  time: { header: 'TIME', value: (p) => cpuTime(p.cpuTicks / TICKS_PER_SEC), isRightAligned: true },
  cputime: { header: 'TIME', value: (p) => cpuTime(p.cpuTicks / TICKS_PER_SEC), isRightAligned: true },
  etime: { header: 'ELAPSED', value: (p, ctx) => elapsed(lifeSec(p, ctx)), isRightAligned: true },
  stime: { header: 'STIME', value: (p, ctx) => startTime(ctx.nowMs - lifeSec(p, ctx) * 1000, ctx.nowMs) },
  start: { header: 'START', value: (p, ctx) => startTime(ctx.nowMs - lifeSec(p, ctx) * 1000, ctx.nowMs) },
  tty: { header: 'TT', value: (p) => ttyName(p.ttyNr) },
  tt: { header: 'TT', value: (p) => ttyName(p.ttyNr) },
  tname: { header: 'TTY', value: (p) => ttyName(p.ttyNr) },
  stat: { header: 'STAT', value: (p) => p.state },
  s: { header: 'S', value: (p) => p.state },
  rss: num('RSS', (p) => p.rssKiB),
  vsz: num('VSZ', (p) => p.vszKiB),
  c: { header: 'C', value: (p, ctx) => String(Math.min(99, Math.floor(cpuPercent(p, ctx)))), isRightAligned: true },
  pcpu: { header: '%CPU', value: (p, ctx) => cpuPercent(p, ctx).toFixed(1), isRightAligned: true },
  '%cpu': { header: '%CPU', value: (p, ctx) => cpuPercent(p, ctx).toFixed(1), isRightAligned: true },
  pmem: { header: '%MEM', value: (p, ctx) => (ctx.memTotalKiB > 0 ? (p.rssKiB / ctx.memTotalKiB) * 100 : 0).toFixed(1), isRightAligned: true },
  '%mem': { header: '%MEM', value: (p, ctx) => (ctx.memTotalKiB > 0 ? (p.rssKiB / ctx.memTotalKiB) * 100 : 0).toFixed(1), isRightAligned: true },
};

const FULL_FORMAT = ['uid=UID', 'pid', 'ppid', 'c', 'stime', 'tname=TTY', 'time', 'cmd'];
const BSD_USER_FORMAT = ['user', 'pid', '%cpu', '%mem', 'vsz', 'rss', 'tname=TTY', 'stat', 'start', 'time', 'command'];
const DEFAULT_FORMAT = ['pid', 'tname=TTY', 'time', 'cmd'];

function column(spec: string): Column {
  const eq = spec.indexOf('=');
  const name = (eq < 0 ? spec : spec.slice(0, eq)).toLowerCase();
  const base = FIELDS[name];
  if (!base) throw new PsArgumentError(`error: unknown user-defined format specifier "${name}"`);
  // -ef's UID column shows the user's name, unlike -o uid.
  if (spec === 'uid=UID') return { header: 'UID', value: userOf };
  return eq < 0 ? base : { ...base, header: spec.slice(eq + 1) };
}

/**
 * The columns `ps <args>` prints: `-ef`/`-f` (the default for docker top), `-e`/`-A`/none
 * (PID TTY TIME CMD), BSD `aux`/`u`, and `-o`/`-eo`/`o`/`--format` field lists (repeatable,
 * comma or space separated, `field=Header` allowed). Every process is listed whatever the
 * selection options say: they all belong to the container. Throws PsArgumentError otherwise.
 */
export function psColumns(args: readonly string[]): Column[] {
  const fields: string[] = [];
  let isFull = false;
  let isBsdUser = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const takesList = (letters: string): string => {
      const after = letters.slice(letters.indexOf('o') + 1);
      if (after !== '') return after;
      const next = args[++i];
      if (next === undefined) throw new PsArgumentError('error: list of format specifiers is missing');
      return next;
    };
    if (arg === '--format' || arg === '-O') {
      fields.push(...takesList('o'));
      continue;
    }
    if (arg.startsWith('--format=')) {
      fields.push(arg.slice('--format='.length));
      continue;
    }
    const isDash = arg.startsWith('-');
    const letters = isDash ? arg.slice(1) : arg;
    if (!/^[a-zA-Z]+/.test(letters)) throw new PsArgumentError(`error: unsupported option ${arg}`);
    const optionLetters = letters.includes('o') ? letters.slice(0, letters.indexOf('o')) : letters;
    for (const letter of optionLetters) {
      if (letter === 'f') isFull = true;
      else if (letter === 'u' && !isDash) isBsdUser = true;
      else if (!'eAaxwlHT'.includes(letter)) throw new PsArgumentError(`error: unsupported option ${isDash ? '-' : ''}${letter}`);
    }
    if (letters.includes('o')) fields.push(takesList(letters));
  }
  const names = fields.length > 0
    ? fields.flatMap((f) => f.split(/[\s,]+/)).filter((f) => f !== '')
    : isBsdUser ? BSD_USER_FORMAT : isFull ? FULL_FORMAT : args.length === 0 ? FULL_FORMAT : DEFAULT_FORMAT;
  return names.map(column);
}

/** The table `ps` would print: a header line, then one line per process, columns space-aligned. */
export function formatGuestProcesses(list: GuestProcessList, args: readonly string[], ctx: Omit<PsContext, 'uptimeSec' | 'memTotalKiB'>): string {
  const columns = psColumns(args);
  const full: PsContext = { ...ctx, uptimeSec: list.uptimeSec, memTotalKiB: list.memTotalKiB };
  const rows = [columns.map((c) => c.header), ...list.processes.map((p) => columns.map((c) => c.value(p, full)))];
  const widths = columns.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : columns[i]!.isRightAligned ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' ').trimEnd())
    .join('\n') + '\n';
}

/** uid (or gid) to name from an /etc/passwd or /etc/group text. */
export function namesFromIdFile(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2]!) && !names.has(Number(f[2]))) names.set(Number(f[2]), f[0]!);
  }
  return names;
}
