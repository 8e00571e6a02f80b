import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findGuestAssets } from './guest-assets.js';

describe('guest assets', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-assets-'));
    await mkdir(join(dir, 'kernel'));
    await writeFile(join(dir, 'kernel', 'vmlinux'), 'kernel');
    await writeFile(join(dir, 'agent.cpio'), 'agent-archive');
    await writeFile(join(dir, 'qemu'), '');
    env = { BERTH_VM_KERNEL: join(dir, 'kernel', 'vmlinux'), BERTH_VM_INITRD: join(dir, 'agent.cpio'), BERTH_VM_QEMU: join(dir, 'qemu') };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("takes Berth's kernel as it is: no flavor file, no modules", async () => {
    await writeFile(join(dir, 'kernel', 'config'), 'CONFIG_HZ=100\n');
    const assets = await findGuestAssets(env);
    assert.equal(assets.kernelFlavor, 'berth');
    assert.equal(assets.kernelHz, 100);
    assert.equal(assets.initrdPath, join(dir, 'agent.cpio'));
  });

  it("appends a prebuilt kernel's modules to the agent's initramfs, once", async () => {
    await writeFile(join(dir, 'kernel', 'flavor'), 'debian\n');
    await writeFile(join(dir, 'kernel', 'modules.cpio'), 'modules-archive');
    const assets = await findGuestAssets(env);
    assert.equal(assets.kernelFlavor, 'debian');
    assert.equal(dirname(assets.initrdPath), join(dir, 'kernel'));
    // 13 bytes of agent archive, padded to 16, then the modules.
    assert.equal(await readFile(assets.initrdPath, 'utf8'), 'agent-archive\0\0\0modules-archive');
    assert.equal((await findGuestAssets(env)).initrdPath, assets.initrdPath);
  });

  it('refuses a flavor it does not know', async () => {
    await writeFile(join(dir, 'kernel', 'flavor'), 'other\n');
    await assert.rejects(findGuestAssets(env), /unknown guest kernel flavor 'other'/);
  });
});
