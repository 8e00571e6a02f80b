/**
 * `docker rmi` and `docker image prune` on the local store: untagging, docker's conflict rules
 * (moby's checkImageDeleteConflict and isSingleReference), and deleting the record with every
 * blob and unpacked layer no other image needs. Callers hold the image service's lock.
 */
import { shortId } from '../common/index.js';
import type { OverlaySnapshotter } from '../snapshot/index.js';
import { type ContentStore, type ImageRecord, type ImageRecordStore, type ImageReference, type ReferenceStore, familiarString, parseImageReference, referenceName, withDefaultTag } from '../store/index.js';
import { ImageConflictError } from './image-errors.js';
import type { ImageDeleteItem } from './image.js';
import { blobsUsedBy } from './local-images.js';

/** Tells the image service which containers use an image (the engine owns containers). */
export type ContainersUsing = (imageId: string) => Array<{ id: string; isRunning: boolean }>;

/** Options for ImageService.prune, as `docker image prune` filters. */
export interface PruneOptions {
  /** Also remove tagged images no container uses (`-a`). */
  all: boolean;
  /** Only images created before this time (ms since the epoch). */
  untilMs?: number;
  /** `key` or `key=value`: all must match. */
  labels?: string[];
  /** `key` or `key=value`: none may match (docker's `label!=`). */
  excludeLabels?: string[];
}

/** What prune removed. */
export interface PruneResult {
  deleted: ImageDeleteItem[];
  spaceReclaimedBytes: number;
}

/** The stores a removal changes. */
export interface ImageRemovalStores {
  content: ContentStore;
  references: ReferenceStore;
  records: ImageRecordStore;
  snapshotter: OverlaySnapshotter;
}

const RUNNING = 1;
const REFERENCED = 2;
const STOPPED = 4;
const HARD = RUNNING;
const SOFT = REFERENCED | STOPPED;

/**
 * Remove `ref` as `docker rmi` does: a name untags (deleting the image when it was the last
 * reference); an id deletes the image with all its references. Conflicts with containers and
 * other repositories are docker's 409s. Layers and blobs no other image uses are deleted.
 */
export async function removeImage(stores: ImageRemovalStores, record: ImageRecord, ref: string, options: { force: boolean; noPrune: boolean }, containersUsing: ContainersUsing): Promise<ImageDeleteItem[]> {
  const { force } = options;
  const { references } = stores;
  const id = record.id;
  const items: ImageDeleteItem[] = [];
  let repoRefs = references.referencesTo(id);
  const users = containersUsing(id);
  let quiet = false;
  if (!isIdPrefix(id, ref)) {
    if (!force && isSingleReference(repoRefs) && users.length > 0) {
      throw new ImageConflictError(`conflict: unable to remove repository reference "${ref}" (must force) - container ${shortId(users[0]!.id)} is using its referenced image ${shortId(id)}`);
    }
    const parsed = withDefaultTag(parseImageReference(ref));
    await references.delete(parsed);
    items.push({ untagged: familiarString(parsed) });
    repoRefs = references.referencesTo(id);
    if (parsed.digest === undefined) {
      const name = referenceName(parsed);
      const sameRepoTagLeft = repoRefs.some((r) => r.digest === undefined && referenceName(r) === name);
      if (!sameRepoTagLeft) {
        for (const r of repoRefs.filter((r) => r.digest !== undefined && referenceName(r) === name)) {
          await references.delete(r);
          items.push({ untagged: familiarString(r) });
        }
        repoRefs = references.referencesTo(id);
      }
    }
    if (repoRefs.length > 0) return items;
    // The last name of an image a container uses (with force): it stays, dangling, so the
    // container can start again (dockerd's containerd store keeps it the same way).
    if (users.length > 0) return items;
    quiet = true;
  } else if (isSingleReference(repoRefs)) {
    const conflict = findConflict(stores, id, users, force ? HARD : HARD | STOPPED);
    if (conflict !== undefined) throw conflict;
    for (const r of repoRefs) {
      await references.delete(r);
      items.push({ untagged: familiarString(r) });
    }
  }
  const conflict = findConflict(stores, id, users, force ? HARD : HARD | SOFT);
  if (conflict !== undefined) {
    // After untagging by name, an image still in use just stays, dangling, as docker leaves it.
    if (quiet) return items;
    throw conflict;
  }
  for (const r of references.referencesTo(id)) {
    await references.delete(r);
    items.push({ untagged: familiarString(r) });
  }
  if (users.length > 0) {
    // Forced past stopped containers: deleted for everyone else, kept for them (with its
    // layers and blobs) until the last of them goes; see releaseHeldImages.
    await stores.records.put({ ...record, isHeldForContainers: true });
    items.push({ deleted: id });
    return items;
  }
  items.push(...(await deleteImage(stores, record)));
  if (!options.noPrune) items.push(...(await deleteUntaggedParents(stores, record, containersUsing)));
  return items;
}

/**
 * After an image is deleted, its parents go too while they are untagged, have no other child and
 * no container uses them (moby's imageDeleteHelper without noprune): a classic build's
 * intermediate images leave with the image built on them.
 */
async function deleteUntaggedParents(stores: ImageRemovalStores, deleted: ImageRecord, containersUsing: ContainersUsing): Promise<ImageDeleteItem[]> {
  const items: ImageDeleteItem[] = [];
  for (let parentId = deleted.config.parent; parentId !== undefined && parentId !== ''; ) {
    const parent = stores.records.get(parentId);
    if (parent === undefined || stores.references.referencesTo(parentId).length > 0 || containersUsing(parentId).length > 0 || hasChildren(stores, parentId)) break;
    items.push(...(await deleteImage(stores, parent)));
    parentId = parent.config.parent;
  }
  return items;
}

function hasChildren(stores: ImageRemovalStores, id: string): boolean {
  return stores.records.all().some((record) => record.config.parent === id);
}

/** `docker image prune`: remove dangling (or, with `all`, unused) images matching the filters. */
export async function pruneImages(stores: ImageRemovalStores, options: PruneOptions, containersUsing: ContainersUsing): Promise<PruneResult> {
  const { references, records } = stores;
  const deleted: ImageDeleteItem[] = [];
  let spaceReclaimedBytes = 0;
  const layerBytes = new Map(records.all().flatMap((record) => record.layers.map((layer) => [layer.chainId as string, layer.sizeBytes] as const)));
  for (const record of records.all()) {
    // Gone with a child pruned before it, or a parent still needed (docker prunes from the heads).
    if (records.get(record.id) === undefined || record.isHeldForContainers === true || hasChildren(stores, record.id)) continue;
    const refs = references.referencesTo(record.id);
    if (!options.all && refs.some((r) => r.digest === undefined)) continue;
    if (containersUsing(record.id).length > 0) continue;
    if (options.untilMs !== undefined && Date.parse(record.config.created ?? '') >= options.untilMs) continue;
    const labels = record.config.config?.Labels ?? {};
    if (options.labels !== undefined && !options.labels.every((f) => labelMatches(labels, f))) continue;
    if (options.excludeLabels !== undefined && options.excludeLabels.some((f) => labelMatches(labels, f))) continue;
    for (const r of refs) {
      await references.delete(r);
      deleted.push({ untagged: familiarString(r) });
    }
    const items = [...(await deleteImage(stores, record)), ...(await deleteUntaggedParents(stores, record, containersUsing))];
    for (const item of items) spaceReclaimedBytes += (item.deleted !== undefined ? layerBytes.get(item.deleted) : undefined) ?? 0;
    deleted.push(...items);
  }
  return { deleted, spaceReclaimedBytes };
}

// docker's checkImageDeleteConflict: child images and running containers are hard conflicts,
// other references and stopped containers soft ones that force overrides.
function findConflict(stores: ImageRemovalStores, id: string, users: Array<{ id: string; isRunning: boolean }>, mask: number): ImageConflictError | undefined {
  const { references } = stores;
  if (mask & HARD && hasChildren(stores, id)) return deleteConflict(id, true, 'image has dependent child images');
  const running = users.find((user) => user.isRunning);
  if (mask & RUNNING && running !== undefined) return deleteConflict(id, true, `image is being used by running container ${shortId(running.id)}`);
  if (mask & REFERENCED && references.referencesTo(id).length > 0) return deleteConflict(id, false, 'image is referenced in multiple repositories');
  const stopped = users.find((user) => !user.isRunning);
  if (mask & STOPPED && stopped !== undefined) return deleteConflict(id, false, `image is being used by stopped container ${shortId(stopped.id)}`);
  return undefined;
}

/**
 * Delete the images `rmi -f` held for stopped containers (see removeImage) that no container
 * uses any more, with their layers and blobs. Returns the ids deleted.
 */
export async function releaseHeldImages(stores: ImageRemovalStores, containersUsing: ContainersUsing): Promise<string[]> {
  const released: string[] = [];
  for (const record of stores.records.all()) {
    if (record.isHeldForContainers !== true || containersUsing(record.id).length > 0 || hasChildren(stores, record.id)) continue;
    await deleteImage(stores, record);
    released.push(record.id);
  }
  return released;
}

// Delete the record, then every blob and unpacked layer no remaining image needs.
async function deleteImage(stores: ImageRemovalStores, record: ImageRecord): Promise<ImageDeleteItem[]> {
  const { content, records, snapshotter } = stores;
  await records.delete(record.id);
  const items: ImageDeleteItem[] = [{ deleted: record.id }];
  const others = records.all();
  const usedChains = new Set(others.flatMap((other) => other.layers.map((layer) => layer.chainId)));
  const usedBlobs = blobsUsedBy(others);
  for (const layer of [...record.layers].reverse()) {
    if (usedChains.has(layer.chainId)) continue;
    await snapshotter.removeLayer(layer.chainId);
    items.push({ deleted: layer.chainId });
  }
  const blobs = [record.id, record.manifestDigest, ...record.layers.map((layer) => layer.blobDigest)];
  for (const blob of blobs) if (blob !== undefined && !usedBlobs.has(blob)) await content.delete(blob);
  return items;
}

function deleteConflict(id: string, isHard: boolean, reason: string): ImageConflictError {
  return new ImageConflictError(`conflict: unable to delete ${shortId(id)} (${isHard ? 'cannot be forced' : 'must be forced'}) - ${reason}`);
}

// docker's isImageIDPrefix: the user typed (a prefix of) the id rather than a name.
function isIdPrefix(id: string, ref: string): boolean {
  return id.startsWith(ref) || id.slice('sha256:'.length).startsWith(ref);
}

// docker's isSingleReference: one tag, or digests of a single repository with at most that tag.
function isSingleReference(refs: ImageReference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: ImageReference | undefined;
  const digestRepos = new Set<string>();
  for (const r of refs) {
    if (r.digest !== undefined) digestRepos.add(referenceName(r));
    else if (single === undefined) single = r;
    else return false;
  }
  const name = referenceName(single ?? refs[0]!);
  return digestRepos.size === 1 && digestRepos.has(name);
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}
