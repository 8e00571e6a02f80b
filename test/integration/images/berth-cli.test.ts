/**
 * Berth's own CLI for images against a private berthd and Debian's docker-registry on
 * 127.0.0.1: push, pull (by tag and by digest, plain progress lines off a terminal), image ls
 * --digests, save/load, import with --change, system df, and login/logout with an htpasswd
 * registry (credentials stored in $BERTH_CONFIG/config.json and sent as X-Registry-Auth).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, type CommandResult } from '../../../src/sys/index.js';
import { NO_DOCKER, cannotRun, REPO, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';
import { type RunningRegistry, htpasswdSkipReason, registrySkipReason, startRegistry } from './registries.js';

const skip = cannotRun(!hasDocker ? NO_DOCKER : registrySkipReason);

describe('berth image commands', { skip }, () => {
  let daemon: TestDaemon;
  let registry: RunningRegistry;
  let scratch: string;
  // berth with a private config dir, so login never touches the machine's ~/.berth.
  const berth = (args: string[], input?: string): Promise<CommandResult> =>
    runCommand(process.execPath, [join(REPO, 'dist/src/bin/berth.js'), ...args], {
      env: { ...daemon.env, BERTH_CONFIG: join(scratch, 'berth-config') },
      timeoutMs: 120_000,
      ...(input !== undefined ? { input } : {}),
    });

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-cli-images-'));
    daemon = await startTestDaemon();
    registry = await startRegistry();
  });
  after(async () => {
    await daemon?.cleanup();
    await registry?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('pushes, then pulls by tag and by digest with docker\'s plain progress lines', async () => {
    const ref = `${registry.host}/cli/busybox:1`;
    assert.equal((await berth(['tag', 'busybox', ref])).exitCode, 0);
    const push = await berth(['push', ref]);
    assert.equal(push.exitCode, 0, push.stderr);
    assert.match(push.stdout, new RegExp(`The push refers to repository \\[${registry.host}/cli/busybox\\]`));
    assert.match(push.stdout, /^[0-9a-f]{12}: Pushed$/m);
    const digest = /^1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);
    assert.doesNotMatch(push.stdout, /\x1b\[/, 'no cursor moves off a terminal');

    assert.equal((await berth(['rmi', ref])).exitCode, 0);
    const pull = await berth(['pull', ref]);
    assert.equal(pull.exitCode, 0, pull.stderr);
    assert.match(pull.stdout, /^1: Pulling from cli\/busybox$/m);
    // busybox:latest still holds the layer: docker says so rather than fetching it again.
    assert.match(pull.stdout, /^[0-9a-f]{12}: Already exists$/m);
    assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
    assert.match(pull.stdout, new RegExp(`^Status: Downloaded newer image for ${registry.host}/cli/busybox:1$`, 'm'));
    assert.equal(pull.stdout.trim().split('\n').at(-1), ref);
    assert.doesNotMatch(pull.stdout, /Downloading|\x1b\[/, 'byte counters only on a terminal');

    const quiet = await berth(['pull', '-q', ref]);
    assert.equal(quiet.exitCode, 0, quiet.stderr);
    assert.equal(quiet.stdout, `${ref}\n`);

    const byDigest = `${registry.host}/cli/busybox@${digest}`;
    const pulledByDigest = await berth(['pull', byDigest]);
    assert.equal(pulledByDigest.exitCode, 0, pulledByDigest.stderr);
    const listed = await berth(['image', 'ls', '--digests', `${registry.host}/cli/busybox`]);
    assert.equal(listed.exitCode, 0, listed.stderr);
    assert.match(listed.stdout, /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/m);
    assert.ok(listed.stdout.includes(digest!), listed.stdout);

    const missing = await berth(['pull', `${registry.host}/cli/nothing:1`]);
    assert.equal(missing.exitCode, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /^Error response from daemon: /);
    // Removing the last tag removes the digest reference with the image, as docker does.
    assert.equal((await berth(['rmi', ref])).exitCode, 0);
    assert.equal((await berth(['images', '-q', `${registry.host}/cli/busybox`])).stdout, '');
  });

  it('saves to a file and loads it back, tags kept', async () => {
    await berth(['tag', 'busybox', 'cli-saved:1']);
    const archive = join(scratch, 'saved.tar');
    const save = await berth(['save', '-o', archive, 'cli-saved:1']);
    assert.equal(save.exitCode, 0, save.stderr);
    assert.ok((await stat(archive)).size > 0);
    const listing = (await runCommand('tar', ['-tf', archive])).stdout;
    assert.match(listing, /^manifest\.json$/m);
    assert.equal((await berth(['rmi', 'cli-saved:1'])).exitCode, 0);
    const load = await berth(['load', '-i', archive]);
    assert.equal(load.exitCode, 0, load.stderr);
    assert.match(load.stdout, /^Loaded image: cli-saved:1$/m);
    const quiet = await berth(['load', '-q', '-i', archive]);
    assert.equal(quiet.exitCode, 0, quiet.stderr);
    assert.match(quiet.stdout, /^Loaded image: cli-saved:1$/m);

    const notThere = await berth(['save', '-o', join(scratch, 'none.tar'), 'cli-no-such-image']);
    assert.equal(notThere.exitCode, 1);
    assert.match(notThere.stderr, /No such image|no such image/i);
    await assert.rejects(stat(join(scratch, 'none.tar')), 'no file is left for a failed save');
    const badInput = await berth(['load', '-i', join(scratch, 'absent.tar')]);
    assert.equal(badInput.exitCode, 1);
    assert.equal(badInput.stderr.trim().split('\n').length, 1, badInput.stderr);
    assert.equal((await berth(['rmi', 'cli-saved:1'])).exitCode, 0);
  });

  it('imports a root filesystem tar from a file and from stdin, with --change and -m', async () => {
    const root = join(scratch, 'rootfs');
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc', 'greeting'), 'hello\n');
    const tarPath = join(scratch, 'rootfs.tar');
    assert.equal((await runCommand('tar', ['-C', root, '-cf', tarPath, '.'])).exitCode, 0);

    const imported = await berth(['import', '-c', 'CMD ["/bin/sh"]', '-c', 'ENV A=1 B="two words"', '-c', 'EXPOSE 80', '-m', 'from berth', tarPath, 'cli-imported:1']);
    assert.equal(imported.exitCode, 0, imported.stderr);
    assert.match(imported.stdout, /^sha256:[0-9a-f]{64}$/m);
    const inspect = JSON.parse((await berth(['image', 'inspect', 'cli-imported:1'])).stdout) as Array<{ Config: { Cmd: string[]; Env: string[]; ExposedPorts: Record<string, unknown> }; Comment: string }>;
    assert.deepEqual(inspect[0]!.Config.Cmd, ['/bin/sh']);
    assert.deepEqual(inspect[0]!.Config.Env, ['A=1', 'B=two words']);
    assert.deepEqual(Object.keys(inspect[0]!.Config.ExposedPorts), ['80/tcp']);
    assert.equal(inspect[0]!.Comment, 'from berth');

    const tarText = await readFile(tarPath, 'latin1');
    const fromStdin = await berth(['import', '-', 'cli-imported:2'], tarText);
    assert.equal(fromStdin.exitCode, 0, fromStdin.stderr);

    // The same parser as commit: docker's words for a refused change, and nothing stored.
    const before = (await berth(['images', '-q'])).stdout;
    const refused = await berth(['import', '-c', 'RUN true', tarPath, 'cli-imported:3']);
    assert.equal(refused.exitCode, 1);
    assert.equal(refused.stderr.trim(), 'Error response from daemon: RUN is not a valid change command');
    assert.equal((await berth(['images', '-q'])).stdout, before);
    assert.equal((await berth(['rmi', 'cli-imported:1', 'cli-imported:2'])).exitCode, 0);
  });

  it('reports disk usage with system df and -v', async () => {
    const df = await berth(['system', 'df']);
    assert.equal(df.exitCode, 0, df.stderr);
    assert.match(df.stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/m);
    assert.match(df.stdout, /^Images\s+\d+\s+\d+\s+\S+\s+\S+/m);
    assert.match(df.stdout, /^Containers\s+\d+\s+\d+/m);
    assert.match(df.stdout, /^Local Volumes\s+\d+\s+\d+/m);
    assert.match(df.stdout, /^Build Cache\s+\d+\s+\d+/m);
    const verbose = await berth(['system', 'df', '-v']);
    assert.equal(verbose.exitCode, 0, verbose.stderr);
    assert.match(verbose.stdout, /^Images space usage:$/m);
    assert.match(verbose.stdout, /^busybox\s+latest\s+[0-9a-f]{12}/m);
    assert.match(verbose.stdout, /^Containers space usage:$/m);
    assert.match(verbose.stdout, /^Local Volumes space usage:$/m);
    const formatted = await berth(['system', 'df', '--format', '{{.Type}}={{.TotalCount}}']);
    assert.match(formatted.stdout, /^Images=\d+$/m);
  });

  it('logs in to an htpasswd registry, stores credentials as docker does, pushes with them, logs out', async (t) => {
    const reason = await htpasswdSkipReason();
    if (reason !== undefined) return t.skip(cannotRun(reason) || undefined);
    const secured = await startRegistry({ kind: 'htpasswd', username: 'cu', password: 'cp' });
    try {
      const ref = `${secured.host}/cli/x:1`;
      await berth(['tag', 'busybox', ref]);
      const anonymous = await berth(['push', ref]);
      assert.equal(anonymous.exitCode, 1);
      assert.match(anonymous.stderr, /unauthorized|authentication required/);

      const wrong = await berth(['login', '-u', 'cu', '--password-stdin', secured.host], 'nope\n');
      assert.equal(wrong.exitCode, 1);
      assert.match(wrong.stderr, /^Error response from daemon: /);
      const noUser = await berth(['login', '--password-stdin', secured.host], 'cp\n');
      assert.equal(noUser.exitCode, 1);
      assert.equal(noUser.stderr.trim(), 'Must provide --username with --password-stdin');

      const login = await berth(['login', '-u', 'cu', '--password-stdin', secured.host], 'cp\n');
      assert.equal(login.exitCode, 0, login.stderr);
      assert.equal(login.stdout, 'Login Succeeded\n');
      const config = JSON.parse(await readFile(join(scratch, 'berth-config', 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
      assert.equal(Buffer.from(config.auths[secured.host]!.auth, 'base64').toString(), 'cu:cp');
      assert.equal((await stat(join(scratch, 'berth-config', 'config.json'))).mode & 0o777, 0o600);

      const push = await berth(['push', ref]);
      assert.equal(push.exitCode, 0, push.stderr + push.stdout);
      assert.equal((await berth(['rmi', ref])).exitCode, 0);
      const pull = await berth(['pull', ref]);
      assert.equal(pull.exitCode, 0, pull.stderr);

      const logout = await berth(['logout', secured.host]);
      assert.equal(logout.stdout, `Removing login credentials for ${secured.host}\n`);
      assert.equal((await berth(['logout', secured.host])).stdout, `Not logged in to ${secured.host}\n`);
      assert.equal((await berth(['pull', ref.replace(':1', ':2')])).exitCode, 1);
      await berth(['rmi', ref]);
    } finally {
      await secured.stop();
    }
  });
});
