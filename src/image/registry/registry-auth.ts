/**
 * Registry credentials (the API layer decodes them from docker's `X-Registry-Auth`), and the
 * `WWW-Authenticate` challenges registries answer with (RFC 7235; the distribution
 * spec's token auth adds `realm`, `service` and `scope`).
 */
/** What a user gave us to log in with; every field optional (anonymous pulls send none). */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** An OAuth refresh token a token server issued at login. */
  identityToken?: string;
  /** A bearer token to send as is. */
  registryToken?: string;
}

/** One challenge of a `WWW-Authenticate` header. */
export interface AuthChallenge {
  /** Lower case: `basic` or `bearer`. */
  scheme: string;
  params: Record<string, string>;
}

/** Parse a `WWW-Authenticate` header into its challenges (quoted values may hold commas). */
export function parseAuthChallenges(header: string | string[] | undefined): AuthChallenge[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const out: AuthChallenge[] = [];
  for (const value of values) {
    const re = /\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)|\s*([A-Za-z0-9_.-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*)\s*,?/y;
    let current: AuthChallenge | undefined;
    let index = 0;
    while (index < value.length) {
      re.lastIndex = index;
      const match = re.exec(value);
      if (match === null || match[0] === '') break;
      index = re.lastIndex;
      if (match[1] !== undefined) {
        current = { scheme: match[1].toLowerCase(), params: {} };
        out.push(current);
      } else if (current !== undefined && match[2] !== undefined) {
        current.params[match[2].toLowerCase()] = match[4] !== undefined ? match[4].replace(/\\(.)/g, '$1') : (match[3] ?? '');
      }
    }
  }
  return out;
}
