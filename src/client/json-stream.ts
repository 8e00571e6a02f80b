/**
 * Reading docker's JSON progress streams (pull, push, load, build): one JSON object per line.
 */
import type { Readable } from 'node:stream';

/**
 * Yield each JSON object of a newline-delimited stream as it arrives. Blank lines are
 * skipped; a line that is not JSON fails the iteration.
 */
export async function* readJsonLines<T>(source: Readable): AsyncGenerator<T> {
  let rest = '';
  for await (const chunk of source) {
    rest += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    let newline = rest.indexOf('\n');
    while (newline >= 0) {
      const line = rest.slice(0, newline).trim();
      rest = rest.slice(newline + 1);
      if (line !== '') yield JSON.parse(line) as T;
      newline = rest.indexOf('\n');
    }
  }
  if (rest.trim() !== '') yield JSON.parse(rest) as T;
}
