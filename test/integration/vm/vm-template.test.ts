/**
 * VM templates (src/vm/vm-template.ts, docs/vm.md): the first VM container of a shape boots as
 * the template and is restored from it, later ones are restored clones. A clone runs like a cold
 * boot, gets its own entropy, boot id, hostname, IP and the right clock; a template that cannot
 * serve means a cold boot with the reason in the shim's log; rm leaves no QEMU, state or cgroup;
 * a kill -9 of berthd changes nothing for the templates.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const VM_TIMEOUT_MS = 120_000;

/** Host processes of QEMU or the shim whose command line mentions marker. */
async function vmProcessesMentioning(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const args = cmdline.split('\0');
    if (cmdline.includes(marker) && /(qemu-system-x86_64|berth-vm-shim)$/.test(args[0] ?? '')) found.push(args.join(' '));
  }
  return found;
}

describe('vm isolation: templates', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  const templatesDir = (): string => join(daemon.execRoot, 'runtime', 'berth-vm-templates');
  const shimLog = (id: string): Promise<string> => readFile(join(daemon.execRoot, 'runtime', 'berth-vm', id, 'shim.log'), 'utf8');
  const madeTemplates = async (): Promise<string[]> => {
    const names = await readdir(templatesDir()).catch(() => [] as string[]);
    const made: string[] = [];
    for (const name of names) {
      if (await stat(join(templatesDir(), name, 'made')).then(() => true, () => false)) made.push(name);
    }
    return made;
  };
  const runDetached = async (args: string[]): Promise<string> => {
    const run = await daemon.docker(['run', '-d', '--isolation=vm', ...args], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    return run.stdout.trim();
  };
  const exec = async (id: string, script: string): Promise<string> => {
    const result = await daemon.docker(['exec', id, 'sh', '-c', script], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(result.exitCode, 0, result.stderr);
    return result.stdout;
  };

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('boots the first VM of a shape as the template; later ones are clones that run like cold boots', async () => {
    const first = await runDetached(['busybox', 'sleep', '1000']);
    assert.match(await shimLog(first), /booted as the template and restored from it/);
    assert.equal((await madeTemplates()).length, 1);
    const clone = await runDetached(['busybox', 'sleep', '1000']);
    assert.match(await shimLog(clone), /restored from the template in \d+ ms/);
    assert.equal(await exec(clone, 'echo out; echo err >&2; cat /etc/hostname; ls /proc/1 >/dev/null && echo proc'), `out\n${clone.slice(0, 12)}\nproc\n`);
    const failing = await daemon.docker(['exec', clone, 'sh', '-c', 'exit 7'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(failing.exitCode, 7);
    const oneShot = await daemon.docker(['run', '--rm', '--isolation=vm', 'busybox', 'sh', '-c', 'echo one-shot; exit 3'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(oneShot.exitCode, 3, oneShot.stderr);
    assert.equal(oneShot.stdout, 'one-shot\n');
    assert.equal((await daemon.docker(['rm', '-f', first, clone], { timeoutMs: VM_TIMEOUT_MS })).exitCode, 0);
  });

  it('gives each clone its own entropy, boot id, hostname, MAC and IP, and the right clock', async () => {
    const a = await runDetached(['busybox', 'sleep', '1000']);
    const b = await runDetached(['busybox', 'sleep', '1000']);
    for (const id of [a, b]) assert.match(await shimLog(id), /restored from the template/);
    const probe = 'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \\n"; echo; cat /proc/sys/kernel/random/boot_id; hostname; ip -o -4 addr show eth0 | awk \'{print $4}\'; cat /sys/class/net/eth0/address';
    const [fromA, fromB] = [(await exec(a, probe)).split('\n'), (await exec(b, probe)).split('\n')];
    assert.match(fromA[0]!, /^[0-9a-f]{64}$/);
    assert.notEqual(fromA[0], fromB[0], 'different random bytes');
    assert.match(fromA[1]!, /^[0-9a-f-]{36}$/);
    assert.notEqual(fromA[1], fromB[1], 'different boot ids');
    assert.deepEqual([fromA[2], fromB[2]], [a.slice(0, 12), b.slice(0, 12)]);
    const inspect = JSON.parse((await daemon.docker(['inspect', a, b])).stdout) as { NetworkSettings: { IPAddress: string; IPPrefixLen: number; MacAddress: string } }[];
    assert.deepEqual([fromA[3], fromB[3]], inspect.map((c) => `${c.NetworkSettings.IPAddress}/${c.NetworkSettings.IPPrefixLen}`));
    assert.deepEqual([fromA[4], fromB[4]], inspect.map((c) => c.NetworkSettings.MacAddress));
    assert.notEqual(fromA[3], fromB[3]);
    // The clone's clock is the host's, not the template's from when it was saved.
    const before = Date.now() / 1000;
    const guestNow = Number((await exec(a, 'date +%s')).trim());
    const after = Date.now() / 1000;
    assert.ok(guestNow >= Math.floor(before) - 1 && guestNow <= Math.ceil(after) + 1, `guest clock ${guestNow} within [${before}, ${after}]`);
    // The two clones reach each other over the bridge.
    assert.match(await exec(a, `ping -c 1 -W 5 ${inspect[1]!.NetworkSettings.IPAddress} >/dev/null && echo reached`), /reached/);
    assert.equal((await daemon.docker(['rm', '-f', a, b], { timeoutMs: VM_TIMEOUT_MS })).exitCode, 0);
  });

  it('boots cold, saying why, when the template cannot serve', async () => {
    const [name] = await madeTemplates();
    assert.ok(name, 'a template from the tests before');
    await writeFile(join(templatesDir(), name, 'state'), 'not a migration stream');
    const id = await runDetached(['busybox', 'sh', '-c', 'echo cold; exec sleep 1000']);
    assert.match(await shimLog(id), /template .* cannot serve: .*; cold boot/);
    assert.match(await shimLog(id), /\bbooted in \d+ ms/);
    assert.equal(await exec(id, 'echo still-works'), 'still-works\n');
    const logs = await daemon.docker(['logs', id]);
    assert.equal(logs.stdout, 'cold\n');
    assert.equal((await daemon.docker(['rm', '-f', id], { timeoutMs: VM_TIMEOUT_MS })).exitCode, 0);
    // The broken template is gone; the next VM of the shape makes a new one.
    const next = await runDetached(['busybox', 'sleep', '1000']);
    assert.match(await shimLog(next), /booted as the template and restored from it/);
    assert.equal((await daemon.docker(['rm', '-f', next], { timeoutMs: VM_TIMEOUT_MS })).exitCode, 0);
  });

  it('leaves no QEMU, shim, state or cgroup after rm, only the made templates', async () => {
    const ids = [await runDetached(['--network', 'none', 'busybox', 'sleep', '1000']), await runDetached(['--network', 'none', 'busybox', 'sleep', '1000'])];
    assert.match(await shimLog(ids[1]!), /restored from the template/);
    assert.equal((await daemon.docker(['rm', '-f', ...ids], { timeoutMs: VM_TIMEOUT_MS })).exitCode, 0);
    let left: string[] = [];
    for (let i = 0; i < 50; i++) {
      left = await vmProcessesMentioning(daemon.dir);
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(left, [], 'no QEMU or shim left');
    assert.deepEqual(await readdir(join(daemon.execRoot, 'runtime', 'berth-vm')), [], 'no berth-vm state left');
    for (const id of ids) assert.equal(await stat(`/sys/fs/cgroup/berth/${id}`).then(() => true, () => false), false, `no cgroup of ${id}`);
    const names = await readdir(templatesDir());
    assert.deepEqual(names.filter((n) => !/^[0-9a-f]{16}$/.test(n)), [], 'nothing half-made beside the templates');
    assert.deepEqual((await madeTemplates()).sort(), names.sort());
  });

  it('keeps serving clones across a kill -9 of berthd', async () => {
    const running = await runDetached(['busybox', 'sleep', '1000']);
    await daemon.kill9();
    await daemon.restart();
    assert.equal(await exec(running, 'echo alive'), 'alive\n');
    const clone = await runDetached(['busybox', 'sleep', '1000']);
    assert.match(await shimLog(clone), /restored from the template/);
    assert.equal(await exec(clone, 'echo after-restart'), 'after-restart\n');
    assert.equal((await daemon.docker(['rm', '-f', running, clone], { timeoutMs: VM_TIMEOUT_MS })).exitCode, 0);
  });
});
