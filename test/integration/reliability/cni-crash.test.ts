/**
 * berthd killed in the middle of a `network connect`'s CNI ADD, on a container that keeps running:
 * the bridge plugin (Debian's, behind a wrapper that holds an ADD on the bridge slowbr0 back for
 * a few seconds) outlives the daemon and finishes its ADD orphaned. The restarted daemon waits
 * for it, then takes the half-made endpoint away (no veth, no lease, no interface in the
 * container, nothing in inspect); the container runs on and the connect can be repeated.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRASH_AT_ENV } from '../../../src/common/index.js';
import { startTestDaemon, type TestDaemon } from '../harness.js';

/** Network links on the host whose names start with `prefix`. */
async function hostLinks(prefix: string): Promise<string[]> {
  return (await readdir('/sys/class/net')).filter((link) => link.startsWith(prefix)).sort();
}

/** IP lease files host-local holds under the daemon's root (`<network>/<address>`). */
async function leases(daemon: TestDaemon): Promise<string[]> {
  const out: string[] = [];
  const dir = join(daemon.root, 'networks', 'ipam');
  for (const network of await readdir(dir).catch(() => [] as string[])) {
    for (const lease of await readdir(join(dir, network)).catch(() => [] as string[])) if (/^[\d.]+$/.test(lease)) out.push(`${network}/${lease}`);
  }
  return out.sort();
}

describe('a crash during the CNI ADD of a network connect', () => {
  let daemon: TestDaemon;
  let scratch = '';
  let addDone = '';
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-cni-crash-'));
    addDone = join(scratch, 'add-done');
    const pluginDir = join(scratch, 'cni');
    await mkdir(pluginDir);
    for (const plugin of await readdir('/usr/lib/cni')) if (plugin !== 'bridge') await symlink(join('/usr/lib/cni', plugin), join(pluginDir, plugin));
    // Debian's bridge, except that an ADD on slowbr0 waits 3 s first and records its status when
    // done (its output captured: the daemon that would read it is gone by then).
    await writeFile(join(pluginDir, 'bridge'), [
      '#!/bin/sh',
      'config=$(cat)',
      'case "$CNI_COMMAND:$config" in',
      `  ADD:*slowbr0*) sleep 3; out=$(printf %s "$config" | /usr/lib/cni/bridge); status=$?; echo "$status" > ${addDone}; printf %s "$out"; exit $status ;;`,
      'esac',
      'printf %s "$config" | exec /usr/lib/cni/bridge',
      '',
    ].join('\n'));
    await chmod(join(pluginDir, 'bridge'), 0o755);
    daemon = await startTestDaemon({ daemonArgs: ['--cni-plugin-dir', pluginDir] });
  });
  after(async () => {
    await daemon?.cleanup();
    if (scratch !== '') await rm(scratch, { recursive: true, force: true });
  });

  async function ok(args: string[]): Promise<string> {
    const result = await daemon.docker(args);
    assert.equal(result.exitCode, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  }

  it('waits for the orphaned plugin, then undoes the half-made endpoint; the container runs on', async () => {
    const vethsAtFirst = await hostLinks('veth');
    const leasesAtFirst = await leases(daemon);
    await ok(['network', 'create', '-o', 'com.docker.network.bridge.name=slowbr0', 'slow-net']);
    await ok(['run', '-d', '--name', 'connected', 'busybox', 'sleep', '1000']);
    // With the container's own endpoint on the default bridge.
    const vethsBefore = await hostLinks('veth');
    const leasesBefore = await leases(daemon);

    await daemon.kill9();
    await daemon.restart({ daemonEnv: { [CRASH_AT_ENV]: 'network-connect.cni-adding' } });
    const crashed = daemon.exited();
    const connect = daemon.docker(['network', 'connect', 'slow-net', 'connected']);
    const reached = await Promise.race([crashed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30_000))]);
    assert.ok(reached, 'the daemon never reached network-connect.cni-adding');
    assert.notEqual((await connect).exitCode, 0, 'the connect died with the daemon');
    await daemon.restart({ daemonEnv: {} });

    // The orphaned ADD did finish (so there was something to undo), and nothing of it is left.
    assert.equal((await readFile(addDone, 'utf8')).trim(), '0', 'the orphaned bridge ADD succeeded');
    assert.deepEqual(await hostLinks('veth'), vethsBefore, 'no veth of the cut-short connect');
    assert.deepEqual(await leases(daemon), leasesBefore, 'no IP lease of the cut-short connect');
    assert.equal(await ok(['inspect', '-f', '{{.State.Running}}', 'connected']), 'true');
    assert.equal(await ok(['inspect', '-f', '{{range $name, $n := .NetworkSettings.Networks}}{{$name}} {{end}}', 'connected']), 'bridge');
    assert.equal(await ok(['exec', 'connected', 'sh', '-c', 'ls /sys/class/net | grep -c ^eth']), '1');
    const check = await daemon.berth(['system', 'check']);
    assert.equal(check.exitCode, 0, check.stdout);

    // Repeating the connect works (held back again, then done).
    await rm(addDone, { force: true });
    await ok(['network', 'connect', 'slow-net', 'connected']);
    assert.equal(await ok(['exec', 'connected', 'sh', '-c', 'ls /sys/class/net | grep -c ^eth']), '2');
    assert.equal((await leases(daemon)).length, leasesBefore.length + 1);
    await ok(['rm', '-f', 'connected']);
    await ok(['network', 'rm', 'slow-net']);
    assert.deepEqual(await hostLinks('veth'), vethsAtFirst, 'no veth left');
    assert.deepEqual(await leases(daemon), leasesAtFirst, 'no IP lease left');
  });
});
