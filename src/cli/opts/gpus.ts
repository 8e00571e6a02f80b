/** `--gpus` as docker's CLI parses it (its opts/gpus.go): `all`, a count, or `key=value` fields (one value each; the daemon decides whether it can honour the request). */
import type { DeviceRequest } from '../../api/wire/index.js';
import { flagError } from './flag-values.js';

/** One device request; throws docker's flag errors for a bad count or an unknown field. */
export function parseGpus(value: string): DeviceRequest {
  const request: Required<Pick<DeviceRequest, 'Driver' | 'Count' | 'DeviceIDs' | 'Capabilities' | 'Options'>> = { Driver: '', Count: 0, DeviceIDs: null, Capabilities: null, Options: {} };
  const count = (text: string): number => {
    if (text === 'all') return -1;
    if (!/^\d+$/.test(text)) throw flagError(value, '--gpus', `invalid count (${text}): value must be either "all" or an integer: invalid syntax`);
    return Number(text);
  };
  const capabilities = new Set(['gpu']);
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    if (eq < 0) {
      request.Count = count(field);
      continue;
    }
    const key = field.slice(0, eq);
    const text = field.slice(eq + 1);
    if (key === 'count') request.Count = count(text);
    else if (key === 'driver') request.Driver = text;
    else if (key === 'device') request.DeviceIDs = [...(request.DeviceIDs ?? []), text];
    else if (key === 'capabilities') capabilities.add(text);
    else throw flagError(value, '--gpus', `unexpected key '${key}' in '${field}'`);
  }
  request.Capabilities = [[...capabilities]];
  return request;
}
