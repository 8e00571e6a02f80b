/**
 * docker's `filters` query, one module for every list, prune and event stream (moby
 * api/types/filters and pkg/timetypes): parsing both JSON encodings, checking keys and
 * values, and the matchers each kind of filter uses. Values of one key are ORed, keys are
 * ANDed, except `label`, whose values must all match. A bad key or value is a 400 that names
 * it, never ignored: a prune with a filter it does not understand would remove too much.
 */
import { InvalidArgumentError } from './errors.js';
import { parseTimestampMs } from './timestamp.js';

/** Filter key to its values, as docker's `{"key": ["v"]}`. */
export type Filters = Record<string, string[]>;

/** moby's invalidFilter: "invalid filter 'key'" or "invalid filter 'key=value'". */
export class InvalidFilterError extends InvalidArgumentError {
  constructor(key: string, values?: string[]) {
    super(`invalid filter '${key}${values === undefined ? '' : `=${values.join(',')}`}'`, { code: 'BERTH_INVALID_FILTER' });
  }
}

/**
 * Parse the `filters` query value. Clients send `{"key": ["v", ...]}` or, older ones and
 * dockerode, `{"key": {"v": true}}`; in the map form every key counts, whatever its boolean
 * (as moby reads it). Anything else is a 400.
 */
export function parseFilters(text: string | null | undefined): Filters {
  if (text === null || text === undefined || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`invalid filter: ${text}`, { code: 'BERTH_INVALID_FILTER' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError(`invalid filter: ${text}`, { code: 'BERTH_INVALID_FILTER' });
  const filters: Filters = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) filters[key] = [...new Set(value as string[])];
    else if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'boolean')) filters[key] = Object.keys(value);
    else throw new InvalidFilterError(key);
  }
  return filters;
}

/** Throw for a key the endpoint does not know. */
export function checkFilterKeys(filters: Filters, allowed: Iterable<string>): void {
  const known = new Set(allowed);
  for (const key of Object.keys(filters)) if (!known.has(key)) throw new InvalidFilterError(key);
}

/** The values of `key`, or an empty list. */
export function filterValues(filters: Filters, key: string): string[] {
  return filters[key] ?? [];
}

/**
 * A boolean filter (`dangling`, `all`): undefined when absent, one of true/1/false/0
 * (any case) otherwise; several values or any other word is a 400 (`dangling=maybe`).
 */
export function boolFilter(filters: Filters, key: string): boolean | undefined {
  const values = filters[key];
  if (values === undefined || values.length === 0) return undefined;
  const value = values.length === 1 ? values[0]!.toLowerCase() : '';
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new InvalidFilterError(key, values);
}

/**
 * `label` (every value must match: `key` is present, `key=value` equal) and, where given,
 * `label!` (no value may match).
 */
export function labelsMatch(labels: Record<string, string> | null | undefined, filters: Filters): boolean {
  const have = labels ?? {};
  const matches = (filter: string): boolean => {
    const eq = filter.indexOf('=');
    return eq < 0 ? Object.hasOwn(have, filter) : have[filter.slice(0, eq)] === filter.slice(eq + 1);
  };
  return filterValues(filters, 'label').every(matches) && !filterValues(filters, 'label!').some(matches);
}

/**
 * `name` as moby matches it: each value is a regular expression searched in the name
 * (`^web$` for an exact name); a value that is no valid expression matches nothing.
 */
export function nameMatches(name: string, patterns: string[]): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((pattern) => {
    try {
      return new RegExp(goRegexpToJs(pattern), 'u').test(name);
    } catch {
      return false;
    }
  });
}

/** Go's RE2 inline flags at the start (`(?i)`) are JS flags; the rest of RE2's common syntax is JS's. */
function goRegexpToJs(pattern: string): string {
  return pattern.startsWith('(?i)') ? pattern.slice(4).replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`) : pattern;
}

/** An id filter: a value matches the start of the id (moby's prefix match). */
export function idMatches(id: string, prefixes: string[]): boolean {
  const bare = id.startsWith('sha256:') ? id.slice(7) : id;
  return prefixes.length === 0 || prefixes.some((p) => id.startsWith(p) || bare.startsWith(p));
}

/**
 * A `reference` pattern against a `name:tag` reference, as docker's FamiliarMatch: shell glob
 * (`*` stays within one path component); a pattern without a tag matches every tag of the
 * repository (a colon before the last slash is a registry port, not a tag).
 */
export function referenceMatches(reference: string, pattern: string): boolean {
  const glob = new RegExp('^' + pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
  if (glob.test(reference)) return true;
  const hasTag = pattern.lastIndexOf(':') > pattern.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  const name = colon > reference.lastIndexOf('/') ? reference.slice(0, colon) : reference;
  return !hasTag && glob.test(name);
}

/**
 * A time filter (`until`, `since` of prunes) in milliseconds: undefined when absent; more than
 * one value or an unparsable one is a 400 naming it.
 */
export function timeFilterMs(filters: Filters, key: string, nowMs = Date.now()): number | undefined {
  const values = filters[key];
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) throw new InvalidArgumentError(`more than one ${key} filter specified`, { code: 'BERTH_INVALID_FILTER' });
  try {
    return parseTimestampMs(values[0]!, nowMs);
  } catch {
    throw new InvalidFilterError(key, values);
  }
}
