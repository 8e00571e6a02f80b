/**
 * `berth build [OPTIONS] PATH | -`: docker's classic `build`. The context directory is sent
 * as a tar with `.dockerignore`'s exclusions left out (the Dockerfile and `.dockerignore` are
 * always sent, as docker sends them); a Dockerfile outside the context, or `-` (a Dockerfile on
 * stdin, no context), travels inside the tar under a hidden name. The daemon's progress is
 * printed as docker prints it; a failed step exits with the step's code.
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import tar from 'tar-stream';
import { DockerignoreMatcher, parseDockerignore } from '../../common/index.js';
import type { JsonMessage } from '../../api/wire/index.js';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { StatusError, UsageError } from '../exit.js';
import { displayJsonMessages, terminalOf } from '../progress-display.js';
import { bytesFlag } from '../opts/flag-values.js';
import { humanSize } from '../human.js';
import { collect } from './filters.js';
import { hiddenNegation } from '../go-flags.js';

interface BuildFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  label: string[];
  noCache?: boolean;
  pull?: boolean;
  quiet?: boolean;
  rm: boolean;
  forceRm?: boolean;
  target?: string;
  network?: string;
  addHost: string[];
  shmSize?: string;
  iidfile?: string;
  platform?: string;
  isolation?: string;
  cacheFrom: string[];
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** How many files packContext reads at once. */
const CONTEXT_READS_IN_FLIGHT = 16;

/** `fn` over `items`, at most CONTEXT_READS_IN_FLIGHT at a time, results in the items' order. */
async function mapInOrder<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      out[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONTEXT_READS_IN_FLIGHT, items.length) }, worker));
  return out;
}

/** The context directory as a tar: names relative to it, `.dockerignore` applied, the Dockerfile kept. */
async function packContext(dir: string, keep: ReadonlySet<string>, extra: { name: string; body: Buffer } | undefined): Promise<Buffer> {
  const ignoreText = await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => '');
  const matcher = new DockerignoreMatcher(parseDockerignore(ignoreText));
  // As docker's CLI: a Dockerfile added under a hidden name is listed in .dockerignore, so the
  // daemon drops it from the context after reading it and COPY never sees it.
  const hidden = extra !== undefined && dir !== '' ? Buffer.from(`${ignoreText}\n${extra.name}\n`) : undefined;
  const pack = tar.pack();
  const add = (header: Partial<tar.Header> & { name: string }, body?: Buffer): Promise<void> =>
    new Promise((done, fail) => pack.entry(header, body ?? Buffer.alloc(0), (err) => (err ? fail(err) : done())));
  const walk = async (rel: string): Promise<void> => {
    const paths = (await readdir(join(dir, rel))).sort().map((name) => (rel === '' ? name : `${rel}/${name}`));
    // Each directory's lstats, then its files' contents, several at a time: one file after
    // another, a context of thousands of small files took most of a cached build.
    const statsList = await mapInOrder(paths, (path) => lstat(join(dir, path)));
    const isIgnored = paths.map((path) => !keep.has(path) && matcher.isIgnored(path));
    const bodies = await mapInOrder(paths, async (path, i) => {
      const stats = statsList[i]!;
      if (isIgnored[i] || !stats.isFile() || (path === '.dockerignore' && hidden !== undefined)) return undefined;
      return readFile(join(dir, path));
    });
    for (const [i, path] of paths.entries()) {
      const stats = statsList[i]!;
      const ignored = isIgnored[i]!;
      // A left-out directory is still walked when a `!` pattern may bring something below it back.
      if (ignored && !(stats.isDirectory() && matcher.hasExclusions)) continue;
      const base = { name: path, mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: stats.mtime };
      if (stats.isDirectory()) {
        if (!ignored) await add({ ...base, name: `${path}/`, type: 'directory' });
        await walk(path);
      } else if (stats.isSymbolicLink()) {
        await add({ ...base, type: 'symlink', linkname: await readlink(join(dir, path)) });
      } else if (stats.isFile()) {
        const body = bodies[i];
        if (body === undefined) continue;
        await add({ ...base, type: 'file', size: body.length }, body);
      }
    }
  };
  const chunks: Buffer[] = [];
  const collecting = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  if (dir !== '') await walk('');
  if (extra) await add({ name: extra.name, mode: 0o600, type: 'file', size: extra.body.length }, extra.body);
  if (hidden !== undefined) await add({ name: '.dockerignore', mode: 0o600, type: 'file', size: hidden.length }, hidden);
  pack.finalize();
  await collecting;
  return Buffer.concat(chunks);
}

/** Build the build command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Build an image from a Dockerfile')
    .usage('[OPTIONS] PATH | -')
    .option('-t, --tag <name:tag>', 'Name and optionally a tag in the "name:tag" format', collect, [] as string[])
    .option('-f, --file <string>', "Name of the Dockerfile (Default is 'PATH/Dockerfile')")
    .option('--build-arg <list>', 'Set build-time variables', collect, [] as string[])
    .option('--label <list>', 'Set metadata for an image', collect, [] as string[])
    .option('--no-cache', 'Do not use cache when building the image')
    .option('--pull', 'Always attempt to pull a newer version of the image')
    .option('-q, --quiet', 'Suppress the build output and print image ID on success')
    .option('--rm', 'Remove intermediate containers after a successful build', true)
    .addOption(hiddenNegation('--rm'))
    .option('--force-rm', 'Always remove intermediate containers')
    .option('--target <string>', 'Set the target build stage to build.')
    .option('--network <string>', 'Set the networking mode for the RUN instructions during build')
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect, [] as string[])
    .option('--shm-size <bytes>', 'Size of /dev/shm')
    .option('--iidfile <string>', 'Write the image ID to the file')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--isolation <string>', 'Container isolation technology')
    .option('--cache-from <strings>', 'Images to consider as cache sources', collect, [] as string[])
    .argument('<path>')
    .action(async (path: string, flags: BuildFlags & { cache?: boolean }) => {
      let dir = '';
      let dockerfileName: string | undefined;
      let extra: { name: string; body: Buffer } | undefined;
      if (path === '-') {
        if (flags.file !== undefined) throw new UsageError('a Dockerfile on stdin takes no --file');
        extra = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, body: await readStdin() };
        dockerfileName = extra.name;
      } else {
        if (/^(https?|git):\/\//.test(path) || path.startsWith('git@')) throw new StatusError(1, `remote build contexts are not supported: ${path}`);
        dir = resolve(path);
        const stats = await lstat(dir).catch(() => undefined);
        if (!stats?.isDirectory()) throw new StatusError(1, `unable to prepare context: path "${path}" not found`);
        if (flags.file === '-') {
          extra = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, body: await readStdin() };
          dockerfileName = extra.name;
        } else if (flags.file !== undefined) {
          const file = resolve(flags.file);
          const rel = relative(dir, file);
          if (rel.startsWith('..') || rel === '' || rel.startsWith(sep)) {
            const body = await readFile(file).catch(() => {
              throw new StatusError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${file}: no such file or directory`);
            });
            extra = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, body };
            dockerfileName = extra.name;
          } else {
            dockerfileName = rel.split(sep).join('/');
          }
        }
      }
      const keep = new Set(['.dockerignore', dockerfileName ?? 'Dockerfile']);
      const context = await packContext(dir, keep, extra);
      const toMap = (list: string[], flag: string): Record<string, string> => Object.fromEntries(list.map((item) => {
        const eq = item.indexOf('=');
        if (eq <= 0) {
          if (flag === '--build-arg' && process.env[item] !== undefined) return [item, process.env[item]!];
          if (flag === '--label') return [item, ''];
          throw new UsageError(`invalid argument "${item}" for "${flag}" flag: bad format`);
        }
        return [item.slice(0, eq), item.slice(eq + 1)];
      }));
      const shm = bytesFlag(flags.shmSize, '--shm-size');
      const query: Record<string, string | string[] | undefined> = {
        t: flags.tag,
        dockerfile: dockerfileName,
        buildargs: JSON.stringify(toMap(flags.buildArg, '--build-arg')),
        labels: JSON.stringify(toMap(flags.label, '--label')),
        nocache: flags.cache === false ? '1' : undefined,
        pull: flags.pull ? '1' : undefined,
        q: flags.quiet ? '1' : undefined,
        rm: flags.rm ? '1' : '0',
        forcerm: flags.forceRm ? '1' : undefined,
        target: flags.target,
        networkmode: flags.network,
        extrahosts: flags.addHost.length > 0 ? flags.addHost : undefined,
        shmsize: shm !== undefined ? String(shm) : undefined,
        platform: flags.platform,
        isolation: flags.isolation,
        // docker's --cache-from is a string slice: repeated, or comma-separated.
        cachefrom: flags.cacheFrom.length > 0 ? JSON.stringify(flags.cacheFrom.flatMap((s) => s.split(',')).filter((s) => s !== '')) : undefined,
        version: '1',
      };
      if (!flags.quiet) await write(ctx.out, `Sending build context to Docker daemon  ${humanSize(context.length)}\n`);
      const client = await ctx.client();
      let imageId = '';
      let quietOutput = '';
      const messages = client.imageBuild(Readable.from([context]), query);
      // A failed step's errorDetail carries its exit code: the CLI exits with it, as docker's does.
      async function* checked(): AsyncGenerator<JsonMessage> {
        for await (const message of messages) {
          if (message.errorDetail !== undefined) throw new StatusError(message.errorDetail.code || 1, message.errorDetail.message);
          if (flags.quiet && message.stream !== undefined) {
            quietOutput += message.stream;
            continue;
          }
          yield message;
        }
      }
      await displayJsonMessages(checked(), ctx.out, {
        ...terminalOf(ctx.out),
        onAux: (aux) => {
          if (typeof aux['ID'] === 'string') imageId = aux['ID'];
        },
      });
      if (flags.quiet) await write(ctx.out, quietOutput.trim() === '' ? `${imageId}\n` : quietOutput);
      if (flags.iidfile !== undefined && imageId !== '') await writeFile(flags.iidfile, imageId);
    });
}
