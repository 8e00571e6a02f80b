import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerCreateRequestSchema, describeIssue, execCreateRequestSchema } from './schemas.js';

test('create body: unknown fields are kept, nulls accepted', () => {
  const body = {
    Image: 'busybox',
    Cmd: ['true'],
    Env: null,
    FutureField: { x: 1 },
    HostConfig: { Memory: 1048576, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 }, Binds: null, NewThing: true },
  };
  const parsed = containerCreateRequestSchema.parse(body);
  assert.equal(parsed.Image, 'busybox');
  assert.deepEqual((parsed as Record<string, unknown>)['FutureField'], { x: 1 });
  assert.equal(parsed.HostConfig?.Memory, 1048576);
  assert.equal((parsed.HostConfig as Record<string, unknown>)['NewThing'], true);
});

test('create body: wrong type on a known field fails with a one-line message naming it', () => {
  const result = containerCreateRequestSchema.safeParse({ Image: 'busybox', HostConfig: { Memory: 'abc' } });
  assert.equal(result.success, false);
  if (!result.success) assert.match(describeIssue(result.error), /HostConfig\.Memory/);
  assert.equal(containerCreateRequestSchema.safeParse({ Env: 'A=1' }).success, false);
  assert.equal(containerCreateRequestSchema.safeParse({ HostConfig: { RestartPolicy: { Name: 'sometimes' } } }).success, false);
});

test('create body: Cmd as a bare string is accepted as docker does', () => {
  assert.equal(containerCreateRequestSchema.parse({ Cmd: 'echo hi' }).Cmd, 'echo hi');
});

test('exec body: Cmd is required', () => {
  assert.equal(execCreateRequestSchema.safeParse({}).success, false);
  assert.equal(execCreateRequestSchema.safeParse({ Cmd: ['sh'] }).success, true);
});
