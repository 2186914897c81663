import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlotillaError, isFlotillaError } from '@flotilla/errors';

class ExampleError extends FlotillaError {}

test('FlotillaError carries a stable code, details and cause', () => {
  const cause = new Error('disk on fire');
  const err = new ExampleError('WAL_CORRUPT', 'bad record', { cause, details: { offset: 12 } });
  assert.equal(err.code, 'WAL_CORRUPT');
  assert.equal(err.message, 'bad record');
  assert.equal(err.name, 'ExampleError');
  assert.equal(err.cause, cause);
  assert.deepEqual(err.details, { offset: 12 });
  assert.ok(Object.isFrozen(err.details));
  assert.ok(err instanceof Error);
  assert.ok(err instanceof FlotillaError);
});

test('FlotillaError rejects a code that is not UPPER_SNAKE_CASE', () => {
  assert.throws(() => new FlotillaError('notACode', 'x'), TypeError);
  assert.throws(() => new FlotillaError('', 'x'), TypeError);
});

test('isFlotillaError matches by class and by shape, optionally by code', () => {
  const err = new FlotillaError('EMPTY_KEY', 'empty');
  assert.equal(isFlotillaError(err), true);
  assert.equal(isFlotillaError(err, 'EMPTY_KEY'), true);
  assert.equal(isFlotillaError(err, 'OTHER'), false);
  const lookalike = Object.assign(new Error('x'), { code: 'EMPTY_KEY', details: {} });
  assert.equal(isFlotillaError(lookalike, 'EMPTY_KEY'), true);
  assert.equal(isFlotillaError(new Error('plain')), false);
  assert.equal(isFlotillaError('EMPTY_KEY'), false);
  assert.equal(isFlotillaError(null), false);
});
