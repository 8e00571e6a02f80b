/**
 * `berthd -G NAME`: the group whose members may use the API's unix sockets, as dockerd's `docker`
 * group. Membership in it is root on the host; it is never granted by default.
 */
import { chown, readFile } from 'node:fs/promises';

/** The gid of `group` (a name from the group database, or a number); throws for an unknown name. */
export function parseGroupId(group: string, groupFile: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  for (const line of groupFile.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new Error(`group ${group} not found (berthd -G): create it or name an existing one`);
}

/** The gid of `group` from the host's group database (checked before berthd does anything else). */
export async function resolveGroupId(group: string, groupFilePath = '/etc/group'): Promise<number> {
  return parseGroupId(group, await readFile(groupFilePath, 'utf8'));
}

/** Give the sockets to group `gid` (they stay 0660: root and the group's members). */
export async function grantSocketsToGroup(paths: readonly string[], gid: number): Promise<void> {
  for (const path of paths) await chown(path, 0, gid);
}
