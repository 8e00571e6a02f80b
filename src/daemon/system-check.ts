/**
 * `berth system check`: what a daemon killed at any moment must never leave behind, looked for
 * across the stores and the host. It lives in daemon/ because it looks below every service's
 * interface: conmon's directories, cgroups, mounts, blobs.
 */
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isFullId, messageOf } from '../common/index.js';
import { isRunningStatus, type ContainerService, type SystemCheckProblem, type SystemCheckReport } from '../engine/index.js';
import type { ImageService } from '../image/index.js';
import type { CniNetworkService } from '../network/index.js';
import { berthCgroupsPath, cgroupDirsFor, readMountInfo } from '../sys/index.js';


export interface SystemCheckDeps {
  root: string;
  execRoot: string;
  containers: ContainerService;
  images: ImageService;
  networks: CniNetworkService;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function entriesOf(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

/** Look for everything an interrupted operation could leave; an empty list is a clean store. */
export async function checkSystem(deps: SystemCheckDeps): Promise<SystemCheckReport> {
  const problems: SystemCheckProblem[] = [];
  const problem = (kind: SystemCheckProblem['kind'], subject: string, detail: string): void => void problems.push({ kind, subject, detail });
  const records = deps.containers.all();
  const byId = new Map(records.map((record) => [record.id, record]));
  const isRunning = (id: string): boolean => {
    const record = byId.get(id);
    return record !== undefined && isRunningStatus(record.state.status);
  };

  // Records and their directories.
  for (const unreadable of deps.containers.unreadableRecords()) problem('record', unreadable.id, `unreadable record ${unreadable.file}: ${unreadable.error}`);
  const unreadableIds = new Set(deps.containers.unreadableRecords().map((entry) => entry.id));
  const containersDir = join(deps.root, 'containers');
  for (const id of await entriesOf(containersDir)) {
    if (isFullId(id) && !byId.has(id) && !unreadableIds.has(id)) problem('debris', id, `container directory without a record: ${join(containersDir, id)}`);
  }

  // Mounts below a container that does not run.
  for (const entry of await readMountInfo().catch(() => [])) {
    if (!entry.mountPoint.startsWith(`${containersDir}/`)) continue;
    const id = entry.mountPoint.slice(containersDir.length + 1).split('/')[0] ?? '';
    if (!isRunning(id)) problem('mount', id, `${entry.mountPoint} is mounted but the container is not running`);
  }

  // conmon's per-container directories and the runtimes' cgroups.
  for (const id of await entriesOf(join(deps.execRoot, 'conmon'))) {
    if (!isRunning(id)) problem('conmon', id, `conmon directory ${join(deps.execRoot, 'conmon', id)} of a container that is not running`);
  }
  for (const record of records) {
    if (isRunning(record.id)) continue;
    for (const dir of await cgroupDirsFor(berthCgroupsPath(record.id)).catch(() => [] as string[])) {
      if (await exists(dir)) problem('cgroup', record.id, `cgroup ${dir} of a container that is not running`);
    }
  }

  // Frozen processes nobody paused, and network endpoints of containers that do not run.
  for (const record of records) {
    if (record.state.status === 'running') {
      const status = (await deps.containers.runtimeFor(record).state(record.id).catch(() => undefined))?.status;
      if (status === 'paused') problem('frozen', record.id, 'the container is frozen but not paused');
    } else if (!isRunning(record.id) && deps.networks.namespaceOf(record.id) !== undefined) {
      problem('network', record.id, 'network endpoints of a container that is not running');
    }
  }

  // Every image's config, manifest and layers (unpacked, or a blob to unpack from).
  const snapshotter = deps.images.snapshotter;
  const images = await deps.images.list();
  for (const image of images) {
    try {
      const record = deps.images.recordOf(image.id);
      for (const digest of [record.id, ...(record.manifestDigest ? [record.manifestDigest] : [])]) {
        if (!(await deps.images.content.has(digest))) problem('image', image.id, `blob ${digest} is missing`);
      }
      for (const layer of record.layers) {
        const hasBlob = layer.blobDigest !== undefined && (await deps.images.content.has(layer.blobDigest));
        if (!hasBlob && !(await snapshotter.hasLayer(layer.chainId))) problem('image', image.id, `layer ${layer.diffId} is neither unpacked nor stored`);
      }
    } catch (err) {
      problem('image', image.id, `cannot be read: ${messageOf(err)}`);
    }
  }
  // Blobs and unpacked layers no image uses (what a pull, load or removal cut short leaves; the
  // daemon sweeps them at start).
  const unused = await deps.images.unusedContent();
  for (const digest of unused.blobs) problem('debris', digest, `blob ${digest} that no image references`);
  for (const chainId of unused.layers) problem('debris', chainId, `unpacked layer ${chainId} that no image uses`);
  return { containersChecked: records.length, imagesChecked: images.length, problems };
}
