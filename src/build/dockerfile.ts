/**
 * The Dockerfile front end: text to build stages, with the classic builder's syntax checks
 * and its messages (`dockerfile parse error on line N: ...`).
 *
 * Lines, comments, parser directives (`# escape=`, `# syntax=`) and line continuations come
 * from dockerfile-ast (the parser behind VS Code's Dockerfile language server). Its
 * higher-level helpers are not trusted: tried here, its JSON-form reader drops the spaces
 * inside strings and leaves escapes undecoded, so exec forms are decoded with JSON.parse from
 * the instruction's raw arguments, and flags, words and key=value pairs follow docker's rules
 * (shell-words.ts).
 */
import { DockerfileParser } from 'dockerfile-ast';
import { BerthError } from '../common/index.js';
import { HEREDOC_PLACEHOLDER, heredocWord, splitHeredocs, UnterminatedHeredocError, type Heredoc } from './heredocs.js';
import { rawWords } from './shell-words.js';

/** A Dockerfile the builder refuses before running anything (docker's 400). */
export class DockerfileSyntaxError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_DOCKERFILE_SYNTAX', message);
  }
}

/** One instruction as written. */
export interface DockerfileInstruction {
  /** Upper case (`RUN`). */
  keyword: string;
  /** The instruction on one line as docker prints it in `Step N/M : ...`. */
  original: string;
  /** 1-based. */
  line: number;
  /** `--name=value` flags before the arguments (a bare `--name` has value ''). */
  flags: Record<string, string>;
  /** The arguments after the flags, continuations joined, not yet expanded. */
  args: string;
  /** The exec (JSON) form's strings, when the arguments are a JSON array of strings. */
  json: string[] | undefined;
  /** RUN, COPY and ADD (and ONBUILD of them): the here-documents after the line, in order. */
  heredocs: Heredoc[];
}

/** One `FROM` and what follows it. */
export interface DockerfileStage {
  /** The `AS` name, lower case; undefined when unnamed. */
  name: string | undefined;
  /** The FROM instruction itself (its args: the base, unexpanded). */
  from: DockerfileInstruction;
  baseRef: string;
  instructions: DockerfileInstruction[];
}

export interface ParsedDockerfile {
  escape: string;
  /** ARGs before the first FROM. */
  metaArgs: DockerfileInstruction[];
  stages: DockerfileStage[];
}

const KNOWN = new Set([
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER',
  'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]);

/** Flags each instruction takes in the classic builder; others are refused as it refuses them. */
const FLAGS: Record<string, readonly string[]> = {
  FROM: ['platform'],
  COPY: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'],
  ADD: ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'exclude'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** The exec form's strings, or undefined for the shell form (docker: any valid JSON array of strings). */
export function jsonForm(args: string): string[] | undefined {
  const text = args.trim();
  if (!text.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed as string[];
  } catch {
    // Not JSON: the shell form, as docker falls back to it.
  }
  return undefined;
}

/** Split leading `--flag=value` words off the arguments. */
function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args.trimStart();
  for (;;) {
    const match = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
    if (!match) break;
    flags[match[1]!] = match[2] ?? '';
    rest = rest.slice(match[0].length);
  }
  return { flags, rest: rest.trim() };
}

/** Parse a Dockerfile's text; throws DockerfileSyntaxError with docker's message and line. */
export function parseDockerfile(text: string): ParsedDockerfile {
  const escape = DockerfileParser.parse(text).getEscapeCharacter();
  let split: ReturnType<typeof splitHeredocs>;
  try {
    split = splitHeredocs(text, escape);
  } catch (err) {
    if (err instanceof UnterminatedHeredocError) throw new DockerfileSyntaxError(`dockerfile parse error on line ${err.line}: ${err.message}`);
    throw err;
  }
  const restore = (s: string): string => s.replaceAll(HEREDOC_PLACEHOLDER, '<<');
  const document = DockerfileParser.parse(split.text);
  const instructions = document.getInstructions();
  if (instructions.length === 0) throw new DockerfileSyntaxError('file with no instructions');
  const metaArgs: DockerfileInstruction[] = [];
  const stages: DockerfileStage[] = [];
  for (const node of instructions) {
    const line = node.getRange().start.line + 1;
    const fail = (message: string): never => {
      throw new DockerfileSyntaxError(`dockerfile parse error on line ${line}: ${message}`);
    };
    const written = node.getInstruction();
    const keyword = written.toUpperCase();
    if (!KNOWN.has(keyword)) fail(`unknown instruction: ${written}`);
    const content = restore(node.getArgumentsContent() ?? '');
    // COPY, ADD, FROM and HEALTHCHECK: dockerfile-ast takes their flags out of the content itself.
    const parsedFlags = (node as { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> }).getFlags?.();
    let flags: Record<string, string> = {};
    let rest = content.trim();
    if (parsedFlags !== undefined) {
      for (const flag of parsedFlags) flags[flag.getName()] = restore(flag.getValue() ?? '');
      rest = restore(rest);
    } else if (!['RUN', 'CMD', 'ENTRYPOINT', 'SHELL'].includes(keyword)) {
      ({ flags, rest } = splitFlags(content));
    }
    const flagText = Object.entries(flags).map(([name, value]) => `--${name}=${value} `).join('');
    const instruction: DockerfileInstruction = {
      keyword,
      original: rest === '' && flagText === '' ? written : `${written} ${flagText}${rest}`,
      line,
      flags,
      args: rest,
      json: jsonForm(rest),
      heredocs: split.byLine.get(line) ?? [],
    };
    checkInstruction(instruction, fail);
    if (keyword === 'FROM') {
      const words = rawWords(rest, escape);
      let name: string | undefined;
      if (words.length === 3 && words[1]!.toUpperCase() === 'AS') {
        name = words[2]!.toLowerCase();
        if (!STAGE_NAME.test(name)) fail(`invalid name for build stage: ${JSON.stringify(words[2])}, name can't start with a number or contain symbols`);
      } else if (words.length !== 1) {
        fail('FROM requires either one or three arguments');
      }
      stages.push({ name, from: instruction, baseRef: words[0]!, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (keyword === 'ARG') {
        metaArgs.push(instruction);
        continue;
      }
      throw new DockerfileSyntaxError('no build stage in current context');
    }
    stage.instructions.push(instruction);
  }
  return { escape, metaArgs, stages };
}

/** docker's per-instruction argument checks. */
function checkInstruction(i: DockerfileInstruction, fail: (message: string) => never): void {
  if (i.keyword === 'RUN' && Object.keys(i.flags).length > 0) {
    fail(`the --${Object.keys(i.flags)[0]!} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
  }
  const allowed = FLAGS[i.keyword] ?? [];
  for (const flag of Object.keys(i.flags)) {
    if (!allowed.includes(flag)) fail(`unknown flag: ${flag}`);
  }
  const words = i.args === '' ? [] : rawWords(i.args);
  switch (i.keyword) {
    case 'RUN':
      if (/^--[a-z]/.test(i.args)) {
        const flag = /^--([a-z-]+)/.exec(i.args)![1]!;
        fail(`the --${flag} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
      }
      if (i.args === '') fail('RUN requires at least one argument');
      break;
    case 'COPY':
    case 'ADD':
      if (i.json === undefined ? words.length === 0 : i.json.length === 0) fail(`${i.keyword} requires at least two arguments`);
      if (i.heredocs.length > 0 && heredocWord(words.at(-1)!) !== undefined) fail(`${i.keyword} cannot accept a heredoc as a destination`);
      if ((i.json?.length ?? words.length) === 1) fail(`${i.keyword} requires at least two arguments, but only one was provided. Destination could not be determined`);
      if (i.flags['chmod'] !== undefined) fail('the --chmod option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled');
      for (const flag of ['link', 'parents', 'exclude', 'checksum', 'keep-git-dir']) {
        if (i.flags[flag] !== undefined) fail(`the --${flag} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
      }
      break;
    case 'ENV':
    case 'LABEL':
    case 'EXPOSE':
    case 'VOLUME':
    case 'ARG':
      if (words.length === 0) fail(`${i.keyword} requires at least one argument`);
      break;
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      if (words.length !== 1 && !(i.keyword === 'MAINTAINER' && words.length > 0)) fail(`${i.keyword} requires exactly one argument`);
      break;
    case 'SHELL':
      if (i.json === undefined) fail('SHELL requires the arguments to be in JSON form');
      if (i.json!.length === 0) fail('SHELL requires at least one argument');
      break;
    case 'ONBUILD': {
      const trigger = (words[0] ?? '').toUpperCase();
      if (trigger === '') fail('ONBUILD requires at least one argument');
      if (trigger === 'ONBUILD') fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'FROM' || trigger === 'MAINTAINER') fail(`${trigger} isn't allowed as an ONBUILD trigger`);
      if (!KNOWN.has(trigger)) fail(`unknown instruction: ${words[0]!}`);
      break;
    }
    case 'HEALTHCHECK': {
      const type = (words[0] ?? '').toUpperCase();
      if (type === 'NONE') {
        if (words.length > 1) fail('HEALTHCHECK NONE takes no arguments');
      } else if (type === 'CMD') {
        if (words.length < 2) fail('Missing command after HEALTHCHECK CMD');
      } else {
        fail(`Unknown type ${JSON.stringify(words[0] ?? '')} in HEALTHCHECK (try CMD)`);
      }
      break;
    }
    default:
      break;
  }
}
