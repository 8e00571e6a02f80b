import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent } from '../../engine/index.js';
import { eventJsonLine, matchesEventFilters, toDockerEvent } from './event.js';

const event: EngineEvent = { type: 'container', action: 'start', id: 'abc123', attributes: { image: 'busybox:latest', name: 'web', app: 'x' }, timeNano: 1_700_000_000_123_456_789n };

test('docker event JSON keeps the legacy fields and every digit of timeNano', () => {
  const message = toDockerEvent(event);
  assert.equal(message.status, 'start');
  assert.equal(message.id, 'abc123');
  assert.equal(message.from, 'busybox:latest');
  assert.equal(message.time, 1_700_000_000);
  assert.match(eventJsonLine(event), /"timeNano":1700000000123456789,/);
  const image = toDockerEvent({ ...event, type: 'volume', attributes: {} });
  assert.equal(image.status, undefined);
});

test('filters: values of a key ORed, keys ANDed, names and id prefixes, image with or without tag', () => {
  assert.ok(matchesEventFilters(event, {}));
  assert.ok(matchesEventFilters(event, { container: ['web'] }));
  assert.ok(matchesEventFilters(event, { container: ['abc'] }));
  assert.ok(!matchesEventFilters(event, { container: ['db'] }));
  assert.ok(matchesEventFilters(event, { event: ['stop', 'start'], type: ['container'] }));
  assert.ok(!matchesEventFilters(event, { event: ['start'], type: ['image'] }));
  assert.ok(matchesEventFilters(event, { label: ['app=x'] }));
  assert.ok(!matchesEventFilters(event, { label: ['app=x', 'tier'] }));
  assert.ok(matchesEventFilters(event, { image: ['busybox'] }));
  assert.ok(matchesEventFilters({ ...event, action: 'exec_create: sh' }, { event: ['exec_create'] }));
});
