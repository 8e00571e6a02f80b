/**
 * The word rules of docker's Dockerfile lexer (buildkit's `shell.Lex`, which the classic
 * builder uses): `$VAR` and `${VAR}` expansion with the `:-`, `-`, `:+`, `+`, `:?`, `?`
 * modifiers, single and double quotes, and the escape character (`\` or the one the
 * `# escape=` directive names). Quotes are removed as words are processed, as docker does.
 */
import { InvalidArgumentError } from '../common/index.js';

/** Variables visible to expansion: the stage's ENV plus the allowed build args. */
export type WordEnv = ReadonlyMap<string, string>;

/** Builds a WordEnv from `KEY=value` strings; later entries win, as docker's env lists do. */
export function envMap(...lists: ReadonlyArray<readonly string[]>): Map<string, string> {
  const out = new Map<string, string>();
  for (const list of lists) {
    for (const item of list) {
      const at = item.indexOf('=');
      if (at < 0) out.set(item, '');
      else out.set(item.slice(0, at), item.slice(at + 1));
    }
  }
  return out;
}

const NAME_CHAR = /[A-Za-z0-9_]/;

class Lexer {
  readonly #text: string;
  readonly #env: WordEnv;
  readonly #escape: string;
  readonly #quotesAreLiteral: boolean;
  #pos = 0;

  constructor(text: string, env: WordEnv, escape: string, quotesAreLiteral = false) {
    this.#text = text;
    this.#env = env;
    this.#escape = escape;
    this.#quotesAreLiteral = quotesAreLiteral;
  }

  /** Process the whole text; with `split`, unquoted whitespace separates words. */
  run(split: boolean): string[] {
    const words: string[] = [];
    let word = '';
    let hasWord = false;
    while (this.#pos < this.#text.length) {
      const ch = this.#text[this.#pos]!;
      if (split && /\s/.test(ch)) {
        this.#pos++;
        if (hasWord) words.push(word);
        word = '';
        hasWord = false;
        continue;
      }
      hasWord = true;
      if (ch === this.#escape) {
        this.#pos++;
        if (this.#pos < this.#text.length) word += this.#text[this.#pos++];
        else word += ch;
      } else if (ch === "'" && !this.#quotesAreLiteral) {
        word += this.#singleQuoted();
      } else if (ch === '"' && !this.#quotesAreLiteral) {
        word += this.#doubleQuoted();
      } else if (ch === '$') {
        const value = this.#dollar();
        if (!split) {
          word += value;
        } else {
          // An unquoted expansion is split at its whitespace, as docker's ProcessWords does.
          const parts = value.split(/\s+/);
          word += parts[0]!;
          for (const part of parts.slice(1)) {
            if (word !== '') words.push(word);
            word = part;
          }
          hasWord = word !== '';
        }
      } else {
        word += ch;
        this.#pos++;
      }
    }
    if (hasWord || !split) words.push(word);
    return words;
  }

  #singleQuoted(): string {
    this.#pos++;
    const end = this.#text.indexOf("'", this.#pos);
    if (end < 0) throw new InvalidArgumentError('unexpected end of statement while looking for matching single-quote');
    const out = this.#text.slice(this.#pos, end);
    this.#pos = end + 1;
    return out;
  }

  #doubleQuoted(): string {
    this.#pos++;
    let out = '';
    while (this.#pos < this.#text.length) {
      const ch = this.#text[this.#pos]!;
      if (ch === '"') {
        this.#pos++;
        return out;
      }
      if (ch === '$') {
        out += this.#dollar();
        continue;
      }
      if (ch === this.#escape) {
        const next = this.#text[this.#pos + 1];
        if (next === '"' || next === '$' || next === this.#escape) {
          out += next;
          this.#pos += 2;
          continue;
        }
      }
      out += ch;
      this.#pos++;
    }
    throw new InvalidArgumentError('unexpected end of statement while looking for matching double-quote');
  }

  #dollar(): string {
    this.#pos++;
    const ch = this.#text[this.#pos];
    if (ch === '{') {
      this.#pos++;
      const name = this.#name();
      if (name === '') throw new InvalidArgumentError(`missing name in variable substitution: ${this.#text}`);
      const close = this.#text[this.#pos];
      if (close === '}') {
        this.#pos++;
        return this.#env.get(name) ?? '';
      }
      let modifier = this.#text[this.#pos++] ?? '';
      if (modifier === ':') modifier += this.#text[this.#pos++] ?? '';
      const word = this.#untilBrace();
      const isSet = this.#env.has(name);
      const value = this.#env.get(name) ?? '';
      switch (modifier) {
        case ':-': return value !== '' ? value : word;
        case '-': return isSet ? value : word;
        case ':+': return value !== '' ? word : '';
        case '+': return isSet ? word : '';
        case ':?':
          if (value === '') throw new InvalidArgumentError(`${name}: ${word || 'is not allowed to be unset'}`);
          return value;
        case '?':
          if (!isSet) throw new InvalidArgumentError(`${name}: ${word || 'is not allowed to be unset'}`);
          return value;
        default:
          throw new InvalidArgumentError(`unsupported modifier (${modifier}) in substitution`);
      }
    }
    const name = this.#name();
    if (name === '') return '$';
    return this.#env.get(name) ?? '';
  }

  #name(): string {
    const start = this.#pos;
    while (this.#pos < this.#text.length && NAME_CHAR.test(this.#text[this.#pos]!)) this.#pos++;
    return this.#text.slice(start, this.#pos);
  }

  /** The word of a `${name:-word}` modifier, itself processed, up to the closing brace. */
  #untilBrace(): string {
    let out = '';
    while (this.#pos < this.#text.length) {
      const ch = this.#text[this.#pos]!;
      if (ch === '}') {
        this.#pos++;
        return out;
      }
      if (ch === '$') out += this.#dollar();
      else if (ch === "'") out += this.#singleQuoted();
      else if (ch === '"') out += this.#doubleQuoted();
      else if (ch === this.#escape && this.#pos + 1 < this.#text.length) {
        out += this.#text[this.#pos + 1];
        this.#pos += 2;
      } else {
        out += ch;
        this.#pos++;
      }
    }
    throw new InvalidArgumentError(`syntax error: missing '}' in ${this.#text}`);
  }
}

/** One word, expanded and unquoted (docker's ProcessWord). */
export function processWord(text: string, env: WordEnv, escape = '\\'): string {
  return new Lexer(text, env, escape).run(false)[0] ?? '';
}

/**
 * A COPY here-document's body expanded as BuildKit expands it: `$VAR` and `${VAR...}` replaced,
 * `\` escaping the next character, quotes kept as written.
 */
export function expandHeredocBody(text: string, env: WordEnv): string {
  return new Lexer(text, env, '\\', true).run(false)[0] ?? '';
}

/** Words split at unquoted whitespace, each expanded and unquoted (docker's ProcessWords). */
export function processWords(text: string, env: WordEnv, escape = '\\'): string[] {
  return new Lexer(text, env, escape).run(true);
}

/**
 * Split at unquoted whitespace without expanding or unquoting: the raw words of ENV, LABEL and
 * ARG (docker's parseWords), each processed later on its own.
 */
export function rawWords(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote === '' && /\s/.test(ch)) {
      if (word !== '') words.push(word);
      word = '';
      continue;
    }
    if (ch === escape && i + 1 < text.length && quote !== "'") {
      word += ch + text[++i]!;
      continue;
    }
    if (quote === '' && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === quote) quote = '';
    word += ch;
  }
  if (word !== '') words.push(word);
  return words;
}
