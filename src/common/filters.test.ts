import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { boolFilter, checkFilterKeys, labelsMatch, nameMatches, parseFilters, referenceMatches, timeFilterMs } from './filters.js';

describe('docker filters', () => {
  it('parses both JSON encodings, the map form with every key whatever its boolean', () => {
    assert.deepEqual(parseFilters('{"label":["a=1","b"]}'), { label: ['a=1', 'b'] });
    assert.deepEqual(parseFilters('{"label":{"a=1":true,"b":false}}'), { label: ['a=1', 'b'] });
    assert.deepEqual(parseFilters(''), {});
    assert.deepEqual(parseFilters(null), {});
    assert.throws(() => parseFilters('{"label":'), /invalid filter/);
    assert.throws(() => parseFilters('["label"]'), /invalid filter/);
    assert.throws(() => parseFilters('{"label":"a"}'), /invalid filter 'label'/);
    assert.throws(() => parseFilters('{"label":{"a":"yes"}}'), /invalid filter 'label'/);
  });

  it('refuses unknown keys and bad booleans with moby wording', () => {
    assert.throws(() => checkFilterKeys({ bogus: ['x'] }, ['label']), /^InvalidFilterError: invalid filter 'bogus'$/);
    assert.equal(boolFilter({ dangling: ['TRUE'] }, 'dangling'), true);
    assert.equal(boolFilter({ dangling: ['0'] }, 'dangling'), false);
    assert.equal(boolFilter({}, 'dangling'), undefined);
    assert.throws(() => boolFilter({ dangling: ['maybe'] }, 'dangling'), /invalid filter 'dangling=maybe'/);
    assert.throws(() => boolFilter({ dangling: ['true', 'false'] }, 'dangling'), /invalid filter 'dangling=true,false'/);
  });

  it('matches labels (all of label, none of label!)', () => {
    const labels = { a: '1', b: '' };
    assert.ok(labelsMatch(labels, { label: ['a', 'a=1', 'b='] }));
    assert.ok(!labelsMatch(labels, { label: ['a=2'] }));
    assert.ok(!labelsMatch(labels, { label: ['a', 'c'] }));
    assert.ok(!labelsMatch(labels, { 'label!': ['a'] }));
    assert.ok(labelsMatch(null, {}));
    assert.ok(!labelsMatch({ toString: 'x' }, { label: ['constructor'] }));
  });

  it('matches names as regular expressions, as moby', () => {
    assert.ok(nameMatches('web-1', ['web']));
    assert.ok(nameMatches('web', ['^web$']));
    assert.ok(!nameMatches('web-1', ['^web$']));
    assert.ok(!nameMatches('web', ['[']));
    assert.ok(nameMatches('WEB', ['(?i)^web$']));
    assert.ok(nameMatches('x', []));
  });

  it('matches references as docker globs', () => {
    assert.ok(referenceMatches('busybox:latest', 'busybox'));
    assert.ok(referenceMatches('busybox:1', 'busy*'));
    assert.ok(referenceMatches('busybox:1', 'busybox:1'));
    assert.ok(!referenceMatches('busybox:1', 'busybox:2'));
    assert.ok(!referenceMatches('me/busybox:1', 'busybox'));
    assert.ok(referenceMatches('me/busybox:1', '*/busybox'));
    assert.ok(referenceMatches('127.0.0.1:5000/app:v1', '127.0.0.1:5000/app'));
  });

  it('reads a time filter once, naming a bad value', () => {
    const now = Date.UTC(2024, 0, 2);
    assert.equal(timeFilterMs({ until: ['24h'] }, 'until', now), now - 86_400_000);
    assert.equal(timeFilterMs({}, 'until', now), undefined);
    assert.throws(() => timeFilterMs({ until: ['soon'] }, 'until', now), /invalid filter 'until=soon'/);
    assert.throws(() => timeFilterMs({ until: ['1h', '2h'] }, 'until', now), /more than one until filter specified/);
  });
});
