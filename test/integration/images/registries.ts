/**
 * Registries for the image tests, all on 127.0.0.1: Debian's docker-registry (plain, or with
 * htpasswd basic auth, or with bearer tokens from a token server the test runs), and a fake
 * registry in this process whose answers a test can corrupt (wrong digests, short bodies, a
 * connection cut mid-blob, malformed manifests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../../src/sys/index.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
/** Why registry tests cannot run here, or undefined when they can. */
export const registrySkipReason = existsSync(REGISTRY_BINARY) ? undefined : `${REGISTRY_BINARY} is not installed (apt-get install docker-registry)`;

/** A free TCP port on 127.0.0.1 (the registry binds it right after). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  dir: string;
  stop(): Promise<void>;
}

/** How a docker-registry authenticates. */
export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'htpasswd'; username: string; password: string }
  | { kind: 'token'; realm: string; service: string; issuer: string; certPath: string };

/** Start docker-registry on a free port with storage in a temp dir; resolves once /v2/ answers. */
export async function startRegistry(auth: RegistryAuth = { kind: 'none' }): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  let authYaml = '';
  if (auth.kind === 'htpasswd') {
    const hash = await bcrypt(auth.password);
    await writeFile(join(dir, 'htpasswd'), `${auth.username}:${hash}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth.kind === 'token') {
    authYaml = `auth:\n  token:\n    realm: ${auth.realm}\n    service: ${auth.service}\n    issuer: ${auth.issuer}\n    rootcertbundle: ${auth.certPath}\n`;
  }
  const config = `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${authYaml}`;
  await writeFile(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/v2/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.end();
    });
    if (status !== 0) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not start: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// docker-registry's htpasswd wants bcrypt; glibc's crypt (through Python) makes it.
async function bcrypt(password: string): Promise<string> {
  const result = await runCommand('python3', ['-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))', password]);
  if (result.exitCode !== 0) throw new Error(`cannot make a bcrypt hash: ${result.stderr}`);
  return result.stdout.trim();
}

/** Why the htpasswd registry cannot run here (no bcrypt through python3's crypt), or undefined. */
export async function htpasswdSkipReason(): Promise<string | undefined> {
  const result = await runCommand('python3', ['-c', 'import crypt; assert crypt.crypt("a", crypt.mksalt(crypt.METHOD_BLOWFISH)).startswith("$2")']).catch(() => undefined);
  return result?.exitCode === 0 ? undefined : 'python3 with bcrypt support in crypt is needed to write an htpasswd file';
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  /** Requests it answered, with the Basic user they carried. */
  requests: Array<{ scope: string; user: string | undefined }>;
  stop(): Promise<void>;
}

/**
 * A token server for docker-registry's token auth: it signs ES256 JWTs (with the certificate in
 * the x5c header) granting what is asked to `username`/`password`, and pull-only access to
 * anonymous callers.
 */
export async function startTokenServer(username: string, password: string): Promise<TokenServer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-token-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const made = await runCommand('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=berth-test-token', '-days', '1', '-keyout', keyPath, '-out', certPath]);
  if (made.exitCode !== 0) throw new Error(`openssl: ${made.stderr}`);
  const key = createPrivateKey(await readFile(keyPath));
  const certDer = Buffer.from((await readFile(certPath, 'utf8')).replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const service = 'berth-test-registry';
  const issuer = 'berth-test-issuer';
  const requests: TokenServer['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scope = url.searchParams.get('scope') ?? '';
    const header = req.headers.authorization;
    let user: string | undefined;
    if (header?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(header.slice(6), 'base64').toString().split(':');
      if (u !== username || p !== password) return json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] });
      user = u;
    }
    requests.push({ scope, user });
    const access = scope === '' ? [] : [{ type: 'repository', name: scope.split(':')[1] ?? '', actions: user !== undefined ? (scope.split(':')[2] ?? '').split(',') : ['pull'] }];
    const now = Math.floor(Date.now() / 1000);
    const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signingInput = `${b64({ alg: 'ES256', typ: 'JWT', x5c: [certDer.toString('base64')] })}.${b64({ iss: issuer, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access })}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    const token = `${signingInput}.${signature}`;
    json(res, 200, { token, access_token: token, expires_in: 300 });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    async stop() {
      await closeServer(server);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** How the fake registry spoils one blob. */
export type BlobFault = 'wrong-bytes' | 'truncated' | 'cut-connection' | 'stall';

/** A registry in this process serving one image whose answers tests can spoil. */
export interface FakeRegistry {
  host: string;
  /** Serve `manifest` (raw bytes) under `repo:tag`, with its blobs. */
  serve(repo: string, tag: string, manifest: Buffer, mediaType: string, blobs: Map<string, Buffer>): void;
  /** Spoil the blob `digest` (undefined to heal it). */
  fault(digest: string, fault: BlobFault | undefined): void;
  /** Resolves when a request for a stalled blob arrived. */
  stalled(): Promise<void>;
  stop(): Promise<void>;
}

/** Start the fake registry on a free port. */
export async function startFakeRegistry(): Promise<FakeRegistry> {
  const manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  const blobs = new Map<string, Buffer>();
  const faults = new Map<string, BlobFault>();
  let onStall: (() => void) | undefined;
  let stallSeen = false;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/v2/') return json(res, 200, {});
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (manifest !== null) {
      const found = manifests.get(`${manifest[1]}:${manifest[2]}`);
      if (found === undefined) return json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
      res.writeHead(200, { 'Content-Type': found.mediaType, 'Content-Length': found.bytes.length });
      return res.end(req.method === 'HEAD' ? undefined : found.bytes);
    }
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (blob !== null) {
      const digest = blob[2]!;
      const bytes = blobs.get(digest);
      if (bytes === undefined) return json(res, 404, { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] });
      const fault = faults.get(digest);
      if (fault === 'wrong-bytes') {
        const wrong = Buffer.from(bytes);
        wrong[wrong.length - 1] = wrong[wrong.length - 1]! ^ 0xff;
        res.writeHead(200, { 'Content-Length': wrong.length });
        return res.end(wrong);
      }
      if (fault === 'truncated') {
        // No Content-Length, so the short body ends "cleanly" and only the size check can tell.
        res.writeHead(200, {});
        return res.end(bytes.subarray(0, Math.floor(bytes.length / 2)));
      }
      if (fault === 'cut-connection' || fault === 'stall') {
        res.writeHead(200, { 'Content-Length': bytes.length });
        res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
        if (fault === 'cut-connection') {
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        stallSeen = true;
        onStall?.();
        return;
      }
      res.writeHead(200, { 'Content-Length': bytes.length });
      return res.end(req.method === 'HEAD' ? undefined : bytes);
    }
    json(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'not here' }] });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    serve(repo, tag, bytes, mediaType, served) {
      manifests.set(`${repo}:${tag}`, { bytes, mediaType });
      manifests.set(`${repo}:sha256:${createHash('sha256').update(bytes).digest('hex')}`, { bytes, mediaType });
      for (const [digest, data] of served) blobs.set(digest, data);
    },
    fault(digest, fault) {
      if (fault === undefined) faults.delete(digest);
      else faults.set(digest, fault);
      stallSeen = false;
    },
    stalled() {
      if (stallSeen) return Promise.resolve();
      return new Promise((resolve) => (onStall = resolve));
    },
    stop: () => closeServer(server),
  };
}
