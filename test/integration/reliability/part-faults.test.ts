/**
 * Faults of the parts under berthd, injected with real parts: an OCI runtime (crun behind a
 * wrapper given with --add-runtime) that fails right after it created the container, a CNI
 * plugin (bridge behind a wrapper in a plugin directory given with --cni-plugin-dir) that fails
 * after it did its work, and a registry connection cut mid-layer. Each gives one clear line of
 * error and leaves nothing behind: no mount, conmon directory, cgroup, runtime state, veth, IP
 * lease, blob or unpacked layer (`berth system check` and counts on the host).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';
import { type FakeRegistry, startFakeRegistry } from '../images/registries.js';
import { MANIFEST_V2, makeLayeredImage, storeContents } from './layered-image.js';

const skip = cannotRun(!hasDocker && NO_DOCKER);

/** Network links on the host whose names start with `prefix`. */
async function hostLinks(prefix: string): Promise<string[]> {
  return (await readdir('/sys/class/net')).filter((link) => link.startsWith(prefix));
}

/** The lines of a docker CLI error, without its usage hint. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith("Run 'docker"));
}

/** IP lease files host-local holds under the daemon's root. */
async function leases(daemon: TestDaemon): Promise<string[]> {
  const out: string[] = [];
  const dir = join(daemon.root, 'networks', 'ipam');
  for (const network of await readdir(dir).catch(() => [] as string[])) {
    for (const lease of await readdir(join(dir, network)).catch(() => [] as string[])) if (/^[\d.]+$/.test(lease)) out.push(`${network}/${lease}`);
  }
  return out.sort();
}

describe('faults of the parts: each a clear error, nothing left behind', { skip }, () => {
  let daemon: TestDaemon;
  let registry: FakeRegistry;
  let scratch = '';
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-faults-'));
    // crun, except that `create` fails once crun has created the container.
    const runtime = join(scratch, 'failing-runtime');
    await writeFile(runtime, '#!/bin/sh\nfor arg; do\n  if [ "$arg" = create ]; then\n    /usr/bin/crun "$@" || exit $?\n    echo "injected fault: the runtime failed after create" >&2\n    exit 1\n  fi\ndone\nexec /usr/bin/crun "$@"\n');
    await chmod(runtime, 0o755);
    // Debian's CNI plugins, except that bridge fails an ADD after doing it on the bridge
    // faultbr0 (the other networks work as usual).
    const pluginDir = join(scratch, 'cni');
    await mkdir(pluginDir);
    for (const plugin of await readdir('/usr/lib/cni')) if (plugin !== 'bridge') await symlink(join('/usr/lib/cni', plugin), join(pluginDir, plugin));
    await writeFile(join(pluginDir, 'bridge'), [
      '#!/bin/sh',
      'config=$(cat)',
      'out=$(printf %s "$config" | /usr/lib/cni/bridge)',
      'status=$?',
      'case "$status:$CNI_COMMAND:$config" in',
      '  0:ADD:*faultbr0*) printf \'{"cniVersion":"1.0.0","code":11,"msg":"injected fault: bridge failed after ADD"}\'; exit 1 ;;',
      'esac',
      'printf %s "$out"',
      'exit $status',
      '',
    ].join('\n'));
    await chmod(join(pluginDir, 'bridge'), 0o755);
    daemon = await startTestDaemon({ daemonArgs: ['--add-runtime', `failing=${runtime}`, '--cni-plugin-dir', pluginDir] });
    registry = await startFakeRegistry();
  });
  after(async () => {
    await daemon?.cleanup();
    await registry?.stop();
    if (scratch !== '') await rm(scratch, { recursive: true, force: true });
  });

  async function clean(): Promise<void> {
    const check = await daemon.berth(['system', 'check']);
    assert.equal(check.exitCode, 0, check.stdout);
  }

  it('a runtime failing after create: one line, the container stays created, nothing of its run is left', async () => {
    const veths = await hostLinks('veth');
    const leasesBefore = await leases(daemon);
    const run = await daemon.docker(['run', '--runtime', 'failing', '--name', 'rt-fault', 'busybox', 'true']);
    assert.equal(run.exitCode, 125, run.stderr);
    assert.match(run.stderr, /injected fault: the runtime failed after create/);
    assert.equal(errorLines(run.stderr).length, 1, run.stderr);
    const status = await daemon.docker(['inspect', '-f', '{{.State.Status}}', 'rt-fault']);
    assert.equal(status.stdout.trim(), 'created');
    await clean();
    assert.deepEqual(await hostLinks('veth'), veths, 'no veth left');
    assert.deepEqual(await leases(daemon), leasesBefore, 'no IP lease left');
    assert.deepEqual(await readdir(join(daemon.execRoot, 'runtime', 'failing')).catch(() => []), [], 'no runtime state left');
    assert.equal((await daemon.docker(['rm', 'rt-fault'])).exitCode, 0);
    // With --rm not even the record stays.
    const gone = await daemon.docker(['run', '--rm', '--runtime', 'failing', '--name', 'rt-fault-rm', 'busybox', 'true']);
    assert.notEqual(gone.exitCode, 0);
    assert.equal((await daemon.docker(['inspect', 'rt-fault-rm'])).exitCode, 1);
    await clean();
  });

  it('a CNI plugin failing after its ADD: one line, no veth, lease or namespace left, other networks unharmed', async () => {
    assert.equal((await daemon.docker(['network', 'create', '-o', 'com.docker.network.bridge.name=faultbr0', 'fault-net'])).exitCode, 0);
    const veths = await hostLinks('veth');
    const leasesBefore = await leases(daemon);
    const run = await daemon.docker(['run', '--network', 'fault-net', '--name', 'cni-fault', 'busybox', 'true']);
    assert.notEqual(run.exitCode, 0);
    assert.match(run.stderr, /injected fault: bridge failed after ADD/);
    assert.equal(errorLines(run.stderr).length, 1, run.stderr);
    await clean();
    assert.deepEqual(await hostLinks('veth'), veths, 'no veth left');
    assert.deepEqual(await leases(daemon), leasesBefore, 'no IP lease left');
    assert.equal((await daemon.docker(['rm', 'cni-fault'])).exitCode, 0);
    // The lease check means something: a running container holds one.
    const holder = await daemon.docker(['run', '-d', '--network', 'fault-net', '--name', 'cni-holder', 'busybox', 'sleep', '1000']);
    assert.notEqual(holder.exitCode, 0, 'the faulty bridge fails every ADD on fault-net');
    assert.equal((await daemon.docker(['rm', '-f', 'cni-holder'])).exitCode, 0);
    const running = await daemon.docker(['run', '-d', '--name', 'lease-holder', 'busybox', 'sleep', '1000']);
    assert.equal(running.exitCode, 0, running.stderr);
    assert.equal((await leases(daemon)).length, leasesBefore.length + 1);
    assert.equal((await daemon.docker(['rm', '-f', 'lease-holder'])).exitCode, 0);
    const ok = await daemon.docker(['run', '--rm', 'busybox', 'sh', '-c', 'ip -4 addr show eth0 | grep -c inet']);
    assert.equal(ok.stdout.trim(), '1', ok.stderr);
    assert.equal((await daemon.docker(['network', 'rm', 'fault-net'])).exitCode, 0);
    await clean();
  });

  it('a registry connection cut in the second of three layers: one line, no blob or unpacked layer left', async () => {
    const image = await makeLayeredImage(3, 1024 * 1024);
    const before = await storeContents(daemon.root);
    registry.serve('fault/pull', '1', image.manifest, MANIFEST_V2, image.blobs);
    registry.fault(image.layerDigests[1]!, 'cut-connection');
    const ref = `${registry.host}/fault/pull:1`;
    const pull = await daemon.docker(['pull', ref]);
    assert.equal(pull.exitCode, 1);
    assert.match(pull.stderr, /connection broke|unexpected EOF/);
    assert.equal(errorLines(pull.stderr).length, 1, pull.stderr);
    assert.deepEqual(await storeContents(daemon.root), before);
    await clean();
    registry.fault(image.layerDigests[1]!, undefined);
    assert.equal((await daemon.docker(['pull', ref])).exitCode, 0);
    assert.equal((await daemon.docker(['rmi', ref])).exitCode, 0);
    assert.deepEqual(await storeContents(daemon.root), before);
  });
});
