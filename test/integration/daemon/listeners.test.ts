/**
 * Where berthd listens: several unix sockets, a group granted with -G, and TCP only with mutual
 * TLS (a CA, server and client certificates the test makes with openssl), through the real docker
 * CLI, attach over TLS included; the unsafe combinations are refused at start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../../src/sys/index.js';
import { DOCKER, REPO, startTestDaemon, type TestDaemon } from '../harness.js';

/** A port nobody listens on now (the kernel's pick). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const result = await runCommand('openssl', args, { cwd });
  assert.equal(result.exitCode, 0, `openssl ${args.join(' ')}: ${result.stderr}`);
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
async function makeCertificates(dir: string): Promise<void> {
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=berth-test-ca', '-keyout', 'ca-key.pem', '-out', 'ca.pem'], dir);
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [['server', '127.0.0.1'], ['client', 'berth-test-client']] as const) {
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`], dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
  }
  // A second CA whose client certificate berthd must refuse.
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=other-ca', '-keyout', 'other-key.pem', '-out', 'other.pem'], dir);
}

describe('listeners: unix sockets, -G, and TCP only with mutual TLS', () => {
  let daemon: TestDaemon;
  let certs: string;
  let port: number;
  let second: string;
  before(async () => {
    certs = await mkdtemp(join(tmpdir(), 'berth-tls-'));
    await makeCertificates(certs);
    port = await freePort();
    second = join(certs, 'second.sock');
    daemon = await startTestDaemon({
      daemonArgs: ['-H', `unix://${second}`, '-H', `tcp://127.0.0.1:${port}`, '-G', 'nogroup', '--tlsverify', '--tlscacert', join(certs, 'ca.pem'), '--tlscert', join(certs, 'server.pem'), '--tlskey', join(certs, 'server-key.pem')],
    });
  });
  after(async () => {
    await daemon?.cleanup();
    if (certs) await rm(certs, { recursive: true, force: true });
  });

  function dockerTls(args: string[], cert = 'client', key = 'client-key'): ReturnType<typeof runCommand> {
    const { DOCKER_HOST: _ignored, ...inherited } = process.env;
    const env = { ...inherited, DOCKER_CONFIG: join(certs, 'docker-config') };
    return runCommand(DOCKER, ['--tlsverify', '--tlscacert', join(certs, 'ca.pem'), '--tlscert', join(certs, `${cert}.pem`), '--tlskey', join(certs, `${key}.pem`), '-H', `tcp://127.0.0.1:${port}`, ...args], { env, timeoutMs: 60_000 });
  }

  it('serves every unix socket, 0660 and owned by the -G group', async () => {
    const nogroup = Number((await runCommand('getent', ['group', 'nogroup'])).stdout.split(':')[2]);
    for (const path of [daemon.socket, second]) {
      const info = await stat(path);
      assert.equal(info.mode & 0o777, 0o660, path);
      assert.equal(info.uid, 0);
      assert.equal(info.gid, nogroup, path);
    }
    const version = await runCommand(DOCKER, ['-H', `unix://${second}`, 'version', '-f', '{{.Server.Version}}'], { env: { ...process.env, DOCKER_CONFIG: join(certs, 'docker-config') } });
    assert.equal(version.exitCode, 0, version.stderr);
  });

  it('serves the docker CLI over TLS with a client certificate, attach and exit codes included', async () => {
    const version = await dockerTls(['version', '-f', '{{.Server.Version}}']);
    assert.equal(version.exitCode, 0, version.stderr);
    const run = await dockerTls(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; exit 3'], 'client', 'client-key');
    assert.equal(run.exitCode, 3, run.stderr);
    const piped = await runCommand('sh', ['-c', `echo over-tls | "${DOCKER}" --tlsverify --tlscacert ${join(certs, 'ca.pem')} --tlscert ${join(certs, 'client.pem')} --tlskey ${join(certs, 'client-key.pem')} -H tcp://127.0.0.1:${port} run --rm -i busybox cat`], { env: { ...process.env, DOCKER_CONFIG: join(certs, 'docker-config') } });
    assert.equal(piped.stdout, 'over-tls\n', piped.stderr);
    const id = (await dockerTls(['run', '-d', 'busybox', 'sleep', '1000'])).stdout.trim();
    try {
      const exec = await runCommand('sh', ['-c', `echo exec-over-tls | "${DOCKER}" --tlsverify --tlscacert ${join(certs, 'ca.pem')} --tlscert ${join(certs, 'client.pem')} --tlskey ${join(certs, 'client-key.pem')} -H tcp://127.0.0.1:${port} exec -i ${id} sh -c 'cat; exit 4'`], { env: { ...process.env, DOCKER_CONFIG: join(certs, 'docker-config') } });
      assert.equal(exec.stdout, 'exec-over-tls\n', exec.stderr);
      assert.equal(exec.exitCode, 4);
    } finally {
      await dockerTls(['rm', '-f', id]);
    }
  });

  it('refuses clients without a certificate, or with one another CA signed', async () => {
    const env = { ...process.env, DOCKER_CONFIG: join(certs, 'docker-config') };
    const anonymous = await runCommand(DOCKER, ['--tls', '--tlscacert', join(certs, 'ca.pem'), '-H', `tcp://127.0.0.1:${port}`, 'version'], { env, timeoutMs: 30_000 });
    assert.notEqual(anonymous.exitCode, 0);
    assert.doesNotMatch(anonymous.stdout, /Server:/);
    const stranger = await dockerTls(['version'], 'other', 'other-key');
    assert.notEqual(stranger.exitCode, 0);
  });

  it('refuses to start with tcp:// and no client verification, or with an unknown group', async () => {
    const berthd = join(REPO, 'dist/src/bin/berthd.js');
    const dir = await mkdtemp(join(tmpdir(), 'berth-refused-'));
    try {
      const base = ['--root', join(dir, 'root'), '--exec-root', join(dir, 'run'), '-H', `unix://${join(dir, 's.sock')}`];
      const plain = await runCommand(process.execPath, [berthd, ...base, '-H', `tcp://127.0.0.1:${await freePort()}`], { timeoutMs: 30_000 });
      assert.notEqual(plain.exitCode, 0);
      assert.match(plain.stderr, /tcp:\/\/ listener needs --tlsverify with --tlscacert, --tlscert and --tlskey/);
      const group = await runCommand(process.execPath, [berthd, ...base, '-G', 'no-such-group-here'], { timeoutMs: 60_000 });
      assert.notEqual(group.exitCode, 0);
      assert.match(group.stderr, /group no-such-group-here not found/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
