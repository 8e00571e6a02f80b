/**
 * The subset of Go's text/template that docker's `--format` is used with: field paths
 * (`{{.ID}}`, `{{.State.Status}}`), `{{json .}}` / `{{json .Config}}`, `{{index .Config.Labels "k"}}`,
 * `upper`, `lower`, `join`, `len`, pipes (`{{.Config | json}}`), `{{- -}}` trimming, and docker's
 * `table` prefix with literal `\t` / `\n` escapes.
 */
import { UsageError } from './exit.js';

type Value = unknown;

/** A parsed `--format` value. */
export interface FormatSpec {
  /** True when it began with `table`: print a header row and align columns. */
  isTable: boolean;
  /** The template with docker's `\t`/`\n` escapes turned into real characters. */
  template: string;
}

/** Split docker's `table` prefix off and expand the escapes, as docker's formatter does. */
export function parseFormat(format: string): FormatSpec {
  let template = format;
  let isTable = false;
  if (template === 'table' || template.startsWith('table ')) {
    isTable = true;
    template = template.slice('table'.length);
  }
  template = template.trim().replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  return { isTable, template };
}

/** Go's JSON encoding as docker uses it: compact, with <, > and & escaped. */
export function goJson(value: Value, indent?: string): string {
  const text = indent === undefined ? JSON.stringify(value ?? null) : JSON.stringify(value ?? null, null, indent);
  return text.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/** How Go's template prints a value: maps as map[k:v], slices as [a b], null slices as []. */
export function goPrint(value: Value): string {
  if (value === undefined) return '<no value>';
  if (value === null) return '[]';
  if (Array.isArray(value)) return `[${value.map(goPrint).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, Value>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${goPrint(v)}`).join(' ')}]`;
  }
  return String(value);
}

type Token = { kind: 'field'; path: string[] } | { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'ident'; name: string } | { kind: 'pipe' };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '|') {
      tokens.push({ kind: 'pipe' });
      i++;
    } else if (c === '"' || c === '`') {
      const end = expr.indexOf(c, i + 1);
      if (end < 0) throw new UsageError(`template: unterminated quoted string in "${expr}"`);
      const raw = expr.slice(i, end + 1);
      tokens.push({ kind: 'string', value: c === '"' ? (JSON.parse(raw) as string) : raw.slice(1, -1) });
      i = end + 1;
    } else if (c === '.') {
      const match = /^\.([A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*)?/.exec(expr.slice(i))!;
      tokens.push({ kind: 'field', path: match[1] ? match[1].split('.') : [] });
      i += match[0].length;
    } else if (/[0-9-]/.test(c)) {
      const match = /^-?[0-9]+/.exec(expr.slice(i));
      if (!match) throw new UsageError(`template: bad number in "${expr}"`);
      tokens.push({ kind: 'number', value: Number(match[0]) });
      i += match[0].length;
    } else {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expr.slice(i));
      if (!match) throw new UsageError(`template: unexpected "${c}" in "${expr}"`);
      tokens.push({ kind: 'ident', name: match[0] });
      i += match[0].length;
    }
  }
  return tokens;
}

function lookup(data: Value, path: string[]): Value {
  let current = data;
  for (const key of path) {
    if (current === null || current === undefined || typeof current !== 'object') return undefined;
    current = (current as Record<string, Value>)[key];
  }
  return current;
}

const FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
  json: (v) => goJson(v),
  upper: (v) => String(v ?? '').toUpperCase(),
  lower: (v) => String(v ?? '').toLowerCase(),
  len: (v) => (Array.isArray(v) ? v.length : typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  join: (v, sep) => (Array.isArray(v) ? v.map(String).join(String(sep ?? '')) : String(v ?? '')),
  index: (v, ...keys) => {
    let current = v;
    for (const key of keys) {
      if (current === null || current === undefined || typeof current !== 'object') return undefined;
      current = (current as Record<string, Value>)[String(key)];
    }
    return current;
  },
  println: (...vs) => vs.map(goPrint).join(' ') + '\n',
  print: (...vs) => vs.map(goPrint).join(''),
};

function evaluate(expr: string, data: Value): Value {
  const tokens = tokenize(expr);
  const commands: Token[][] = [[]];
  for (const token of tokens) {
    if (token.kind === 'pipe') commands.push([]);
    else commands[commands.length - 1]!.push(token);
  }
  let piped: Value;
  let hasPiped = false;
  for (const command of commands) {
    if (command.length === 0) throw new UsageError(`template: missing value in "${expr}"`);
    const args = (list: Token[]): Value[] =>
      list.map((t) => {
        if (t.kind === 'field') return lookup(data, t.path);
        if (t.kind === 'string' || t.kind === 'number') return t.value;
        throw new UsageError(`template: unexpected "${t.kind === 'ident' ? t.name : '|'}" in "${expr}"`);
      });
    const head = command[0]!;
    let result: Value;
    if (head.kind === 'ident') {
      const fn = FUNCTIONS[head.name];
      if (!fn) throw new UsageError(`template: function "${head.name}" not defined`);
      const values = args(command.slice(1));
      if (hasPiped) values.push(piped);
      result = fn(...values);
    } else {
      if (command.length > 1 || hasPiped) throw new UsageError(`template: can't give argument to non-function in "${expr}"`);
      result = args([head])[0];
    }
    piped = result;
    hasPiped = true;
  }
  return piped;
}

/** Render `template` against `data`. Throws UsageError for a template it cannot parse. */
export function renderTemplate(template: string, data: Value): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    if (open < 0) {
      out += template.slice(i);
      break;
    }
    const close = template.indexOf('}}', open + 2);
    if (close < 0) throw new UsageError('template: unclosed action');
    let text = template.slice(i, open);
    let inner = template.slice(open + 2, close);
    let next = close + 2;
    if (inner.startsWith('-') && /^-\s/.test(inner)) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    out += text;
    let trimAfter = false;
    if (/\s-$/.test(inner)) {
      inner = inner.slice(0, -1);
      trimAfter = true;
    }
    const value = evaluate(inner.trim(), data);
    out += typeof value === 'string' ? value : goPrint(value);
    if (trimAfter) {
      while (next < template.length && /\s/.test(template[next]!)) next++;
    }
    i = next;
  }
  return out;
}
