import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseTemplate, templateKey, templatesDirOf, type TemplateShape } from './vm-template.js';

describe('vm templates', () => {
  let dir: string;
  let shape: TemplateShape;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-templates-'));
    for (const name of ['qemu', 'vmlinux', 'initrd']) await writeFile(join(dir, name), name);
    shape = {
      assets: { qemuPath: join(dir, 'qemu'), kernelPath: join(dir, 'vmlinux'), initrdPath: join(dir, 'initrd'), kernelHz: 250, kernelFlavor: 'berth' },
      accel: 'tcg', tscKhz: 2600000, memoryMiB: 128, cpus: 1, shareCount: 1, interfaceCount: 0,
    };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lives beside the runtime root unless moved or turned off', () => {
    assert.equal(templatesDirOf('/run/berth/runtime/berth-vm', {}), '/run/berth/runtime/berth-vm-templates');
    assert.equal(templatesDirOf('/r/berth-vm', { BERTH_VM_TEMPLATE_DIR: '/dev/shm/t' }), '/dev/shm/t');
    assert.equal(templatesDirOf('/r/berth-vm', { BERTH_VM_TEMPLATES: '0' }), undefined);
  });

  it('is one per shape and per file it boots', async () => {
    const key = await templateKey(shape);
    assert.match(key, /^[0-9a-f]{16}$/);
    assert.equal(await templateKey({ ...shape }), key);
    assert.notEqual(await templateKey({ ...shape, memoryMiB: 256 }), key);
    assert.notEqual(await templateKey({ ...shape, cpus: 2 }), key);
    assert.notEqual(await templateKey({ ...shape, interfaceCount: 1 }), key);
    await writeFile(join(dir, 'initrd'), 'another agent');
    assert.notEqual(await templateKey(shape), key);
  });

  it('builds once, clones when made, and boots cold while it is being built or after it failed', async () => {
    const templates = join(dir, 'templates');
    const first = await chooseTemplate(templates, shape);
    assert.equal(first.mode, 'build');
    const made = (first as { dir: string }).dir;
    assert.ok((await stat(`${made}.building`)).isDirectory(), 'the build takes the lock');
    assert.deepEqual(await chooseTemplate(templates, shape), { mode: 'cold', reason: 'the template of this shape is being built' });
    // A build whose shim died long ago is taken over.
    const old = (Date.now() - 3 * 60 * 1000) / 1000;
    await utimes(`${made}.building`, old, old);
    assert.equal((await chooseTemplate(templates, shape)).mode, 'build');
    // Published: every later VM clones it.
    await rm(`${made}.building`, { recursive: true });
    await mkdir(made);
    await writeFile(join(made, 'made'), '1\n');
    assert.deepEqual(await chooseTemplate(templates, shape), { mode: 'clone', dir: made });
    // A shape whose save failed boots cold, saying why.
    const other = { ...shape, memoryMiB: 512 };
    const otherDir = join(templates, await templateKey(other));
    await writeFile(`${otherDir}.failed`, 'QEMU refused migrate: blocked\n');
    const cold = await chooseTemplate(templates, other);
    assert.equal(cold.mode, 'cold');
    assert.match((cold as { reason: string }).reason, /could not be saved \d+ s ago: QEMU refused migrate: blocked$/);
  });

  it('serves only Berth\'s own kernel, and not when turned off', async () => {
    const debian = { ...shape, assets: { ...shape.assets, kernelFlavor: 'debian' as const } };
    assert.deepEqual(await chooseTemplate(join(dir, 't'), debian), { mode: 'cold', reason: "templates serve Berth's own guest kernel, not the debian one" });
    assert.deepEqual(await chooseTemplate(undefined, shape), { mode: 'cold', reason: 'templates are off (BERTH_VM_TEMPLATES=0)' });
  });
});
