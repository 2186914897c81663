/**
 * Helpers for the host's replicated apply: what a state machine does with the lease entries the
 * {@link LeaseTimer} proposed. They are forgiving exactly where replicas may legitimately see a
 * stale entry (a revoke retried after it was applied, a checkpoint of a lease revoked since),
 * and identical on every replica, so replicated state stays deterministic.
 */
import { isFlotillaError } from '@flotilla/errors';
import type { LeaseCheckpoint } from './lease-timer.js';
import type { Lessor, RevokeResult } from './lessor.js';

/**
 * Applies a revoke entry: `lessor.revoke(id)`, or undefined when the lease is already gone (the
 * timer re-proposes a revoke that has not been applied after a while, so duplicates happen).
 */
export function applyRevoke(lessor: Lessor, id: number): RevokeResult | undefined {
  try {
    return lessor.revoke(id);
  } catch (err) {
    if (isFlotillaError(err, 'LEASE_NOT_FOUND')) return undefined;
    throw err;
  }
}

/** Applies a checkpoint entry: each `lessor.checkpoint`, skipping leases revoked meanwhile. */
export function applyCheckpoints(lessor: Lessor, checkpoints: readonly LeaseCheckpoint[]): void {
  for (const cp of checkpoints) {
    try {
      lessor.checkpoint(cp.id, cp.remainingMs);
    } catch (err) {
      if (!isFlotillaError(err, 'LEASE_NOT_FOUND')) throw err;
    }
  }
}
