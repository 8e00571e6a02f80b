/**
 * The output of every inspect command: a 4-space-indented JSON array, or one rendered
 * `--format` line per object; refs that were not found are reported after, exit 1.
 */
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { StatusError } from '../exit.js';
import { goJson, parseFormat, renderTemplate } from '../template.js';

/** Look each ref up with `find` (undefined when missing) and print as docker's inspect does. */
export async function printInspect(ctx: CliContext, refs: string[], format: string | undefined, find: (ref: string) => Promise<unknown>, missing: (ref: string) => string): Promise<void> {
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const ref of refs) {
    const value = await find(ref);
    if (value === undefined) errors.push(missing(ref));
    else found.push(value);
  }
  if (format && format !== 'json') {
    const { template } = parseFormat(format);
    await write(ctx.out, found.map((v) => renderTemplate(template, v) + '\n').join(''));
  } else {
    await write(ctx.out, goJson(found, '    ') + '\n');
  }
  if (errors.length > 0) throw new StatusError(1, errors.map((e) => `Error: ${e}`).join('\n'));
}

/** Run `lookup`, mapping a 404 to undefined. */
export async function orMissing<T>(lookup: () => Promise<T>): Promise<T | undefined> {
  const { ApiError } = await import('../../client/index.js');
  try {
    return await lookup();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}
