/**
 * VM containers on Debian's prebuilt kernel (`scripts/setup --prebuilt-kernel`), the fallback
 * to Berth's own: the modules it lacks built in come from the initramfs and the agent loads
 * them, ACPI finds the virtio-mmio devices, and the run behaves as on Berth's kernel. Runs when
 * the prebuilt kernel is in the cache (/var/cache/berth/prebuilt-*, or BERTH_PREBUILT_KERNEL
 * naming a vmlinux); berth-vm is pointed at it through BERTH_VM_KERNEL, so the machine's
 * default kernel stays as it is.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const CACHE = '/var/cache/berth';
const VM_TIMEOUT_MS = 180_000;

async function prebuiltKernel(): Promise<string | undefined> {
  if (process.env.BERTH_PREBUILT_KERNEL) return process.env.BERTH_PREBUILT_KERNEL;
  const names = await readdir(CACHE).catch(() => [] as string[]);
  const dir = names.filter((n) => /^prebuilt-[0-9a-f]+$/.test(n)).map((n) => join(CACHE, n)).find((d) => existsSync(join(d, 'vmlinux')));
  return dir ? join(dir, 'vmlinux') : undefined;
}

const kernel = await prebuiltKernel();
const skip = cannotRun(!hasDocker ? NO_DOCKER : !kernel && 'no prebuilt kernel in /var/cache/berth (scripts/setup-guest-kernel --prebuilt-kernel)');

describe("vm isolation on Debian's prebuilt kernel", { skip }, () => {
  let daemon: TestDaemon;
  let scratch: string;
  const savedKernel = process.env.BERTH_VM_KERNEL;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'kernel-it-'));
    // berthd hands its environment to conmon, which hands it to berth-vm.
    process.env.BERTH_VM_KERNEL = kernel!;
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
    if (savedKernel === undefined) delete process.env.BERTH_VM_KERNEL;
    else process.env.BERTH_VM_KERNEL = savedKernel;
    await rm(scratch, { recursive: true, force: true });
  });

  it("runs on Debian's kernel, with its modules loaded from the initramfs", async () => {
    const guestRelease = (await readFile(join(dirname(kernel!), 'release'), 'utf8')).trim();
    const run = await daemon.berth(['run', '--rm', '--isolation=vm', 'busybox', 'sh', '-c', 'uname -r; cat /proc/modules | cut -d" " -f1 | sort | tr "\\n" " "'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    const [unameLine, modulesLine] = run.stdout.split('\n');
    assert.equal(unameLine, guestRelease);
    for (const module of ['virtio_mmio', 'virtio_console', '9pnet_virtio', '9p', 'overlay', 'virtio_net']) {
      assert.ok(modulesLine!.split(' ').includes(module), `${module} not loaded: ${modulesLine}`);
    }
  });

  it('carries exit codes and output back, and shares bind mounts over 9p', async () => {
    await writeFile(join(scratch, 'hello'), 'from the host\n');
    const run = await daemon.docker(['run', '--rm', '--isolation=vm', '-v', `${scratch}:/data`, 'busybox', 'sh', '-c', 'cat /data/hello; echo made >/data/back; echo err >&2; exit 3'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 3, run.stderr);
    assert.equal(run.stdout, 'from the host\n');
    assert.match(run.stderr, /err/);
    assert.equal(await readFile(join(scratch, 'back'), 'utf8'), 'made\n');
  });
});
