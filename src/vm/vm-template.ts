/**
 * VM templates: a guest booted once per shape (QEMU, kernel, initramfs, accelerator, memory,
 * vCPUs, 9p shares and network devices), saved where its agent waits for START, and restored by
 * each VM container of that shape instead of a cold boot. `<templates>/<key>/ram` holds the
 * template's guest RAM (written through a shared file mapping), `state` its devices (QEMU's
 * migration stream with x-ignore-shared, so without the RAM), `made` says it is complete. A
 * clone maps `ram` copy-on-write and loads `state` (native/berth-vm-shim/boot.c does both).
 *
 * There is no template process: the first VM of a shape boots as the template (in its own shim,
 * cgroups and network namespace), is saved, and then restored like every later one. Whatever
 * cannot use a template boots cold, and the reason goes to the VM's shim.log.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GuestAssets } from './guest-assets.js';

/** Complete templates kept per templates directory; the least recently used go first. */
const MAX_TEMPLATES = 8;
/** A failed save is not retried for this long (each try costs the VM that makes it). */
const FAILED_RETRY_MS = 10 * 60 * 1000;
/** A `.building` directory older than this was left by a shim that died mid-build. */
const STALE_BUILD_MS = 2 * 60 * 1000;

/** What a VM container boots from. */
export type TemplateChoice =
  | { mode: 'build'; dir: string }
  | { mode: 'clone'; dir: string }
  | { mode: 'cold'; reason: string };

/** Everything a template's guest depends on: a clone needs the same, device for device. */
export interface TemplateShape {
  assets: GuestAssets;
  accel: 'kvm' | 'tcg';
  tscKhz: number;
  memoryMiB: number;
  cpus: number;
  /** The 9p shares beside the root (their paths are each clone's own). */
  shareCount: number;
  /** Network devices (their taps are each clone's own; their MACs the template's). */
  interfaceCount: number;
}

/**
 * Where templates live: BERTH_VM_TEMPLATE_DIR, else beside the runtime's root (berthd's is
 * `<exec-root>/runtime/berth-vm`, so `<exec-root>/runtime/berth-vm-templates`); undefined when
 * BERTH_VM_TEMPLATES=0 turns them off.
 */
export function templatesDirOf(runtimeRoot: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.BERTH_VM_TEMPLATES === '0') return undefined;
  return env.BERTH_VM_TEMPLATE_DIR || join(dirname(runtimeRoot), `${runtimeRoot.split('/').pop() ?? 'berth-vm'}-templates`);
}

async function identity(path: string): Promise<string> {
  const st = await stat(path);
  return `${path}:${st.ino}:${st.size}:${Math.floor(st.mtimeMs)}`;
}

/** The template's name: a hash of its shape and of the identity of the files it boots. */
export async function templateKey(shape: TemplateShape): Promise<string> {
  const { assets } = shape;
  const parts = {
    version: 1,
    qemu: await identity(assets.qemuPath),
    kernel: await identity(assets.kernelPath),
    initrd: await identity(assets.initrdPath),
    flavor: assets.kernelFlavor,
    hz: assets.kernelHz,
    accel: shape.accel,
    tscKhz: shape.tscKhz,
    memoryMiB: shape.memoryMiB,
    cpus: shape.cpus,
    shares: shape.shareCount,
    interfaces: shape.interfaceCount,
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/**
 * Clone the shape's template, build it (this VM boots as the template: `<dir>.building` is taken
 * as a lock), or boot cold with the reason. Never throws: any trouble is a cold boot.
 */
export async function chooseTemplate(templatesDir: string | undefined, shape: TemplateShape, nowMs = Date.now()): Promise<TemplateChoice> {
  if (!templatesDir) return { mode: 'cold', reason: 'templates are off (BERTH_VM_TEMPLATES=0)' };
  if (shape.assets.kernelFlavor !== 'berth') return { mode: 'cold', reason: `templates serve Berth's own guest kernel, not the ${shape.assets.kernelFlavor} one` };
  // The shim names these paths inside QMP's JSON and a shell command line.
  if (/['"\\\n]/.test(templatesDir)) return { mode: 'cold', reason: `the templates directory ${JSON.stringify(templatesDir)} has a quote or backslash in its path` };
  try {
    const dir = join(templatesDir, await templateKey(shape));
    if (await exists(join(dir, 'made'))) {
      // Most recently used first when old templates are dropped.
      await utimes(dir, nowMs / 1000, nowMs / 1000).catch(() => {});
      return { mode: 'clone', dir };
    }
    const failed = await stat(`${dir}.failed`).catch(() => undefined);
    if (failed && nowMs - failed.mtimeMs < FAILED_RETRY_MS) {
      const why = (await readFile(`${dir}.failed`, 'utf8').catch(() => '')).trim();
      return { mode: 'cold', reason: `the template of this shape could not be saved ${Math.round((nowMs - failed.mtimeMs) / 1000)} s ago: ${why}` };
    }
    await mkdir(templatesDir, { recursive: true, mode: 0o700 });
    const building = `${dir}.building`;
    try {
      await mkdir(building, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const since = await stat(building).then((st) => nowMs - st.mtimeMs, () => 0);
      if (since < STALE_BUILD_MS) return { mode: 'cold', reason: 'the template of this shape is being built' };
      await rm(building, { recursive: true, force: true });
      await mkdir(building, { mode: 0o700 });
    }
    await rm(`${dir}.failed`, { force: true });
    await dropOldTemplates(templatesDir);
    return { mode: 'build', dir };
  } catch (err) {
    return { mode: 'cold', reason: `no template: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Keep the MAX_TEMPLATES - 1 most recently used complete templates (a new one is coming). */
async function dropOldTemplates(templatesDir: string): Promise<void> {
  const made: { dir: string; usedMs: number }[] = [];
  for (const name of await readdir(templatesDir)) {
    if (!/^[0-9a-f]{16}$/.test(name)) continue;
    const dir = join(templatesDir, name);
    const used = await stat(dir).catch(() => undefined);
    if (used) made.push({ dir, usedMs: used.mtimeMs });
  }
  made.sort((a, b) => b.usedMs - a.usedMs);
  // A clone of a dropped template keeps its mapping: only the name goes.
  for (const old of made.slice(MAX_TEMPLATES - 1)) await rm(old.dir, { recursive: true, force: true });
}

/** A line in the VM's shim.log (the shim's own log, beside it in the state directory). */
export async function logToShimLog(stateDir: string, message: string): Promise<void> {
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await appendFile(join(stateDir, 'shim.log'), `${stamp} ${message}\n`).catch(() => {});
}
