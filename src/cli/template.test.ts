import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goJson, parseFormat, renderTemplate } from './template.js';

const inspect = { Id: 'abc', State: { Status: 'running', Pid: 42 }, Config: { Labels: { 'a.b': 'x' }, Env: ['A=1', 'B=2'], Entrypoint: null } };

test('fields, nested fields, json, index and pipes', () => {
  assert.equal(renderTemplate('{{.State.Status}} {{.State.Pid}}', inspect), 'running 42');
  assert.equal(renderTemplate('{{json .Config.Labels}}', inspect), '{"a.b":"x"}');
  assert.equal(renderTemplate('{{index .Config.Labels "a.b"}}', inspect), 'x');
  assert.equal(renderTemplate('{{.Config.Env}}', inspect), '[A=1 B=2]');
  assert.equal(renderTemplate('{{.Config.Labels}}', inspect), 'map[a.b:x]');
  assert.equal(renderTemplate('{{.Config.Entrypoint}}', inspect), '[]');
  assert.equal(renderTemplate('{{.Nope}}', inspect), '<no value>');
  assert.equal(renderTemplate('{{.State | json}}', inspect), '{"Status":"running","Pid":42}');
  assert.equal(renderTemplate('{{join .Config.Env ","}}|{{upper .State.Status}}', inspect), 'A=1,B=2|RUNNING');
  assert.equal(renderTemplate('a  {{- .Id -}}  b', inspect), 'aabcb');
  assert.equal(renderTemplate('{{json .}}', { A: '<&>' }), '{"A":"\\u003c\\u0026\\u003e"}');
});

test('unknown functions fail', () => {
  assert.throws(() => renderTemplate('{{frobnicate .Id}}', inspect), /function "frobnicate" not defined/);
});

test('table prefix and escapes', () => {
  assert.deepEqual(parseFormat('table {{.ID}}\\t{{.Names}}'), { isTable: true, template: '{{.ID}}\t{{.Names}}' });
  assert.deepEqual(parseFormat(' {{.ID}}\\n'), { isTable: false, template: '{{.ID}}\n' });
  assert.equal(goJson([{ a: 1 }], '    '), '[\n    {\n        "a": 1\n    }\n]');
});
