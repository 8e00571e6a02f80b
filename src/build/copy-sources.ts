/**
 * COPY and ADD sources from the build context, as the classic builder takes them: paths cleaned
 * inside the context (never outside it), Go-style globs (`*`, `?`, `[...]` within one path
 * element), a source symlink followed inside the context, a directory's contents copied
 * rather than the directory itself, and every entry owned by the `--chown` ids (root by
 * default). The result is a tar whose names are the destination paths (relative to `/`).
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Stats } from 'node:fs';
import { InvalidArgumentError } from '../common/index.js';
import { TarWriter, walkTree, type RootedEntry } from '../snapshot/index.js';
import type { BuildContext } from './build-context.js';

/** One source matched in the context. */
export interface CopySource {
  /** Path relative to the context root. */
  path: string;
  entry: RootedEntry;
}

/** A file a COPY/ADD here-document made (`COPY <<name /dest`), written to a scratch path on the host. */
export interface InlineSource {
  /** The heredoc's name: the file's name under a directory destination. */
  name: string;
  hostPath: string;
  stats: Stats;
}

/** A COPY/ADD failure the user caused (docker's `COPY failed: ...`, a build error). */
export class CopyFailedError extends InvalidArgumentError {}

function globRegex(pattern: string): RegExp {
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

/** Every path of the context (relative, `/`-separated), directories included. */
async function allPaths(context: BuildContext): Promise<string[]> {
  const out: string[] = [];
  await walkTree(context.root, context.root.top, async (entry) => {
    out.push(entry.rel);
    return entry.stats.isDirectory();
  });
  return out;
}

/**
 * Resolve the sources of one COPY/ADD. `command` names the instruction in messages. The
 * caller releases each entry's directory (`context.root.release(entry.dir)`).
 */
export async function matchSources(context: BuildContext, sources: readonly string[], command: string): Promise<CopySource[]> {
  const out: CopySource[] = [];
  let paths: string[] | undefined;
  for (const source of sources) {
    const clean = posix.normalize(`/${source}`).slice(1);
    const cleanRel = posix.normalize(source);
    if (cleanRel === '..' || cleanRel.startsWith('../')) {
      throw new CopyFailedError(`${command} failed: forbidden path outside the build context: ${source} ()`);
    }
    if (/[*?[]/.test(clean)) {
      paths ??= await allPaths(context);
      const regex = globRegex(clean);
      const matched = paths.filter((p) => regex.test(p));
      for (const path of matched) {
        const entry = await context.resolve(path);
        if (entry) out.push({ path, entry });
      }
      if (matched.length === 0) throw new CopyFailedError(`${command} failed: no source files were specified`);
      continue;
    }
    const entry = await context.resolve(clean);
    if (entry === undefined) {
      throw new CopyFailedError(`${command} failed: file not found in build context or excluded by .dockerignore: stat ${clean === '' ? '.' : clean}: file does not exist`);
    }
    out.push({ path: clean, entry });
  }
  return out;
}

/** `stats` with its owner replaced (the tar writer reads uid and gid from it). */
function ownedBy(stats: Stats, owner: { uid: number; gid: number }, isForChecksum = false): Stats {
  return Object.assign(Object.create(Object.getPrototypeOf(stats) as object) as Stats, stats, { uid: owner.uid, gid: owner.gid }, isForChecksum ? { mtime: new Date(0) } : {});
}

/** A directory entry's stats for a parent made here: root-owned, 0755, now. */
export function madeDirStats(isForChecksum = false): Stats {
  return Object.assign(Object.create(Stats.prototype) as Stats, { mode: 0o40755, uid: 0, gid: 0, mtime: isForChecksum ? new Date(0) : new Date(), size: 0, nlink: 2 });
}

/** Where each source lands: a file at `dest` (or `dest/<name>` for a directory destination), a directory's contents into `dest`. */
export interface CopyPlan {
  /** Absolute destination, cleaned, without a trailing slash ('/' for the root). */
  dest: string;
  destIsDir: boolean;
  owner: { uid: number; gid: number };
  /** Parent directories to add as entries (for a layer built without a container: FROM scratch). */
  withParents?: boolean;
  /** Every time set to the epoch: the tar as the cache checksums it (docker's leaves mtimes out). */
  isForChecksum?: boolean;
}

/** The tar of the sources (then the inline ones) placed as the plan says, names relative to `/`. */
export function packSources(context: BuildContext, sources: readonly CopySource[], plan: CopyPlan, inline: readonly InlineSource[] = []): AsyncIterable<Buffer> {
  const rel = (abs: string): string => abs.replace(/^\/+/, '');
  return TarWriter.run(async (writer) => {
    const madeParents = new Set<string>();
    const parentsOf = async (abs: string): Promise<void> => {
      if (!plan.withParents) return;
      const parts = rel(abs).split('/').filter((p) => p !== '');
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join('/');
        if (madeParents.has(dir)) continue;
        madeParents.add(dir);
        await writer.add(dir, madeDirStats(plan.isForChecksum), { hostPath: '/' });
      }
    };
    for (const source of sources) {
      const stats = source.entry.stats!;
      if (stats.isDirectory()) {
        const dir = source.entry.name === '.' ? source.entry.dir : await context.root.openDir(source.entry.dir, source.entry.name);
        try {
          if (plan.dest !== '/') {
            await parentsOf(plan.dest);
            if (plan.withParents && !madeParents.has(rel(plan.dest))) {
              madeParents.add(rel(plan.dest));
              await writer.add(rel(plan.dest), madeDirStats(plan.isForChecksum), { hostPath: '/' });
            }
          }
          await walkTree(context.root, dir, async (item) => {
            await writer.add(posix.join(rel(plan.dest), item.rel), ownedBy(item.stats, plan.owner, plan.isForChecksum), item);
            return true;
          });
        } finally {
          if (dir !== source.entry.dir) await context.root.release(dir);
        }
        continue;
      }
      const target = plan.destIsDir ? posix.join(plan.dest, posix.basename(source.path)) : plan.dest;
      await parentsOf(target);
      await writer.add(rel(target), ownedBy(stats, plan.owner, plan.isForChecksum), source.entry);
    }
    for (const file of inline) {
      const target = plan.destIsDir ? posix.join(plan.dest, file.name) : plan.dest;
      await parentsOf(target);
      await writer.add(rel(target), ownedBy(file.stats, plan.owner, plan.isForChecksum), { hostPath: file.hostPath });
    }
  });
}

/** The sources' checksum for the build cache: a sha256 of their tar with every time zeroed. */
export async function sourcesChecksum(context: BuildContext, sources: readonly CopySource[], plan: CopyPlan, inline: readonly InlineSource[] = []): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of packSources(context, sources, { ...plan, isForChecksum: true }, inline)) hash.update(chunk);
  return hash.digest('hex');
}

/** A tar holding only directory `dir` (and its parents), root-owned 0755: WORKDIR and ADD destinations. */
export function dirTar(dir: string): AsyncIterable<Uint8Array> {
  const parts = dir.split('/').filter((p) => p !== '');
  return TarWriter.run(async (writer) => {
    for (let n = 1; n <= parts.length; n++) await writer.add(parts.slice(0, n).join('/'), madeDirStats(), { hostPath: '/' });
  });
}
