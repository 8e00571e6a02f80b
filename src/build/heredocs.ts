/**
 * Dockerfile here-documents as BuildKit's dockerfile frontend defines them (`RUN <<EOF`,
 * `COPY <<a.txt <<b.txt /dir/`): a RUN, COPY or ADD line (also behind ONBUILD) whose words
 * include `<<NAME` (`<<-NAME` strips leading tabs, a quoted name turns expansion off) takes the
 * lines after it, up to a line that is exactly NAME, as that document's content.
 *
 * The documents are cut out of the text before dockerfile-ast sees it: tried here, its own
 * heredoc reader misses `<< EOF`, takes `3<<EOF`'s body for instructions and reads a heredoc
 * into an exec-form RUN (swallowing the next instruction). The lines it then parses keep their
 * numbers: bodies become empty lines and each `<<` on an instruction line a placeholder of the
 * same length, put back in the arguments afterwards.
 */

/** One here-document of an instruction. */
export interface Heredoc {
  name: string;
  /** The body as written: every line with its line ending, the terminator left out. */
  content: string;
  /** `<<-`: leading tabs are stripped from the body (and the terminator may have them). */
  chomp: boolean;
  /** False when the name was quoted: COPY then writes `$VAR` literally. */
  expand: boolean;
}

/** Stands for `<<` on instruction lines while dockerfile-ast parses them (private-use code points: one UTF-16 unit each). */
export const HEREDOC_PLACEHOLDER = '\uE000\uE001';

/** A Dockerfile with its here-documents cut out, and the heredocs of each instruction by its 1-based first line. */
export interface SplitDockerfile {
  text: string;
  byLine: Map<number, Heredoc[]>;
}

/** A line that does not end its here-document: `<<` with no terminator before the end of the file. */
export class UnterminatedHeredocError extends Error {
  readonly line: number;
  constructor(line: number) {
    super('unterminated heredoc');
    this.line = line;
  }
}

const HEREDOC_WORD = /^(\d*)<<(-?)([^<]*)$/;
const CAPABLE = new Set(['RUN', 'COPY', 'ADD']);

/** A heredoc marker word (`<<EOF`, `<<-"EOF"`, `3<<EOF`) as BuildKit's ParseHeredoc reads it, or undefined. */
export function heredocWord(word: string): { name: string; chomp: boolean; expand: boolean } | undefined {
  const match = HEREDOC_WORD.exec(word);
  if (!match) return undefined;
  const rest = match[3]!;
  if (rest === '') return undefined;
  const words = unquotedWords(rest);
  if (words.length !== 1) return undefined;
  const name = words[0]!;
  const quotes = (s: string): number => (s.match(/['"]/g) ?? []).length;
  return { name, chomp: match[2] === '-', expand: quotes(name) === quotes(rest) };
}

/** Leading tabs removed from every line (BuildKit's ChompHeredocContent). */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '');
}

/**
 * What a RUN with here-documents runs, as BuildKit decides it: a command that is one heredoc
 * alone runs its body as the shell's script, or, when the body starts with `#!`, as a file of
 * its own (`script`, to be put at /dev/pipes/NAME); any other command gets its documents
 * appended and the shell reads them as here-documents itself.
 */
export function heredocRunCommand(args: string, heredocs: readonly Heredoc[]): { command: string; script?: { name: string; data: string } } {
  const alone = heredocWord(args.trim());
  if (alone !== undefined && heredocs.length > 0) {
    const first = heredocs[0]!;
    const data = first.chomp ? chompHeredoc(first.content) : first.content;
    if (first.content.startsWith('#!')) return { command: `/dev/pipes/${first.name}`, script: { name: first.name, data } };
    return { command: data };
  }
  let full = args;
  for (const doc of heredocs) full += `\n${doc.content}${doc.name}`;
  return { command: full };
}

/** Cut the here-documents out of a Dockerfile (see the file comment); `escape` is its escape character. */
export function splitHeredocs(text: string, escape: string): SplitDockerfile {
  const lines = text.split(/(?<=\n)/);
  const out = [...lines];
  const byLine = new Map<number, Heredoc[]>();
  const esc = escape.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  const continuation = new RegExp(`([^${esc}])${esc}[ \\t]*$|^${esc}[ \\t]*$`);
  const trimNewline = (line: string): string => line.replace(/[\r\n]+$/, '');
  const isComment = (line: string): boolean => /^#/.test(trimNewline(line).trimStart());
  const sanitize = (index: number): void => {
    out[index] = lines[index]!.replaceAll('<<', HEREDOC_PLACEHOLDER);
  };
  let index = 0;
  while (index < lines.length) {
    const first = trimNewline(lines[index]!).trimStart();
    if (first === '' || first.startsWith('#')) {
      index++;
      continue;
    }
    const start = index;
    sanitize(index++);
    let line = first;
    let isEnd = !continuation.test(line);
    if (!isEnd) line = line.replace(continuation, '$1');
    while (!isEnd && index < lines.length) {
      const next = trimNewline(lines[index]!);
      sanitize(index++);
      if (isComment(next) || next.trim() === '') continue;
      isEnd = !continuation.test(next);
      line += isEnd ? next : next.replace(continuation, '$1');
    }
    if (!canContainHeredoc(line)) continue;
    const docs: Heredoc[] = [];
    for (const word of rawLineWords(line)) {
      const marker = heredocWord(word);
      if (marker === undefined) continue;
      let content = '';
      let isTerminated = false;
      while (index < lines.length) {
        const body = lines[index]!;
        out[index++] = body.endsWith('\n') ? '\n' : '';
        let candidate = trimNewline(body);
        if (marker.chomp) candidate = candidate.replace(/^\t+/, '');
        if (candidate === marker.name) {
          isTerminated = true;
          break;
        }
        content += body;
      }
      if (!isTerminated) throw new UnterminatedHeredocError(start + 1);
      docs.push({ ...marker, content });
    }
    if (docs.length > 0) byLine.set(start + 1, docs);
  }
  return { text: out.join(''), byLine };
}

/** RUN, COPY and ADD (also as an ONBUILD trigger) take here-documents; their exec (JSON) forms do not. */
function canContainHeredoc(line: string): boolean {
  let rest = line.trim();
  let keyword = (/^\S+/.exec(rest)?.[0] ?? '').toUpperCase();
  rest = rest.slice(keyword.length).trimStart();
  if (keyword === 'ONBUILD') {
    keyword = (/^\S+/.exec(rest)?.[0] ?? '').toUpperCase();
    rest = rest.slice(keyword.length).trimStart();
  }
  if (!CAPABLE.has(keyword)) return false;
  while (/^--\S*/.test(rest)) rest = rest.replace(/^--\S*\s*/, '');
  if (!rest.startsWith('[')) return true;
  try {
    const parsed: unknown = JSON.parse(rest);
    return !(Array.isArray(parsed) && parsed.every((item) => typeof item === 'string'));
  } catch {
    return true;
  }
}

/**
 * A line's words as BuildKit's lexer splits them for finding heredocs: quotes and escapes kept
 * as written, and `<<` joined to the name after it even across spaces (`<< EOF`).
 */
function rawLineWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === '') {
      if (/\s/.test(ch)) {
        if (word !== '') words.push(word);
        word = '';
        continue;
      }
      if (ch === '\\' && i + 1 < line.length) {
        word += ch + line[++i]!;
        continue;
      }
      if (ch === '<' && line[i + 1] === '<') {
        word += '<<';
        i++;
        while (i + 1 < line.length && /[ \t]/.test(line[i + 1]!)) i++;
        continue;
      }
      if (ch === '"' || ch === "'") quote = ch;
      word += ch;
      continue;
    }
    if (quote === '"' && ch === '\\' && i + 1 < line.length) {
      word += ch + line[++i]!;
      continue;
    }
    if (ch === quote) quote = '';
    word += ch;
  }
  if (word !== '') words.push(word);
  return words;
}

/** A heredoc name's words with quotes and escapes removed (an unterminated quote: no word). */
function unquotedWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let hasWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      if (hasWord) words.push(word);
      word = '';
      hasWord = false;
      continue;
    }
    hasWord = true;
    if (ch === '\\') {
      if (i + 1 < text.length) word += text[++i]!;
    } else if (ch === "'" || ch === '"') {
      const end = text.indexOf(ch, i + 1);
      if (end < 0) return [];
      word += text.slice(i + 1, end);
      i = end;
    } else {
      word += ch;
    }
  }
  if (hasWord) words.push(word);
  return words;
}
