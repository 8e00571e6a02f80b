/**
 * Images and registries with the real docker CLI: push and pull against Debian's
 * docker-registry on 127.0.0.1 (plain, htpasswd basic auth, bearer tokens), the JSON progress
 * stream, and integrity failures from a fake registry (wrong digest, truncated body, a
 * connection cut mid-blob, a malformed manifest, kill -9 of berthd mid-pull): each a one-line
 * error that leaves no tag, no blob and no half-unpacked layer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runCommand } from '../../../src/sys/index.js';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';
import { type FakeRegistry, type RunningRegistry, htpasswdSkipReason, registrySkipReason, startFakeRegistry, startRegistry, startTokenServer } from './registries.js';

const skip = cannotRun(!hasDocker ? NO_DOCKER : registrySkipReason);

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A small image made here: one gzip layer with a random file (so each call differs). */
async function makeImage(): Promise<{ manifest: Buffer; blobs: Map<string, Buffer>; layerDigest: string; configDigest: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-img-'));
  try {
    await mkdir(join(dir, 'root', 'data'), { recursive: true });
    await writeFile(join(dir, 'root', 'data', 'random.bin'), randomBytes(256 * 1024));
    const made = await runCommand('tar', ['-C', join(dir, 'root'), '--owner=0', '--group=0', '-cf', join(dir, 'layer.tar'), 'data']);
    assert.equal(made.exitCode, 0, made.stderr);
    const tarBytes = await import('node:fs/promises').then((fs) => fs.readFile(join(dir, 'layer.tar')));
    const layer = gzipSync(tarBytes);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [sha256(tarBytes)] } }));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha256(layer) }],
    }));
    return { manifest, blobs: new Map([[sha256(config), config], [sha256(layer), layer]]), layerDigest: sha256(layer), configDigest: sha256(config) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Blobs, temp files and half-unpacked layers in the daemon's store. */
async function storeState(daemon: TestDaemon): Promise<{ blobs: string[]; tmp: string[]; halfLayers: string[] }> {
  const blobs = await readdir(join(daemon.root, 'image', 'blobs', 'sha256'));
  const tmp = await readdir(join(daemon.root, 'image', 'tmp')).catch(() => []);
  const halfLayers = (await readdir(join(daemon.root, 'overlay'))).filter((name) => name.startsWith('.tmp-'));
  return { blobs: blobs.sort(), tmp, halfLayers };
}

describe('pull and push with registries', { skip }, () => {
  let daemon: TestDaemon;
  let registry: RunningRegistry;
  before(async () => {
    daemon = await startTestDaemon();
    registry = await startRegistry();
  });
  after(async () => {
    await daemon?.cleanup();
    await registry?.stop();
  });

  it('pushes busybox, pulls it back by tag and by digest, and runs it', async () => {
    const ref = `${registry.host}/tools/busybox:1`;
    assert.equal((await daemon.docker(['tag', 'busybox', ref])).exitCode, 0);
    const push = await daemon.docker(['push', ref]);
    assert.equal(push.exitCode, 0, push.stderr);
    assert.match(push.stdout, new RegExp(`The push refers to repository \\[${registry.host}/tools/busybox\\]`));
    const digest = /1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);
    // Pushing again finds every layer there.
    assert.match((await daemon.docker(['push', ref])).stdout, /Layer already exists/);

    assert.equal((await daemon.docker(['rmi', ref])).exitCode, 0);
    const pull = await daemon.docker(['pull', ref]);
    assert.equal(pull.exitCode, 0, pull.stderr);
    assert.match(pull.stdout, /1: Pulling from tools\/busybox/);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
    assert.match(pull.stdout, /Status: (Downloaded newer image|Image is up to date) for/);
    const digests = await daemon.docker(['image', 'ls', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}', `${registry.host}/tools/busybox`]);
    assert.match(digests.stdout, new RegExp(`tools/busybox 1 ${digest}`));
    const inspect = JSON.parse((await daemon.docker(['image', 'inspect', ref])).stdout) as Array<{ RepoDigests: string[] }>;
    assert.deepEqual(inspect[0]!.RepoDigests, [`${registry.host}/tools/busybox@${digest}`]);

    const byDigest = await daemon.docker(['pull', `${registry.host}/tools/busybox@${digest}`]);
    assert.equal(byDigest.exitCode, 0, byDigest.stderr);
    const run = await daemon.docker(['run', '--rm', ref, 'echo', 'pulled']);
    assert.equal(run.stdout, 'pulled\n', run.stderr);
    await daemon.docker(['rmi', ref, `${registry.host}/tools/busybox@${digest}`]);
  });

  it('streams docker\'s JSON progress, and a second pull of shared layers fetches nothing', async () => {
    const ref = `${registry.host}/tools/progress`;
    await daemon.docker(['tag', 'busybox', `${ref}:a`]);
    await daemon.docker(['tag', 'busybox', `${ref}:b`]);
    const push = await daemon.docker(['push', '--all-tags', ref]);
    assert.equal(push.exitCode, 0, push.stderr);
    await daemon.docker(['rmi', `${ref}:a`, `${ref}:b`, 'busybox']);
    const response = await daemon.api('POST', `/images/create?fromImage=${encodeURIComponent(ref)}&tag=a`);
    assert.equal(response.status, 200);
    const messages = response.body.trim().split('\n').map((line) => JSON.parse(line) as { status?: string; id?: string; progressDetail?: { current?: number; total?: number }; error?: string });
    assert.ok(messages.every((m) => m.error === undefined), response.body);
    assert.ok(messages.some((m) => m.status === 'Pulling fs layer' && m.id?.length === 12), response.body);
    assert.ok(messages.some((m) => m.status === 'Downloading' && typeof m.progressDetail?.total === 'number'));
    assert.ok(messages.some((m) => m.status === 'Pull complete'));
    assert.match(messages.at(-2)?.status ?? '', /^Digest: sha256:/);
    const second = await daemon.docker(['pull', `${ref}:b`]);
    assert.match(second.stdout, /Already exists/);
    assert.doesNotMatch(second.stdout, /Pull complete/);
    await daemon.docker(['tag', `${ref}:a`, 'busybox']);
    await daemon.docker(['rmi', `${ref}:a`, `${ref}:b`]);
  });

  it('refuses docker.io at once when the default registry is off, and reports an unreachable registry', async () => {
    const hub = await daemon.docker(['pull', 'alpine:3']);
    assert.notEqual(hub.exitCode, 0);
    assert.match(hub.stderr, /default registry \(docker\.io\) is switched off/);
    const missing = await daemon.docker(['pull', `${registry.host}/tools/nothing:1`]);
    assert.match(missing.stderr, /manifest for .*nothing:1 not found/);
    const refused = await daemon.docker(['pull', '127.0.0.1:1/x:1']);
    assert.match(refused.stderr, /connection refused/);
  });
});

describe('registries with authentication', { skip }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('logs in to an htpasswd registry with docker login, then pushes and pulls', async (t) => {
    const reason = await htpasswdSkipReason();
    if (reason !== undefined) return t.skip(cannotRun(reason) || undefined);
    const registry = await startRegistry({ kind: 'htpasswd', username: 'u', password: 'p' });
    try {
      const ref = `${registry.host}/x:1`;
      await daemon.docker(['tag', 'busybox', ref]);
      const anonymous = await daemon.docker(['push', ref]);
      assert.notEqual(anonymous.exitCode, 0);
      assert.match(anonymous.stderr + anonymous.stdout, /unauthorized|authentication required/);
      const bad = await daemon.docker(['login', registry.host, '-u', 'u', '-p', 'wrong']);
      assert.notEqual(bad.exitCode, 0);
      assert.match(bad.stderr, /401/);
      const login = await daemon.docker(['login', registry.host, '-u', 'u', '-p', 'p']);
      assert.equal(login.exitCode, 0, login.stderr);
      assert.match(login.stdout, /Login Succeeded/);
      const push = await daemon.docker(['push', ref]);
      assert.equal(push.exitCode, 0, push.stderr + push.stdout);
      await daemon.docker(['rmi', ref]);
      const pull = await daemon.docker(['pull', ref]);
      assert.equal(pull.exitCode, 0, pull.stderr);
      await daemon.docker(['logout', registry.host]);
      await daemon.docker(['rmi', ref]);
    } finally {
      await registry.stop();
    }
  });

  it('gets bearer tokens from a token server for push and pull', async () => {
    const tokens = await startTokenServer('tu', 'tp');
    const registry = await startRegistry({ kind: 'token', realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, certPath: tokens.certPath });
    try {
      const ref = `${registry.host}/team/app:1`;
      await daemon.docker(['tag', 'busybox', ref]);
      const login = await daemon.docker(['login', registry.host, '-u', 'tu', '-p', 'tp']);
      assert.equal(login.exitCode, 0, login.stderr);
      const push = await daemon.docker(['push', ref]);
      assert.equal(push.exitCode, 0, push.stderr + push.stdout);
      assert.ok(tokens.requests.some((r) => r.scope === 'repository:team/app:pull,push' && r.user === 'tu'), JSON.stringify(tokens.requests));
      await daemon.docker(['rmi', ref]);
      await daemon.docker(['logout', registry.host]);
      // Anonymous callers get pull-only tokens.
      const pull = await daemon.docker(['pull', ref]);
      assert.equal(pull.exitCode, 0, pull.stderr);
      await daemon.docker(['rmi', ref]);
    } finally {
      await registry.stop();
      await tokens.stop();
    }
  });
});

describe('pull integrity', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let fake: FakeRegistry;
  before(async () => {
    daemon = await startTestDaemon();
    fake = await startFakeRegistry();
  });
  after(async () => {
    await daemon?.cleanup();
    await fake?.stop();
  });

  for (const [fault, pattern] of [
    ['wrong-bytes', /digest mismatch/],
    ['truncated', /unexpected EOF/],
    ['cut-connection', /connection broke|unexpected EOF|aborted/],
  ] as const) {
    it(`fails a pull whose layer is ${fault}, leaving nothing behind`, async () => {
      const image = await makeImage();
      const before = await storeState(daemon);
      fake.serve('bad/img', fault, image.manifest, 'application/vnd.docker.distribution.manifest.v2+json', image.blobs);
      fake.fault(image.layerDigest, fault);
      const pull = await daemon.docker(['pull', `${fake.host}/bad/img:${fault}`]);
      assert.notEqual(pull.exitCode, 0);
      assert.match(pull.stderr + pull.stdout, pattern);
      assert.equal((await daemon.docker(['image', 'ls', '-q', `${fake.host}/bad/img`])).stdout.trim(), '');
      assert.deepEqual(await storeState(daemon), before);
      // Healed, the same pull works.
      fake.fault(image.layerDigest, undefined);
      const again = await daemon.docker(['pull', `${fake.host}/bad/img:${fault}`]);
      assert.equal(again.exitCode, 0, again.stderr);
      assert.equal((await daemon.docker(['rmi', `${fake.host}/bad/img:${fault}`])).exitCode, 0);
      assert.deepEqual(await storeState(daemon), before);
    });
  }

  it('rejects malformed manifests and configs with one clear line', async () => {
    const before = await storeState(daemon);
    const media = 'application/vnd.docker.distribution.manifest.v2+json';
    fake.serve('bad/json', '1', Buffer.from('{"schemaVersion": 2, "config": '), media, new Map());
    const notJson = await daemon.docker(['pull', `${fake.host}/bad/json:1`]);
    assert.match(notJson.stderr, /malformed manifest: the manifest is not JSON/);
    fake.serve('bad/digest', '1', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: media, config: { mediaType: 'x', size: 2, digest: 'sha256:zz' }, layers: [] })), media, new Map());
    const badDigest = await daemon.docker(['pull', `${fake.host}/bad/digest:1`]);
    assert.match(badDigest.stderr, /malformed manifest: the config has no valid sha256 digest/);
    const image = await makeImage();
    const wrongManifest = Buffer.from(image.manifest.toString().replace(image.configDigest.slice(7, 20), '0000000000000'));
    fake.serve('bad/config', '1', wrongManifest, media, image.blobs);
    const missingBlob = await daemon.docker(['pull', `${fake.host}/bad/config:1`]);
    assert.notEqual(missingBlob.exitCode, 0);
    assert.equal(missingBlob.stderr.trim().split('\n').length, 1, missingBlob.stderr);
    assert.deepEqual(await storeState(daemon), before);
  });

  it('recovers from kill -9 during a pull: nothing half-made stays, and the pull then completes', async () => {
    const image = await makeImage();
    const before = await storeState(daemon);
    fake.serve('kill/img', '1', image.manifest, 'application/vnd.docker.distribution.manifest.v2+json', image.blobs);
    fake.fault(image.layerDigest, 'stall');
    const stalled = fake.stalled();
    const pull = daemon.docker(['pull', `${fake.host}/kill/img:1`]);
    await stalled;
    await daemon.kill9();
    await pull;
    fake.fault(image.layerDigest, undefined);
    await daemon.restart();
    assert.deepEqual(await storeState(daemon), before);
    const again = await daemon.docker(['pull', `${fake.host}/kill/img:1`]);
    assert.equal(again.exitCode, 0, again.stderr);
    await daemon.docker(['rmi', `${fake.host}/kill/img:1`]);
    assert.deepEqual(await storeState(daemon), before);
  });
});
