import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { chainIds, digestHex, digestStream, isDigest, parseDigest, sha256Digest, InvalidDigestError } from './digest.js';

const EMPTY = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

test('sha256Digest hashes bytes and strings alike', () => {
  assert.equal(sha256Digest(''), EMPTY);
  assert.equal(sha256Digest(Buffer.from('abc')), sha256Digest('abc'));
  assert.equal(sha256Digest('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('digestStream counts and hashes every chunk', async () => {
  const result = await digestStream(Readable.from([Buffer.from('ab'), Buffer.from('c')]));
  assert.deepEqual(result, { digest: sha256Digest('abc'), sizeBytes: 3 });
});

test('digest validation accepts only sha256 with 64 lowercase hex', () => {
  assert.ok(isDigest(EMPTY));
  for (const bad of ['', 'sha256:', 'sha256:abc', EMPTY.toUpperCase(), `sha512:${'a'.repeat(64)}`, `${EMPTY}0`, EMPTY.slice(7)]) {
    assert.equal(isDigest(bad), false, bad);
    assert.throws(() => parseDigest(bad), InvalidDigestError);
  }
  assert.equal(digestHex(EMPTY), EMPTY.slice(7));
});

test('chainIds follows the OCI rule', () => {
  const a = sha256Digest('a');
  const b = sha256Digest('b');
  const c = sha256Digest('c');
  const ids = chainIds([a, b, c]);
  assert.equal(ids[0], a);
  assert.equal(ids[1], sha256Digest(`${a} ${b}`));
  assert.equal(ids[2], sha256Digest(`${ids[1]} ${c}`));
  assert.deepEqual(chainIds([]), []);
  assert.throws(() => chainIds(['nope']), InvalidDigestError);
});
