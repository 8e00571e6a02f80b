/**
 * Go-style globs for COPY and ADD sources (`*`, `?`, `[...]` within one path element, as Go's
 * filepath.Match), matched against the build context's paths or, for `COPY --from`, against
 * the files of the source image, which are walked only as deep as the pattern reaches.
 */
import { posix } from 'node:path';
import { InvalidArgumentError } from '../common/index.js';
import { withContainerFs, type ArchiveDeps } from '../engine/index.js';
import { walkTree } from '../snapshot/index.js';

/** A COPY/ADD failure the user caused (docker's `COPY failed: ...`, a build error). */
export class CopyFailedError extends InvalidArgumentError {}

/** Whether a source path holds a wildcard. */
export function hasWildcard(path: string): boolean {
  return /[*?[]/.test(path);
}

/** The regular expression of a Go filepath.Match pattern over `/`-separated paths. */
export function globRegex(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new CopyFailedError(`syntax error in pattern: ${pattern}`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]!}`;
    else re += /[.+(){}|$^]/.test(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(`${re}$`);
}

/**
 * The absolute paths of container `id`'s root filesystem (not its mounts: an image's files, as
 * docker's classic builder reads them for `COPY --from`) that `pattern` (absolute, cleaned)
 * matches, in walk order (names sorted bytewise, parents before children).
 */
export async function matchContainerPaths(deps: ArchiveDeps, id: string, pattern: string): Promise<string[]> {
  const segments = pattern.split('/').filter((part) => part !== '');
  const firstWild = segments.findIndex(hasWildcard);
  const regex = globRegex(segments.join('/'));
  const base = `/${segments.slice(0, firstWild).join('/')}`;
  // `*` never matches a `/`: nothing deeper than the pattern's last element can match.
  const maxDepth = segments.length - firstWild;
  return withContainerFs(deps, id, async ({ root }) => {
    const found = await root.resolve(base, { followLast: false }).catch(() => undefined);
    if (found?.stats?.isDirectory() !== true) return [];
    const start = found.name === '.' ? found.dir : await root.openDir(found.dir, found.name);
    const out: string[] = [];
    await walkTree(root, start, async (entry) => {
      const path = posix.join(base, entry.rel);
      if (regex.test(path.slice(1))) out.push(path);
      return entry.rel.split('/').length < maxDepth;
    });
    return out;
  });
}
