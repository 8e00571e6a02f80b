/**
 * docker's registry credentials on the wire: the `X-Registry-Auth` header (base64url JSON of
 * AuthConfig) that pull and push send, and the AuthConfig body of `POST /auth`.
 */
import { InvalidArgumentError } from '../../common/index.js';

/** Credentials in Berth's words; every field optional (anonymous access sends none). */
export interface WireCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

/** Decode `X-Registry-Auth`. Empty means anonymous; a malformed header is a 400. */
export function decodeRegistryAuth(header: string | string[] | undefined): WireCredentials {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw new InvalidArgumentError('invalid X-Registry-Auth header: not base64-encoded JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  return fromAuthConfig(parsed as Record<string, unknown>);
}

/** docker's AuthConfig (`username`, `password`, `auth`, `identitytoken`, `registrytoken`) to credentials. */
export function fromAuthConfig(config: Record<string, unknown>): WireCredentials {
  const text = (...keys: string[]): string | undefined => {
    for (const key of keys) {
      const value = config[key];
      if (typeof value === 'string' && value !== '') return value;
    }
    return undefined;
  };
  let username = text('username', 'Username');
  let password = text('password', 'Password');
  const auth = text('auth', 'Auth');
  if (auth !== undefined && username === undefined) {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  const out: WireCredentials = {};
  if (username !== undefined) out.username = username;
  if (password !== undefined) out.password = password;
  const identityToken = text('identitytoken', 'IdentityToken', 'identityToken');
  if (identityToken !== undefined) out.identityToken = identityToken;
  const registryToken = text('registrytoken', 'RegistryToken', 'registryToken');
  if (registryToken !== undefined) out.registryToken = registryToken;
  return out;
}
