/**
 * `.dockerignore` as docker reads it (moby/patternmatcher): one pattern a line, `#` comments,
 * `!` re-includes, paths cleaned and taken relative to the context root, `*` and `?` within one
 * path element, `**` across any number of them, and a pattern that matches a directory
 * matching everything below it. The last matching pattern decides. Shared by the daemon
 * (which drops an excluded Dockerfile and .dockerignore from the context) and the CLI (which
 * leaves excluded files out of the context it sends).
 */
import { posix } from 'node:path';

interface Pattern {
  text: string;
  isExclusion: boolean;
  regex: RegExp;
}

/** The patterns of a `.dockerignore` file's text, in order. */
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let bang = '';
    if (line.startsWith('!')) {
      bang = '!';
      line = line.slice(1).trim();
      if (line === '') continue;
    }
    let cleaned = posix.normalize(line);
    if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
    if (cleaned.length > 1 && cleaned.startsWith('/')) cleaned = cleaned.slice(1);
    out.push(bang + cleaned);
  }
  return out;
}

const SPECIAL = new Set(['.', '+', '(', ')', '|', '{', '}', '$', '^']);

function compile(text: string): RegExp {
  let re = '^';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '*') {
      if (text[i + 1] === '*') {
        i++;
        if (text[i + 1] === '/') i++;
        if (i + 1 >= text.length) re += '.*';
        else re += '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '\\' && i + 1 < text.length) {
      re += `\\${text[++i]!}`;
    } else if (SPECIAL.has(ch)) {
      re += `\\${ch}`;
    } else {
      re += ch;
    }
  }
  try {
    return new RegExp(`${re}$`);
  } catch {
    // A malformed character class matches nothing, as filepath.Match's error does.
    return /(?!)/;
  }
}

/** Decides which context paths `.dockerignore` patterns leave out. */
export class DockerignoreMatcher {
  readonly #patterns: Pattern[];

  constructor(patterns: readonly string[]) {
    this.#patterns = patterns.map((p) => {
      const isExclusion = p.startsWith('!');
      const text = isExclusion ? p.slice(1) : p;
      return { text, isExclusion, regex: compile(text) };
    });
  }

  get isEmpty(): boolean {
    return this.#patterns.length === 0;
  }

  /** Whether any `!` pattern exists (then a left-out directory must still be walked). */
  get hasExclusions(): boolean {
    return this.#patterns.some((p) => p.isExclusion);
  }

  /** Whether `path` (relative to the context root, `/`-separated) is left out. */
  isIgnored(path: string): boolean {
    const clean = posix.normalize(path).replace(/^\.\/|^\/+/, '');
    const parents = clean.split('/');
    let ignored = false;
    for (const pattern of this.#patterns) {
      let match = pattern.regex.test(clean);
      if (!match && parents.length > 1) {
        for (let i = 1; i < parents.length && !match; i++) match = pattern.regex.test(parents.slice(0, i).join('/'));
      }
      if (match) ignored = !pattern.isExclusion;
    }
    return ignored;
  }
}
