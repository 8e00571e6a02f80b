import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerSummary } from '../api/wire/index.js';
import { PS_FORMAT, PS_HEADERS, toPsRow } from './container-fields.js';
import { ellipsis, humanDuration, humanSize, timeAgo } from './human.js';
import { renderList } from './output.js';
import { alignColumns } from './table.js';

test('docker duration wording', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(45_000), '45 seconds');
  assert.equal(humanDuration(90_000), 'About a minute');
  assert.equal(humanDuration(2 * 60_000), '2 minutes');
  assert.equal(humanDuration(60 * 60_000), 'About an hour');
  assert.equal(humanDuration(5 * 3_600_000), '5 hours');
  assert.equal(humanDuration(3 * 86_400_000), '3 days');
  assert.equal(humanDuration(20 * 86_400_000), '2 weeks');
  assert.equal(humanDuration(90 * 86_400_000), '3 months');
  assert.equal(humanDuration(800 * 86_400_000), '2 years');
  assert.equal(timeAgo(0, 120_000), '2 minutes ago');
});

test('docker size wording and ellipsis', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(500), '500B');
  assert.equal(humanSize(4_261_234), '4.26MB');
  assert.equal(humanSize(1_234), '1.23kB');
  assert.equal(humanSize(2_000_000_000), '2GB');
  assert.equal(ellipsis('sh -c while true; do sleep 1; done', 20), 'sh -c while true; d…');
  assert.equal(ellipsis('short', 20), 'short');
});

test('tabwriter alignment pads cells to the widest plus 3, at least 10', () => {
  assert.equal(alignColumns('A\tBB\tC\nlonger-cell\tx\ty'), 'A             BB        C\nlonger-cell   x         y');
});

const summary: ContainerSummary = {
  Id: 'f'.repeat(64), Names: ['/web'], Image: 'busybox', ImageID: 'sha256:' + 'a'.repeat(64), Command: 'sh -c while true; do sleep 1; done',
  Created: 1_000, Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' }],
  Labels: { a: 'b' }, State: 'running', Status: 'Up 3 seconds', HostConfig: { NetworkMode: 'bridge' }, NetworkSettings: { Networks: { bridge: {} } }, Mounts: [],
};

test('ps rows and the default table', () => {
  const row = toPsRow(summary, { noTrunc: false, nowMs: 1_000_000 + 120_000 });
  assert.equal(row.ID, 'ffffffffffff');
  assert.equal(row.Command, '"sh -c while true; d…"');
  assert.equal(row.RunningFor, '2 minutes ago');
  assert.equal(row.Ports, '0.0.0.0:8080->80/tcp, 443/tcp');
  assert.equal(row.Names, 'web');
  const text = renderList({ rows: [row], defaultFormat: PS_FORMAT, headers: PS_HEADERS });
  const [header, line] = text.split('\n');
  assert.match(header!, /^CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS                           NAMES$/);
  assert.match(line!, /^ffffffffffff   busybox   "sh -c while true; d…"   2 minutes ago   Up 3 seconds   0.0.0.0:8080->80\/tcp, 443\/tcp   web$/);
  assert.equal(renderList({ rows: [row], format: '{{.ID}}\\t{{.Names}}', defaultFormat: PS_FORMAT, headers: PS_HEADERS }), 'ffffffffffff\tweb\n');
  assert.equal(renderList({ rows: [row], format: 'table {{.Names}}', defaultFormat: PS_FORMAT, headers: PS_HEADERS }), 'NAMES\nweb\n');
  assert.equal(JSON.parse(renderList({ rows: [row], format: 'json', defaultFormat: PS_FORMAT, headers: PS_HEADERS })).State, 'running');
});
