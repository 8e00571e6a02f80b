/**
 * `berth create`, and the create step `run` shares: create, and on a 404 "No such image"
 * with --pull missing (or always), pull and retry, printing docker's messages to stderr.
 */
import { open, rm } from 'node:fs/promises';
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { StatusError, UsageError } from '../exit.js';
import { addCreateOptions, splitImageRef, toCreatePlan, type CreateFlags, type CreatePlan } from '../run-options.js';
import { pullImage } from './pull.js';

/** Create the container of `plan`, pulling as its policy says; resolves with the id. */
export async function createContainer(ctx: CliContext, plan: CreatePlan): Promise<string> {
  for (const warning of plan.warnings) await write(ctx.err, `WARNING: ${warning}\n`);
  if (plan.cidfile === undefined) return createWithPull(ctx, plan);
  // docker's order: refuse an existing file before creating anything; remove ours if the create fails.
  const cidfile = plan.cidfile;
  let file;
  try {
    file = await open(cidfile, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`container ID file found, make sure the other container isn't running or delete ${cidfile}`);
    throw new UsageError(`failed to create the container ID file: ${(err as Error).message}`);
  }
  try {
    const id = await createWithPull(ctx, plan);
    await file.writeFile(id);
    return id;
  } catch (err) {
    await rm(cidfile, { force: true });
    throw err;
  } finally {
    await file.close();
  }
}

async function createWithPull(ctx: CliContext, plan: CreatePlan): Promise<string> {
  const client = await ctx.client();
  const { ApiError } = await import('../../client/index.js');
  const image = plan.body.Image ?? '';
  const ref = splitImageRef(image);
  const options = { ...(plan.name !== undefined ? { name: plan.name } : {}), ...(plan.platform !== undefined ? { platform: plan.platform } : {}) };
  if (plan.pull === 'always') await pullImage(ctx, image, { out: ctx.err, platform: plan.platform });
  try {
    const created = await client.containerCreate(plan.body, options);
    for (const warning of created.Warnings ?? []) await write(ctx.err, `WARNING: ${warning}\n`);
    return created.Id;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404 && /no such image/i.test(err.message)) || plan.pull !== 'missing') throw err;
  }
  await write(ctx.err, `Unable to find image '${ref.display}' locally\n`);
  await pullImage(ctx, image, { out: ctx.err, platform: plan.platform });
  const created = await client.containerCreate(plan.body, options);
  for (const warning of created.Warnings ?? []) await write(ctx.err, `WARNING: ${warning}\n`);
  return created.Id;
}

/** Build the create command. */
export function build(ctx: CliContext): Command {
  const command = new Command()
    .description('Create a new container')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .helpOption('--help', 'Print usage')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions();
  addCreateOptions(command);
  command.action(async (image: string, args: string[], flags: CreateFlags) => {
    const plan = toCreatePlan(flags, image, args, { isRun: false, env: ctx.env });
    const id = await createContainer(ctx, plan);
    await write(ctx.out, `${id}\n`);
  });
  return command;
}

