/**
 * `--change` of `docker commit` and `docker import` (the `changes` query of `POST /commit` and
 * `POST /images/create?fromSrc=`): the Dockerfile instructions that may change an image's
 * runtime config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME,
 * WORKDIR), parsed and applied as the builder would, with docker's messages for what it
 * refuses. Nothing is applied unless all parse. Here, below both engine/ (commit) and image/
 * (import), so the two share one parser.
 */
import { constants as osConstants } from 'node:os';
import { posix } from 'node:path';
import { BerthError } from '../common/index.js';
import type { ImageRuntimeConfig } from './image.js';

const SIGNALS: Record<string, number> = osConstants.signals as Record<string, number>;

/** Whether STOPSIGNAL's argument names a signal (`TERM`, `SIGTERM`, `15`), as the builder checks it. */
function isSignal(text: string): boolean {
  const upper = text.trim().toUpperCase();
  if (/^\d+$/.test(upper)) return Number(upper) > 0 && Object.values(SIGNALS).includes(Number(upper));
  return (upper.startsWith('SIG') ? upper : `SIG${upper}`) in SIGNALS;
}

/** A change docker's builder would refuse; nothing was changed. */
export class InvalidChangeError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_INVALID_CHANGE', message);
  }
}

const VALID = new Set(['cmd', 'entrypoint', 'env', 'expose', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);

interface Instruction {
  /** As written (docker's message quotes it so). */
  name: string;
  args: string;
}

/** Split change lines into instructions; blank lines and comments are skipped as the parser skips them. */
function parseLines(changes: readonly string[]): Instruction[] {
  const out: Instruction[] = [];
  for (const line of changes.join('\n').split('\n')) {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) continue;
    const match = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
    out.push({ name: match[1]!, args: match[2]!.trim() });
  }
  return out;
}

/** `["a", "b"]` as a list of strings, or undefined for the shell form. */
function jsonList(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed as string[];
  } catch {
    // Not JSON: the builder then takes the shell form, and so do we.
  }
  return undefined;
}

/** Expand `$NAME` and `${NAME}` from `env`, as the builder does for most instructions (`\$` stays literal). */
function expand(text: string, env: readonly string[]): string {
  const lookup = (name: string): string => {
    for (let i = env.length - 1; i >= 0; i--) {
      const entry = env[i]!;
      if (entry.startsWith(`${name}=`)) return entry.slice(name.length + 1);
    }
    return '';
  };
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, braced?: string, bare?: string) => {
    if (all === '\\$') return '$';
    return lookup((braced ?? bare)!);
  });
}

/** Split on unquoted whitespace; quotes and backslashes are removed as a shell word would lose them. */
function words(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(current);
  return out;
}

/** ENV and LABEL arguments: `k=v k2="v 2"`, or the old `key value with spaces` form. */
function pairs(instruction: Instruction, env: readonly string[]): Array<[string, string]> {
  const upper = instruction.name.toUpperCase();
  if (instruction.args === '') throw new InvalidChangeError(`${upper} requires at least one argument`);
  const first = words(instruction.args)[0] ?? '';
  if (!first.includes('=')) {
    const space = instruction.args.search(/\s/);
    if (space < 0) throw new InvalidChangeError(`${upper} must have two arguments`);
    return [[instruction.args.slice(0, space), expand(instruction.args.slice(space).trim(), env)]];
  }
  return words(expand(instruction.args, env)).map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) throw new InvalidChangeError(`Syntax error - can't find = in "${word}". Must be of the form: name=value`);
    const key = word.slice(0, eq);
    if (key === '') throw new InvalidChangeError(`${upper} names can not be blank`);
    return [key, word.slice(eq + 1)];
  });
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/** EXPOSE's `80`, `80/udp`, `8000-8002/tcp` as docker's `port/proto` keys. */
function exposedPorts(spec: string): string[] {
  const slash = spec.indexOf('/');
  const portPart = slash < 0 ? spec : spec.slice(0, slash);
  const proto = (slash < 0 ? 'tcp' : spec.slice(slash + 1)).toLowerCase();
  if (!PROTOCOLS.has(proto)) throw new InvalidChangeError(`invalid proto: ${proto}`);
  const range = /^(\d+)(?:-(\d+))?$/.exec(portPart);
  const start = range ? Number(range[1]) : NaN;
  const end = range?.[2] !== undefined ? Number(range[2]) : start;
  if (!range || start > 65535 || end > 65535 || end < start) throw new InvalidChangeError(`invalid containerPort: ${portPart}`);
  const out: string[] = [];
  for (let port = start; port <= end; port++) out.push(`${port}/${proto}`);
  return out;
}

/**
 * Apply `changes` to a copy of `config` and return it. Throws InvalidChangeError (HTTP 400)
 * for an instruction commit and import do not allow or a malformed one; `config` is never modified.
 */
export function applyChanges(config: ImageRuntimeConfig, changes: readonly string[]): ImageRuntimeConfig {
  const instructions = parseLines(changes);
  for (const instruction of instructions) {
    if (!VALID.has(instruction.name.toLowerCase())) throw new InvalidChangeError(`${instruction.name} is not a valid change command`);
  }
  const next: ImageRuntimeConfig = structuredClone(config);
  let isCmdSet = false;
  for (const instruction of instructions) {
    const name = instruction.name.toLowerCase();
    const upper = name.toUpperCase();
    const env = next.Env ?? [];
    const args = instruction.args;
    if (args === '' && name !== 'cmd' && name !== 'entrypoint') throw new InvalidChangeError(`${upper} requires at least one argument`);
    switch (name) {
      case 'cmd':
        next.Cmd = jsonList(args) ?? (args === '' ? [] : ['/bin/sh', '-c', args]);
        isCmdSet = true;
        break;
      case 'entrypoint':
        next.Entrypoint = jsonList(args) ?? (args === '' ? [] : ['/bin/sh', '-c', args]);
        // The builder drops an inherited CMD when ENTRYPOINT changes without a CMD of its own.
        if (!isCmdSet) next.Cmd = null;
        break;
      case 'env': {
        const list = [...env];
        for (const [key, value] of pairs(instruction, env)) {
          const at = list.findIndex((entry) => entry.split('=')[0] === key);
          if (at >= 0) list[at] = `${key}=${value}`;
          else list.push(`${key}=${value}`);
        }
        next.Env = list;
        break;
      }
      case 'label':
        next.Labels = { ...(next.Labels ?? {}), ...Object.fromEntries(pairs(instruction, env)) };
        break;
      case 'expose': {
        const ports = { ...(next.ExposedPorts ?? {}) };
        for (const spec of words(expand(args, env))) for (const key of exposedPorts(spec)) ports[key] = {};
        next.ExposedPorts = ports;
        break;
      }
      case 'user':
      case 'workdir':
      case 'stopsignal': {
        const list = words(expand(args, env));
        if (list.length !== 1) throw new InvalidChangeError(`${upper} requires exactly one argument`);
        const value = list[0]!;
        if (name === 'user') next.User = value;
        else if (name === 'workdir') next.WorkingDir = posix.resolve(next.WorkingDir || '/', value);
        else {
          if (!isSignal(value)) throw new InvalidChangeError(`Invalid signal: ${value}`);
          next.StopSignal = value;
        }
        break;
      }
      case 'volume': {
        const list = jsonList(args) ?? words(expand(args, env));
        if (list.length === 0 || list.some((v) => v.trim() === '')) throw new InvalidChangeError('VOLUME specified can not be an empty string');
        next.Volumes = { ...(next.Volumes ?? {}), ...Object.fromEntries(list.map((v) => [v, {}])) };
        break;
      }
      case 'onbuild': {
        const trigger = /^(\S+)/.exec(args)![1]!.toUpperCase();
        if (trigger === 'ONBUILD') throw new InvalidChangeError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (trigger === 'FROM' || trigger === 'MAINTAINER') throw new InvalidChangeError(`${trigger} isn't allowed as an ONBUILD trigger`);
        next.OnBuild = [...(next.OnBuild ?? []), args];
        break;
      }
    }
  }
  return next;
}
