/**
 * COPY and ADD: sources from the build context (globs, directories' contents, `--chown`, ADD's
 * local archives unpacked, here-documents as files) or from another stage or image
 * (`--from`), written through a temporary container's mounted rootfs so directories of lower
 * layers are copied up as overlay does it; into a stage FROM scratch the layer is the tar itself.
 */
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { BerthError, messageOf } from '../common/index.js';
import { archiveContainerPath, extractToContainer, statContainerPath, type ArchiveDeps, type Engine } from '../engine/index.js';
import { resolveChown } from '../runtime/spec/index.js';
import { decompressed } from '../snapshot/index.js';
import { BuildContext } from './build-context.js';
import { BuildStepError } from './build-options.js';
import { CopyFailedError, hasWildcard, matchContainerPaths } from './copy-globs.js';
import { dirTar, inlineChecksum, matchSources, packSources, sourcesChecksum, type CopySource, type InlineSource } from './copy-sources.js';
import type { DockerfileInstruction } from './dockerfile.js';
import { chompHeredoc, heredocWord } from './heredocs.js';
import { readImageFile } from './image-files.js';
import { joinTars, renameTar } from './rename-tar.js';
import { expandHeredocBody, processWord, processWords, rawWords, type WordEnv } from './shell-words.js';
import { shellOf, type StageState } from './stage-state.js';
import type { StepContainers } from './step-containers.js';
import type { StepImages } from './step-images.js';

/** What a COPY step reads and writes through. */
export interface CopyStepDeps {
  engine: Engine;
  context: BuildContext;
  /** The Dockerfile's escape character. */
  escape: string;
  images: StepImages;
  containers: StepContainers;
  /**
   * The image `--from=<name>` names: a stage built before (undefined when it has no files) or
   * an image (pulled when missing); throws BuildStepError when there is none.
   */
  imageOfFrom: (from: string) => Promise<string | undefined>;
}

/** COPY and ADD steps of one build. */
export class CopyStep {
  readonly #engine: Engine;
  readonly #deps: ArchiveDeps;
  readonly #context: BuildContext;
  readonly #escape: string;
  readonly #images: StepImages;
  readonly #containers: StepContainers;
  readonly #imageOfFrom: (from: string) => Promise<string | undefined>;

  constructor(deps: CopyStepDeps) {
    this.#engine = deps.engine;
    this.#deps = { containers: deps.engine.containers, images: deps.engine.images };
    this.#context = deps.context;
    this.#escape = deps.escape;
    this.#images = deps.images;
    this.#containers = deps.containers;
    this.#imageOfFrom = deps.imageOfFrom;
  }

  async run(state: StageState, i: DockerfileInstruction, env: WordEnv): Promise<void> {
    const command = i.keyword;
    if (command === 'ADD' && i.flags['from'] !== undefined) throw new BuildStepError('ADD does not support --from');
    const { words, documents } = i.json === undefined && i.heredocs.length > 0
      ? this.#copyWordsWithHeredocs(i, env)
      : { words: (i.json ?? processWords(i.args, env, this.#escape)).map((w) => (i.json ? processWord(w, env, this.#escape) : w)), documents: [] };
    const destWord = words.at(-1)!;
    const sourceWords = words.slice(0, -1);
    for (const source of sourceWords) {
      if (/^https?:\/\//.test(source)) {
        if (command === 'COPY') throw new BuildStepError('COPY failed: source can\'t be a URL for COPY');
        throw new BuildStepError(`ADD failed: ADD of a URL (${source}) is not supported: Berth builds assume no internet access; download the file into the build context and COPY it`);
      }
    }
    const chown = i.flags['chown'] !== undefined ? processWord(i.flags['chown'], env, this.#escape) : '';
    const owner = await this.#owner(chown, state);
    let dest = destWord;
    const endsWithSlash = dest.endsWith('/') || dest.endsWith('/.') || dest === '.';
    if (!dest.startsWith('/')) dest = posix.join('/', state.run.WorkingDir || '/', dest);
    dest = posix.normalize(dest);
    if (dest.length > 1 && dest.endsWith('/')) dest = dest.slice(0, -1);
    if (i.flags['from'] !== undefined) {
      const from = processWord(i.flags['from'], env, this.#escape);
      const inline = documents.map((doc) => ({ name: doc.name, data: Buffer.from(doc.data) }));
      return this.#copyFrom(state, from, { words: sourceWords, inline }, destWord, dest, endsWithSlash, chown === '' ? undefined : owner);
    }
    let sources: CopySource[];
    try {
      sources = matchSources(this.#context, sourceWords, command);
    } catch (err) {
      if (err instanceof CopyFailedError) throw new BuildStepError(err.message);
      throw err;
    }
    const inline: InlineSource[] = documents.map((doc) => ({ name: doc.name, data: Buffer.from(doc.data) }));
    if (sources.length + inline.length > 1 && !endsWithSlash) {
      throw new BuildStepError(`When using ${command} with more than one source file, the destination must be a directory and end with a /`);
    }
    const archives = command === 'ADD' ? await this.#localArchives(sources) : new Set<CopySource>();
    const plain = sources.filter((s) => !archives.has(s));
    const contentSum = sourcesChecksum(this.#context, sources, { dest, destIsDir: endsWithSlash, owner }, inline);
    // docker's history names the sources by their checksum (`file:<hex>`, `dir:<hex>`, `multi:<hex>`), so a changed file is another step to --cache-from too.
    const kind = sources.length + inline.length > 1 ? 'multi' : sources[0]?.node.kind === 'directory' ? 'dir' : 'file';
    const createdBy = [...shellOf(state), `#(nop) ${command} ${i.flags['chown'] !== undefined ? `--chown=${i.flags['chown']} ` : ''}${kind}:${contentSum} in ${destWord} `].join(' ');
    const parts = { parentId: state.imageId ?? '', createdBy, config: state.run, contentSum };
    if (await this.#images.fromCache(state, parts)) return;
    if (state.imageId === undefined) {
      // Without a container the layer is the tar itself: the plain sources packed, then each
      // archive's entries moved under the destination (with its parent directories).
      const destIsDir = endsWithSlash || plain.length + inline.length > 1 || plain.some((s) => s.node.kind === 'directory') || archives.size > 0;
      const layerTars: Array<AsyncIterable<Uint8Array>> = [];
      if (plain.length + inline.length > 0) layerTars.push(packSources(this.#context, plain, { dest, destIsDir, owner, withParents: true }, inline));
      const to = dest.replace(/^\/+/, '');
      const segments = to.split('/').filter((p) => p !== '');
      const parents = segments.map((_, n) => segments.slice(0, n + 1).join('/'));
      for (const archive of archives) layerTars.push(renameTar(await this.#archiveStream(archive), { from: '.', to: to === '' ? '.' : to, parents }));
      const layer = await this.#engine.images.content.put(layerTars.length === 1 ? layerTars[0]! : joinTars(layerTars));
      await this.#images.commit(state, createdBy, layer, parts);
      return;
    }
    const id = await this.#containers.create(state, [...shellOf(state), `#(nop) ${command}`], state.run.Env ?? []);
    try {
      let destIsDir = endsWithSlash;
      if (!destIsDir) {
        const stat = await statContainerPath(this.#deps, id, dest).catch(() => undefined);
        destIsDir = stat !== undefined && (stat.mode & 0o170000) === 0o040000;
      }
      if (plain.length + inline.length > 0) {
        await extractToContainer(this.#deps, id, '/', packSources(this.#context, plain, { dest, destIsDir, owner }, inline), { noOverwriteDirNonDir: false, copyUidGid: false });
      }
      for (const archive of archives) {
        await extractToContainer(this.#deps, id, '/', dirTar(dest), { noOverwriteDirNonDir: false, copyUidGid: false }).catch(() => {});
        await extractToContainer(this.#deps, id, dest, await this.#archiveStream(archive), { noOverwriteDirNonDir: false, copyUidGid: false });
      }
      const layer = await this.#containers.packChanges(id);
      await this.#images.commit(state, createdBy, layer, parts);
    } finally {
      await this.#engine.containers.remove(id, { force: true, removeVolumes: true }).catch(() => {});
    }
  }

  /**
   * A COPY/ADD's words when it has here-documents: each `<<name` word becomes a document
   * (its body chomped and expanded as its marker says), the others are processed as usual.
   */
  #copyWordsWithHeredocs(i: DockerfileInstruction, env: WordEnv): { words: string[]; documents: Array<{ name: string; data: string }> } {
    const words: string[] = [];
    const documents: Array<{ name: string; data: string }> = [];
    for (const raw of rawWords(i.args, this.#escape)) {
      const marker = heredocWord(raw);
      if (marker === undefined) {
        words.push(processWord(raw, env, this.#escape));
        continue;
      }
      // BuildKit looks documents up by name; with two of one name the last wins.
      let data = i.heredocs.findLast((doc) => doc.name === marker.name)?.content ?? '';
      if (marker.chomp) data = chompHeredoc(data);
      if (marker.expand) data = expandHeredocBody(data, env);
      documents.push({ name: marker.name, data });
    }
    return { words, documents };
  }

  /**
   * COPY --from=<stage|image>: each source read from a temporary container of that image (as
   * `docker cp` reads it, ownership kept unless --chown) and written where the destination says.
   * A source with wildcards names every path of the image it matches (docker's classic builder
   * walks the image's files the same way); here-documents are written as files beside them, as
   * BuildKit writes them whatever --from says.
   */
  async #copyFrom(state: StageState, from: string, sources: { words: readonly string[]; inline: readonly InlineSource[] }, destWord: string, dest: string, endsWithSlash: boolean, owner: { uid: number; gid: number } | undefined): Promise<void> {
    const { words, inline } = sources;
    const sourceImage = await this.#imageOfFrom(from);
    if (sourceImage === undefined) throw new BuildStepError(`invalid from flag value ${from}: the stage has no files`);
    // The source image's id is in the history, so --cache-from matches the step only for the same source.
    const documentWords = inline.map((doc) => `<<${doc.name}`);
    const createdBy = [...shellOf(state), `#(nop) COPY --from=${from}@${sourceImage} ${owner ? `--chown=${owner.uid}:${owner.gid} ` : ''}${[...words, ...documentWords].join(' ')} in ${destWord} `].join(' ');
    const contentSum = inline.length === 0 ? sourceImage : inlineChecksum(sourceImage, inline);
    const parts = { parentId: state.imageId ?? '', createdBy, config: state.run, contentSum };
    if (await this.#images.fromCache(state, parts)) return;
    const containers = this.#engine.containers;
    const sourceId = await this.#containers.create({ ...state, imageId: sourceImage }, ['/bin/sh', '-c', '#(nop) COPY --from'], []);
    let targetId: string | undefined;
    try {
      const paths: string[] = [];
      for (const word of words) {
        const path = posix.resolve('/', word);
        if (!hasWildcard(path)) {
          paths.push(path);
          continue;
        }
        const matched = await this.#matchInContainer(sourceId, path);
        if (matched.length === 0) throw new BuildStepError('COPY failed: no source files were specified');
        paths.push(...matched);
      }
      if (paths.length + inline.length > 1 && !endsWithSlash) {
        throw new BuildStepError('When using COPY with more than one source file, the destination must be a directory and end with a /');
      }
      let destIsDir = endsWithSlash;
      if (state.imageId !== undefined) {
        targetId = await this.#containers.create(state, [...shellOf(state), '#(nop) COPY'], state.run.Env ?? []);
        if (!destIsDir) {
          const stat = await statContainerPath(this.#deps, targetId, dest).catch(() => undefined);
          destIsDir = stat !== undefined && (stat.mode & 0o170000) === 0o040000;
        }
      }
      const layerParts: Array<AsyncIterable<Uint8Array>> = [];
      for (const path of paths) {
        await archiveContainerPath(this.#deps, sourceId, path, async (stat, tar) => {
          const isDir = (stat.mode & 0o170000) === 0o040000;
          const target = isDir || !destIsDir ? dest : posix.join(dest, posix.basename(path));
          const to = target.replace(/^\/+/, '');
          const base = path === '/' ? '.' : posix.basename(path);
          if (targetId !== undefined) {
            await extractToContainer(this.#deps, targetId, '/', renameTar(tar, { from: base, to: to === '' ? '.' : to, ...(owner ? { owner } : {}) }), { noOverwriteDirNonDir: false, copyUidGid: false });
          } else {
            const segments = to.split('/').filter((p) => p !== '');
            const parents = segments.slice(0, -1).map((_, n) => segments.slice(0, n + 1).join('/'));
            const chunks: Buffer[] = [];
            for await (const chunk of renameTar(tar, { from: base, to, parents, ...(owner ? { owner } : {}) })) chunks.push(chunk);
            layerParts.push((async function* () {
              yield Buffer.concat(chunks);
            })());
          }
        }).catch((err: unknown) => {
          if (err instanceof BerthError && err.kind === 'not-found') throw new BuildStepError(`COPY failed: stat ${path}: file does not exist`);
          throw err;
        });
      }
      const plan = { dest, destIsDir: destIsDir || paths.length + inline.length > 1, owner: owner ?? { uid: 0, gid: 0 } };
      let layer: { digest: `sha256:${string}` };
      if (targetId !== undefined) {
        if (inline.length > 0) await extractToContainer(this.#deps, targetId, '/', packSources(this.#context, [], plan, inline), { noOverwriteDirNonDir: false, copyUidGid: false });
        layer = await this.#containers.packChanges(targetId);
      } else {
        if (inline.length > 0) layerParts.push(packSources(this.#context, [], { ...plan, withParents: true }, inline));
        // One renamed tar is a whole layer; several are joined into one.
        layer = await this.#engine.images.content.put(layerParts.length === 1 ? layerParts[0]! : joinTars(layerParts));
      }
      await this.#images.commit(state, createdBy, layer, parts);
    } finally {
      if (targetId !== undefined) await containers.remove(targetId, { force: true, removeVolumes: true }).catch(() => {});
      await containers.remove(sourceId, { force: true, removeVolumes: true }).catch(() => {});
    }
  }

  /** The paths of container `id` that the wildcard `pattern` (absolute, cleaned) matches, in walk order. */
  async #matchInContainer(id: string, pattern: string): Promise<string[]> {
    try {
      return await matchContainerPaths(this.#deps, id, pattern);
    } catch (err) {
      if (err instanceof CopyFailedError) throw new BuildStepError(`COPY failed: ${err.message}`);
      throw err;
    }
  }

  /** ADD's local archives: regular files that are a tar, plain or gzip'd (unpacked at the destination). */
  async #localArchives(sources: readonly CopySource[]): Promise<Set<CopySource>> {
    const out = new Set<CopySource>();
    for (const source of sources) {
      if (source.node.content === undefined) continue;
      const bytes = await BuildContext.read(source.node.content);
      if (bytes.length < 2) continue;
      let head = bytes;
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
        const { stream } = await decompressed(Readable.from([bytes]));
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of stream) {
          chunks.push(chunk as Buffer);
          size += (chunk as Buffer).length;
          if (size >= 512) break;
        }
        stream.destroy();
        head = Buffer.concat(chunks);
      }
      if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') out.add(source);
    }
    return out;
  }

  async #archiveStream(source: CopySource): Promise<AsyncIterable<Uint8Array>> {
    return (await decompressed(BuildContext.contentStream(source.node.content!))).stream;
  }

  /** `--chown=user[:group]`: ids as they are, names from the passwd and group files of the stage's image so far. */
  async #owner(spec: string, state: StageState): Promise<{ uid: number; gid: number }> {
    if (spec === '') return { uid: 0, gid: 0 };
    const isNumeric = spec.split(':').every((part) => /^\d+$/.test(part) || part === 'root');
    const lowerDirs = isNumeric || state.imageId === undefined ? [] : await this.#engine.images.lowerDirs(state.imageId);
    try {
      return resolveChown(spec, await readImageFile(lowerDirs, '/etc/passwd'), await readImageFile(lowerDirs, '/etc/group'));
    } catch (err) {
      throw new BuildStepError(messageOf(err));
    }
  }
}
