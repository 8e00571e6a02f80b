/**
 * `berth cp`: copy between a container and the local filesystem, docker's rules for where a
 * copy lands (into an existing directory under the source's name, or as the destination's
 * name when that does not exist; `src/.` copies a directory's contents), one tar over the
 * archive endpoints each way, and "Successfully copied <size> to <dest>" on stderr.
 */
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rm, stat, symlink, utimes, chmod, lutimes } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { Command } from 'commander';
import tar from 'tar-stream';
import { BerthError } from '../../common/index.js';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { humanSize } from '../human.js';

class CopyError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_CLI_USAGE', message);
  }
}

interface Location {
  container?: string;
  path: string;
}

function parseLocation(arg: string): Location {
  // docker's rule: `name:path` is a container path unless the part before `:` looks like a local path.
  const colon = arg.indexOf(':');
  if (colon <= 0 || arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

// A path ending in `/` or `/.` names a directory (its contents, for `/.`).
const assertsDirectory = (path: string): boolean => path.endsWith('/') || path.endsWith('/.');
const wantsContents = (path: string): boolean => path.endsWith('/.') || path === '.';

/** Build the cp command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Copy files/folders between a container and the local filesystem')
    .usage('[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH')
    .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
    .option('-q, --quiet', 'Suppress progress output during copy')
    .argument('<source>')
    .argument('<destination>')
    .action(async (source: string, destination: string, options: { archive?: boolean; followLink?: boolean; quiet?: boolean }) => {
      const from = parseLocation(source);
      const to = parseLocation(destination);
      if (from.container !== undefined && to.container !== undefined) throw new CopyError('copying between containers is not supported');
      if (from.container === undefined && to.container === undefined) throw new CopyError('must specify at least one container source');
      if ((from.container !== undefined && from.path === '') || (to.container !== undefined && to.path === '')) throw new CopyError('filepath can not be empty');
      const client = await ctx.client();
      let size = 0;
      if (from.container !== undefined) {
        let srcPath = from.path;
        let rebase: string | undefined;
        if (options.followLink) {
          const first = await client.containerStatPath(from.container, srcPath).catch(() => undefined);
          if (first !== undefined && (first.mode & 2 ** 27) !== 0) {
            rebase = basename(srcPath.replace(/\/+$/, ''));
            srcPath = first.linkTarget;
          }
        }
        const { stat: srcStat, body } = await client.containerArchiveGet(from.container, srcPath);
        if (to.path === '-') {
          await pipeline(body, ctx.out, { end: false });
          return;
        }
        const isDir = (srcStat.mode & 2 ** 31) !== 0;
        size = await extractLocal(body, resolve(to.path), { srcIsDir: isDir, contents: wantsContents(from.path), rebaseFrom: rebase !== undefined ? basename(srcPath) : undefined, rebaseTo: rebase });
        if (!options.quiet) await write(ctx.err, `Successfully copied ${humanSize(size)} to ${to.path}\n`);
        return;
      }
      const container = to.container!;
      const local = from.path;
      const srcStats = await (options.followLink ? stat(local) : lstat(local)).catch(() => {
        throw new CopyError(`lstat ${resolve(local)}: no such file or directory`);
      });
      let dstPath = to.path;
      let dstStat = await client.containerStatPath(container, dstPath).catch(() => undefined);
      if (dstStat !== undefined && (dstStat.mode & 2 ** 27) !== 0) {
        dstPath = dstStat.linkTarget;
        dstStat = await client.containerStatPath(container, dstPath).catch(() => undefined);
      }
      const dstIsDir = dstStat !== undefined && (dstStat.mode & 2 ** 31) !== 0;
      let dstDir: string;
      let topName: string | undefined;
      if (dstStat !== undefined && dstIsDir) {
        dstDir = dstPath;
        topName = srcStats.isDirectory() && wantsContents(local) ? undefined : basename(resolve(local));
      } else if (dstStat !== undefined) {
        if (srcStats.isDirectory()) throw new CopyError('cannot copy directory');
        if (assertsDirectory(to.path)) throw new CopyError(`destination "${container}:${to.path}" must be a directory`);
        dstDir = posix.dirname(dstPath);
        topName = posix.basename(dstPath);
      } else {
        if (assertsDirectory(to.path) && !srcStats.isDirectory()) throw new CopyError('no such directory');
        dstDir = posix.dirname(dstPath.replace(/\/+$/, '') || '/');
        topName = posix.basename(dstPath.replace(/\/+$/, ''));
      }
      const packed = packLocal(resolve(local), srcStats.isDirectory(), topName, options.followLink === true);
      await client.containerArchivePut(container, dstDir, packed.stream, { noOverwriteDirNonDir: true, copyUidGid: options.archive === true });
      if (!options.quiet) await write(ctx.err, `Successfully copied ${humanSize(await packed.bytes)} to ${container}:${to.path}\n`);
    });
}

/** Tar a local file or directory, the top entry named `topName` (or the directory's contents at the top when undefined). */
function packLocal(path: string, isDir: boolean, topName: string | undefined, followTop: boolean): { stream: Readable; bytes: Promise<number> } {
  const pack = tar.pack();
  let bytes = 0;
  const add = async (hostPath: string, name: string, follow: boolean): Promise<void> => {
    const stats = follow ? await stat(hostPath) : await lstat(hostPath);
    const header = { name, mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: stats.mtime };
    if (stats.isDirectory()) {
      if (name !== '') await entry({ ...header, name: `${name}/`, type: 'directory' });
      for (const child of (await readdir(hostPath)).sort()) await add(join(hostPath, child), name === '' ? child : `${name}/${child}`, false);
    } else if (stats.isSymbolicLink()) {
      await entry({ ...header, type: 'symlink', linkname: await readlink(hostPath) });
    } else if (stats.isFile()) {
      bytes += stats.size;
      await new Promise<void>((done, fail) => {
        const sink = pack.entry({ ...header, type: 'file', size: stats.size }, (err) => (err ? fail(err) : done()));
        createReadStream(hostPath).on('error', fail).pipe(sink as unknown as NodeJS.WritableStream);
      });
    }
  };
  const entry = (header: Partial<tar.Header> & { name: string }): Promise<void> =>
    new Promise((done, fail) => pack.entry(header, (err) => (err ? fail(err) : done())));
  const finished = add(path, topName ?? '', followTop).then(() => pack.finalize(), (err: Error) => pack.destroy(err));
  void isDir;
  return { stream: pack as unknown as Readable, bytes: finished.then(() => bytes) };
}

/**
 * Extract a tar from the daemon at `dest` with docker's placement rules; returns the bytes of
 * file content written. Names that would leave the destination are refused.
 */
async function extractLocal(body: Readable, dest: string, options: { srcIsDir: boolean; contents: boolean; rebaseFrom?: string | undefined; rebaseTo?: string | undefined }): Promise<number> {
  const existing = await stat(dest).catch(() => undefined);
  let targetDir: string;
  let rename: ((name: string) => string) | undefined;
  if (existing?.isDirectory()) {
    targetDir = dest;
    if (options.rebaseFrom !== undefined && options.rebaseTo !== undefined) rename = swapTop(options.rebaseFrom, options.rebaseTo);
    if (options.contents) rename = stripTop();
  } else {
    if (existing !== undefined && options.srcIsDir) throw new CopyError('cannot copy directory');
    const parent = dirname(dest);
    if (!(await stat(parent).catch(() => undefined))?.isDirectory()) throw new CopyError('no such directory');
    targetDir = parent;
    rename = renameTop(basename(dest));
  }
  const extract = tar.extract();
  let bytes = 0;
  const dirTimes: Array<[string, Date]> = [];
  const feeding = pipeline(body, extract as unknown as NodeJS.WritableStream).catch((err: unknown) => extract.destroy(err as Error));
  for await (const item of extract) {
    const header = item.header;
    const name = rename ? rename(header.name) : header.name;
    const rel = posix.normalize(name).replace(/\/+$/, '');
    if (rel === '' || rel === '.') {
      item.resume();
      continue;
    }
    if (rel.startsWith('../') || rel === '..' || rel.startsWith('/')) throw new CopyError(`refusing to extract ${JSON.stringify(header.name)} outside ${targetDir}`);
    const target = join(targetDir, rel);
    await mkdir(dirname(target), { recursive: true });
    const current = await lstat(target).catch(() => undefined);
    if (current !== undefined && !(current.isDirectory() && header.type === 'directory')) await rm(target, { recursive: true, force: true });
    if (header.type === 'directory') {
      await mkdir(target, { recursive: true });
      await chmod(target, header.mode & 0o7777);
      dirTimes.push([target, header.mtime]);
    } else if (header.type === 'symlink') {
      await symlink(header.linkname, target);
      await lutimes(target, header.mtime, header.mtime).catch(() => {});
    } else if (header.type === 'file' || header.type === 'contiguous-file') {
      const handle = await open(target, 'wx', header.mode & 0o7777);
      try {
        for await (const chunk of item) {
          bytes += (chunk as Buffer).length;
          await handle.write(chunk as Buffer);
        }
      } finally {
        await handle.close();
      }
      await utimes(target, header.mtime, header.mtime);
    }
    item.resume();
  }
  await feeding;
  for (const [dir, mtime] of dirTimes.reverse()) await utimes(dir, mtime, mtime).catch(() => {});
  return bytes;
}

function renameTop(to: string): (name: string) => string {
  return (name) => {
    const slash = name.indexOf('/');
    return slash < 0 ? to : `${to}${name.slice(slash)}`;
  };
}

function swapTop(from: string, to: string): (name: string) => string {
  return (name) => (name === from || name.startsWith(`${from}/`) ? `${to}${name.slice(from.length)}` : name);
}

function stripTop(): (name: string) => string {
  return (name) => {
    const slash = name.indexOf('/');
    return slash < 0 ? '.' : name.slice(slash + 1);
  };
}
