/** `--filter key=value` flags into the API's filter map (repeats of one key are ORed). */
import type { Filters } from '../../client/index.js';
import { UsageError } from '../exit.js';

/** commander collector for repeatable flags. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Parse `key=value` filter flags; a flag without `=` is docker's "bad format of filter". */
export function parseFilters(flags: string[]): Filters {
  const filters: Filters = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid argument "${flag}" for "-f, --filter" flag: bad format of filter (expected name=value)`);
    const key = flag.slice(0, eq).trim().toLowerCase();
    (filters[key] ??= []).push(flag.slice(eq + 1));
  }
  return filters;
}
