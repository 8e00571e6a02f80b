/** `-e` and `--env-file` as docker's CLI reads them (its opts/env.go, opts/file.go). */
import { readFileSync } from 'node:fs';
import { UsageError } from '../exit.js';

/** `-e` semantics: `KEY=value` as is; a bare `KEY` takes the caller's value when set. */
export function resolveEnv(entry: string, env: NodeJS.ProcessEnv): string | undefined {
  if (entry.includes('=')) {
    if (entry.startsWith('=')) throw new UsageError(`invalid environment variable: ${entry}`);
    return entry;
  }
  const value = env[entry];
  return value === undefined ? entry : `${entry}=${value}`;
}

/** `--env-file`: one `-e` entry per line; blank lines and `#` comments skipped. */
export function readEnvFile(path: string, env: NodeJS.ProcessEnv): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`open ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const resolved = resolveEnv(line, env);
    if (resolved !== undefined) out.push(resolved);
  }
  return out;
}

/** `--label-file`: one `key=value` (or bare `key`) per line; blank lines and `#` comments skipped. */
export function readLabelFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`open ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  return text.split(/\r?\n/).map((raw) => raw.replace(/^\s+/, '')).filter((line) => line !== '' && !line.startsWith('#'));
}
