/** `--security-opt` values the CLI resolves before sending them (a seccomp profile's file). */
import { readFileSync } from 'node:fs';
import { UsageError } from '../exit.js';

/** `--security-opt seccomp=<file>`: docker sends the profile's content, not the path. */
export function resolveSecurityOpt(opt: string): string {
  const eq = opt.indexOf('=');
  const key = eq < 0 ? opt : opt.slice(0, eq);
  const value = eq < 0 ? '' : opt.slice(eq + 1);
  if (key === 'seccomp' && value !== 'unconfined' && value !== 'builtin' && value !== '') {
    let content: string;
    try {
      content = readFileSync(value, 'utf8');
    } catch (err) {
      throw new UsageError(`opening seccomp profile (${value}) failed: ${(err as Error).message}`);
    }
    try {
      return `seccomp=${JSON.stringify(JSON.parse(content))}`;
    } catch {
      throw new UsageError(`compacting json for seccomp profile (${value}) failed: invalid JSON`);
    }
  }
  return opt;
}
