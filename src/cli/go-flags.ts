/**
 * Boolean flags as docker's CLI (Go's pflag) reads them, which commander does not: a boolean
 * takes a value only after `=` (`--rm=false`, `--sig-proxy=false`, `-d=true`), in any of
 * strconv.ParseBool's spellings, and never takes the next word as its value. The argv is
 * rewritten before commander sees it: `--flag=true` becomes `--flag`, `--flag=false` becomes
 * `--no-flag` where the command declares one (flags that default to true) and nothing
 * otherwise (false is their default).
 */
import { Option, type Command } from 'commander';
import { UsageError } from './exit.js';

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Whether `command` stops reading its options at the first operand (run, create, exec: the rest is the container's command). */
function stopsAtOperand(command: Command): boolean {
  // commander keeps the setting private; passThroughOptions() is how run, create and exec declare it.
  return (command as unknown as { _passThroughOptions?: boolean })._passThroughOptions === true;
}

/** `argv` (the words after the command's name) with docker's boolean forms rewritten for commander. */
export function rewriteGoBooleans(command: Command, argv: readonly string[]): string[] {
  const options: readonly Option[] = command.options;
  const byName = (name: string): Option | undefined => options.find((option) => option.long === name || option.short === name);
  const takesValue = (option: Option | undefined): boolean => option !== undefined && (option.required || option.optional);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const withValue = /^(--?[^=-][^=]*)=(.*)$/.exec(word);
    if (withValue) {
      const [, name = '', value = ''] = withValue;
      const option = byName(name);
      if (option === undefined || takesValue(option)) {
        out.push(word);
        continue;
      }
      if (option.negate) {
        // --no-stdin=true is --no-stdin; =false asks for the default.
        if (TRUE.has(value)) out.push(name);
        else if (!FALSE.has(value)) throw new UsageError(`invalid argument "${value}" for "${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
        continue;
      }
      if (TRUE.has(value)) out.push(name);
      else if (FALSE.has(value)) {
        const long = option.long ?? name;
        if (byName(long.replace(/^--/, '--no-'))) out.push(long.replace(/^--/, '--no-'));
      } else throw new UsageError(`invalid argument "${value}" for "${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
      continue;
    }
    out.push(word);
    if (word.startsWith('--')) {
      if (takesValue(byName(word)) && i + 1 < argv.length) out.push(argv[++i]!);
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      // A cluster of short flags (-it); a value-taking one ends it, its value attached or the next word.
      for (let at = 1; at < word.length; at++) {
        if (!takesValue(byName(`-${word[at]}`))) continue;
        if (at === word.length - 1 && i + 1 < argv.length) out.push(argv[++i]!);
        break;
      }
      continue;
    }
    if (stopsAtOperand(command)) {
      out.push(...argv.slice(i + 1));
      break;
    }
  }
  return out;
}

/** The hidden `--no-flag` of a boolean flag that defaults to true (`--sig-proxy`), so that `--flag=false` can turn it off. */
export function hiddenNegation(flag: string): Option {
  return new Option(flag.replace(/^--/, '--no-')).hideHelp();
}
