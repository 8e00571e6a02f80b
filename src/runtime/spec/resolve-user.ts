/**
 * docker's `--user` resolution against the container's own /etc/passwd and /etc/group,
 * read from the rootfs (never the host's), with docker's error wording.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errnoOf } from '../../common/index.js';

/** The process identity written to the spec, plus HOME for the env default. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

/** `--user` names a user or group the image does not have; docker answers 400 "unable to find user ...". */
export class NoSuchUserError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', 'BERTH_NO_SUCH_USER', message);
  }
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;

function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const fields = line.split(':');
    if (fields.length < 4) continue;
    entries.push({ name: fields[0]!, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] ?? '' });
  }
  return entries;
}

function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const fields = line.split(':');
    if (fields.length < 3) continue;
    const members = (fields[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '');
    entries.push({ name: fields[0]!, gid: Number(fields[2]), members });
  }
  return entries;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

function numericId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return value <= MAX_ID ? value : undefined;
}

/**
 * Resolve docker's `--user` value inside `rootfsDir`. '' is root (uid 0, gid 0, with root's
 * supplementary groups). A numeric uid absent from passwd is allowed (gid then 0, home '/');
 * a name absent from passwd, or a group name absent from group, throws NoSuchUserError.
 * additionalGids are the groups that list the user as a member, as docker does.
 */
export async function resolveUser(rootfsDir: string, spec: string): Promise<ResolvedUser> {
  const [userPart = '', groupPart] = spec.split(':', 2) as [string?, string?];
  const passwdText = await readOptional(join(rootfsDir, 'etc', 'passwd'));
  const groupText = await readOptional(join(rootfsDir, 'etc', 'group'));
  const passwd = passwdText === undefined ? [] : parsePasswd(passwdText);
  const groups = groupText === undefined ? [] : parseGroup(groupText);

  const wantedUser = userPart === '' ? '0' : userPart;
  const uidNumber = numericId(wantedUser);
  const entry = uidNumber === undefined ? passwd.find((p) => p.name === wantedUser) : passwd.find((p) => p.uid === uidNumber);
  if (entry === undefined && uidNumber === undefined) {
    throw new NoSuchUserError(`unable to find user ${wantedUser}: no matching entries in passwd file`);
  }
  const uid = entry?.uid ?? uidNumber!;
  let gid = entry?.gid ?? 0;
  const home = entry?.home || '/';

  if (groupPart !== undefined && groupPart !== '') {
    const gidNumber = numericId(groupPart);
    if (gidNumber !== undefined) {
      gid = gidNumber;
    } else {
      const group = groups.find((g) => g.name === groupPart);
      if (group === undefined) throw new NoSuchUserError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = group.gid;
    }
  }

  const additionalGids: number[] = [];
  // An explicit group replaces the supplementary list, as docker does for `-u user:group`.
  if (entry !== undefined && (groupPart === undefined || groupPart === '')) {
    for (const group of groups) {
      if (group.members.includes(entry.name) && group.gid !== gid && !additionalGids.includes(group.gid)) {
        additionalGids.push(group.gid);
      }
    }
  }
  return { uid, gid, additionalGids, home };
}

/**
 * docker's `--group-add` values as gids: numbers as they are, names looked up in the rootfs's
 * /etc/group (NoSuchUserError when absent, with docker's words).
 */
export async function resolveGroups(rootfsDir: string, wanted: readonly string[]): Promise<number[]> {
  if (wanted.length === 0) return [];
  const groupText = await readOptional(join(rootfsDir, 'etc', 'group'));
  const groups = groupText === undefined ? [] : parseGroup(groupText);
  return wanted.map((name) => {
    const gid = numericId(name);
    if (gid !== undefined) return gid;
    const group = groups.find((g) => g.name === name);
    if (group === undefined) throw new NoSuchUserError(`Unable to find group ${name}: no matching entries in group file`);
    return group.gid;
  });
}

/**
 * A Dockerfile's `--chown=user[:group]` as moby's builder resolves it: numbers as they are
 * (`root` is 0 even without a passwd file), names from the image's passwd and group texts.
 * Without a group part the user part names the group as well.
 */
export function resolveChown(spec: string, passwdText: string | undefined, groupText: string | undefined): { uid: number; gid: number } {
  const parts = spec.split(':');
  if (parts.length > 2) throw new NoSuchUserError(`invalid chown string format: ${spec}`);
  const userPart = parts[0] ?? '';
  const groupPart = parts.length === 2 ? parts[1]! : userPart;
  const fail = (detail: string): never => {
    throw new NoSuchUserError(`unable to convert uid/gid chown string to host mapping: ${detail}`);
  };
  const idOf = (text: string, entries: Array<{ name: string; id: number }>, what: string): number => {
    const numeric = numericId(text);
    if (numeric !== undefined) return numeric;
    if (text === 'root') return 0;
    const entry = entries.find((e) => e.name === text);
    return entry?.id ?? fail(`can't find ${what === 'user' ? 'uid' : 'gid'} for ${what} ${text}: no such ${what}: ${text}`);
  };
  const users = passwdText === undefined ? [] : parsePasswd(passwdText).map((p) => ({ name: p.name, id: p.uid }));
  const groups = groupText === undefined ? [] : parseGroup(groupText).map((g) => ({ name: g.name, id: g.gid }));
  return { uid: idOf(userPart, users, 'user'), gid: idOf(groupPart, groups, 'group') };
}
