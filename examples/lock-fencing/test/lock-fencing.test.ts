/**
 * The example's story with real processes: a worker frozen past its lease is refused by the
 * resource's fence when it wakes up; the later holder's write stands.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runExample } from '@flotilla/example-lock-fencing';

test('a stale lock holder woken from SIGSTOP is refused by the fencing token', async () => {
  const lines: string[] = [];
  const o = await runExample((l) => lines.push(l));
  assert.ok(o.tokenB > o.tokenA, `tokens ${o.tokenA} then ${o.tokenB}`);
  assert.equal(o.writeB, 200);
  assert.equal(o.staleWriteStatus, 409);
  assert.equal(o.report, 'final report by B');
  assert.match(lines.join('\n'), /A is frozen \(SIGSTOP\)/);
});
