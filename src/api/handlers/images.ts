/**
 * Image endpoints: list, inspect, tag, remove, history, prune. Transfers (pull, push, save,
 * load, import) are in image-transfer.ts.
 */
import { boolFilter, checkFilterKeys, filterValues, InvalidArgumentError, labelsMatch, referenceMatches, timeFilterMs } from '../../common/index.js';
import type { Engine } from '../../engine/index.js';
import type { Router } from '../router.js';
import { imageInspectFor } from '../version-shapes.js';
import { toDockerHistory, toDockerImageInspect, toDockerImageSummary } from '../translate/index.js';

export function addImageRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/images/json', async (req) => {
    const filters = req.filters();
    checkFilterKeys(filters, ['before', 'dangling', 'label', 'label!', 'reference', 'since', 'until']);
    const dangling = boolFilter(filters, 'dangling');
    const untilMs = timeFilterMs(filters, 'until');
    // before/since name an image: the list keeps those created before or after it.
    const createdMsOf = async (key: string): Promise<number | undefined> => {
      const ref = filterValues(filters, key)[0];
      return ref === undefined ? undefined : Date.parse((await engine.images.get(ref)).created);
    };
    const beforeMs = await createdMsOf('before');
    const sinceMs = await createdMsOf('since');
    const references = filterValues(filters, 'reference');
    const stored = await engine.images.list();
    // Without `all`, docker hides intermediate images: untagged ones that are the parent of
    // another image (a classic build's steps); dangling images (no children) stay listed.
    const showAll = req.bool('all');
    const parents = new Set(stored.map((image) => image.parent).filter((parent) => parent !== ''));
    const images = stored.filter((image) => {
      if (!showAll && image.repoTags.length === 0 && image.repoDigests.length === 0 && parents.has(image.id)) return false;
      const createdMs = Date.parse(image.created);
      if (dangling !== undefined && (image.repoTags.length === 0) !== dangling) return false;
      if (!labelsMatch(image.config.config?.Labels, filters)) return false;
      if (untilMs !== undefined && !(createdMs < untilMs)) return false;
      if (beforeMs !== undefined && !(createdMs < beforeMs)) return false;
      if (sinceMs !== undefined && !(createdMs > sinceMs)) return false;
      return references.length === 0 || image.repoTags.some((tag) => references.some((pattern) => referenceMatches(tag, pattern)));
    });
    const body = images
      .sort((a, b) => Date.parse(b.created) - Date.parse(a.created))
      .map((image) => {
        const summary = toDockerImageSummary(image, engine.containersUsing(image.id).length);
        // With a reference filter docker lists only the tags that match it.
        return references.length === 0 ? summary : { ...summary, RepoTags: summary.RepoTags.filter((tag) => references.some((pattern) => referenceMatches(tag, pattern))) };
      });
    return { body };
  });

  router.add('POST', '/images/prune', async (req) => {
    const filters = req.filters();
    checkFilterKeys(filters, ['dangling', 'label', 'label!', 'until']);
    // dangling=false prunes every unused image (`image prune -a`); dangling=true, the default, only untagged ones.
    const all = boolFilter(filters, 'dangling') === false;
    const untilMs = timeFilterMs(filters, 'until');
    const result = await engine.pruneImages({
      all,
      ...(untilMs !== undefined ? { untilMs } : {}),
      ...(filters['label'] ? { labels: filters['label'] } : {}),
      ...(filters['label!'] ? { excludeLabels: filters['label!'] } : {}),
    });
    return {
      body: {
        ImagesDeleted: result.deleted.length > 0 ? result.deleted.map((d) => (d.deleted ? { Deleted: d.deleted } : { Untagged: d.untagged })) : null,
        SpaceReclaimed: result.spaceReclaimedBytes,
      },
    };
  });

  router.add('GET', '/images/{name*}/json', async (req) => ({ body: imageInspectFor(req.version, toDockerImageInspect(await engine.images.get(req.param('name')))) }));

  router.add('GET', '/images/{name*}/history', async (req) => ({ body: (await engine.images.history(req.param('name'))).map(toDockerHistory) }));

  router.add('POST', '/images/{name*}/tag', async (req) => {
    const repo = req.string('repo');
    if (!repo) throw new InvalidArgumentError('repository name must have at least one component');
    const name = await engine.images.tag(req.param('name'), repo, req.string('tag') || undefined);
    engine.events.publish('image', 'tag', req.param('name'), { name });
    return { status: 201 };
  });

  router.add('DELETE', '/images/{name*}', async (req) => {
    const result = await engine.removeImage(req.param('name'), { force: req.bool('force'), noPrune: req.bool('noprune') });
    return { body: result.map((item) => (item.deleted ? { Deleted: item.deleted } : { Untagged: item.untagged })) };
  });
}
