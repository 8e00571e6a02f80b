/**
 * Registry credentials of `berth login`, kept as docker keeps them in ~/.docker/config.json
 * (`auths` entries holding base64 `user:password`, or an identity token), but in Berth's own
 * config dir: `$BERTH_CONFIG/config.json`, else ~/.berth/config.json. Sent to the daemon as
 * docker's `X-Registry-Auth` header (base64url JSON of an AuthConfig).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** The key docker uses for Docker Hub, in config files and messages. */
export const DEFAULT_REGISTRY_KEY = 'https://index.docker.io/v1/';

/** Credentials for one registry, as stored. */
export interface StoredCredentials {
  username: string;
  password?: string;
  identityToken?: string;
}

interface AuthEntry {
  auth?: string;
  identitytoken?: string;
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>;
  [key: string]: unknown;
}

/** Path of the config file for this environment. */
export function configPath(env: NodeJS.ProcessEnv): string {
  // An environment variable's name, not an error code (docs/errors.md lists only those).
  const dir = env['BERTH_CONFIG'];
  return join(dir !== undefined && dir !== '' ? dir : join(homedir(), '.berth'), 'config.json');
}

/**
 * The registry a reference lives on, as the config key docker uses: the first path component
 * when it looks like a host (has `.` or `:`, or is `localhost`), else Docker Hub's key.
 */
export function registryKeyOf(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return DEFAULT_REGISTRY_KEY;
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : DEFAULT_REGISTRY_KEY;
}

/** A server as given to login/logout (`https://host/`, `host`, `docker.io`) as its config key. */
export function normalizeServer(server: string | undefined): string {
  if (server === undefined || server === '') return DEFAULT_REGISTRY_KEY;
  const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io') return DEFAULT_REGISTRY_KEY;
  return host;
}

async function readConfig(env: NodeJS.ProcessEnv): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(configPath(env), 'utf8');
  } catch {
    return {};
  }
  const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as ConfigFile) : {};
}

// Written 0600 through a temp file and a rename, so a crash never leaves half a file.
async function writeConfig(env: NodeJS.ProcessEnv, config: ConfigFile): Promise<void> {
  const path = configPath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
  await rename(temp, path);
}

/** The stored credentials for `key`, or undefined (anonymous). */
export async function loadCredentials(env: NodeJS.ProcessEnv, key: string): Promise<StoredCredentials | undefined> {
  const entry = (await readConfig(env)).auths?.[key];
  if (entry === undefined) return undefined;
  const decoded = entry.auth !== undefined ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const username = colon >= 0 ? decoded.slice(0, colon) : decoded;
  const password = colon >= 0 ? decoded.slice(colon + 1) : '';
  const out: StoredCredentials = { username };
  if (entry.identitytoken !== undefined && entry.identitytoken !== '') out.identityToken = entry.identitytoken;
  else if (password !== '') out.password = password;
  return out;
}

/** Store credentials for `key`, replacing any; other entries and keys of the file are kept. */
export async function storeCredentials(env: NodeJS.ProcessEnv, key: string, credentials: StoredCredentials): Promise<void> {
  const config = await readConfig(env);
  // With an identity token docker keeps only the user name beside it, never the password.
  const secret = credentials.identityToken !== undefined ? '' : (credentials.password ?? '');
  const entry: AuthEntry = { auth: Buffer.from(`${credentials.username}:${secret}`).toString('base64') };
  if (credentials.identityToken !== undefined) entry.identitytoken = credentials.identityToken;
  config.auths = { ...(config.auths ?? {}), [key]: entry };
  await writeConfig(env, config);
}

/** Remove the entry for `key`; false when there was none. */
export async function removeCredentials(env: NodeJS.ProcessEnv, key: string): Promise<boolean> {
  const config = await readConfig(env);
  if (config.auths?.[key] === undefined) return false;
  delete config.auths[key];
  await writeConfig(env, config);
  return true;
}

/** docker's X-Registry-Auth value for `credentials` on `serverAddress`; undefined for anonymous. */
export function encodeRegistryAuth(credentials: StoredCredentials | undefined, serverAddress: string): string | undefined {
  if (credentials === undefined) return undefined;
  const config: Record<string, string> = { username: credentials.username, serveraddress: serverAddress };
  if (credentials.password !== undefined) config['password'] = credentials.password;
  if (credentials.identityToken !== undefined) config['identitytoken'] = credentials.identityToken;
  return Buffer.from(JSON.stringify(config)).toString('base64url');
}

/** The X-Registry-Auth value for pushing or pulling `ref`, from the stored credentials. */
export async function registryAuthFor(env: NodeJS.ProcessEnv, ref: string): Promise<string | undefined> {
  const key = registryKeyOf(ref);
  return encodeRegistryAuth(await loadCredentials(env, key), key);
}
