import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError, ConflictError, InvalidArgumentError, NotFoundError } from '../common/index.js';
import { statusOf } from './errors.js';

describe('statusOf', () => {
  it('maps error kinds to docker status codes', () => {
    assert.equal(statusOf(new NotFoundError('X', 'x')), 404);
    assert.equal(statusOf(new InvalidArgumentError('x')), 400);
    assert.equal(statusOf(new ConflictError('X', 'x')), 409);
    assert.equal(statusOf(new BerthError('not-modified', 'X', 'x')), 304);
    assert.equal(statusOf(new BerthError('not-implemented', 'X', 'x')), 501);
  });

  it('treats a plain Error as a bug: 500', () => {
    assert.equal(statusOf(new Error('boom')), 500);
    assert.equal(statusOf('text'), 500);
  });
});
