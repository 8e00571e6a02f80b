/**
 * Image endpoints: list, inspect, tag, remove, history, prune. Transfers (pull, push, save,
 * load, import) are in image-transfer.ts.
 */
import { InvalidArgumentError, parseTimestampMs } from '../../common/index.js';
import type { Engine } from '../../engine/index.js';
import type { Router } from '../router.js';
import { imageInspectFor } from '../version-shapes.js';
import { toDockerHistory, toDockerImageInspect, toDockerImageSummary } from '../translate/index.js';

export function addImageRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/images/json', async (req) => {
    const filters = req.filters();
    let images = await engine.images.list();
    const dangling = filters['dangling']?.[0];
    if (dangling !== undefined) images = images.filter((i) => (i.repoTags.length === 0) === (dangling === 'true' || dangling === '1'));
    for (const label of filters['label'] ?? []) {
      const [key = '', value] = label.split('=', 2);
      images = images.filter((i) => {
        const labels = i.config.config?.Labels ?? {};
        return value === undefined ? key in labels : labels[key] === value;
      });
    }
    const references = filters['reference'] ?? [];
    if (references.length > 0) {
      images = images.filter((i) => i.repoTags.some((tag) => references.some((pattern) => matchesReference(tag, pattern))));
    }
    const body = images
      .sort((a, b) => Date.parse(b.created) - Date.parse(a.created))
      .map((image) => toDockerImageSummary(image, engine.containersUsing(image.id).length));
    return { body };
  });

  router.add('POST', '/images/prune', async (req) => {
    const filters = req.filters();
    const dangling = filters['dangling']?.[0];
    const all = dangling === 'false' || dangling === '0';
    const until = filters['until']?.[0];
    const result = await engine.pruneImages({
      all,
      ...(until !== undefined ? { untilMs: parseTimestampMs(until) } : {}),
      ...(filters['label'] ? { labels: filters['label'] } : {}),
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

function matchesReference(tag: string, pattern: string): boolean {
  const regex = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.') + '$');
  if (regex.test(tag)) return true;
  // A pattern without a tag matches every tag of that repository, as docker's does (a colon
  // before the last slash is a registry port, not a tag).
  const hasTag = pattern.lastIndexOf(':') > pattern.lastIndexOf('/');
  return !hasTag && regex.test(tag.slice(0, tag.lastIndexOf(':')));
}
