/** `--mount` as docker's CLI parses it (its opts/mount.go). */
import { resolve as resolvePath } from 'node:path';
import type { Mount } from '../../api/wire/index.js';
import { bytesFlag, flagError } from './flag-values.js';

/** Split one `--mount` value into fields as docker does (a CSV record: `"a,b"` keeps its comma). */
function csvFields(spec: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (quoted) {
      if (c === '"' && spec[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"' && current === '') quoted = true;
    else if (c === ',') {
      fields.push(current);
      current = '';
    } else current += c;
  }
  fields.push(current);
  return fields;
}

/** Go's strconv.ParseBool, for `--mount` values. */
function parseMountBool(key: string, value: string, spec: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw flagError(spec, '--mount', `invalid value for ${key}: ${value}`);
}

/**
 * `--mount type=bind,source=/a,target=/b,readonly`, with docker's keys and messages (its CLI's
 * opts/mount.go): volume-driver, volume-opt and volume-label (repeatable `k=v`),
 * volume-subpath, volume-nocopy, bind-propagation, bind-create-mountpoint, bind-nonrecursive,
 * tmpfs-size, tmpfs-mode; options of another type than the mount's are refused.
 */
export function parseMount(spec: string): Mount {
  const mount: Mount = { Type: 'volume' };
  const volumeOptions = (): NonNullable<Mount['VolumeOptions']> => {
    mount.VolumeOptions ??= { Labels: {} };
    mount.VolumeOptions.DriverConfig ??= {};
    return mount.VolumeOptions;
  };
  const bindOptions = (): NonNullable<Mount['BindOptions']> => (mount.BindOptions ??= {});
  const tmpfsOptions = (): NonNullable<Mount['TmpfsOptions']> => (mount.TmpfsOptions ??= {});
  const setOnMap = (target: Record<string, string>, value: string): void => {
    const eq = value.indexOf('=');
    const key = eq < 0 ? value : value.slice(0, eq);
    if (key !== '') target[key] = eq < 0 ? '' : value.slice(eq + 1);
  };
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    if (eq < 0) {
      const key = field.trim().toLowerCase();
      if (key === 'readonly' || key === 'ro') mount.ReadOnly = true;
      else if (key === 'volume-nocopy') volumeOptions().NoCopy = true;
      else if (key === 'bind-nonrecursive') bindOptions().NonRecursive = true;
      else if (key === 'bind-create-mountpoint') bindOptions().CreateMountpoint = true;
      else throw flagError(spec, '--mount', `invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1);
    switch (key) {
      case 'type':
        if (!['bind', 'volume', 'tmpfs', 'image'].includes(value.toLowerCase())) throw flagError(spec, '--mount', `invalid mount type: ${value}`);
        mount.Type = value.toLowerCase() as Mount['Type'];
        break;
      case 'source': case 'src':
        mount.Source = value;
        if (value === '.' || value.startsWith('./')) mount.Source = resolvePath(value);
        break;
      case 'target': case 'destination': case 'dst':
        mount.Target = value;
        break;
      case 'readonly': case 'ro':
        mount.ReadOnly = parseMountBool(key, value, spec);
        break;
      case 'consistency':
        mount.Consistency = value.toLowerCase();
        break;
      case 'bind-propagation':
        bindOptions().Propagation = value.toLowerCase();
        break;
      case 'bind-nonrecursive':
        bindOptions().NonRecursive = parseMountBool(key, value, spec);
        break;
      case 'bind-create-mountpoint':
        bindOptions().CreateMountpoint = parseMountBool(key, value, spec);
        break;
      case 'volume-nocopy':
        volumeOptions().NoCopy = parseMountBool(key, value, spec);
        break;
      case 'volume-label':
        setOnMap((volumeOptions().Labels ??= {}), value);
        break;
      case 'volume-driver':
        volumeOptions().DriverConfig!.Name = value;
        break;
      case 'volume-opt':
        setOnMap((volumeOptions().DriverConfig!.Options ??= {}), value);
        break;
      case 'volume-subpath':
        volumeOptions().Subpath = value;
        break;
      case 'tmpfs-size':
        tmpfsOptions().SizeBytes = bytesFlag(value, '--mount') ?? 0;
        break;
      case 'tmpfs-mode': {
        if (!/^[0-7]+$/.test(value)) throw flagError(spec, '--mount', `invalid value for ${key}: ${value}`);
        tmpfsOptions().Mode = parseInt(value, 8);
        break;
      }
      default:
        throw flagError(spec, '--mount', `unexpected key '${key}' in '${field}'`);
    }
  }
  if (!mount.Target) throw flagError(spec, '--mount', 'target is required');
  if (mount.VolumeOptions && mount.Type !== 'volume') throw flagError(spec, '--mount', `cannot mix 'volume-*' options with mount type '${mount.Type}'`);
  if (mount.BindOptions && mount.Type !== 'bind') throw flagError(spec, '--mount', `cannot mix 'bind-*' options with mount type '${mount.Type}'`);
  if (mount.TmpfsOptions && mount.Type !== 'tmpfs') throw flagError(spec, '--mount', `cannot mix 'tmpfs-*' options with mount type '${mount.Type}'`);
  return mount;
}
