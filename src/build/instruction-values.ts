/**
 * The values of config-only instructions as the classic builder reads them: ENV and LABEL
 * pairs, EXPOSE port specs, HEALTHCHECK options (Go durations), and CMD/ENTRYPOINT as docker
 * writes them into history.
 */
import type { ImageRuntimeConfig } from '../oci/index.js';
import { BuildStepError } from './build-options.js';
import type { DockerfileInstruction } from './dockerfile.js';
import { processWord, rawWords, type WordEnv } from './shell-words.js';

/** Go's %q of a string list, as docker writes CMD and ENTRYPOINT into history. */
export const goQuoted = (list: readonly string[]): string => `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;

/** ENV and LABEL arguments as pairs: `k=v k2="v 2"`, or the old `k v w` form (value: the rest). */
export function keyValues(i: DockerfileInstruction, env: WordEnv, escape: string): Array<[string, string]> {
  const words = rawWords(i.args, escape);
  if (words.length > 0 && !words[0]!.includes('=')) {
    const key = words[0]!;
    const rest = i.args.trim().slice(key.length).trim();
    if (rest === '' && i.keyword === 'ENV') throw new BuildStepError(`ENV must have two arguments`);
    return [[processWord(key, env, escape), processWord(rest, env, escape)]];
  }
  return words.map((word) => {
    const at = word.indexOf('=');
    if (at < 0) throw new BuildStepError(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
    const key = processWord(word.slice(0, at), env, escape);
    if (key === '') throw new BuildStepError(`${i.keyword} names can not be blank`);
    return [key, processWord(word.slice(at + 1), env, escape)];
  });
}

/** EXPOSE specs to `port/proto` keys (`80`, `80/udp`, `8000-8002`). */
export function exposedPorts(spec: string): string[] {
  const [range = '', proto = 'tcp'] = spec.split('/');
  const match = /^(\d+)(?:-(\d+))?$/.exec(range);
  if (!match) throw new BuildStepError(`invalid containerPort: ${range}`);
  const start = Number(match[1]);
  const end = match[2] !== undefined ? Number(match[2]) : start;
  if (!['tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) throw new BuildStepError(`invalid proto: ${proto}`);
  const out: string[] = [];
  for (let port = start; port <= end; port++) out.push(`${port}/${proto.toLowerCase()}`);
  return out;
}

const DURATION_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

function durationNs(text: string, flag: string): number {
  if (text === '') return 0;
  let total = 0;
  let rest = text;
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!match) throw new BuildStepError(`invalid argument "${text}" for "--${flag}" flag: time: invalid duration "${text}"`);
    total += Number(match[1]) * DURATION_NS[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return Math.round(total);
}

export function healthcheck(i: DockerfileInstruction, escape: string): NonNullable<ImageRuntimeConfig['Healthcheck']> {
  const words = rawWords(i.args, escape);
  if (words[0]!.toUpperCase() === 'NONE') return { Test: ['NONE'] };
  const rest = i.args.trim().slice(words[0]!.length).trim();
  const json = rest.startsWith('[') ? (() => {
    try {
      const parsed: unknown = JSON.parse(rest);
      return Array.isArray(parsed) && parsed.every((s) => typeof s === 'string') ? parsed as string[] : undefined;
    } catch {
      return undefined;
    }
  })() : undefined;
  const check: NonNullable<ImageRuntimeConfig['Healthcheck']> = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', rest] };
  const interval = durationNs(i.flags['interval'] ?? '', 'interval');
  const timeout = durationNs(i.flags['timeout'] ?? '', 'timeout');
  const startPeriod = durationNs(i.flags['start-period'] ?? '', 'start-period');
  const startInterval = durationNs(i.flags['start-interval'] ?? '', 'start-interval');
  if (interval > 0) check.Interval = interval;
  if (timeout > 0) check.Timeout = timeout;
  if (startPeriod > 0) check.StartPeriod = startPeriod;
  if (startInterval > 0) check.StartInterval = startInterval;
  if (i.flags['retries'] !== undefined) {
    const retries = Number(i.flags['retries']);
    if (!Number.isInteger(retries)) throw new BuildStepError(`invalid argument "${i.flags['retries']}" for "--retries" flag`);
    if (retries < 0) throw new BuildStepError(`--retries cannot be negative (${retries})`);
    if (retries > 0) check.Retries = retries;
  }
  return check;
}
