/** `berth images` / `image ls`: REPOSITORY TAG IMAGE ID CREATED SIZE, one row per tag. */
import { Command } from 'commander';
import type { ImageSummary } from '../../api/wire/index.js';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { goTimeString } from '../container-fields.js';
import { humanSize, timeAgo } from '../human.js';
import { renderList } from '../output.js';
import { collect, parseFilters } from './filters.js';

/** Default `docker images` format. */
export const IMAGES_FORMAT = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
const HEADERS = { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE', Digest: 'DIGEST', Containers: 'CONTAINERS', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', VirtualSize: 'SIZE' };

/** One images row as docker's formatter sees it. */
export interface ImageRow {
  Containers: string;
  CreatedAt: string;
  CreatedSince: string;
  Digest: string;
  ID: string;
  Repository: string;
  SharedSize: string;
  Size: string;
  Tag: string;
  UniqueSize: string;
  VirtualSize: string;
}

/** Rows for one image: one per tag, `<none>` for a dangling one. */
export function toImageRows(image: ImageSummary, options: { noTrunc: boolean; nowMs?: number }): ImageRow[] {
  const id = options.noTrunc ? image.Id : image.Id.replace(/^sha256:/, '').slice(0, 12);
  // An image known only by digest (pulled as name@sha256:...) shows its repository with tag <none>, as docker lists it.
  const digestOnly = (image.RepoDigests ?? []).map((d) => `${d.slice(0, d.indexOf('@'))}:<none>`);
  const tags = image.RepoTags && image.RepoTags.length > 0 ? image.RepoTags : digestOnly.length > 0 ? [...new Set(digestOnly)] : ['<none>:<none>'];
  return tags.map((repoTag) => {
    const colon = repoTag.lastIndexOf(':');
    const repository = repoTag.slice(0, colon);
    const digest = (image.RepoDigests ?? []).find((d) => d.startsWith(`${repository}@`));
    return {
      Containers: image.Containers >= 0 ? String(image.Containers) : 'N/A',
      CreatedAt: goTimeString(image.Created),
      CreatedSince: timeAgo(image.Created * 1000, options.nowMs),
      Digest: digest ? digest.slice(digest.indexOf('@') + 1) : '<none>',
      ID: id,
      Repository: repository,
      SharedSize: image.SharedSize >= 0 ? humanSize(image.SharedSize) : 'N/A',
      Size: humanSize(image.Size),
      Tag: repoTag.slice(colon + 1),
      UniqueSize: image.SharedSize >= 0 ? humanSize(image.Size - image.SharedSize) : 'N/A',
      VirtualSize: humanSize(image.Size),
    };
  });
}

/** Build the images command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('List images')
    .usage('[OPTIONS] [REPOSITORY[:TAG]]')
    .argument('[repository]')
    .option('-a, --all', 'Show all images (default hides intermediate images)')
    .option('--digests', 'Show digests')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect, [])
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .action(async (repository: string | undefined, flags: { all?: boolean; digests?: boolean; filter: string[]; format?: string; trunc: boolean; quiet?: boolean }) => {
      const filters = parseFilters(flags.filter);
      if (repository) (filters['reference'] ??= []).push(repository);
      const client = await ctx.client();
      const images = await client.imageList({ all: Boolean(flags.all), filters });
      const rows = images.flatMap((image) => toImageRows(image, { noTrunc: !flags.trunc }));
      if (flags.quiet && !flags.format) {
        const seen = new Set<string>();
        await write(ctx.out, rows.filter((r) => !seen.has(r.ID) && seen.add(r.ID)).map((r) => `${r.ID}\n`).join(''));
        return;
      }
      const defaultFormat = flags.digests ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}' : IMAGES_FORMAT;
      await write(ctx.out, renderList({ rows, format: flags.format, defaultFormat, headers: HEADERS }));
    });
}
