/**
 * Identifiers: 64-hex ids as docker makes them, and docker's random container names.
 */
import { randomBytes } from 'node:crypto';

const FULL_ID = /^[0-9a-f]{64}$/;

/** A new random 64-hex id. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

export function isFullId(value: string): boolean {
  return FULL_ID.test(value);
}

/** The 12-character form docker prints. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

// A short list in the spirit of docker's names generator: adjective_surname.
const ADJECTIVES = [
  'admiring', 'brave', 'busy', 'calm', 'clever', 'cool', 'eager', 'elastic', 'epic', 'focused',
  'gallant', 'happy', 'jolly', 'keen', 'kind', 'laughing', 'loving', 'modest', 'nifty', 'quirky',
  'relaxed', 'serene', 'sharp', 'stoic', 'tender', 'upbeat', 'vibrant', 'wizardly', 'youthful', 'zen',
];
const SURNAMES = [
  'archimedes', 'babbage', 'bohr', 'curie', 'darwin', 'dijkstra', 'einstein', 'euler', 'fermat', 'galileo',
  'gauss', 'hopper', 'hypatia', 'kepler', 'knuth', 'lamport', 'liskov', 'lovelace', 'maxwell', 'meitner',
  'newton', 'noether', 'pascal', 'ritchie', 'shannon', 'thompson', 'torvalds', 'turing', 'wozniak', 'yalow',
];

/** A random `adjective_surname` name; callers retry on a clash. */
export function randomName(): string {
  const bytes = randomBytes(2);
  return `${ADJECTIVES[bytes[0]! % ADJECTIVES.length]}_${SURNAMES[bytes[1]! % SURNAMES.length]}`;
}

/** docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`. */
export const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
