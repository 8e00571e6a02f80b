/**
 * Engine events as docker's `EventMessage`, and docker's `GET /events` filters (moby
 * daemon/events/filter.go): values of one key are ORed, keys are ANDed, labels all must match.
 */
import { checkFilterKeys, labelsMatch, type Filters } from '../../common/index.js';
import type { EngineEvent } from '../../engine/index.js';
import type { EventMessage } from '../wire/index.js';

const FILTER_KEYS = ['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume'];

/**
 * docker's event JSON. The legacy `status`/`id`/`from` fields are kept at every API version:
 * dockerd drops them from 1.52, and Debian's docker-compose 1.29 (docker-py 5 negotiates 1.52)
 * then fails in `up` with KeyError 'id'. Extra fields break no client.
 */
export function toDockerEvent(event: EngineEvent): EventMessage {
  const message: EventMessage = {
    Type: event.type,
    Action: event.action,
    Actor: { ID: event.id, Attributes: event.attributes },
    scope: 'local',
    time: Number(event.timeNano / 1_000_000_000n),
    timeNano: Number(event.timeNano),
  };
  if (event.type === 'container' || event.type === 'image') {
    message.status = event.action;
    message.id = event.id;
    if (event.type === 'container' && event.attributes['image'] !== undefined) message.from = event.attributes['image'];
  }
  return message;
}

/**
 * One event as a JSON line. timeNano is written with all its digits: a JS number would round
 * the nanoseconds (docker sends an int64).
 */
export function eventJsonLine(event: EngineEvent): string {
  const message = toDockerEvent(event);
  message.timeNano = 0;
  return JSON.stringify(message).replace('"timeNano":0', `"timeNano":${event.timeNano.toString()}`) + '\n';
}

/** Throw docker's error for a filter key `GET /events` does not know. */
export function checkEventFilters(filters: Filters): void {
  checkFilterKeys(filters, FILTER_KEYS);
}

function stripTag(image: string): string {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(0, colon) : image;
}

/** Whether `event` passes docker's event filters. */
export function matchesEventFilters(event: EngineEvent, filters: Record<string, string[]>): boolean {
  const exact = (key: string, ...values: Array<string | undefined>): boolean => {
    const wanted = filters[key];
    if (!wanted || wanted.length === 0) return true;
    return values.some((value) => value !== undefined && wanted.includes(value));
  };
  // A filter value matches the start of an id or name (moby's FuzzyMatch).
  const fuzzy = (key: string, ...values: Array<string | undefined>): boolean => {
    const wanted = filters[key];
    if (!wanted || wanted.length === 0) return true;
    return values.some((value) => value !== undefined && wanted.some((w) => value === w || value.startsWith(w)));
  };
  const name = event.attributes['name'];
  const eventWanted = filters['event'] ?? [];
  // `exec_create` matches `exec_create: sh -c ...`, as in moby (#25798).
  const actionMatches = eventWanted.length === 0 || eventWanted.some((w) => event.action === w || (w.indexOf(':') < 0 && event.action.startsWith(`${w}:`)));
  if (!actionMatches) return false;
  if (!exact('type', event.type)) return false;
  if (!exact('scope', 'local')) return false;
  if (!fuzzy('container', ...(event.type === 'container' ? [event.id, name] : []))) return false;
  if (!fuzzy('volume', ...(event.type === 'volume' ? [event.id] : []))) return false;
  if (!fuzzy('network', ...(event.type === 'network' ? [event.id, name] : []))) return false;
  if (!fuzzy('daemon', ...(event.type === 'daemon' ? [event.id, name] : []))) return false;
  const imageName = event.type === 'image' ? name : event.attributes['image'];
  const imageCandidates = [event.id, imageName, stripTag(event.id), imageName === undefined ? undefined : stripTag(imageName)];
  if (!exact('image', ...imageCandidates)) return false;
  return labelsMatch(event.attributes, filters);
}
