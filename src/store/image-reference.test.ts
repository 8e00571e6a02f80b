import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidReferenceError, familiarName, familiarString, isValidTag, parseImageReference, referenceName, referenceString, withDefaultTag,
} from './image-reference.js';

const HEX = 'a'.repeat(64);

test('short names normalise to docker.io/library and back', () => {
  const cases: Array<[string, string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox:x', 'docker.io/library/busybox:x', 'busybox:x'],
    ['me/app:v1', 'docker.io/me/app:v1', 'me/app:v1'],
    ['127.0.0.1:5000/a/b:1', '127.0.0.1:5000/a/b:1', '127.0.0.1:5000/a/b:1'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest', 'localhost:5000/app:latest'],
    ['registry.example.com/team/app.name_x-y:1.0-rc', 'registry.example.com/team/app.name_x-y:1.0-rc', 'registry.example.com/team/app.name_x-y:1.0-rc'],
    ['foo:5000', 'docker.io/library/foo:5000', 'foo:5000'],
  ];
  for (const [input, full, familiar] of cases) {
    const ref = withDefaultTag(parseImageReference(input));
    assert.equal(referenceString(ref), full, input);
    assert.equal(familiarString(ref), familiar, input);
  }
  assert.equal(familiarName(parseImageReference('busybox')), 'busybox');
  assert.equal(referenceName(parseImageReference('me/app:1')), 'docker.io/me/app');
});

test('digests parse and keep their tag', () => {
  const ref = parseImageReference(`busybox:1@sha256:${HEX}`);
  assert.deepEqual(ref, { domain: 'docker.io', path: 'library/busybox', tag: '1', digest: `sha256:${HEX}` });
  assert.equal(familiarString(ref), `busybox:1@sha256:${HEX}`);
  const bare = withDefaultTag(parseImageReference(`busybox@sha256:${HEX}`));
  assert.equal(bare.tag, undefined);
  assert.equal(familiarString(bare), `busybox@sha256:${HEX}`);
});

test('malformed references fail with docker wording', () => {
  const invalid = ['', ':tag', 'a:b:c', 'UPPER/x/../y', 'a//b', 'a/', '-a', 'a@sha256:abc', 'a:-tag', `a:${'t'.repeat(129)}`, 'a b', 'host:port:5/x', 'a/b@'];
  for (const input of invalid) {
    assert.throws(() => parseImageReference(input), (err: unknown) => err instanceof InvalidReferenceError && err.kind === 'invalid-argument' && err.message.startsWith('invalid reference format'), input);
  }
  assert.throws(() => parseImageReference('Busybox'), { message: 'invalid reference format: repository name (library/Busybox) must be lowercase' });
  assert.throws(() => parseImageReference(HEX), { message: `invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings` });
  assert.throws(() => parseImageReference(`a/${'b'.repeat(260)}`), /must not be more than 255 characters/);
  assert.throws(() => parseImageReference(`a@sha512:${'a'.repeat(128)}`), /unsupported digest/);
});

test('isValidTag', () => {
  assert.ok(isValidTag('latest'));
  assert.ok(isValidTag('1.0_rc-2'));
  assert.ok(!isValidTag('.x'));
  assert.ok(!isValidTag(''));
  assert.ok(!isValidTag('a/b'));
});
