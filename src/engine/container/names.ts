/** Container names: docker's syntax, and the claim a create holds on a name until its record exists. */
import { CONTAINER_NAME, InvalidArgumentError, randomName } from '../../common/index.js';
import { NameInUseError } from '../errors.js';
import type { ContainerContext } from './context.js';

/** Throw docker's error unless `name` (with or without its leading `/`) is a valid container name. */
export function checkContainerName(name: string): void {
  if (!CONTAINER_NAME.test(name)) {
    throw new InvalidArgumentError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
}

/**
 * Reserve the requested name, or a random free one when none is given. The caller must
 * release it from `ctx.creatingNames` once the record is saved or the create failed.
 */
export async function claimName(ctx: ContainerContext, requested: string | undefined): Promise<string> {
  if (requested !== undefined && requested !== '') {
    checkContainerName(requested);
    const name = requested.replace(/^\//, '');
    const holder = ctx.store.findByName(name);
    if (holder) throw new NameInUseError(name, holder.id);
    if (ctx.creatingNames.has(name)) throw new NameInUseError(name, 'being created');
    ctx.creatingNames.add(name);
    return name;
  }
  for (;;) {
    const name = randomName();
    if (!ctx.store.findByName(name) && !ctx.creatingNames.has(name)) {
      ctx.creatingNames.add(name);
      return name;
    }
  }
}

/** Give a container a new name; docker's refusals for an empty, unchanged or taken name. */
export async function rename(ctx: ContainerContext, ref: string, newNameInput: string): Promise<void> {
  const record = ctx.store.resolve(ref);
  const newName = newNameInput.replace(/^\//, '');
  if (newName === '') throw new InvalidArgumentError('Neither old nor new names may be empty');
  checkContainerName(newNameInput);
  await ctx.withLock(record.id, async () => {
    const current = ctx.current(record.id);
    const oldName = current.name;
    if (oldName === newName) throw new InvalidArgumentError('Renaming a container with the same name as its current name');
    const holder = ctx.store.findByName(newName);
    if (holder || ctx.creatingNames.has(newName)) throw new NameInUseError(newName, holder?.id ?? 'being created');
    current.name = newName;
    try {
      await ctx.store.save(current);
    } catch (err) {
      current.name = oldName;
      throw err;
    }
    ctx.publish(current, 'rename', { oldName: `/${oldName}` });
  });
}
